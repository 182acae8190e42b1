// webvoice_widget's front end (an anywidget ES module), on the page's main thread.
//
// initialize(): start webvoice's media agent (agent.js, whose source the
// Python side sends in `agent_js`) from a blob: URL, once per page and
// channel, and report its id (or the error) back in `agent_id` /
// `agent_error`. The kernel's BridgedMediaBackend finds it over the
// BroadcastChannel `channel`.
// render(): the phone: registration, dial field, Call / Hang up (Answer /
// Decline when a call rings), status with the call's duration, quality
// figures and a packets-per-second sparkline. Buttons send
// {action: "call" | "hangup" | "answer" | "decline"} to Python.

const AGENTS_KEY = "__webvoiceWidgetAgents";

function startAgent(source, channelName) {
  const agents = (globalThis[AGENTS_KEY] ??= new Map());
  let started = agents.get(channelName);
  if (!started) {
    // An agent started another way (agent_loader_js(), <script src=agent.js?start>) serves as well.
    const existing = globalThis.webvoiceAgent;
    if (existing && existing.channelName === channelName && existing.channel) {
      started = Promise.resolve(existing);
    } else {
      const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
      started = import(/* webpackIgnore: true */ url)
        .then((module) => module.startAgent({ channelName }))
        .finally(() => URL.revokeObjectURL(url));
    }
    agents.set(channelName, started);
    started.catch(() => agents.delete(channelName)); // a later widget may try again
  }
  return started;
}

function ensureAgent(model) {
  const source = model.get("agent_js");
  if (!source) return;
  startAgent(source, model.get("channel")).then(
    (agent) => {
      if (model.get("agent_id") !== agent.id || model.get("agent_error")) {
        model.set("agent_id", agent.id);
        model.set("agent_error", "");
        model.save_changes();
      }
    },
    (error) => {
      console.error("webvoice_widget: the media agent did not start:", error);
      model.set("agent_error", String((error && error.message) || error));
      model.save_changes();
    });
}

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") el.className = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value);
  }
  el.append(...children);
  return el;
}

const REGISTRATION = { registered: "Registered", connected: "Connected, not registered", offline: "Offline" };

function duration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function sparkline(svg, history) {
  const w = 160, hgt = 36;
  const values = history.map((point) => point[0]);
  const max = Math.max(60, ...values);
  const points = values.map((v, i) => `${(i / Math.max(1, values.length - 1)) * w},${hgt - (v / max) * (hgt - 2) - 1}`);
  svg.innerHTML = `<polyline fill="none" stroke="currentColor" stroke-width="1.5" points="${points.join(" ")}"/>`;
}

function render({ model, el }) {
  const reg = h("span", { class: "wv-reg" });
  const user = h("span", { class: "wv-user" });
  const target = h("input", { class: "wv-target", type: "text", placeholder: "user or sip:user@domain",
    "aria-label": "Number to call" });
  const send = (action) => model.send({ action, target: target.value.trim() });
  const callBtn = h("button", { class: "wv-call", type: "button", onclick: () => send("call") }, "Call");
  const hangupBtn = h("button", { class: "wv-hangup", type: "button", onclick: () => send("hangup") }, "Hang up");
  const answerBtn = h("button", { class: "wv-answer", type: "button", onclick: () => send("answer") }, "Answer");
  const declineBtn = h("button", { class: "wv-decline", type: "button", onclick: () => send("hangup") }, "Decline");
  const status = h("div", { class: "wv-status", role: "status" });
  const clock = h("span", { class: "wv-clock" });
  const cell = (cls) => h("span", { class: cls }, "–");
  const figures = { rx: cell("wv-rx"), tx: cell("wv-tx"), lost: cell("wv-lost"), jitter: cell("wv-jitter"),
    rtt: cell("wv-rtt"), codec: cell("wv-codec") };
  const spark = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  spark.setAttribute("class", "wv-spark");
  spark.setAttribute("viewBox", "0 0 160 36");
  spark.setAttribute("preserveAspectRatio", "none");
  const agent = h("div", { class: "wv-agent" });

  const root = h("div", { class: "wv-phone" },
    h("div", { class: "wv-head" }, h("span", { class: "wv-title" }, "webvoice phone"), user, reg),
    h("div", { class: "wv-dial" }, target, callBtn, answerBtn, hangupBtn, declineBtn),
    h("div", { class: "wv-line" }, status, clock),
    h("div", { class: "wv-quality" },
      h("span", {}, "received ", figures.rx), h("span", {}, "sent ", figures.tx),
      h("span", {}, "lost ", figures.lost), h("span", {}, "jitter ", figures.jitter),
      h("span", {}, "rtt ", figures.rtt), h("span", {}, "codec ", figures.codec), spark),
    agent);
  el.append(root);

  target.addEventListener("change", () => { model.set("target", target.value.trim()); model.save_changes(); });
  target.addEventListener("keydown", (event) => { if (event.key === "Enter") send("call"); });

  function update() {
    const registration = model.get("registration");
    const state = model.get("call_state");
    root.dataset.registration = registration;
    root.dataset.callState = state;
    reg.textContent = REGISTRATION[registration] || registration;
    reg.dataset.state = registration;
    user.textContent = model.get("user");
    if (document.activeElement !== target) target.value = model.get("target");
    const live = ["connecting", "progress", "confirmed"].includes(state);
    const ringing = state === "ringing";
    callBtn.hidden = live || ringing;
    hangupBtn.hidden = !live;
    answerBtn.hidden = declineBtn.hidden = !ringing;
    callBtn.disabled = registration === "offline";
    status.textContent = model.get("status") || (registration === "registered" ? "Ready" : "");
    const stats = model.get("stats") || {};
    const has = stats.packets_received !== undefined;
    figures.rx.textContent = has ? String(stats.packets_received) : "–";
    figures.tx.textContent = has ? String(stats.packets_sent) : "–";
    figures.lost.textContent = has ? String(stats.packets_lost) : "–";
    figures.jitter.textContent = has ? `${(stats.jitter * 1000).toFixed(1)} ms` : "–";
    figures.rtt.textContent = has && stats.round_trip_time != null ? `${(stats.round_trip_time * 1000).toFixed(0)} ms` : "–";
    figures.codec.textContent = stats.codec ? stats.codec.replace(/^audio\//, "") : "–";
    sparkline(spark, model.get("history") || []);
    const error = model.get("agent_error");
    agent.textContent = error ? `Media agent failed: ${error}`
      : model.get("agent_id") ? `Media agent ${model.get("agent_id")} on this page` : "Starting the media agent...";
    agent.dataset.state = error ? "error" : model.get("agent_id") ? "ready" : "starting";
    tick();
  }

  function tick() {
    const since = model.get("connected_at");
    clock.textContent = since && model.get("call_state") === "confirmed" ? duration(Date.now() / 1000 - since) : "";
  }

  const names = ["registration", "call_state", "status", "stats", "history", "user", "target", "agent_id",
    "agent_error", "connected_at"];
  for (const name of names) model.on(`change:${name}`, update);
  const timer = setInterval(tick, 1000);
  update();
  return () => {
    clearInterval(timer);
    for (const name of names) model.off(`change:${name}`, update);
  };
}

function initialize({ model }) {
  ensureAgent(model);
  model.on("change:agent_js", () => ensureAgent(model));
}

export default { initialize, render };
