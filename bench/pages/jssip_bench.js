// JsSIP's side of the benchmarks (bench/run.py), the counterpart of the
// Python helpers that run in webvoice's page. JsSIP itself is loaded on
// demand by benchLoadJsSIP(), so that its load time can be measured.
// Times are epoch milliseconds (window.benchNow(), from longtasks.js).
(() => {
  const state = { ua: null, sessions: new Set(), active: null, holdOnNewLine: false };
  window.benchState = state;

  const MEDIA = { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } };

  window.benchLoadJsSIP = (src) => new Promise((resolve, reject) => {
    const t0 = window.benchNow();
    const script = document.createElement("script");
    script.src = src;
    script.onload = () => resolve({ t0, t1: window.benchNow(), version: window.JsSIP.version });
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(script);
  });

  // Parser.parseMessage(text, ua) is what JsSIP's UA runs on each incoming
  // frame; it parses most headers then and leaves the rest for parseHeader()
  // on demand. Contact is asked for too, as a dialog-forming message's
  // handler would. Best microseconds per message over `rounds` rounds of
  // `number` parses, after a warm-up that lets V8 optimise the parser.
  window.benchParse = ({ messages, rounds, number, warmup }) => {
    const Parser = window.JsSIPParser;
    const ua = {}; // only stored on the request object
    let sink = 0;
    const parseOnce = (text) => {
      const message = Parser.parseMessage(text, ua);
      if (!message || !message.parseHeader("contact")) throw new Error("JsSIP could not parse the message");
      return message.body.length;
    };
    const out = {};
    for (const [name, text] of Object.entries(messages)) {
      for (let i = 0; i < warmup; i++) sink += parseOnce(text);
      const roundsUs = [];
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        for (let i = 0; i < number; i++) sink += parseOnce(text);
        roundsUs.push(((performance.now() - t0) * 1000) / number);
      }
      out[name] = { best_us: Math.min(...roundsUs), rounds_us: roundsUs };
    }
    return { results: out, sink };
  };

  // The remote audio plays through a hidden <audio autoplay> per session, as
  // the Web Voice SDK does for JsSIP (and webvoice does for each line), so
  // that both stacks do the same work in the page.
  function playRemote(session) {
    const audio = document.createElement("audio");
    audio.autoplay = true;
    audio.hidden = true;
    const attach = (pc) => pc.addEventListener("track", (e) => {
      audio.srcObject = e.streams[0] || new MediaStream([e.track]);
      if (!audio.isConnected) document.body.appendChild(audio);
    });
    // JsSIP makes the RTCPeerConnection before "newRTCSession" (both ways).
    if (session.connection) attach(session.connection);
    else session.on("peerconnection", ({ peerconnection }) => attach(peerconnection));
    return () => { audio.srcObject = null; audio.remove(); };
  }

  function track(session) {
    state.sessions.add(session);
    const stopAudio = playRemote(session);
    const drop = () => {
      stopAudio();
      state.sessions.delete(session);
      if (state.active === session) state.active = null;
    };
    session.on("ended", drop);
    session.on("failed", drop);
  }

  // Put the active session on hold first (when holdOnNewLine), as the Web
  // Voice SDK does with JsSIP and webvoice does with its lines; then go().
  function holdActiveThen(go) {
    const previous = state.active;
    if (state.holdOnNewLine && previous && previous.isEstablished() && !previous.isOnHold().local) {
      if (previous.hold({}, go)) return;
    }
    go();
  }

  function onNewSession({ originator, session }) {
    track(session);
    if (originator !== "remote") return;
    holdActiveThen(() => {
      state.active = session;
      session.answer(MEDIA);
    });
  }

  // A UA for `user`, started and registered; incoming calls are answered.
  window.benchStartUA = ({ user, password, wsUrl, domain }) => new Promise((resolve, reject) => {
    const t0 = window.benchNow();
    const socket = new window.JsSIP.WebSocketInterface(wsUrl);
    const ua = new window.JsSIP.UA({ sockets: [socket], uri: `sip:${user}@${domain}`, password, register: true });
    state.ua = ua;
    let settled = false;
    ua.on("registered", () => { if (!settled) { settled = true; resolve({ t0, t1: window.benchNow() }); } });
    ua.on("registrationFailed", (e) => { if (!settled) { settled = true; reject(new Error(`registration failed: ${e.cause}`)); } });
    ua.on("newRTCSession", onNewSession);
    ua.start();
  });

  window.benchStopUA = () => new Promise((resolve) => {
    const ua = state.ua;
    if (!ua) return resolve(false);
    const timer = setTimeout(() => resolve(false), 5000);
    ua.on("unregistered", () => { ua.stop(); clearTimeout(timer); resolve(true); });
    ua.unregister();
  });

  // call() until "confirmed" (ACK sent for the 200 OK); tInvite: when the
  // INVITE goes out ("sending": microphone, offer and ICE gathering done).
  window.benchCall = ({ target }) => new Promise((resolve, reject) => {
    holdActiveThen(() => {
      const t0 = window.benchNow();
      let tInvite = null;
      const session = state.ua.call(target, {
        ...MEDIA,
        eventHandlers: {
          sending: () => { tInvite = window.benchNow(); },
          confirmed: () => resolve({ t0, tInvite, t1: window.benchNow() }),
          failed: (e) => reject(new Error(`call failed: ${e.cause}`)),
        },
      });
      state.active = session;
    });
  });

  window.benchLiveCalls = () => state.sessions.size;

  window.benchHangUp = () => {
    for (const session of state.sessions) {
      if (!session.isEnded()) session.terminate();
    }
    return state.sessions.size;
  };
})();
