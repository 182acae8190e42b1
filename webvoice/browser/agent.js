// webvoice media agent: a generic host of browser objects for Python in a Web Worker (which has
// no DOM and no RTCPeerConnection). On the page, it creates objects, calls their methods, reads and
// sets properties, forwards events, waits for conditions, and runs clean-up calls when a worker dies.
// It knows nothing of SIP or media: every decision is in webvoice's Python (webvoice/browser/_engine.py),
// which reaches it over a BroadcastChannel (webvoice/browser/_agent_protocol.py describes the messages).
//
//   <script type="module" src="/static/agent.js?start"></script>  (or ?channel=my-phone)
//   import { startAgent } from "./agent.js"; startAgent({channelName: "my-phone"});

export const PROTOCOL = 3;
export const DEFAULT_CHANNEL = "webvoice-media";

const DEFINES = new Set(["new", "ref", "invoke", "arm"]); // op[1] is the slot they fill (or null)
const ANSWERS = new Set(["call", "get", "has", "settle", "sync"]); // their values go in the reply
const running = new Map(); // channel name -> Agent, so a second start returns the first

function describe(error) {
  if (typeof error === "string") return { name: "Error", message: error, constraint: "" };
  const text = (key) => { try { return typeof error?.[key] === "string" ? error[key] : ""; } catch { return ""; } };
  return { name: text("name") || error?.constructor?.name || "Error", message: text("message"), constraint: text("constraint") };
}

const walk = (obj, path) => path.split(".").reduce((o, name) => (o == null ? undefined : o[name]), obj);
// [the object holding the last name of `path` under `root`, that name]
const owner = (root, path, i = path.lastIndexOf(".")) => (i < 0 ? [root, path] : [walk(root, path.slice(0, i)), path.slice(i + 1)]);

/** A value as plain data: its JSON form; a map-like object (RTCStatsReport), the list of its values. */
function plain(value) {
  if (value == null || typeof value === "function") return null;
  if (typeof value !== "object") return value;
  const mapLike = ["values", "forEach", "has"].every((name) => typeof value[name] === "function");
  const text = JSON.stringify(mapLike && !Array.isArray(value) ? Array.from(value.values()) : value);
  return text === undefined ? null : JSON.parse(text);
}

class Listener { // kept in a slot; releasing the slot removes it
  constructor(target, event, fn) { Object.assign(this, { target, event, fn }); target.addEventListener(event, fn); }
  close() { this.target.removeEventListener(this.event, this.fn); }
}

/** Resolves with the index of the first condition of `until` that holds after one of its
 * events (with its grace), or of a `prop` condition true at settle(); else "timeout". */
class Waiter {
  constructor(target, until, timeoutMs) {
    Object.assign(this, { target, until, graced: new Set() });
    this.done = new Promise((resolve) => { this.resolve = resolve; });
    this.timers = [setTimeout(() => this.resolve("timeout"), timeoutMs)];
    this.listeners = [...new Set(until.map((c) => c.event))].map((name) => new Listener(target, name, (e) => this.onEvent(name, e)));
  }

  holds(c, event) { return (c.field == null || plain(walk(event, c.field)) === c.equals) && this.targetHolds(c); }

  targetHolds(c) {
    return (c.prop == null || plain(walk(this.target, c.prop)) === c.equals)
      && (c.text == null || String(walk(this.target, c.text) ?? "").includes(c.contains));
  }

  onEvent(name, event) {
    const i = this.until.findIndex((c, j) => c.event === name && !this.graced.has(j) && this.holds(c, event));
    if (i < 0) return;
    if (this.until[i].grace_ms > 0) { // the grace counts from the first time
      this.graced.add(i);
      this.timers.push(setTimeout(() => this.resolve(i), this.until[i].grace_ms));
    } else this.resolve(i);
  }

  async settle(read) { // then reads `read` paths of the target, and stops
    const i = this.until.findIndex((c) => c.prop != null && this.targetHolds(c));
    if (i >= 0) this.resolve(i);
    const reason = await this.done;
    this.close();
    return { reason, read: Object.fromEntries(read.map((path) => [path, plain(walk(this.target, path))])) };
  }

  close() {
    this.resolve("released");
    this.timers.forEach(clearTimeout);
    this.listeners.splice(0).forEach((listener) => listener.close());
  }
}

/** The objects, listeners and clean-up calls of one worker realm (one `bridge`). */
class Client {
  constructor(agent, bridge) {
    Object.assign(this, { agent, bridge, nextEvent: 1 });
    this.slots = new Map(); // slot -> promise of its object, with {resolve, reject, value, lost: [methods]}
  }

  post(message) { this.agent.post({ bridge: this.bridge, ...message }); }

  cell(slot) { // a failed operation rejects its slot's promise: later users fail the same way
    if (!this.slots.has(slot)) {
      let settle;
      const promise = new Promise((resolve, reject) => { settle = { resolve, reject }; });
      promise.catch(() => {});
      this.slots.set(slot, Object.assign(promise, settle, { lost: [] }));
    }
    return this.slots.get(slot);
  }

  put(slot, value) { return slot === null ? null : Object.assign(this.cell(slot), { value }).resolve(value) ?? null; }

  target(slot) {
    if (slot === null) return globalThis;
    if (!this.slots.has(slot)) throw new Error(`no object in slot ${slot} (released, or the agent restarted)`);
    return this.slots.get(slot);
  }

