"""Where webvoice's time goes inside Pyodide: a look, not a figure.

    python -m bench.profile [--number 300]

Boots one webvoice page (as bench/run.py does) and prints:

* cProfile of ``parse_message`` on the typical INVITE, top functions by own
  time;
* ``import webvoice`` taken apart: compiling each module's source to bytecode
  (a pure-Python wheel ships no .pyc), compiling the grammar's regular
  expressions, and a fresh import of the package (modules dropped from
  sys.modules, the ``re`` cache purged).
"""

from __future__ import annotations

import argparse

from bench.browser_parse import MESSAGES
from bench.common import Env, pycall
from bench.jssip_bundle import ensure_bundle

PROFILE_PARSE = r'''
import cProfile, io, pstats
from webvoice.sip import parse_message
data = {invite!r}.encode()
for _ in range(200):
    parse_message(data)
profiler = cProfile.Profile()
profiler.enable()
for _ in range({number}):
    parse_message(data)
profiler.disable()
out = io.StringIO()
pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
out.getvalue()
'''

PROFILE_IMPORT = r'''
import importlib, pathlib, re, sys, time
import webvoice
root = pathlib.Path(webvoice.__file__).parent
compile_ms = {}
for path in sorted(root.rglob("*.py")):
    source = path.read_text()
    t0 = time.perf_counter()
    compile(source, str(path), "exec")
    compile_ms[str(path.relative_to(root.parent))] = (time.perf_counter() - t0) * 1000
from webvoice.sip.syntax import _abnf
patterns = [v for v in vars(_abnf).values() if isinstance(v, re.Pattern)]
re.purge()
t0 = time.perf_counter()
for p in patterns:
    re.compile(p.pattern, p.flags)
regex_ms = (time.perf_counter() - t0) * 1000
for name in [m for m in sys.modules if m == "webvoice" or m.startswith("webvoice.")]:
    del sys.modules[name]
re.purge()
importlib.invalidate_caches()
t0 = time.perf_counter()
import webvoice
import webvoice.browser
reimport_ms = (time.perf_counter() - t0) * 1000
pycache = sorted(str(p.relative_to(root.parent)) for p in root.rglob("*.pyc"))
top = sorted(compile_ms.items(), key=lambda kv: -kv[1])[:12]
lines = [f"compile all {len(compile_ms)} modules: {sum(compile_ms.values()):.0f} ms"]
lines += [f"  {ms:7.1f} ms  {name}" for name, ms in top]
lines.append(f"compile {len(patterns)} regular expressions of _abnf (re cache purged): {regex_ms:.1f} ms")
lines.append(f"fresh import of webvoice + webvoice.browser (re purged; .pyc files now present: {len(pycache)}): "
             f"{reimport_ms:.0f} ms")
"\n".join(lines)
'''


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=300)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    ensure_bundle()
    with sync_playwright() as pw:
        env = Env(pw, kamailio=None)
        try:
            sp = env.open_webvoice()
            t = sp.info["timings"]
            print(f"boot: {', '.join(f'{k} {v:.0f}' for k, v in t.items())}\n")
            print(pycall(sp.page, PROFILE_IMPORT, timeout=120))
            print()
            print(pycall(sp.page, PROFILE_PARSE.format(invite=MESSAGES["INVITE"], number=args.number),
                         timeout=300))
        finally:
            env.close()


if __name__ == "__main__":
    main()
