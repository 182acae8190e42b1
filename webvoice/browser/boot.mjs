/**
 * Boot Pyodide with webvoice installed and imported, from a memory snapshot
 * when one is offered and fits, else the normal way.
 *
 *   import { bootWebvoice } from "/webvoice/boot.mjs";
 *   const { pyodide, path, reason } = await bootWebvoice({
 *     indexURL: "/pyodide/",
 *     wheelURL: "/wheels/webvoice-0.1.0-py3-none-any.whl.gz",   // or the .whl
 *     snapshotURL: "/snapshot/webvoice.snapshot.gz",   // optional: the fast boot
 *   });
 *   // path: "snapshot" or "normal"; reason: why the snapshot was not used
 *
 * Why: a normal boot starts CPython in WebAssembly and imports webvoice
 * (~2-3 s from navigation to registered); a snapshot is the Wasm heap of a
 * Pyodide that had already done so, made at build time by
 * tools/make_snapshot.mjs, and restoring it takes a fraction of that. The
 * price is the download (6.4 MB gzip'ed: a 31 MB heap without its long runs of
 * zeros, which the file leaves out, see packHeap), so it is opt-in: without
 * `snapshotURL` this is the normal boot.
 *
 * The snapshot is used only when its manifest (`<name>.snapshot.json` beside
 * it, or `manifestURL`) says it was made from this Pyodide (version, and the
 * build id in the snapshot's header) and this wheel (`wheelSha256` if given,
 * else the wheel's file name, which carries webvoice's version; the wheel or
 * its .whl.gz, install.mjs reads both), and its bytes
 * have the manifest's sha256 (`raw_sha256` when a server sent it with
 * Content-Encoding: gzip, already inflated). Otherwise, or if anything in the
 * fast path throws, the normal boot runs, and `reason` says why.
 *
 * Everything is fetched at once: Pyodide's files (by loadPyodide, which is
 * handed the snapshot as a promise), the manifest, the snapshot and the wheel
 * (unpacked while Pyodide loads). The snapshot is inflated as it arrives, and
 * once a boot from it has worked its inflated bytes are kept with the Cache
 * API (`webvoice-snapshot`, keyed by the manifest's sha256): a return visit
 * reads them back instead of inflating them again. `snapshotCache: false`
 * turns that off; where the Cache API is missing (a page that is not a secure
 * context) or fails, the snapshot comes from the network (the HTTP cache)
 * every time.
 *
 * After a restore, what the snapshot froze is renewed: the file system is not
 * in it, so the wheel's files are written again (install.mjs; not the
 * bytecode, every module being imported already); `random` is reseeded from
 * the browser's crypto (or every page would draw the same back-off jitter);
 * the time module's zone (`tzname`, `timezone`, `altzone`, `daylight`: the
 * maker's otherwise) is the page's again. The hash seed of str/bytes cannot be
 * changed after Python's start and stays the snapshot's (see README "Fast
 * start"). That work runs in tasks of its own, after Pyodide's.
 *
 * `import webvoice` runs in tasks of at most a frame's work (`importWebvoice`
 * below): no step of the start-up holds the main thread for long.
 *
 * `preconnect: wsUrl` opens the WebSocket to the SIP server at once
 * (`preconnectSip`, preconnect.mjs): the connection is made while Pyodide
 * boots, and webvoice takes it when it first connects to that URL.
 *
 * Other options: `wheelSha256` (hex) checks the wheel as install.mjs does;
 * `pyodideOptions` are passed on to loadPyodide in both paths. Besides the
 * stage durations (`timings`) and when each stage ended (`marks`,
 * `performance.now()`), every stage is a User Timing measure named
 * `webvoice:<stage>` (performance.getEntriesByType("measure")): stages that
 * run in parallel overlap there.
 */

import { readWheel, writeWheel } from "./install.mjs";
import { preconnectSip } from "./preconnect.mjs";

