"""webvoice/_import_steps.py: ``import webvoice`` in steps (the page's start-up).

Each test runs in a fresh CPython (a subprocess), since they import webvoice
from nothing. The browser side, with real tasks, is tests/e2e/test_startup_tasks.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from webvoice._import_steps import BROWSER_STEPS, STEPS
from webvoice._preload import CALL_MODULES

BOOT = """
import asyncio, importlib.util, json, sys
spec = importlib.util.find_spec("webvoice")
sys.modules["webvoice"] = importlib.util.module_from_spec(spec)
from webvoice._import_steps import import_in_steps
"""


def run(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_steps_cover_what_import_webvoice_loads():
    loaded = run("""
        import json, sys
        import webvoice
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("webvoice."))))
    """)
    missing = set(loaded) - set(STEPS) - {"webvoice._import_steps"}
    assert not missing, f"add to webvoice._import_steps.STEPS: {sorted(missing)}"


def test_steps_leave_the_call_modules_lazy():
    assert not set(STEPS + BROWSER_STEPS) & set(CALL_MODULES)
    loaded = run(BOOT + f"""
asyncio.run(import_in_steps(spec))
print(json.dumps(sorted(set(sys.modules) & set({list(CALL_MODULES)!r}))))
""")
    assert loaded == []


TICKING = BOOT + """
ticks = 0
async def ticker():
    global ticks
    while True:
        ticks += 1
        await asyncio.sleep(0)
now = 0.0
def clock():
    return now
seen = []
class Recorder:
    def find_spec(self, name, path, target=None):
        global now
        if name.startswith("webvoice"):
            seen.append((name, ticks))
            now += 0.007  # every module "takes" 7 ms of the fake clock
        return None
sys.meta_path.insert(0, Recorder())
async def main():
    task = asyncio.ensure_future(ticker())
    await import_in_steps(spec, budget_s=BUDGET, clock=clock)
    task.cancel()
asyncio.run(main())
import webvoice
print(json.dumps({"seen": seen, "complete": hasattr(webvoice, "create_sip_instance"),
                  "version": webvoice.__version__}))
"""


def _slices(budget: float) -> list[list[str]]:
    r = run(TICKING.replace("BUDGET", repr(budget)))
    assert r["complete"] and r["version"]
    slices: dict[int, list[str]] = {}
    for name, tick in r["seen"]:
        slices.setdefault(tick, []).append(name)
    return list(slices.values())


def test_import_in_steps_yields_once_a_slice_has_run_its_budget():
    """With 7 ms per module and a 16 ms budget, a slice holds three modules (it
    ends after the module that spent it): other work runs between slices."""
    slices = _slices(0.016)
    assert len(slices) >= len(STEPS) // 3 - 1, slices
    assert all(len(names) <= 3 for names in slices), slices


def test_import_in_steps_never_yields_without_need_or_always_with_a_zero_budget():
    assert len(_slices(3600.0)) == 1  # a fast machine: one task, no needless turns
    # Every module in a turn of its own (but for the first step, which imports
    # its parent packages with it: see test_each_step_runs_one_module).
    assert len([names for names in _slices(0.0) if len(names) > 1]) <= 1


def test_a_failing_step_leaves_no_half_imported_webvoice():
    r = run(BOOT + """
import webvoice._import_steps as steps
steps.STEPS = steps.STEPS[:3] + ("webvoice._no_such_module",) + steps.STEPS[3:]
try:
    asyncio.run(steps.import_in_steps(spec))
except ModuleNotFoundError as exc:
    error = str(exc)
left = sorted(m for m in sys.modules if m == "webvoice" or m.startswith("webvoice."))
import webvoice
print(json.dumps({"error": error, "left": left, "after": hasattr(webvoice, "create_sip_instance")}))
""")
    assert "webvoice._no_such_module" in r["error"]
    assert r["left"] == []
    assert r["after"] is True  # a plain import works afterwards


def test_each_step_runs_one_module():
    """A step whose module imports one not yet imported runs both in one task (a
    split that adds a module, or an order that puts a module before what it
    imports, makes one long task again): every step adds only itself, but for
    the parent packages a first import of a package's module must run (at most
    three modules: webvoice.sip, webvoice.sip.util and its _lazy)."""
    r = run(BOOT + """
import importlib
steps = {}
for name in __import__("webvoice._import_steps", fromlist=["STEPS"]).STEPS:
    before = set(sys.modules)
    if name not in before:
        importlib.import_module(name)
    steps[name] = sorted(m for m in set(sys.modules) - before if m.startswith("webvoice"))
print(json.dumps(steps))
""")
    crowded = {name: added for name, added in r.items() if len(added) > 3}
    assert len([added for added in r.values() if len(added) > 1]) <= 1, r
    assert not crowded, f"reorder webvoice._import_steps.STEPS (dependencies first): {crowded}"
