// Test instrumentation of WebAudio, loaded before anything else on a page
// (tests/e2e/test_ringback.py, worker-bridge.html): every AudioContext made
// and every node connected to a destination is recorded, so a test can tap
// what would reach the speakers with its own AnalyserNode, without knowing
// how webvoice builds its sound.
window.audioContexts = [];
window.toDestination = [];
const NativeAudioContext = window.AudioContext;
window.AudioContext = class extends NativeAudioContext {
  constructor(...args) { super(...args); window.audioContexts.push(this); }
};
const nativeConnect = AudioNode.prototype.connect;
AudioNode.prototype.connect = function (target, ...rest) {
  if (target instanceof AudioDestinationNode) window.toDestination.push(this);
  return nativeConnect.call(this, target, ...rest);
};

// {state, peak}: the newest context's state and the loudest RMS of what the node connected last
// to its speakers feeds them over `ms`.
window.audioPeak = async (ms) => {
  const context = window.audioContexts.at(-1);
  const node = window.toDestination.findLast((n) => n.context === context);
  if (!context || !node || context.state === "closed") return { state: context ? context.state : null, peak: 0 };
  const analyser = context.createAnalyser();
  node.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let peak = 0;
  for (const end = performance.now() + ms; performance.now() < end;) {
    analyser.getFloatTimeDomainData(samples);
    peak = Math.max(peak, Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  analyser.disconnect();
  return { state: context.state, peak };
};
