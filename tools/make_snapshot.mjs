// Make the Pyodide memory snapshot of the fast boot (webvoice/browser/boot.mjs),
// in Node, from the exact files a page is served. Run by tools/build_assets.py:
//     node tools/make_snapshot.mjs <pyodide dir> <webvoice wheel> <out.snapshot.gz>
// Prints one line of JSON: what build_assets writes into the snapshot's manifest.
//
// The snapshot is the Wasm heap of a Pyodide that has installed the wheel (with
// webvoice's own installer, install.mjs, the one pages use) and imported every
// webvoice module, so a page restored from it skips both Python's start-up and
// webvoice's imports. Nothing else runs before it is taken: no instance, no
// credentials, no connection. The heap's long runs of zeros are left out
// (boot.mjs packHeap; free memory is zeroed first: 31 MB -> 16 MB), and that
// is gzip'ed (-> 6.4 MB); boot.mjs
// inflates it with the browser's DecompressionStream.
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { createHash } from "node:crypto";

const [pyodideDir, wheelPath, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error("usage: node tools/make_snapshot.mjs <pyodide dir> <wheel> <out.snapshot.gz>");
  process.exit(2);
}

// install.mjs fetches the wheel; Node's fetch does not read file: URLs.
const nodeFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  const href = String(url);
  if (href.startsWith("file:")) return new Response(await readFile(fileURLToPath(href)));
  return nodeFetch(url, init);
};

// Emscripten takes the program's name (its "_" environment variable) from
// argv[1] in Node: the browser's, not this build machine's path, goes into
// the heap.
process.argv.splice(1, process.argv.length - 1, "./this.program");

const { loadPyodide, version } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const { installWheel } = await import(new URL("../webvoice/browser/install.mjs", import.meta.url).href);
const { buildIdOf, packHeap, SPARSE_FORMAT } = await import(new URL("../webvoice/browser/boot.mjs", import.meta.url).href);

const pyodide = await loadPyodide({ indexURL: `${pyodideDir}/`, _makeSnapshot: true });
await installWheel(pyodide, pathToFileURL(wheelPath).href);
// Every module of the package: what `import webvoice` loads, what its packages
// export lazily (webvoice/sip/util/_lazy.py) and what webvoice/_preload.py loads
// after registering, for both media backends. A module that cannot be imported
// here fails the build rather than making a snapshot that lacks it.
const imported = pyodide.runPython(`
import importlib, pkgutil, sys
import webvoice
names = sorted(m.name for m in pkgutil.walk_packages(webvoice.__path__, "webvoice."))
for name in names:
    importlib.import_module(name)
# pkgutil is no part of webvoice's start-up: leave no trace of it.
del names, name, importlib, pkgutil
# The grammar's patterns that webvoice compiles on first use
# (webvoice/sip/syntax/_abnf.py's Deferred), compiled here, every method of
# each: the regex compiler is Python code, which in a page costs tens of ms of
# the first REGISTER, and in the snapshot is done already.
import gc, re
from webvoice.sip.syntax._abnf import Deferred
deferred = [o for o in gc.get_objects() if isinstance(o, Deferred)]
for pattern in deferred:
    for method in ("match", "fullmatch", "search", "sub", "subn", "split", "findall", "finditer"):
        getattr(pattern, method)
del gc, re, Deferred, pattern, method
import json
json.dumps({"webvoice": webvoice.__version__, "deferred": len(deferred),
            "site_packages": next(p for p in sys.path if p.endswith("site-packages")),
            "modules": sorted(m for m in sys.modules if m == "webvoice" or m.startswith("webvoice."))})
`);
const info = JSON.parse(imported);
pyodide.runPython("del deferred, json, sys, webvoice");

// Everything alive now lives as long as the page: collected once, then moved
// out of the cyclic garbage collector's sight (gc.freeze), so that no
// collection in a page walks webvoice's and the standard library's objects
// again (a full one is a long task in WebAssembly).
pyodide.runPython("import gc\ngc.collect()\ngc.freeze()\ndel gc");
zeroFreeMemory(pyodide._module);
const raw = pyodide.makeMemorySnapshot();
// The header holds Pyodide's build id, which loadPyodide checks against its
// own before restoring; the manifest records it for boot.mjs to check first.
const buildId = buildIdOf(raw);
// The file boot.mjs reads: the heap without its long runs of zeros.
const file = packHeap(raw);
const gz = gzipSync(file, { level: 9 });
await writeFile(outPath, gz);
console.log(JSON.stringify({
  pyodide: version,
  buildId,
  webvoice: info.webvoice,
  modules: info.modules.length,
  deferredPatterns: info.deferred,
  sitePackages: info.site_packages,
  format: SPARSE_FORMAT,
  heapBytes: raw.length,
  rawBytes: file.length,
  rawSha256: createHash("sha256").update(file).digest("hex"),
  bytes: gz.length,
}));

/**
 * Zeros what the C heap (Emscripten's dlmalloc) has free in chunks of 4 KiB
 * or more: freed memory keeps its old bytes, which the snapshot file would
 * carry (boot.mjs packHeap leaves out only runs of zeros): about 2 MB of 18.
 * calloc() zeros a reused chunk; every free chunk is taken that way, as long
 * as the heap's break does not move (nothing new is made), then all are
 * freed again. Nothing live is touched.
 */
function zeroFreeMemory(module) {
  const { _sbrk: sbrk, _calloc: calloc, _free: free } = module;
  if (![sbrk, calloc, free].every((f) => typeof f === "function")) {
    console.error("make_snapshot: no sbrk/calloc/free exported: free memory is not zeroed");
    return;
  }
  const taken = [];
  for (let size = 1 << 20; size >= 4096; size >>= 2) {
    for (;;) {
      const brk = sbrk(0) >>> 0;
      const block = calloc(1, size);
      if (!block) break;
      if (sbrk(0) >>> 0 !== brk) { // no free chunk this big left: the heap grew for it
        free(block);
        break;
      }
      taken.push(block);
    }
  }
  taken.forEach((block) => free(block));
}
