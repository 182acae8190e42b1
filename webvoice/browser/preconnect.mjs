/**
 * Open the WebSocket to the SIP server while Python boots.
 *
 *   import { preconnectSip } from "/webvoice/preconnect.mjs";
 *   preconnectSip("wss://sip.example.com:8089/ws");   // as early as the page can
 *   // ... Pyodide boots, then create_sip_instance(ws_url="wss://sip.example.com:8089/ws")
 *
 * Why: a page waits for Pyodide (seconds, or a fraction of one from a
 * snapshot) before webvoice can open its connection, and then for the
 * connection (TCP, TLS and the WebSocket handshake: two or three round trips
 * to the server) before it can register. Opened here, at the page's start,
 * the connection is made while Pyodide boots; webvoice's WebSocket transport
 * (webvoice/browser/_websocket.py) takes it instead of opening its own when
 * it first connects to the same URL, and replays what the socket reported
 * before that (its open event; a message, should the server send one).
 *
 * Nothing is sent on the socket here: webvoice sends everything, as on a
 * socket of its own, so no SIP decision lives in this file. A socket nobody
 * takes within `unusedAfterMs` (30 s) is closed; one that closes before it is
 * taken is dropped, and webvoice opens its own. Each call makes one socket for
 * one taking: reconnections open new sockets, as always. Main thread only (a
 * webvoice in a worker opens its own socket there).
 */

const POOL = "__webvoicePreconnected"; // the property webvoice's transport looks for
const EVENTS = ["open", "message", "close", "error"];

/** The sockets opened ahead, by URL (the browser's spelling: `socket.url`). */
class PreconnectPool {
  constructor() {
    this.entries = new Map();
  }

  /** The socket for `url` and the events it reported so far, for webvoice to
   * take (once); undefined if none is waiting or it is closing already. */
  take(url) {
    const entry = this.entries.get(url);
    if (!entry) return undefined;
    this.entries.delete(url);
    entry.stopListening();
    if (entry.socket.readyState > 1) return undefined;
    return { socket: entry.socket, early: entry.early };
  }

  add(entry) {
    const older = this.entries.get(entry.socket.url);
    this.entries.set(entry.socket.url, entry);
    if (older) older.drop("replaced by a newer preconnection");
  }

  remove(entry) {
    if (this.entries.get(entry.socket.url) === entry) this.entries.delete(entry.socket.url);
  }
}

export function preconnectSip(url, { unusedAfterMs = 30_000 } = {}) {
  let socket;
  try {
    socket = new WebSocket(url, "sip");
  } catch (error) {
    // A URL the browser refuses (not ws:, wss:, http: or https:; malformed): say which.
    throw new Error(`webvoice: cannot preconnect to ${JSON.stringify(String(url))}: ${error.message}`);
  }
  socket.binaryType = "arraybuffer";
  const early = [];
  const keep = (event) => early.push(event);
  for (const name of EVENTS) socket.addEventListener(name, keep);
  const pool = (globalThis[POOL] ??= new PreconnectPool());
  const entry = {
    socket,
    early,
    stopListening() {
      clearTimeout(timer);
      for (const name of EVENTS) socket.removeEventListener(name, keep);
    },
    drop(why) {
      pool.remove(entry);
      entry.stopListening();
      if (socket.readyState <= 1) socket.close(1000, why);
    },
  };
  const timer = setTimeout(() => entry.drop("not taken by webvoice"), unusedAfterMs);
  socket.addEventListener("close", () => { pool.remove(entry); entry.stopListening(); });
  pool.add(entry);
  return socket;
}
