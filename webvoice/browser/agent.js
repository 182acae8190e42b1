// webvoice media agent: a generic host of browser objects for Python in a Web Worker.
//
// Python in a Web Worker (a JupyterLite kernel, a PyScript worker) has no DOM
// and no RTCPeerConnection. This module runs on the page and holds browser
// objects for it: it creates them, calls their methods, reads and sets their
// properties, forwards their events, waits for conditions, and runs clean-up
// calls when a worker dies. It knows nothing of SIP or media: every decision
// is in webvoice's Python (webvoice/browser/_engine.py), which reaches this
// host through webvoice/browser/_remote.py (whose docstring describes the
// messages and the operations) over a BroadcastChannel.
//
//   <script type="module" src="/static/agent.js?start"></script>            default channel
//   <script type="module" src="/static/agent.js?channel=my-phone"></script>
//   import { startAgent } from "./agent.js"; startAgent({channelName: "my-phone"});

export const PROTOCOL = 2;
export const DEFAULT_CHANNEL = "webvoice-media";

const DEFINES = new Set(["new", "ref", "invoke", "arm"]); // op[1] is the slot they fill (or null)
const ANSWERS = new Set(["call", "get", "has", "settle", "sync"]); // their values go in the reply
const running = new Map(); // channel name -> Agent, so a second start returns the first

function describe(error) {
  if (typeof error === "string") return { name: "Error", message: error, constraint: "" };
  const text = (key) => { try { return typeof error?.[key] === "string" ? error[key] : ""; } catch { return ""; } };
  return { name: text("name") || error?.constructor?.name || "Error", message: text("message"), constraint: text("constraint") };
}

function walk(obj, path) {
  for (const name of path.split(".")) obj = obj == null ? undefined : obj[name];
  return obj;
}

/** [the object holding the last name of `path` under `root`, that name]. */
function owner(root, path) {
  const i = path.lastIndexOf(".");
  return i < 0 ? [root, path] : [walk(root, path.slice(0, i)), path.slice(i + 1)];
}

/** A value as plain data: its JSON form; a map-like object (RTCStatsReport), the list of its values. */
function plain(value) {
  if (value == null || typeof value === "function") return null;
  if (typeof value !== "object") return value;
  const mapLike = ["values", "forEach", "has"].every((name) => typeof value[name] === "function");
  const text = JSON.stringify(mapLike && !Array.isArray(value) ? Array.from(value.values()) : value);
  return text === undefined ? null : JSON.parse(text);
}

/** Resolves with the index of the first condition of `until` that holds after one of its
 * events (with its grace), or of a `prop` condition true at settle(); else "timeout". */
class Waiter {
  constructor(target, until, timeoutMs) {
    Object.assign(this, { target, until, graced: new Set() });
    this.done = new Promise((resolve) => { this.resolve = resolve; });
    this.timers = [setTimeout(() => this.resolve("timeout"), timeoutMs)];
    this.listeners = [...new Set(until.map((c) => c.event))].map((name) => [name, (e) => this.onEvent(name, e)]);
    for (const [name, listener] of this.listeners) target.addEventListener(name, listener);
  }

  holds(c, event) {
    return (c.field == null || plain(walk(event, c.field)) === c.equals)
      && (c.prop == null || plain(walk(this.target, c.prop)) === c.equals);
  }

  onEvent(name, event) {
    const i = this.until.findIndex((c, j) => c.event === name && !this.graced.has(j) && this.holds(c, event));
    if (i < 0) return;
    if (this.until[i].grace_ms > 0) { // the grace counts from the first time
      this.graced.add(i);
      this.timers.push(setTimeout(() => this.resolve(i), this.until[i].grace_ms));
    } else this.resolve(i);
  }

  settle() {
    const i = this.until.findIndex((c) => c.prop != null && plain(walk(this.target, c.prop)) === c.equals);
    if (i >= 0) this.resolve(i);
    return this.done;
  }

  close() {
    this.resolve("released");
    this.timers.forEach(clearTimeout);
    for (const [name, listener] of this.listeners.splice(0)) this.target.removeEventListener(name, listener);
  }
}

