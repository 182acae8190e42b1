/**
 * Boot Pyodide with webvoice installed and imported, from a memory snapshot
 * when one is offered and fits, else the normal way.
 *
 *   import { bootWebvoice } from "/webvoice/boot.mjs";
 *   const { pyodide, path, reason } = await bootWebvoice({
 *     indexURL: "/pyodide/",
 *     wheelURL: "/wheels/webvoice-0.1.0-py3-none-any.whl",
 *     snapshotURL: "/snapshot/webvoice.snapshot.gz",   // optional: the fast boot
 *   });
 *   // path: "snapshot" or "normal"; reason: why the snapshot was not used
 *
 * Why: a normal boot starts CPython in WebAssembly and imports webvoice
 * (~2-3 s from navigation to registered); a snapshot is the Wasm heap of a
 * Pyodide that had already done so, made at build time by
 * tools/make_snapshot.mjs, and restoring it takes a fraction of that. The
 * price is the download (6-7 MB gzip'ed, 31 MB inflated), so it is opt-in:
 * without `snapshotURL` this is the normal boot.
 *
 * The snapshot is used only when its manifest (`<name>.snapshot.json` beside
 * it, or `manifestURL`) says it was made from this Pyodide (version, and the
 * build id in the snapshot's header) and this wheel (`wheelSha256` if given,
 * else the wheel's file name, which carries webvoice's version), and its bytes
 * have the manifest's sha256. Otherwise, or if anything in the fast path
 * throws, the normal boot runs, and `reason` says why.
 *
 * After a restore, what the snapshot froze is renewed: the file system is not
 * in it, so the wheel is installed again (install.mjs, a few ms); `random` is
 * reseeded from the browser's crypto (or every page would draw the same
 * back-off jitter); the time module's zone (`tzname`, `timezone`, `altzone`,
 * `daylight`: the maker's otherwise) is the page's again. The hash seed of str/bytes cannot be changed after Python's
 * start and stays the snapshot's (see README "Fast start").
 *
 * `import webvoice` runs one module per task (`importWebvoice` below): no
 * step of the start-up holds the main thread for long.
 *
 * Other options: `wheelSha256` (hex) checks the wheel as install.mjs does;
 * `pyodideOptions` are passed on to loadPyodide in both paths. Besides the
 * stage durations (`timings`), `marks` says when each stage ended
 * (`performance.now()`).
 */

import { installWheel } from "./install.mjs";

const BUILD_ID_OFFSET = 16; // bytes; 8 little-endian words (pyodide.asm.mjs)

export async function bootWebvoice({
  indexURL = "/pyodide/",
  wheelURL,
  wheelSha256,
  snapshotURL,
  manifestURL,
  pyodideOptions = {},
} = {}) {
  if (!wheelURL) throw new Error("webvoice: bootWebvoice needs wheelURL (the webvoice wheel)");
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
    try {
      const { loadPyodide, version } = await pyodideModule;
      const raw = await fetchSnapshot(new URL(snapshotURL, base).href, manifestURL, {
        version, wheelURL, wheelSha256, base,
      });
      mark("fetch_snapshot_ms");
      const pyodide = await loadPyodide({ ...pyodideOptions, indexURL: index, _loadSnapshot: raw });
      mark("load_pyodide_ms");
      await installWheel(pyodide, wheelURL, { sha256: wheelSha256 });
      mark("install_webvoice_ms");
      pyodide.runPython(`import random, time
random.seed()
time.timezone, time.altzone, time.daylight, time.tzname = ${pageTimeZone()}
del random, time`);
      const webvoiceVersion = await importWebvoice(pyodide); // imported already: nothing to run
      mark("import_webvoice_ms");
      console.info(`webvoice: booted from the snapshot ${snapshotURL}`);
      return { pyodide, path: "snapshot", reason: null, version: webvoiceVersion, timings, marks };
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
  const { loadPyodide } = await pyodideModule;
  const pyodide = await loadPyodide({ ...pyodideOptions, indexURL: index });
  mark("load_pyodide_ms");
  await installWheel(pyodide, wheelURL, { sha256: wheelSha256 });
  mark("install_webvoice_ms");
  const webvoiceVersion = await importWebvoice(pyodide);
  mark("import_webvoice_ms");
  return { pyodide, path: "normal", reason, version: webvoiceVersion, timings, marks };
}

/**
 * `import webvoice` in steps, one module per task (webvoice/_import_steps.py),
 * so that no step is a long task; returns webvoice's version. The package's
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

/** The page's time zone as Python's \`time\` module describes it, as a Python
 * literal (Pyodide has no time.tzset(): the values are computed as Emscripten's
 * tzset and CPython's time module do at start-up). */
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
  return `(${standard * 60}, ${altzone}, ${daylight}, ("${name(standard)}", "${name(Math.min(winter, summer))}"))`;
}

/** The snapshot doesn't fit this Pyodide or wheel: not an error, a fallback. */
class StaleSnapshot extends Error {}

/** The snapshot's inflated bytes, once its manifest says it fits. */
async function fetchSnapshot(url, manifestURL, { version, wheelURL, wheelSha256, base }) {
  const manifestHref = manifestURL
    ? new URL(manifestURL, base).href
    : url.replace(/(\.gz)?([?#].*)?$/, ".json");
  // Both downloads at once: the manifest is small, the snapshot is not.
  const [manifestResponse, snapshotResponse] = await Promise.all([fetch(manifestHref), fetch(url)]);
  if (!manifestResponse.ok) throw new Error(`cannot fetch ${manifestHref}: HTTP ${manifestResponse.status}`);
  if (!snapshotResponse.ok) throw new Error(`cannot fetch ${url}: HTTP ${snapshotResponse.status}`);
  const manifest = await manifestResponse.json();
  if (manifest.pyodide !== version) {
    throw new StaleSnapshot(`stale snapshot: made for Pyodide ${manifest.pyodide}, this is ${version}`);
  }
  const wheelName = new URL(wheelURL, base).pathname.split("/").pop();
  if (wheelSha256 ? manifest.wheel_sha256 !== wheelSha256.toLowerCase() : manifest.wheel !== wheelName) {
    throw new StaleSnapshot(`stale snapshot: made for ${manifest.wheel}, this page loads ${wheelName}`);
  }
  const packed = new Uint8Array(await snapshotResponse.arrayBuffer());
  // Gzip'ed as built (checked against the manifest's sha256); a server that
  // sent it with Content-Encoding: gzip has inflated it already (gzip starts
  // 1f 8b, a snapshot does not), and the build id check below remains.
  let raw = packed;
  if (packed[0] === 0x1f && packed[1] === 0x8b) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", packed));
    const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    if (hex !== manifest.sha256) {
      throw new Error(`${url} has sha256 ${hex}, its manifest says ${manifest.sha256}`);
    }
    raw = await gunzip(packed);
  }
  const words = new Uint32Array(raw.buffer, raw.byteOffset + BUILD_ID_OFFSET, 8);
  const buildId = Array.from(words, (w) => w.toString(16).padStart(8, "0")).join("");
  if (buildId !== manifest.build_id) {
    throw new StaleSnapshot(`stale snapshot: its build id ${buildId} is not its manifest's ${manifest.build_id}`);
  }
  return raw;
}

async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}