const BUILD_ID_OFFSET = 16; // bytes; 8 little-endian words (pyodide.asm.mjs)
export const SNAPSHOT_CACHE = "webvoice-snapshot"; // the Cache API's cache of inflated snapshots
const SHA256_HEADER = "X-Webvoice-Snapshot-Sha256"; // the manifest's sha256 of a cached snapshot

export async function bootWebvoice({
  indexURL = "/pyodide/",
  wheelURL,
  wheelSha256,
  snapshotURL,
  manifestURL,
  snapshotCache = true,
  preconnect,
  pyodideOptions = {},
} = {}) {
  if (!wheelURL) throw new Error("webvoice: bootWebvoice needs wheelURL (the webvoice wheel)");
  // The SIP server's WebSocket, opened while Pyodide boots (preconnect.mjs).
  if (preconnect) preconnectSip(preconnect);
  const base = globalThis.location?.href;
  const index = new URL(indexURL, base).href.replace(/\/?$/, "/");
  const pyodideModule = import(`${index}pyodide.mjs`);
  const timings = {};
  const marks = {}; // performance.now() at the end of each stage
  let t0 = performance.now();
  const mark = (stage) => {
    const now = performance.now();
    timings[stage] = now - t0;
    marks[stage] = now;
    t0 = now;
  };
  let reason = snapshotURL ? null : "no snapshot offered";
  if (snapshotURL) {
    const url = new URL(snapshotURL, base).href;
    const snapshot = new SnapshotSource(url, manifestURL, { wheelURL, wheelSha256, base, snapshotCache });
    // Not the bytecode: every module is imported in the snapshot already.
    const wheel = quiet(readWheel(wheelURL, { sha256: wheelSha256, only: (name) => !name.endsWith(".pyc") }));
    try {
      const { loadPyodide, version } = await pyodideModule;
      // Pyodide starts fetching and compiling its own files while the
      // snapshot arrives and is checked and inflated.
      const start = performance.now();
      const pyodide = await loadPyodide({
        ...pyodideOptions, indexURL: index, _loadSnapshot: quiet(snapshot.bytes(version)),
      });
      measure("pyodide load", start);
      mark("load_pyodide_ms");
      await nextTask(); // webvoice's part in tasks of its own, not appended to Pyodide's
      // site-packages as the manifest has it: no Python call to find it.
      const site = (await snapshot.manifest).site_packages;
      await writeWheel(pyodide, await wheel, site ? { sitePackages: site } : {});
      mark("install_webvoice_ms");
      await nextTask();
      const t = performance.now();
      // webvoice and every module of it are imported already: nothing to run
      // but the renewal, one call of a function in the snapshot (no source
      // to compile: webvoice/browser/_restore.py).
      const restore = pyodide.pyimport("webvoice.browser._restore");
      let webvoiceVersion;
      try {
        webvoiceVersion = restore.renew(...pageTimeZone());
      } finally {
        restore.destroy();
      }
      measure("renew", t);
      mark("import_webvoice_ms");
      const cached = snapshot.keep(); // for the next visit, in the background
      console.info(`webvoice: booted from the snapshot ${snapshotURL} (${snapshot.source})`);
      await nextTask(); // what the caller does next is a task of its own too
      return { pyodide, path: "snapshot", reason: null, version: webvoiceVersion, timings, marks,
               snapshotSource: snapshot.source, cached };
    } catch (error) {
      // The first line of a JS error, the last of a Python traceback.
      const lines = String(error?.message ?? error).trim().split("\n");
      reason = lines[0].startsWith("Traceback") ? lines[lines.length - 1] : lines[0];
      if (reason.startsWith("Snapshot build id mismatch")) {
        reason = "stale snapshot: made by another build of Pyodide (build id mismatch)";
      } else if (!(error instanceof StaleSnapshot)) {
        reason = `snapshot failed: ${reason}`;
      }
      console.warn(`webvoice: normal boot, the snapshot was not used: ${reason}`);
      for (const key of Object.keys(timings)) delete timings[key];
      for (const key of Object.keys(marks)) delete marks[key];
      t0 = performance.now();
    }
  }
  // The wheel is fetched and unpacked while Pyodide boots.
  const wheel = quiet(readWheel(wheelURL, { sha256: wheelSha256 }));
  const { loadPyodide } = await pyodideModule;
  const start = performance.now();
  const pyodide = await loadPyodide({ ...pyodideOptions, indexURL: index });
  measure("pyodide load", start);
  mark("load_pyodide_ms");
  await writeWheel(pyodide, await wheel);
  mark("install_webvoice_ms");
  const webvoiceVersion = await importWebvoice(pyodide);
  measure("import", marks.install_webvoice_ms);
  mark("import_webvoice_ms");
  return { pyodide, path: "normal", reason, version: webvoiceVersion, timings, marks };
}

