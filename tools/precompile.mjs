// Compile a directory's Python sources to bytecode with Pyodide's own Python,
// in place (__pycache__/*.cpython-<ver>.pyc, unchecked-hash: used without
// looking at the source). Run by tools/build_assets.py:
//     node tools/precompile.mjs <pyodide dir> <source dir>
// Prints the cache tag, so the caller knows which interpreter the files fit.
const [pyodideDir, sourceDir] = process.argv.slice(2);
const { loadPyodide } = await import(`${pyodideDir}/pyodide.mjs`);
const pyodide = await loadPyodide({ indexURL: `${pyodideDir}/` });
pyodide.FS.mkdirTree("/src");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: sourceDir }, "/src");
const tag = pyodide.runPython(`
import compileall, py_compile, sys
ok = compileall.compile_dir("/src", quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
if not ok:
    raise SystemExit("compileall failed")
sys.implementation.cache_tag
`);
console.log(tag);
