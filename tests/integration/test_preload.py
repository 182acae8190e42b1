"""What ``import webvoice`` loads, and the background preload of the call machinery.

Start-up is measured in Pyodide, where every module imported is compiled or
run in WebAssembly: ``import webvoice`` must not pull in the call modules or
the stdlib modules Pyodide does not preload, and the preload list must be in
dependency order (each step imports exactly its own module, so that no event
loop turn does more than one module's work).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = r"""
import json, sys
before = set(sys.modules)
import webvoice
from webvoice._preload import CALL_MODULES
loaded = set(sys.modules) - before
steps = []
for name in CALL_MODULES:
    mark = set(sys.modules)
    __import__(name)
    steps.append(sorted(m for m in set(sys.modules) - mark if m.startswith("webvoice")))
print(json.dumps({"loaded": sorted(loaded), "modules": list(CALL_MODULES), "steps": steps}))
"""


def test_import_loads_no_call_machinery_and_the_preload_goes_one_module_a_step():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=REPO)
    result = json.loads(out.stdout)
    loaded = set(result["loaded"])
    assert not loaded & set(result["modules"]), loaded & set(result["modules"])
    assert not loaded & {"urllib.parse", "uuid", "secrets", "webvoice.browser._media", "webvoice.browser._bridge"}
    assert result["steps"] == [[name] for name in result["modules"]]


def test_preload_imports_the_call_modules_in_the_background():
    code = r"""
import asyncio, sys
import webvoice
from webvoice._preload import CALL_MODULES, preload_call_modules

async def main():
    loop = asyncio.get_running_loop()
    preload_call_modules(loop)
    assert not all(m in sys.modules for m in CALL_MODULES)  # nothing done synchronously
    for _ in range(len(CALL_MODULES) + 1):
        await asyncio.sleep(0)
    print(all(m in sys.modules for m in CALL_MODULES))

asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "True"


def test_preload_goes_in_slices_of_its_budget():
    """The preload's turns end once they have run the slice budget: a zero
    budget is one module a turn, a large one a single turn."""
    code = r"""
import asyncio, json, sys
import webvoice
from webvoice._preload import CALL_MODULES, preload_call_modules

async def turns(budget):
    for name in [m for m in sys.modules if m in CALL_MODULES]:
        del sys.modules[name]
    preload_call_modules(asyncio.get_running_loop(), budget_s=budget)
    count = 0
    while not all(m in sys.modules for m in CALL_MODULES):
        count += 1
        assert count < 10 * len(CALL_MODULES)
        await asyncio.sleep(0)
    return count

async def main():
    print(json.dumps([await turns(0.0), await turns(3600.0), len(CALL_MODULES)]))

asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    zero, large, modules = json.loads(out.stdout)
    assert zero >= modules and large == 1, (zero, large, modules)


def test_import_and_preload_together_load_every_driver_module():
    """A driver module neither ``import webvoice`` nor the preload loads would be
    imported when the user dials, on the call's critical path (e.g. a module a
    split added and the preload list forgot). The core's call machinery is
    named by webvoice.sip.CALL_MODULES, which the preload reads."""
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, cwd=REPO)
    result = json.loads(out.stdout)
    reached = set(result["loaded"]) | set(result["modules"])
    # webvoice._import_steps is the boot helper that runs *before* the package
    # (boot.mjs imports it to import webvoice in short tasks), never after it.
    driver = {f"webvoice.{p.stem}" for p in (REPO / "webvoice").glob("*.py")
              if p.stem not in ("__init__", "_import_steps")}
    assert driver - reached == set()
