// The floor of figure 7 (bench/fast_start.py): a memory snapshot of Pyodide
// alone, taken right after its own boot (nothing of webvoice installed or
// imported), from the exact Pyodide files build/web serves. A page restored
// from it (bench/pages/pyodide-floor.html) shows what Pyodide's restore costs
// before any of webvoice's work: no manifest, no hash, no inflating, no wheel,
// no SIP. Written raw (the whole heap), read by the page as it is.
//     node bench/pyodide_floor.mjs <pyodide dir> <out.snapshot>
// Prints one line of JSON: the Pyodide version, its build id, the bytes.
import { writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";

const [pyodideDir, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error("usage: node bench/pyodide_floor.mjs <pyodide dir> <out.snapshot>");
  process.exit(2);
}
// As tools/make_snapshot.mjs: the program's name in the heap is the browser's.
process.argv.splice(1, process.argv.length - 1, "./this.program");

const { loadPyodide, version } = await import(pathToFileURL(`${pyodideDir}/pyodide.mjs`).href);
const { buildIdOf } = await import(new URL("../webvoice/browser/boot.mjs", import.meta.url).href);
const pyodide = await loadPyodide({ indexURL: `${pyodideDir}/`, _makeSnapshot: true });
const raw = pyodide.makeMemorySnapshot();
await writeFile(outPath, raw);
console.log(JSON.stringify({ pyodide: version, buildId: buildIdOf(raw), bytes: raw.length }));
