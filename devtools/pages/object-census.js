// Instrumentation for tests/e2e/test_soak.py, run before anything else in the
// page: every RTCPeerConnection and AudioContext the page makes is kept in a
// list, so that window.webvoiceCensus() can say how many are still open (a
// peer connection not closed, a context not closed or suspended for good is
// a leak once its calls have ended). Also the page's timers still pending
// (devtools/pyrun.py clears its own), with their delays and when they were
// armed (ms since navigation).
(() => {
  const made = { RTCPeerConnection: [], AudioContext: [] };
  for (const name of Object.keys(made)) {
    const Original = window[name];
    if (!Original) continue;
    const Counted = function (...args) {
      const object = new Original(...args);
      made[name].push(object);
      return object;
    };
    Counted.prototype = Original.prototype;
    Object.setPrototypeOf(Counted, Original);  // static methods (generateCertificate)
    window[name] = Counted;
  }
  const pending = new Map();  // id -> [delay ms, made at (ms since navigation)]
  const setTimeoutOriginal = window.setTimeout.bind(window);
  const clearTimeoutOriginal = window.clearTimeout.bind(window);
  window.setTimeout = (fn, ms, ...args) => {
    const id = setTimeoutOriginal((...a) => {
      pending.delete(id);
      return typeof fn === "function" ? fn(...a) : undefined;
    }, ms, ...args);
    pending.set(id, [Number(ms) || 0, Math.round(performance.now())]);
    return id;
  };
  window.clearTimeout = (id) => {
    pending.delete(id);
    clearTimeoutOriginal(id);
  };
  window.webvoiceCensus = () => {
    const timers = [...pending.values()];
    return {
      peerConnections: made.RTCPeerConnection.length,
      peerConnectionsOpen: made.RTCPeerConnection.filter((pc) => pc.signalingState !== "closed").length,
      audioContexts: made.AudioContext.length,
      audioContextsRunning: made.AudioContext.filter((c) => c.state === "running").length,
      audioElements: document.querySelectorAll("audio").length,
      timersPending: timers.length,
      timersPendingDelays: timers.map(([ms, at]) => `${Math.round(ms)} ms, made at ${at}`),
    };
  };
})();
