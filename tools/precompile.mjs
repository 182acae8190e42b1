// Compile a directory's Python sources to bytecode with Pyodide's own Python,
// in place (__pycache__/*.cpython-<ver>.pyc, unchecked-hash: used without
// looking at the source), and webvoice's regular expressions and record
// __init__s to the table webvoice/sip/util/_precompiled.py reads (the regex
// compiler is Python code, and each compile is WebAssembly work at a page's
// start-up otherwise). Run by tools/build_assets.py:
//     node tools/precompile.mjs <pyodide dir> <source dir>
// Prints the cache tag, so the caller knows which interpreter the files fit.
const [pyodideDir, sourceDir] = process.argv.slice(2);
const { loadPyodide } = await import(`${pyodideDir}/pyodide.mjs`);
const pyodide = await loadPyodide({ indexURL: `${pyodideDir}/` });
pyodide.FS.mkdirTree("/src");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: sourceDir }, "/src");
const tag = pyodide.runPython(`
import compileall, importlib, os, pkgutil, py_compile, sys
ok = compileall.compile_dir("/src", quiet=1, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
if not ok:
    raise SystemExit("compileall failed")
# Every module imported, so that every pattern webvoice names is seen; a
# module that cannot be imported here fails the build.
sys.path.insert(0, "/src")
import webvoice
for module in pkgutil.walk_packages(webvoice.__path__, "webvoice."):
    importlib.import_module(module.name)
from webvoice.sip.util import _precompiled, _record, _regex
sources = {_record.init_source(cls) for cls in _record.defined_records()}
with open(os.path.join(os.path.dirname(_precompiled.__file__), _precompiled.TABLE_NAME), "wb") as f:
    f.write(_precompiled.dump({"regex": _regex.regex_section(_regex.seen), "code": _precompiled.code_section(sources)}))
print(f"{len(_regex.seen)} regular expressions and {len(sources)} record __init__s precompiled")
sys.implementation.cache_tag
`);
console.log(tag);