/** The objects, listeners and clean-up calls of one worker realm (one `bridge`). */
class Client {
  constructor(agent, bridge) {
    Object.assign(this, { agent, bridge, nextEvent: 1 });
    this.slots = new Map(); // slot -> promise of its object (a failed operation rejects it)
    this.values = new Map(); // slot -> its object, once there
    this.subs = new Map(); // subscription -> [target, event, listener]
    this.lost = new Map(); // slot -> methods to call if the worker dies
  }

  post(message) { this.agent.post({ bridge: this.bridge, ...message }); }

  defer(slot) {
    let settle;
    const promise = new Promise((resolve, reject) => { settle = { resolve, reject }; });
    promise.catch(() => {});
    this.slots.set(slot, Object.assign(promise, settle));
  }

  put(slot, value) {
    if (!this.slots.has(slot)) this.defer(slot);
    this.values.set(slot, value);
    this.slots.get(slot).resolve(value);
    return null;
  }

  target(slot) {
    if (slot === null) return globalThis;
    const found = this.slots.get(slot);
    if (!found) throw new Error(`no object in slot ${slot} (released, or the agent restarted)`);
    return found;
  }

  async arg(value) {
    if (Array.isArray(value)) return Promise.all(value.map((v) => this.arg(v)));
    if (!value || typeof value !== "object") return value;
    if ("$r" in value) return this.target(value.$r);
    return Object.fromEntries(await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await this.arg(v)])));
  }

  async run(op) {
    const [kind, a, b, c, d] = op;
    switch (kind) {
      case "new": {
        const Constructor = walk(globalThis, b);
        if (typeof Constructor !== "function") throw Object.assign(new Error(`this browser has no ${b}`), { name: "NotSupportedError" });
        return this.put(a, new Constructor(...await this.arg(c)));
      }
      case "ref": return this.put(a, walk(await this.target(b), c));
      case "invoke": { const target = await this.target(b); const value = await target[c](...await this.arg(d)); return a === null ? null : this.put(a, value); }
      case "call": { const target = await this.target(a); return plain(await target[b](...await this.arg(c))); }
      case "get": return plain(walk(await this.target(a), b));
      case "has": { const [obj, name] = owner(await this.target(a), b); return (typeof obj === "object" && obj !== null) || typeof obj === "function" ? name in obj : false; }
      case "set": { const [obj, name] = owner(await this.target(a), b); obj[name] = await this.arg(c); return null; }
      case "listen": {
        const target = await this.target(b);
        const listener = (event) => this.forward(a, event, d, op[5]);
        target.addEventListener(c, listener);
        this.subs.set(a, [target, c, listener]);
        return null;
      }
      case "unlisten": return this.unlisten(a);
      case "arm": return this.put(a, new Waiter(await this.target(b), c, d));
      case "settle": {
        const waiter = await this.target(a);
        try {
          const reason = await waiter.settle();
          return { reason, read: Object.fromEntries(b.map((path) => [path, plain(walk(waiter.target, path))])) };
        } finally { waiter.close(); }
      }
      case "lost": this.lost.set(a, [...(this.lost.get(a) || []), b]); return null;
      case "release":
        for (const slot of a) {
          if (this.values.get(slot) instanceof Waiter) this.values.get(slot).close();
          for (const map of [this.slots, this.values, this.lost]) map.delete(slot);
        }
        return null;
      case "sync": return null;
      default: throw new Error(`the media agent knows no operation '${kind}' (protocol ${PROTOCOL})`);
    }
  }

  /** A call nobody waits for: made now, in order; a failure is reported and the batch goes on. */
  async fire(id, at, [, on, method, args]) {
    const failed = (error) => this.post({ kind: "failed", id, at, error: describe(error) });
    try {
      const target = await this.target(on);
      Promise.resolve(target[method](...await this.arg(args))).catch(failed);
    } catch (error) { failed(error); }
  }

  async batch({ id, ops, reply }) {
    for (const op of ops) if (DEFINES.has(op[0]) && op[1] !== null) this.defer(op[1]);
    const results = [];
    for (let at = 0; at < ops.length; at += 1) {
      try {
        if (ops[at][0] === "fire") await this.fire(id, at, ops[at]);
        else if (ANSWERS.has(ops[at][0])) results.push(await this.run(ops[at]));
        else await this.run(ops[at]);
      } catch (error) { // the rest of the batch does not run; the slots it would fill fail the same way
        for (const op of ops.slice(at)) if (DEFINES.has(op[0]) && op[1] !== null) this.slots.get(op[1])?.reject(error);
        this.post({ kind: "reply", id, ok: false, at, results, error: describe(error) });
        return;
      }
    }
    if (reply) this.post({ kind: "reply", id, ok: true, results });
  }

  forward(sub, event, fields, refs) {
    const data = Object.fromEntries(Object.entries(fields).map(([k, path]) => [k, plain(walk(event, path))]));
    const kept = {};
    for (const [k, path] of Object.entries(refs)) this.put((kept[k] = `e${this.nextEvent++}`), walk(event, path));
    this.post({ kind: "event", sub, data, refs: kept });
  }

  unlisten(sub) {
    const entry = this.subs.get(sub);
    if (entry) entry[0].removeEventListener(entry[1], entry[2]);
    this.subs.delete(sub);
    return null;
  }

  /** The worker is gone (or detached): its clean-up calls run, everything is forgotten. */
  close() {
    for (const sub of [...this.subs.keys()]) this.unlisten(sub);
    for (const [slot, methods] of this.lost) {
      for (const method of methods) {
        try { Promise.resolve(this.values.get(slot)?.[method]?.()).catch(() => {}); } catch { /* gone already */ }
      }
    }
    for (const value of this.values.values()) if (value instanceof Waiter) value.close();
    for (const map of [this.slots, this.values, this.lost]) map.clear();
  }
}

