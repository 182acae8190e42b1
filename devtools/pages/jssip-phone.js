// A JsSIP 3.13 softphone for the interop tests (tests/e2e/test_interop_jssip.py),
// driven by Playwright through window.phone. JsSIP itself is the esbuild
// bundle of bench/jssip_bundle.py (window.JsSIP), loaded first by the one JsSIP
// page, bench/pages/jssip.html, which the benchmarks use too.
//
// It does what an application built on JsSIP (the Web Voice SDK) does:
// audio only from the (fake) microphone, no ICE servers (phone.media.pcConfig
// may be set to others, e.g. relay-only ICE through a TURN relay), incoming calls
// answered at once (unless phone.mode.answer says otherwise), the remote
// audio played through a hidden <audio autoplay> per session. Everything
// that happens is recorded in phone.events, and every SIP message sent or
// received in phone.trace (epoch ms, "sent"/"received", text), so that a
// failing test can show the exchange.
(() => {
  const MEDIA = { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } };
  const SESSION_EVENTS = ["progress", "accepted", "confirmed", "ended", "failed", "hold", "unhold",
    "muted", "unmuted", "newDTMF", "newInfo", "reinvite", "update"];

  const phone = {
    ua: null,
    sessions: [], // every session, oldest first
    current: null, // the latest session
    events: [], // {tag, session, originator, cause, status, tone, duration, t}
    trace: [], // [epoch ms, "sent" | "received", message text]
    mode: { answer: "accept" }, // "accept" | "manual"
    media: MEDIA, // the options of answer() and call()
  };
  window.phone = phone;

  const record = (tag, session, extra = {}) => {
    phone.events.push({ tag, session: phone.sessions.indexOf(session), t: Date.now(), ...extra });
  };

  // The remote audio through a hidden <audio autoplay>, as the Web Voice SDK does.
  function playRemote(session) {
    const audio = document.createElement("audio");
    audio.autoplay = true;
    audio.hidden = true;
    audio.dataset.jssipSession = String(phone.sessions.indexOf(session));
    const attach = (pc) => pc.addEventListener("track", (e) => {
      audio.srcObject = e.streams[0] || new MediaStream([e.track]);
      if (!audio.isConnected) document.body.appendChild(audio);
    });
    if (session.connection) attach(session.connection);
    else session.on("peerconnection", ({ peerconnection }) => attach(peerconnection));
    const stop = () => { audio.srcObject = null; audio.remove(); };
    session.on("ended", stop);
    session.on("failed", stop);
  }

  function track(session) {
    phone.sessions.push(session);
    phone.current = session;
    playRemote(session);
    for (const name of SESSION_EVENTS) {
      session.on(name, (e = {}) => {
        const extra = { originator: e.originator || null };
        if (e.cause !== undefined) extra.cause = e.cause;
        if (e.message && e.message.status_code) extra.status = e.message.status_code;
        if (e.response && e.response.status_code) extra.status = e.response.status_code;
        if (e.dtmf) { extra.tone = e.dtmf.tone; extra.duration = e.dtmf.duration; }
        if (e.info) { extra.contentType = e.info.contentType; extra.body = e.info.body; }
        record(name, session, extra);
        // What became of each INFO we send (JsSIP emits newDTMF 'local' for it).
        if (name === "newDTMF" && e.originator === "local" && e.dtmf) {
          e.dtmf.on("succeeded", ({ response }) => record("dtmfSucceeded", session,
            { tone: e.dtmf.tone, status: response && response.status_code }));
          e.dtmf.on("failed", ({ response, cause } = {}) => record("dtmfFailed", session,
            { tone: e.dtmf.tone, status: response && response.status_code, cause: cause || null }));
        }
      });
    }
  }

  // Every SIP message through the WebSocket, both ways, into phone.trace.
  function traceSocket(socket) {
    const send = socket.send.bind(socket);
    socket.send = (message) => {
      phone.trace.push([Date.now(), "sent", String(message)]);
      return send(message);
    };
    let ondata = null;
    Object.defineProperty(socket, "ondata", {
      configurable: true,
      get: () => (data) => {
        phone.trace.push([Date.now(), "received", String(data)]);
        if (ondata) ondata(data);
      },
      set: (handler) => { ondata = handler; },
    });
  }

  // Start a UA for `user` and resolve once it is registered.
  phone.start = ({ user, password, wsUrl, domain }) => new Promise((resolve, reject) => {
    const socket = new window.JsSIP.WebSocketInterface(wsUrl);
    traceSocket(socket);
    const ua = new window.JsSIP.UA({
      sockets: [socket], uri: `sip:${user}@${domain}`, password, register: true,
    });
    phone.ua = ua;
    let settled = false;
    ua.on("registered", () => { if (!settled) { settled = true; resolve(true); } });
    ua.on("registrationFailed", (e) => {
      if (!settled) { settled = true; reject(new Error(`registration failed: ${e.cause}`)); }
    });
    ua.on("newRTCSession", ({ originator, session }) => {
      track(session);
      if (originator === "remote" && phone.mode.answer === "accept") session.answer(phone.media);
    });
    ua.start();
  });

  phone.call = (target) => { phone.ua.call(target, phone.media); return phone.sessions.length - 1; };

  // Resolves once predicate() is true; rejects after timeoutMs.
  phone.waitFor = (predicate, timeoutMs = 10000, what = "a condition") => new Promise((resolve, reject) => {
    const t0 = Date.now();
    const poll = () => {
      let value;
      try { value = predicate(); } catch (e) { reject(e); return; }
      if (value) resolve(value);
      else if (Date.now() - t0 > timeoutMs) reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      else setTimeout(poll, 20);
    };
    poll();
  });

  phone.waitForEvent = (tag, originator = null, timeoutMs = 10000) => phone.waitFor(
    () => phone.events.find((e) => e.tag === tag && (originator === null || e.originator === originator)),
    timeoutMs, `JsSIP event ${tag}${originator ? ` (${originator})` : ""}`);

  phone.live = () => phone.sessions.filter((s) => !s.isEnded()).length;

  // Inbound RTP of the current session: packets and total audio energy.
  phone.inbound = async (session = phone.current) => {
    const out = { packets: 0, energy: 0 };
    if (!session || !session.connection) return out;
    const report = await session.connection.getStats();
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && (s.kind || s.mediaType) === "audio") {
        out.packets += s.packetsReceived || 0;
        out.energy += s.totalAudioEnergy || 0;
      }
    });
    return out;
  };

  // Inbound packets (and audio energy) received over the next `ms`.
  phone.inboundGrowth = async (ms = 1000) => {
    const first = await phone.inbound();
    await new Promise((r) => setTimeout(r, ms));
    const last = await phone.inbound();
    return { packets: last.packets - first.packets, energy: last.energy - first.energy };
  };

  // session.hold()/unhold() (options: {useUpdate}), resolving once the
  // re-INVITE or UPDATE has been answered (false if JsSIP refused to start it).
  const toggle = (method, options = {}) => new Promise((resolve, reject) => {
    const session = phone.current;
    const timer = setTimeout(() => reject(new Error(`${method}: no answer in 10 s`)), 10000);
    const done = () => { clearTimeout(timer); resolve(true); };
    if (!session[method](options, done)) { clearTimeout(timer); resolve(false); }
  });
  phone.hold = (options) => toggle("hold", options || {});
  phone.unhold = (options) => toggle("unhold", options || {});

  phone.reset = () => {
    phone.events.length = 0;
    phone.mode.answer = "accept";
  };
})();
