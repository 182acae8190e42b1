// webvoice media agent: WebRTC on the page's main thread, driven from a Web Worker.
//
// Python in a Web Worker (a JupyterLite kernel, a PyScript `<script type="py"
// worker>`) has WebSocket but no DOM and no RTCPeerConnection. This module runs
// on the page instead: it owns the peer connections, getUserMedia and the
// <audio> elements, and webvoice's BridgedMediaBackend (webvoice/browser/_bridge.py)
// drives it over a BroadcastChannel, which a same-origin worker and page can
// both open without holding each other's handle.
//
//   <script type="module" src="/static/agent.js?start"></script>            default channel
//   <script type="module" src="/static/agent.js?channel=my-phone"></script>
//   import { startAgent } from "./agent.js"; startAgent({channelName: "my-phone"});
//
// No dependencies; the behaviour mirrors the direct backend
// (webvoice/browser/_media.py, _devices.py): the same ICE gathering wait, hold
// directions, DTMF completion, <audio id="webvoice-audio-<line>"> elements and
// error mapping.
//
// Protocol (every message is a plain object, `wv: 1`):
//   worker -> agent  {wv, kind: "request", bridge, agent, id, op, line_id?, args}
//   agent -> worker  {wv, kind: "response", bridge, agent, id, ok: true, result}
//                    {wv, kind: "response", bridge, agent, id, ok: false,
//                     error: {type, name, message}}
//   agent -> worker  {wv, kind: "event", bridge, agent, event, line_id?, name?, data}
// `bridge` is the id of one BridgedMediaBackend (one worker may hold several);
// `agent` the id of one agent (a BroadcastChannel reaches every tab of the
// origin). "hello" (agent: null) is answered by every agent listening; the
// bridge picks one and sends it "attach", after which only that agent answers
// it. error.type is the Python exception to raise: MediaError,
// MediaPermissionError, DeviceNotFoundError, NotSupportedError, ValueError,
// TypeError. Events: "session" (name: icecandidate, track,
// connectionstatechange, ended), "devicechange", "agent_gone" (the page is
// going away; bridge: null).

export const PROTOCOL = 1;
export const DEFAULT_CHANNEL = "webvoice-media";