/**
 * `import webvoice` in slices of at most a frame's work, then a yield to the
 * browser (webvoice/_import_steps.py), so that no step is a long task; returns webvoice's version. The package's
 * module is put in sys.modules unexecuted, so that importing the step list
 * runs nothing else; its `__init__` runs last. A no-op import when webvoice is
 * imported already (a snapshot boot).
 */
export async function importWebvoice(pyodide) {
  return pyodide.runPythonAsync(`
async def _webvoice_import():
    import importlib.util, sys
    if "webvoice" in sys.modules:
        return
    spec = importlib.util.find_spec("webvoice")
    sys.modules["webvoice"] = importlib.util.module_from_spec(spec)
    try:
        from webvoice._import_steps import import_in_steps
    except BaseException:
        del sys.modules["webvoice"]
        raise
    await import_in_steps(spec)

await _webvoice_import()
del _webvoice_import
import webvoice
webvoice.__version__
`);
}

/** The page's time zone as Python's \`time\` module describes it: timezone,
 * altzone, daylight and the two tzname names (Pyodide has no time.tzset(): the
 * values are computed as Emscripten's tzset and CPython's time module do at
 * start-up). */
function pageTimeZone() {
  const year = new Date().getFullYear();
  const winter = new Date(year, 0, 1).getTimezoneOffset();
  const summer = new Date(year, 6, 1).getTimezoneOffset();
  const name = (offset) => {
    const abs = Math.abs(offset);
    const hh = String(Math.floor(abs / 60)).padStart(2, "0");
    const mm = String(abs % 60).padStart(2, "0");
    return `UTC${offset >= 0 ? "-" : "+"}${hh}${mm}`;
  };
  const standard = Math.max(winter, summer);
  const daylight = Number(winter !== summer);
  const altzone = standard * 60 - (daylight ? 3600 : 0);
  return [standard * 60, altzone, daylight, name(standard), name(Math.min(winter, summer))];
}

/**
 * A snapshot file holds Pyodide's heap (makeMemorySnapshot) without its runs
 * of SPARSE_MIN_ZEROS zero bytes or more: about 40% of a heap is such runs
 * (freed and never used memory), and what is not in the file is neither
 * downloaded, inflated, kept in the Cache API nor read back from it. A fresh
 * buffer is zeros already, so unpacking is one copy of what is there.
 *
 *   "WVHEAP01" | u32 heap length | u32 n | n x (u32 offset, u32 length) | the n runs of bytes
 *
 * (u32: little-endian.) tools/make_snapshot.mjs packs it; the manifest's
 * `format` names it.
 */
export const SPARSE_FORMAT = "sparse-1";
const SPARSE_MAGIC = "WVHEAP01";
const SPARSE_MIN_ZEROS = 4096;