  async arg(value) {
    if (Array.isArray(value)) return Promise.all(value.map((v) => this.arg(v)));
    if (!value || typeof value !== "object") return value;
    if ("$r" in value) return this.target(value.$r);
    return Object.fromEntries(await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await this.arg(v)])));
  }

  async apply(on, method, args) { // [the call's result]: a promise stays one, for "fire" not to wait on it
    const target = await this.target(on);
    return [target[method](...await this.arg(args))];
  }

  async run([kind, a, b, c, d, e]) {
    switch (kind) {
      case "new": {
        const Constructor = walk(globalThis, b);
        if (typeof Constructor !== "function") throw Object.assign(new Error(`this browser has no ${b}`), { name: "NotSupportedError" });
        return this.put(a, new Constructor(...await this.arg(c)));
      }
      case "ref": return this.put(a, walk(await this.target(b), c));
      case "invoke": return this.put(a, await (await this.apply(b, c, d))[0]);
      case "call": return plain(await (await this.apply(a, b, c))[0]);
      case "get": return plain(walk(await this.target(a), b));
      case "has": { const [obj, name] = owner(await this.target(a), b); return Object(obj) === obj && name in obj; }
      case "set": { const [obj, name] = owner(await this.target(a), b); obj[name] = await this.arg(c); return null; }
      case "listen": return this.put(a, new Listener(await this.target(b), c, (event) => this.forward(a, event, d, e)));
      case "arm": return this.put(a, new Waiter(await this.target(b), c, d));
      case "settle": return (await this.target(a)).settle(b);
      case "lost": return this.cell(a).lost.push(b) && null;
      case "release": return a.forEach((slot) => this.closeKept(slot)) ?? null; // clean-up calls forgotten
      case "sync": return null;
      default: throw new Error(`the media agent knows no operation '${kind}' (protocol ${PROTOCOL})`);
    }
  }

  // A failure ends its chain (the worker's task that queued it), not the batch:
  // the rest of that chain does not run but for its clean-up ("release"), and
  // the slots it would fill fail the same way; other chains (another line's
  // hang-up queued in the same turn) go on. Outside a task (chain null) each
  // operation stands alone. See webvoice/browser/_agent_protocol.py.
  async batch({ id, ops, chains }) {
    for (const op of ops) if (DEFINES.has(op[0]) && op[1] !== null) this.cell(op[1]);
    const results = []; // one per answering operation, in order: null where it did not run
    const failures = []; // [index, error], the first failure of each chain
    const stopped = new Map(); // chain -> its error
    for (let at = 0; at < ops.length; at += 1) {
      const op = ops[at];
      const [kind, on, method, args] = op;
      const chain = chains?.[at] ?? null;
      const failed = (error) => this.post({ kind: "failed", id, at, error: describe(error) });
      if (chain !== null && stopped.has(chain) && kind !== "release") {
        if (DEFINES.has(kind) && op[1] !== null) this.slots.get(op[1])?.reject(stopped.get(chain));
        if (ANSWERS.has(kind)) results.push(null);
        continue;
      }
      try {
        if (kind === "fire") { // a call nobody waits for: made now, in order; a failure does not stop the chain
          await this.apply(on, method, args).then(([value]) => Promise.resolve(value).catch(failed), failed);
        } else if (ANSWERS.has(kind)) results.push(await this.run(op));
        else await this.run(op);
      } catch (error) {
        if (DEFINES.has(kind) && op[1] !== null) this.slots.get(op[1])?.reject(error);
        if (ANSWERS.has(kind)) results.push(null);
        if (chain !== null) stopped.set(chain, error);
        failures.push([at, describe(error)]);
      }
    }
    // Every batch is answered, once its "fire" calls have settled too (their
    // failures, posted as "failed", come first): the worker keeps a batch until then.
    if (failures.length) {
      const [at, error] = failures[0];
      return this.post({ kind: "reply", id, ok: false, results, failures, at, error });
    }
    this.post({ kind: "reply", id, ok: true, results });
  }

  forward(sub, event, fields, refs) {
    const data = Object.fromEntries(Object.entries(fields).map(([k, path]) => [k, plain(walk(event, path))]));
    const kept = {};
    for (const [k, path] of Object.entries(refs)) this.put((kept[k] = `e${this.nextEvent++}`), walk(event, path));
    this.post({ kind: "event", sub, data, refs: kept });
  }

  closeKept(slot) {
    const { value } = this.slots.get(slot) || {};
    if (value instanceof Listener || value instanceof Waiter) value.close();
    this.slots.delete(slot);
  }

  close() { // the worker is gone (or detached): its clean-up calls run, everything is forgotten
    for (const [slot, { value, lost }] of this.slots) {
      this.closeKept(slot);
      for (const method of lost) try { Promise.resolve(value?.[method]?.()).catch(() => {}); } catch { /* gone */ }
    }
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

  post(message) { this.channel?.postMessage({ wv: PROTOCOL, agent: this.id, ...message }); }

  receive(m) {
    if (!m || m.wv !== PROTOCOL || typeof m.bridge !== "string") return;
    if (m.kind === "hello") this.post({ kind: "here", bridge: m.bridge, visible: this.document.visibilityState !== "hidden" });
    else if (m.agent === this.id && m.kind === "detach") this.detach(m.bridge);
    else if (m.agent === this.id && m.kind === "batch") this.client(m.bridge, m.lock).batch(m);
  }

  client(bridge, lock) {
    if (!this.clients.has(bridge)) {
      this.clients.set(bridge, new Client(this, bridge));
      // The worker holds this Web Lock while it lives: granted to us, the worker ended.
      if (lock && globalThis.navigator?.locks) navigator.locks.request(lock, () => this.detach(bridge)).catch(() => {});
    }
    return this.clients.get(bridge);
  }

  detach(bridge) { this.clients.get(bridge)?.close(); this.clients.delete(bridge); }

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
  if (params.has("start") || params.has("channel")) globalThis.webvoiceAgent = startAgent({ channelName: params.get("channel") || DEFAULT_CHANNEL });
} catch (error) {
  console.error("webvoice agent did not start:", error);
}