// The direct backend's ICE wait (webvoice/browser/_media.py: HOST_GRACE, GATHER_LIMIT).
const HOST_GRACE_MS = 30;
const GATHER_LIMIT_MS = 1500;
const DTMF_TONES = /^[0-9A-Da-d#*,]+$/;
const DTMF_DURATION = [40, 6000];
const DTMF_MIN_GAP = 30;
const DTMF_COMMA_MS = 2000;

const PERMISSION = new Set(["NotAllowedError", "SecurityError", "PermissionDeniedError"]);
const NOT_FOUND = new Set(["NotFoundError", "OverconstrainedError", "DevicesNotFoundError"]);
const NOT_SUPPORTED = new Set(["NotSupportedError"]);

const running = new Map(); // channel name -> Agent, so a second start returns the first

/** An error that crosses to the worker as {type, name, message}. */
class AgentError extends Error {
  constructor(type, message, jsName = "") {
    super(message);
    this.type = type;
    this.jsName = jsName;
  }
}

function attr(obj, name) {
  try {
    const value = obj == null ? undefined : obj[name];
    return typeof value === "string" ? value : "";
  } catch {
    return "";
  }
}

/** webvoice/browser/_devices.py media_error(): a JS error met while `doing` something. */
function mediaError(reason, doing) {
  let name;
  let message;
  if (typeof reason === "string") {
    name = "Error";
    message = reason;
  } else {
    name = attr(reason, "name") || (reason && reason.constructor && reason.constructor.name) || "Error";
    message = attr(reason, "message");
  }
  const constraint = attr(reason, "constraint");
  if (constraint) message = `${message} (constraint ${constraint})`.trim();
  let type = "MediaError";
  if (PERMISSION.has(name)) type = "MediaPermissionError";
  else if (NOT_FOUND.has(name)) type = "DeviceNotFoundError";
  else if (NOT_SUPPORTED.has(name)) type = "NotSupportedError";
  return new AgentError(type, message ? `${doing} failed: ${name}: ${message}` : `${doing} failed: ${name}`, name);
}

async function callJs(doing, fn) {
  try {
    return await fn();
  } catch (reason) {
    throw reason instanceof AgentError ? reason : mediaError(reason, doing);
  }
}

function pyRepr(value) {
  return value == null ? "None" : `'${value}'`;
}

function mediaDevices() {
  const devices = globalThis.navigator && navigator.mediaDevices;
  if (!devices) {
    throw new AgentError("NotSupportedError", "navigator.mediaDevices is missing: the page needs a secure "
      + "context (https:// or http://localhost)");
  }
  return devices;
}

function audioConstraints(constraints, deviceId) {
  const audio = { ...(constraints || {}) };
  if (deviceId) audio.deviceId = { exact: deviceId };
  else delete audio.deviceId;
  return Object.keys(audio).length ? audio : true;
}

async function getUserMedia(constraints, deviceId) {
  const devices = mediaDevices();
  return callJs("getUserMedia", () => devices.getUserMedia({ audio: audioConstraints(constraints, deviceId) }));
}

function stopStream(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

async function enumerate() {
  const infos = await callJs("enumerateDevices", () => mediaDevices().enumerateDevices());
  return infos.filter((d) => d.kind === "audioinput" || d.kind === "audiooutput")
    .map((d) => ({ device_id: String(d.deviceId), label: String(d.label), kind: String(d.kind) }));
}

/** _devices.py enumerate_audio_devices(): ask for the microphone once when labels are hidden. */
async function listDevices() {
  const found = await enumerate();
  if (found.length && found.every((d) => d.label)) return found;
  let stream;
  try {
    stream = await getUserMedia(null, null);
  } catch (error) {
    if (error.type === "DeviceNotFoundError") return found;
    throw error;
  }
  stopStream(stream);
  return enumerate();
}

function supportsSinkId() {
  return typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
}

async function setSinkId(element, deviceId) {
  if (!supportsSinkId()) {
    throw new AgentError("NotSupportedError", "this browser cannot choose the speaker (no HTMLMediaElement.setSinkId)");
  }
  await callJs(`setSinkId(${pyRepr(deviceId)})`, () => element.setSinkId(deviceId || ""));
}

function hasCandidates(sdp) {
  return sdp.includes("\na=candidate:");
}

function sameSdp(a, b) {
  if (a == null) return false;
  const norm = (s) => s.replace(/\r\n/g, "\n").trim();
  return norm(a) === norm(b);
}

/** The media of one line of one bridge (webvoice/browser/_media.py DirectMediaSession). */
class Session {
  constructor(agent, bridge, lineId, { rtcConfig, constraints, microphone, stream }) {
    this.agent = agent;
    this.bridge = bridge;
    this.lineId = lineId;
    this.rtcConfig = rtcConfig;
    this.constraints = { ...(constraints || {}) };
    this.microphone = microphone;
    this.closed = false;
    this.muted = false;
    this.held = false;
    this.negotiatedHold = false;
    this.remoteAnswer = null;
    this.queue = Promise.resolve(); // one offer/answer step at a time
    this.progressWaiters = [];
    this.firstHostAt = null;
    this.dtmfWaiters = [];
    this.tonechangeWatched = false;
    this.listeners = [];
    this.stream = stream;
    this.track = stream.getAudioTracks()[0];
    this.pc = null;
    this.audio = null;
    try {
      this.build();
    } catch (error) {
      this.close();
      throw error;
    }
  }

  listen(target, name, handler) {
    target.addEventListener(name, handler);
    this.listeners.push([target, name, handler]);
    return handler;
  }

  unlisten(handler) {
    const i = this.listeners.findIndex((entry) => entry[2] === handler);
    if (i >= 0) {
      const [target, name] = this.listeners[i];
      this.listeners.splice(i, 1);
      target.removeEventListener(name, handler);
    }
  }

  build() {
    try {
      this.pc = new RTCPeerConnection(this.rtcConfig);
    } catch (error) {
      throw mediaError(error, "RTCPeerConnection");
    }
    const pc = this.pc;
    this.listen(pc, "icecandidate", (event) => this.onIceCandidate(event));
    this.listen(pc, "icegatheringstatechange", () => this.iceProgress());
    this.listen(pc, "track", (event) => this.onTrack(event));
    this.listen(pc, "connectionstatechange", () => this.emit("connectionstatechange", { state: pc.connectionState }));
    this.sender = pc.addTrack(this.track, this.stream);
    this.transceiver = pc.getTransceivers()[0];
    this.watchTrack();
    this.remoteStream = new MediaStream();
    this.audio = this.agent.audioElement(this);
  }

  serial(step) {
    const run = this.queue.then(step);
    this.queue = run.catch(() => {});
    return run;
  }

  checkOpen() {
    if (this.closed) throw new AgentError("MediaError", `the media session of line '${this.lineId}' is closed`);
  }

  // --- offer/answer -------------------------------------------------------------------

  createOffer({ ice_restart = false } = {}) {
    return this.serial(async () => {
      this.checkOpen();
      this.setDirection(true);
      const offer = await callJs("createOffer", () => this.pc.createOffer({ iceRestart: Boolean(ice_restart) }));
      this.checkOpen();
      this.firstHostAt = null;
      await callJs("setLocalDescription", () => this.pc.setLocalDescription(offer));
      return this.gatheredSdp();
    });
  }

  createAnswer({ sdp }) {
    return this.serial(async () => {
      this.checkOpen();
      await callJs("setRemoteDescription(offer)", () => this.pc.setRemoteDescription({ type: "offer", sdp }));
      this.checkOpen();
      this.setDirection(false);
      const answer = await callJs("createAnswer", () => this.pc.createAnswer());
      this.checkOpen();
      this.firstHostAt = null;
      await callJs("setLocalDescription", () => this.pc.setLocalDescription(answer));
      this.negotiatedHold = this.held;
      this.remoteAnswer = null;
      return this.gatheredSdp();
    });
  }

  applyAnswer({ sdp, provisional = false }) {
    return this.serial(async () => {
      this.checkOpen();
      const state = this.pc.signalingState;
      // A retransmitted 200, or a late 18x after it: already applied.
      if (state === "stable" && (provisional || sameSdp(this.remoteAnswer, sdp))) return null;
      if (state === "have-remote-pranswer" && provisional && sameSdp(this.remoteAnswer, sdp)) return null;
      const kind = provisional ? "pranswer" : "answer";
      await callJs(`setRemoteDescription(${kind})`, () => this.pc.setRemoteDescription({ type: kind, sdp }));
      this.remoteAnswer = sdp;
      if (!provisional) this.negotiatedHold = this.held;
      return null;
    });
  }

  rollback() {
    return this.serial(async () => {
      if (this.closed) return { held: this.held };
      const state = this.pc.signalingState;
      if (state === "stable") return { held: this.held };
      if (state !== "have-local-offer" && state !== "have-remote-offer") {
        throw new AgentError("MediaError", `cannot roll back in signaling state ${state} (after a provisional answer)`);
      }
      await callJs("rollback", () => this.pc.setLocalDescription({ type: "rollback" }));
      this.setHold({ held: this.negotiatedHold }); // the refused offer's hold (or resume) did not happen
      return { held: this.held };
    });
  }

  setDirection(offer) {
    let direction;
    if (!this.held) direction = "sendrecv";
    else if (offer && ["recvonly", "inactive"].includes(this.transceiver.currentDirection)) direction = "inactive";
    else direction = "sendonly";
    if (this.transceiver.direction !== direction) this.transceiver.direction = direction;
  }

  waitIceProgress(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.progressWaiters.push(() => { clearTimeout(timer); resolve(); });
    });
  }

  iceProgress() {
    const waiters = this.progressWaiters;
    this.progressWaiters = [];
    for (const wake of waiters) wake();
  }

  async gatheredSdp() {
    const deadline = performance.now() + GATHER_LIMIT_MS;
    while (!this.closed) {
      if (this.pc.iceGatheringState === "complete" && hasCandidates(this.localSdp())) break;
      let wake = deadline;
      if (!this.rtcConfig.iceServers.length && this.firstHostAt !== null) {
        wake = Math.min(wake, this.firstHostAt + HOST_GRACE_MS);
      }
      const timeout = wake - performance.now();
      if (timeout <= 0) break;
      await this.waitIceProgress(timeout);
    }
    this.checkOpen();
    const sdp = this.localSdp();
    if (!hasCandidates(sdp)) {
      console.warn(`webvoice agent: line ${this.lineId}: no ICE candidate gathered in ${GATHER_LIMIT_MS / 1000} s`);
    }
    return sdp;
  }

  localSdp() {
    const description = this.pc.localDescription;
    return description ? String(description.sdp) : "";
  }

  // --- hold, mute, DTMF -----------------------------------------------------------------

  setHold({ held }) {
    this.held = Boolean(held);
    this.applyEnabled();
    return null;
  }

  setMuted({ muted }) {
    this.muted = Boolean(muted);
    this.applyEnabled();
    return null;
  }

  applyEnabled() {
    if (!this.closed) this.track.enabled = !(this.muted || this.held);
  }

  async sendDtmf({ tones, duration, inter_tone_gap: gap }) {
    this.checkOpen();
    if (typeof tones !== "string" || !DTMF_TONES.test(tones)) {
      throw new AgentError("ValueError", `DTMF tones are 0-9, A-D, *, # and ',' (got '${tones}')`);
    }
    const dtmf = this.sender.dtmf;
    if (!dtmf || !dtmf.canInsertDTMF) {
      throw new AgentError("NotSupportedError", "this call cannot send DTMF now (no telephone-event negotiated, "
        + "or the line does not send)");
    }
    if (!this.tonechangeWatched) {
      this.listen(dtmf, "tonechange", (event) => { if (event.tone === "") this.wakeDtmf(); });
      this.tonechangeWatched = true;
    }
    let wake;
    const played = new Promise((resolve) => { wake = resolve; });
    this.dtmfWaiters.push(wake);
    try {
      try {
        dtmf.insertDTMF(tones, duration, gap);
      } catch (error) {
        throw mediaError(error, "insertDTMF");
      }
      const toneMs = Math.min(Math.max(duration, DTMF_DURATION[0]), DTMF_DURATION[1]);
      const gapMs = Math.max(gap, DTMF_MIN_GAP);
      const limit = (tones.split(",").length - 1) * DTMF_COMMA_MS + tones.length * (toneMs + gapMs) + 1000;
      let timer;
      const timedOut = new Promise((resolve) => { timer = setTimeout(() => resolve(true), limit); });
      if (await Promise.race([played.then(() => false), timedOut])) {
        console.warn(`webvoice agent: line ${this.lineId}: DTMF '${tones}' not reported played after ${limit / 1000} s`);
      }
      clearTimeout(timer);
    } finally {
      this.dtmfWaiters = this.dtmfWaiters.filter((w) => w !== wake);
    }
    return null;
  }

  wakeDtmf() {
    const waiters = this.dtmfWaiters;
    this.dtmfWaiters = [];
    for (const wake of waiters) wake();
  }

  // --- stats, devices -----------------------------------------------------------------------

  async getStats() {
    if (this.closed) return [];
    const report = await callJs("getStats", () => this.pc.getStats());
    // Plain entries (webvoice/browser/_stats.py summarize() reduces them in the worker).
    return JSON.parse(JSON.stringify(Array.from(report.values())));
  }

  async replaceMicrophone({ device_id: deviceId = null } = {}) {
    this.checkOpen();
    const stream = await getUserMedia(this.constraints, deviceId);
    if (this.closed) {
      stopStream(stream);
      this.checkOpen();
    }
    const track = stream.getAudioTracks()[0];
    track.enabled = !(this.muted || this.held);
    try {
      await callJs("replaceTrack", () => this.sender.replaceTrack(track));
    } catch (error) {
      stopStream(stream);
      throw error;
    }
    if (this.closed) {
      stopStream(stream);
      this.checkOpen();
    }
    const old = this.stream;
    this.unwatchTrack();
    this.stream = stream;
    this.track = track;
    this.microphone = deviceId;
    this.watchTrack();
    stopStream(old);
    return null;
  }

  async setSpeaker({ device_id: deviceId = null } = {}) {
    this.checkOpen();
    await setSinkId(this.audio, deviceId);
    return null;
  }

  resetLocalMedia() {
    return this.replaceMicrophone({ device_id: this.microphone });
  }

  // --- browser events ---------------------------------------------------------------------------

  emit(name, data) {
    if (!this.closed) this.agent.post({ kind: "event", bridge: this.bridge, event: "session", line_id: this.lineId, name, data });
  }

  onIceCandidate(event) {
    const candidate = event.candidate;
    this.iceProgress();
    if (!candidate || !candidate.candidate) return; // end of candidates
    if (this.firstHostAt === null && candidate.type === "host") this.firstHostAt = performance.now();
    this.emit("icecandidate", { candidate: String(candidate.candidate), sdp_mid: candidate.sdpMid ? String(candidate.sdpMid) : null });
  }

  onTrack(event) {
    const track = event.track;
    if (track.kind !== "audio" || !this.audio) return;
    for (const old of this.remoteStream.getAudioTracks()) {
      if (old.id !== track.id) this.remoteStream.removeTrack(old);
    }
    if (!this.remoteStream.getTrackById(track.id)) this.remoteStream.addTrack(track);
    this.audio.srcObject = this.remoteStream;
    const audio = this.audio;
    audio.play().catch((error) => {
      if (!this.closed) {
        console.warn(`webvoice agent: line ${this.lineId}: the remote audio does not play (${error}); `
          + "the page may need a user gesture first");
      }
    });
    this.emit("track", {});
  }

  watchTrack() {
    // Only the browser ends a track on its own (unplugged, revoked); stop() does not fire it.
    this.trackEnded = this.listen(this.track, "ended", () => this.emit("ended", { reason: "microphone" }));
  }

  unwatchTrack() {
    if (this.trackEnded) this.unlisten(this.trackEnded);
    this.trackEnded = null;
  }

  // --- the end -----------------------------------------------------------------------------------

  close() {
    if (this.closed) return null;
    this.closed = true;
    this.agent.forget(this);
    this.iceProgress();
    this.wakeDtmf();
    for (const [target, name, handler] of this.listeners.splice(0)) {
      try {
        target.removeEventListener(name, handler);
      } catch { /* gone already */ }
    }
    stopStream(this.stream);
    if (this.pc) this.pc.close();
    const audio = this.audio;
    this.audio = null;
    if (audio) {
      audio.pause();
      audio.srcObject = null;
      audio.remove();
    }
    return null;
  }
}