/** `heap` (a Uint8Array) as a sparse snapshot file. */
export function packHeap(heap) {
  const runs = []; // [offset, length] of what is kept
  let start = 0;
  let zeros = 0; // zeros seen in a row, ending at i
  for (let i = 0; i < heap.length; i++) {
    if (heap[i] !== 0) {
      if (zeros >= SPARSE_MIN_ZEROS) {
        if (i - zeros > start) runs.push([start, i - zeros - start]);
        start = i;
      }
      zeros = 0;
    } else {
      zeros++;
    }
  }
  const end = zeros >= SPARSE_MIN_ZEROS ? heap.length - zeros : heap.length;
  if (end > start) runs.push([start, end - start]);
  const head = 16 + 8 * runs.length;
  const out = new Uint8Array(head + runs.reduce((sum, [, length]) => sum + length, 0));
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(SPARSE_MAGIC));
  view.setUint32(8, heap.length, true);
  view.setUint32(12, runs.length, true);
  let at = head;
  runs.forEach(([offset, length], n) => {
    view.setUint32(16 + 8 * n, offset, true);
    view.setUint32(20 + 8 * n, length, true);
    out.set(heap.subarray(offset, offset + length), at);
    at += length;
  });
  return out;
}

/** The heap a sparse snapshot `file` holds; an error naming `url` and what is
 * wrong if it is not one. */
export function unpackHeap(file, url = "the snapshot") {
  const fail = (what) => { throw new Error(`${url} is no sparse snapshot: ${what}`); };
  if (file.length < 16 || new TextDecoder().decode(file.subarray(0, 8)) !== SPARSE_MAGIC) fail("no magic");
  const view = new DataView(file.buffer, file.byteOffset, file.length);
  const size = view.getUint32(8, true);
  const count = view.getUint32(12, true);
  if (16 + 8 * count > file.length) fail(`${count} runs do not fit in ${file.length} bytes`);
  const heap = new Uint8Array(size);
  let at = 16 + 8 * count;
  for (let n = 0; n < count; n++) {
    const offset = view.getUint32(16 + 8 * n, true);
    const length = view.getUint32(20 + 8 * n, true);
    if (offset + length > size || at + length > file.length) fail(`run ${n} is out of bounds`);
    heap.set(file.subarray(at, at + length), offset);
    at += length;
  }
  if (at !== file.length) fail(`${file.length - at} bytes after the last run`);
  return heap;
}

/** The build id of the Pyodide that made the snapshot `heap` (hex), from its
 * header: what loadPyodide checks against its own, and the manifest records. */
export function buildIdOf(heap) {
  const words = new Uint32Array(heap.buffer, heap.byteOffset + BUILD_ID_OFFSET, 8);
  return Array.from(words, (w) => w.toString(16).padStart(8, "0")).join("");
}

/** The snapshot doesn't fit this Pyodide or wheel: not an error, a fallback. */
class StaleSnapshot extends Error {}

/**
 * One snapshot: its manifest, and its inflated bytes from the Cache API (an
 * earlier visit's) or from the network. Both lookups start when it is made.
 */