function randomId() {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** One agent per channel name and page; see startAgent(). */
class Agent {
  constructor(channelName, doc) {
    Object.assign(this, { id: randomId(), channelName, document: doc, clients: new Map() }); // bridge -> Client
    this.channel = new BroadcastChannel(channelName);
    this.onMessage = (event) => this.receive(event.data);
    this.onPageHide = () => this.post({ kind: "gone", bridge: null });
    this.channel.addEventListener("message", this.onMessage);
    globalThis.addEventListener?.("pagehide", this.onPageHide);
  }

  post(message) {
    if (this.channel) this.channel.postMessage({ wv: PROTOCOL, agent: this.id, ...message });
  }

  receive(m) {
    if (!m || m.wv !== PROTOCOL || typeof m.bridge !== "string") return;
    if (m.kind === "hello") {
      this.post({ kind: "here", bridge: m.bridge, visible: !this.document || this.document.visibilityState !== "hidden" });
    } else if (m.agent !== this.id) {
      // for another agent
    } else if (m.kind === "attach") {
      if (!this.clients.has(m.bridge)) {
        this.clients.set(m.bridge, new Client(this, m.bridge));
        // The worker holds this Web Lock while it lives: granted to us, the worker ended.
        if (m.lock && globalThis.navigator?.locks) navigator.locks.request(m.lock, () => this.detach(m.bridge)).catch(() => {});
      }
      this.post({ kind: "reply", bridge: m.bridge, id: m.id, ok: true, results: [] });
    } else if (m.kind === "detach") {
      this.detach(m.bridge);
    } else if (m.kind === "batch") {
      const client = this.clients.get(m.bridge);
      if (client) client.batch(m);
      else this.post({ kind: "reply", bridge: m.bridge, id: m.id, ok: false, at: 0, results: [],
        error: { name: "Error", message: "this worker is not attached to the media agent (it was closed)" } });
    }
  }

  detach(bridge) {
    this.clients.get(bridge)?.close();
    this.clients.delete(bridge);
  }

  /** Run every worker's clean-up calls, tell the workers, and stop listening. */
  stop() {
    for (const bridge of [...this.clients.keys()]) this.detach(bridge);
    this.onPageHide();
    this.channel.removeEventListener("message", this.onMessage);
    globalThis.removeEventListener?.("pagehide", this.onPageHide);
    this.channel.close();
    this.channel = null;
    running.delete(this.channelName);
  }
}

/** Serve webvoice workers on the BroadcastChannel `channelName`; returns the agent
 * ({id, channelName, clients, stop()}). Starting twice on one channel returns the running agent. */
export function startAgent({ channelName = DEFAULT_CHANNEL, document: doc = globalThis.document } = {}) {
  if (!doc) throw new Error("the webvoice media agent runs on the page's main thread (no document here)");
  if (typeof BroadcastChannel === "undefined") throw new Error("this browser has no BroadcastChannel");
  if (!running.has(channelName)) running.set(channelName, new Agent(channelName, doc));
  return running.get(channelName);
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