const SESSION_OPS = {
  create_offer: (s, args) => s.createOffer(args),
  create_answer: (s, args) => s.createAnswer(args),
  apply_answer: (s, args) => s.applyAnswer(args),
  rollback: (s) => s.rollback(),
  set_hold: (s, args) => s.setHold(args),
  set_muted: (s, args) => s.setMuted(args),
  send_dtmf: (s, args) => s.sendDtmf(args),
  get_stats: (s) => s.getStats(),
  replace_microphone: (s, args) => s.replaceMicrophone(args),
  set_speaker: (s, args) => s.setSpeaker(args),
  reset_local_media: (s) => s.resetLocalMedia(),
  close: (s) => s.close(),
};

function randomId() {
  const bytes = new Uint8Array(8);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** One agent per channel name and page; see startAgent(). */
class Agent {
  constructor(channelName, doc) {
    this.id = randomId();
    this.channelName = channelName;
    this.document = doc;
    this.bridges = new Map(); // bridge id -> {sessions: Map(line id -> Session), devices: bool}
    this.deviceListener = null;
    this.channel = new BroadcastChannel(channelName);
    this.onMessage = (event) => this.receive(event.data);
    this.onPageHide = () => this.post({ kind: "event", bridge: null, event: "agent_gone", data: {} });
    this.channel.addEventListener("message", this.onMessage);
    globalThis.addEventListener?.("pagehide", this.onPageHide);
  }

  /** Every open session of every bridge (for tests and debugging). */
  get sessions() {
    return [...this.bridges.values()].flatMap((b) => [...b.sessions.values()]);
  }

  post(message) {
    if (this.channel) this.channel.postMessage({ wv: PROTOCOL, agent: this.id, ...message });
  }

  receive(m) {
    if (!m || m.wv !== PROTOCOL || m.kind !== "request" || typeof m.bridge !== "string") return;
    if (m.op === "hello" ? (m.agent && m.agent !== this.id) : m.agent !== this.id) return;
    let result;
    try {
      result = this.dispatch(m);
    } catch (error) {
      result = Promise.reject(error);
    }
    Promise.resolve(result).then(
      (value) => this.post({ kind: "response", bridge: m.bridge, id: m.id, ok: true, result: value === undefined ? null : value }),
      (error) => {
        const agentError = error instanceof AgentError ? error : mediaError(error, m.op);
        if (!(error instanceof AgentError)) console.error("webvoice agent:", m.op, error);
        this.post({ kind: "response", bridge: m.bridge, id: m.id, ok: false,
          error: { type: agentError.type, name: agentError.jsName, message: agentError.message } });
      });
  }

  dispatch({ bridge, op, line_id: lineId, args = {} }) {
    switch (op) {
      case "hello":
        return { agent: this.id, protocol: PROTOCOL, supports_sink_id: supportsSinkId(),
          visible: !this.document || this.document.visibilityState !== "hidden" };
      case "attach":
        return this.attach(bridge, args);
      case "detach":
        return this.detach(bridge);
      case "open_session":
        return this.openSession(bridge, lineId, args);
      case "list_devices":
        return listDevices();
      case "supports_speaker_selection":
        return supportsSinkId();
      case "subscribe_devices":
        return this.subscribeDevices(bridge, Boolean(args.on));
      default: {
        const run = SESSION_OPS[op];
        if (!run) throw new AgentError("MediaError", `the media agent knows no operation '${op}' (protocol ${PROTOCOL})`);
        const session = this.bridges.get(bridge)?.sessions.get(lineId);
        if (!session) {
          if (op === "close") return null;
          if (op === "get_stats") return [];
          throw new AgentError("MediaError", `the media session of line '${lineId}' is closed`);
        }
        return run(session, args);
      }
    }
  }

  attach(bridge, { lock = null } = {}) {
    if (!this.bridges.has(bridge)) {
      this.bridges.set(bridge, { sessions: new Map(), devices: false });
      // The worker holds this Web Lock while it lives: granted to us, it
      // means the worker ended (a kernel restart, worker.terminate()), so its
      // microphones and connections are released here.
      if (lock && globalThis.navigator?.locks) {
        navigator.locks.request(lock, () => { this.detach(bridge); }).catch(() => {});
      }
    }
    return { agent: this.id, supports_sink_id: supportsSinkId() };
  }

  detach(bridge) {
    const state = this.bridges.get(bridge);
    if (!state) return null;
    for (const session of [...state.sessions.values()]) session.close();
    this.bridges.delete(bridge);
    this.updateDeviceListener();
    return null;
  }

  bridgeState(bridge) {
    const state = this.bridges.get(bridge);
    if (!state) throw new AgentError("MediaError", "this bridge is not attached to the media agent (it was closed, or its worker ended)");
    return state;
  }

  async openSession(bridge, lineId, { rtc_config: rtcConfig, constraints = {}, microphone = null, speaker = null }) {
    lineId = String(lineId);
    const state = this.bridgeState(bridge);
    const taken = () => new AgentError("ValueError", `line '${lineId}' already has an open media session in this page`);
    if (state.sessions.has(lineId)) throw taken();
    if (!rtcConfig || !Array.isArray(rtcConfig.iceServers)) throw new AgentError("TypeError", "open_session needs rtc_config.iceServers");
    // Before the microphone is asked for (webvoice/browser/_devices.py require_webrtc).
    if (typeof RTCPeerConnection === "undefined") {
      throw new AgentError("NotSupportedError", "this browser has no WebRTC (no RTCPeerConnection): calls cannot carry audio");
    }
    const stream = await getUserMedia(constraints, microphone);
    if (state.sessions.has(lineId) || this.bridges.get(bridge) !== state) {
      stopStream(stream);
      throw this.bridges.get(bridge) === state ? taken() : new AgentError("MediaError", "the bridge was closed meanwhile");
    }
    let session;
    try {
      session = new Session(this, bridge, lineId, { rtcConfig, constraints, microphone, stream });
    } catch (error) {
      stopStream(stream);
      throw error;
    }
    state.sessions.set(lineId, session);
    let speakerLog = null; // the worker logs it (webvoice's logger), as the direct backend would
    if (speaker) {
      try {
        await session.setSpeaker({ device_id: speaker });
      } catch (error) {
        speakerLog = error.type === "NotSupportedError"
          ? { level: "info", message: `speaker '${speaker}' ignored: this browser cannot choose the speaker` }
          : { level: "warning", message: `playing on the default speaker: ${error.message}` };
      }
    }
    return { element_id: session.audio ? session.audio.id : null, speaker_log: speakerLog };
  }

  forget(session) {
    const state = this.bridges.get(session.bridge);
    if (state && state.sessions.get(session.lineId) === session) state.sessions.delete(session.lineId);
  }

  /** A new hidden <audio autoplay> for the session: id webvoice-audio-<line>, unless
   * another bridge's live line holds that id (then webvoice-audio-<bridge>-<line>). */
  audioElement(session) {
    const doc = this.document;
    let id = `webvoice-audio-${session.lineId}`;
    if (this.sessions.some((s) => s !== session && s.audio && s.audio.id === id)) {
      id = `webvoice-audio-${session.bridge}-${session.lineId}`;
    }
    const stale = doc.getElementById(id);
    if (stale) stale.remove(); // left by a session that was never closed
    const audio = doc.createElement("audio");
    audio.id = id;
    audio.autoplay = true;
    audio.hidden = true;
    audio.setAttribute("data-webvoice-line", session.lineId);
    audio.setAttribute("data-webvoice-bridge", session.bridge);
    (doc.body || doc.documentElement).appendChild(audio);
    return audio;
  }

  subscribeDevices(bridge, on) {
    this.bridgeState(bridge).devices = on;
    this.updateDeviceListener();
    return null;
  }

  updateDeviceListener() {
    const wanted = [...this.bridges.values()].some((b) => b.devices);
    if (wanted && !this.deviceListener) {
      this.deviceListener = () => {
        for (const [bridge, state] of this.bridges) {
          if (state.devices) this.post({ kind: "event", bridge, event: "devicechange", data: {} });
        }
      };
      mediaDevices().addEventListener("devicechange", this.deviceListener);
    } else if (!wanted && this.deviceListener) {
      mediaDevices().removeEventListener("devicechange", this.deviceListener);
      this.deviceListener = null;
    }
  }

  /** Close every session, tell the workers, and stop listening. */
  stop() {
    for (const bridge of [...this.bridges.keys()]) this.detach(bridge);
    this.onPageHide();
    this.channel.removeEventListener("message", this.onMessage);
    globalThis.removeEventListener?.("pagehide", this.onPageHide);
    this.channel.close();
    this.channel = null;
    running.delete(this.channelName);
  }
}

/**
 * Serve webvoice workers on the BroadcastChannel `channelName`; returns the
 * agent ({id, channelName, sessions, stop()}). Starting twice on one channel
 * returns the running agent.
 */
export function startAgent({ channelName = DEFAULT_CHANNEL, document: doc = globalThis.document } = {}) {
  if (!doc) throw new Error("the webvoice media agent runs on the page's main thread (no document here)");
  if (typeof BroadcastChannel === "undefined") throw new Error("this browser has no BroadcastChannel");
  let agent = running.get(channelName);
  if (!agent) {
    agent = new Agent(channelName, doc);
    running.set(channelName, agent);
  }
  return agent;
}

// <script type="module" src="agent.js?start"> or "agent.js?channel=name" starts it.
try {
  const params = new URL(import.meta.url).searchParams;
  if (params.has("start") || params.has("channel")) {
    globalThis.webvoiceAgent = startAgent({ channelName: params.get("channel") || DEFAULT_CHANNEL });
  }
} catch (error) {
  console.error("webvoice agent did not start:", error);
}