class SnapshotSource {
  constructor(url, manifestURL, { wheelURL, wheelSha256, base, snapshotCache }) {
    this.url = url;
    this.manifestHref = manifestURL
      ? new URL(manifestURL, base).href
      : url.replace(/(\.gz)?([?#].*)?$/, ".json");
    // The wheel or its .whl.gz (install.mjs): the same files.
    this.wheelName = new URL(wheelURL, base).pathname.split("/").pop().replace(/\.gz$/, "");
    this.wheelSha256 = wheelSha256?.toLowerCase();
    this.source = null; // "cache" or "network", once bytes() is done
    this.stored = null; // what keep() stores: [manifest sha256, inflated bytes]
    const start = performance.now();
    this.manifest = quiet(fetch(this.manifestHref).then(async (response) => {
      if (!response.ok) throw new Error(`cannot fetch ${this.manifestHref}: HTTP ${response.status}`);
      const manifest = await response.json();
      measure("snapshot manifest", start);
      return manifest;
    }));
    this.cache = snapshotCache ? openCache() : Promise.resolve(null);
    // A copy found in the cache is read at once, to be used if the manifest agrees.
    this.cached = this.cache.then((cache) => cache?.match(url)).then((hit) => hit && {
      sha256: hit.headers.get(SHA256_HEADER),
      // Through a Blob: its bytes come in faster than the Response's own
      // arrayBuffer() gives them (16 MB: 45 against 78 ms, Chromium here).
      bytes: quiet(measured("snapshot cache read", hit.blob().then((blob) => blob.arrayBuffer()))),
    }).catch(() => null);
    // None: the download starts without waiting for the manifest.
    this.response = quiet(this.cached.then((hit) => (hit ? null : this.fetch())));
  }

  fetch() {
    const start = performance.now();
    return fetch(this.url).then((response) => {
      if (!response.ok) throw new Error(`cannot fetch ${this.url}: HTTP ${response.status}`);
      return { response, start };
    });
  }

  /** The inflated snapshot, checked against the manifest and `version` (Pyodide's). */
  async bytes(version) {
    const start = performance.now();
    const raw = await this.checkedBytes(version);
    measure("snapshot", start);
    return raw;
  }

  async checkedBytes(version) {
    const manifest = await this.manifest;
    if (manifest.pyodide !== version) {
      throw new StaleSnapshot(`stale snapshot: made for Pyodide ${manifest.pyodide}, this is ${version}`);
    }
    const sameWheel = this.wheelSha256
      ? [manifest.wheel_sha256, manifest.wheel_gz_sha256].includes(this.wheelSha256)
      : manifest.wheel === this.wheelName;
    if (!sameWheel) {
      throw new StaleSnapshot(`stale snapshot: made for ${manifest.wheel}, this page loads ${this.wheelName}`);
    }
    let raw = null;
    const hit = await this.cached;
    if (hit?.sha256 === manifest.sha256) {
      raw = new Uint8Array(await hit.bytes);
      this.source = "cache";
    }
    if (!raw) {
      raw = await this.download((await this.response) ?? (await this.fetch()), manifest);
      this.source = "network";
      this.stored = [manifest.sha256, raw];
    }
    if (manifest.raw_bytes !== undefined && raw.length !== manifest.raw_bytes) {
      throw new Error(`${this.url} inflates to ${raw.length} bytes, its manifest says ${manifest.raw_bytes}`);
    }
    // The file holds the heap without its long runs of zeros (SPARSE_FORMAT).
    const heap = manifest.format === SPARSE_FORMAT ? unpackHeap(raw, this.url) : raw;
    if (manifest.heap_bytes !== undefined && heap.length !== manifest.heap_bytes) {
      throw new Error(`${this.url} holds a heap of ${heap.length} bytes, its manifest says ${manifest.heap_bytes}`);
    }
    const buildId = buildIdOf(heap);
    if (buildId !== manifest.build_id) {
      throw new StaleSnapshot(`stale snapshot: its build id ${buildId} is not its manifest's ${manifest.build_id}`);
    }
    return heap;
  }

  /**
   * The response's snapshot, inflated while it downloads. Gzip'ed as built and
   * checked against the manifest's sha256; a server that sent it with
   * Content-Encoding: gzip has inflated it already (gzip starts 1f 8b, a
   * snapshot does not): then checked against `raw_sha256`.
   */
  async download({ response, start }, manifest) {
    const reader = response.body.getReader();
    const first = await reader.read();
    const head = first.value ?? new Uint8Array(0);
    const gzipped = head[0] === 0x1f && head[1] === 0x8b;
    const inflater = gzipped ? new Inflater(manifest.raw_bytes) : null;
    const chunks = [];
    let length = 0;
    let t = start;
    try {
      for (let chunk = first; !chunk.done; chunk = await reader.read()) {
        chunks.push(chunk.value);
        length += chunk.value.length;
        if (inflater) await inflater.write(chunk.value);
      }
      t = measure("snapshot fetch", t);
    } catch (error) {
      inflater?.abort(error);
      throw error;
    }
    const body = concat(chunks, length);
    const [hex, raw] = await Promise.all([
      sha256(body).then((digest) => { measure("snapshot verify", t); return digest; }),
      inflater ? inflater.end().then((bytes) => { measure("snapshot inflate", t); return bytes; }) : body,
    ]);
    const expected = gzipped ? manifest.sha256 : manifest.raw_sha256;
    if (hex !== expected) {
      throw new Error(`${this.url} has sha256 ${hex}, its manifest says ${expected}`);
    }
    return raw;
  }

  /** Stores what came from the network in the Cache API, for the next visit:
   * in the background, once the page is idle; a failure costs only that.
   * Resolves to whether it was stored. */
  keep() {
    if (!this.stored) return Promise.resolve(false);
    const [digest, raw] = this.stored;
    this.stored = null;
    return whenIdle(async () => {
      const cache = await this.cache;
      if (!cache) return false;
      const start = performance.now();
      const headers = { "Content-Type": "application/octet-stream", [SHA256_HEADER]: digest };
      // A stream of 1 MB chunks rather than the whole: no 16 MB copy in one task.
      let offset = 0;
      const body = new ReadableStream({
        pull(controller) {
          if (offset >= raw.length) {
            controller.close();
          } else {
            controller.enqueue(raw.slice(offset, offset + (1 << 20)));
            offset += 1 << 20;
          }
        },
      });
      await cache.put(this.url, new Response(body, { headers }));
      measure("snapshot cache write", start);
      return true;
    });
  }
}

/** The Cache API's snapshot cache, or null where there is none (not a secure context). */
async function openCache() {
  try {
    return (await globalThis.caches?.open(SNAPSHOT_CACHE)) ?? null;
  } catch {
    return null;
  }
}

/** Gzip inflated by the browser's DecompressionStream, fed chunk by chunk,
 * into one buffer of the size the manifest gives (grown if it is wrong).
 * The stream's writer and reader are used directly: a Blob or Response
 * around it costs more, in one long task. */
class Inflater {
  constructor(size) {
    const stream = new DecompressionStream("gzip");
    this.writer = stream.writable.getWriter();
    this.out = new Uint8Array(size ?? 1 << 20);
    this.length = 0;
    this.drained = this.drain(stream.readable.getReader());
    this.drained.catch(() => {});
  }

  async drain(reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return this.out.subarray(0, this.length);
      if (this.length + value.length > this.out.length) {
        const grown = new Uint8Array(Math.max(this.out.length * 2, this.length + value.length));
        grown.set(this.out.subarray(0, this.length));
        this.out = grown;
      }
      this.out.set(value, this.length);
      this.length += value.length;
    }
  }

  async write(chunk) {
    await this.writer.ready;
    this.writer.write(chunk).catch(() => {}); // an error surfaces in drained
  }

  async end() {
    this.writer.close().catch(() => {});
    return this.drained;
  }

  abort(error) {
    this.writer.abort(error).catch(() => {});
  }
}

function concat(chunks, length) {
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The promise, marked handled: whoever awaits it still sees its rejection,
 * but one nobody awaits (the fast path gave up first) is no console error. */
function quiet(promise) {
  promise.catch(() => {});
  return promise;
}

/** Resolves in a later task (a macrotask: what follows is not part of the
 * current one). */
function nextTask() {
  if (globalThis.scheduler?.yield) return globalThis.scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** `work()`'s outcome, false if it threw, run once the page is idle (or 2 s on). */
function whenIdle(work) {
  return new Promise((resolve) => {
    const run = () => work().then(resolve, (error) => {
      console.info(`webvoice: the snapshot was not cached: ${error}`);
      resolve(false);
    });
    if (globalThis.requestIdleCallback) requestIdleCallback(run, { timeout: 2000 });
    else setTimeout(run, 0);
  });
}

/** The promise; its settling ends the measure "webvoice:<stage>" begun now. */
function measured(stage, promise) {
  const start = performance.now();
  return promise.finally(() => measure(stage, start));
}

/** A User Timing measure "webvoice:<stage>" from `start` to now; returns now. */
function measure(stage, start) {
  const end = performance.now();
  performance.measure?.(`webvoice:${stage}`, { start, end });
  return end;
}
