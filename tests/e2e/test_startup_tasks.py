"""The start-up is split into tasks: ``import webvoice`` is not one main-thread
task, and registering runs in tasks of its own.

A structural check, not a timed one: the page counts its tasks (a
MessageChannel ping-pong bumps ``window.taskTicks`` once per task it gets), and
Python records the count, and the clock the slicer reads, as each webvoice
module runs (a meta-path hook) and as registration starts. Modules that see
different counts ran in different tasks; the browser ran something in
between. The rule checked is the slicer's (webvoice/_import_steps.py): a
module starts in the same task only while the task's slice has run less than
its budget; so no slice outlives its budget by more than one module.

Chromium, through Kamailio; Pyodide booted and the wheel installed by hand
(/webvoice/install.mjs), then webvoice imported by the boot helper's
``importWebvoice`` (webvoice/browser/boot.mjs), as ``bootWebvoice`` does.
"""

from __future__ import annotations

import json

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py

PAGE = "/test-pages/fast-boot.html?snapshot="
USER = "grace"

TICKER = """() => {
  window.taskTicks = 0;
  const channel = new MessageChannel();
  channel.port1.onmessage = () => { window.taskTicks += 1; channel.port2.postMessage(0); };
  channel.port2.postMessage(0);
}"""

BOOT = """async () => {
  const { loadPyodide } = await import("/pyodide/pyodide.mjs");
  const index = await (await fetch("/wheels/index.json")).json();
  const pyodide = await loadPyodide({ indexURL: "/pyodide/" });
  const { installWheel } = await import("/webvoice/install.mjs");
  await installWheel(pyodide, `/wheels/${index.wheel_gz}`, { sha256: index.wheel_gz_sha256 });
  window.pyodide = pyodide;
}"""

# Records (module, task count) as each webvoice module runs.
RECORDER = """
import importlib.abc, importlib.util, sys, time
import js

module_ticks = []

class _Recorder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "webvoice" and not name.startswith("webvoice."):
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is not None and spec.loader is not None:
            run = spec.loader.exec_module
            def exec_module(module, run=run, name=name):
                module_ticks.append((name, js.taskTicks, time.perf_counter()))
                run(module)
            spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, _Recorder())
"""


def test_import_and_registration_run_in_separate_tasks(page, static_server, kamailio):  # noqa: F811
    page.goto(static_server.url(PAGE))
    page.wait_for_function("window.bootReady === true", timeout=60_000)
    page.evaluate(TICKER)
    page.evaluate("() => { window.booted = undefined; window.bootError = undefined;"
                  f" ({BOOT})().then(() => {{ window.booted = true; }}, (e) => {{ window.bootError = String(e); }}); }}")
    page.wait_for_function("window.booted || window.bootError", timeout=120_000)
    assert page.evaluate("window.bootError") is None
    py(page, RECORDER)
    page.evaluate("() => { window.imported = undefined; import('/webvoice/boot.mjs').then(({ importWebvoice }) =>"
                  " importWebvoice(window.pyodide)).then((v) => { window.imported = v; },"
                  " (e) => { window.imported = 'failed: ' + e; }); }")
    version = page.wait_for_function("window.imported", timeout=60_000).json_value()
    assert not version.startswith("failed"), version
    result = py(page, f"""
    import json, webvoice
    imported = list(module_ticks)  # the call modules load after registering (webvoice/_preload.py)
    before_create = js.taskTicks
    sip = webvoice.create_sip_instance(sip_login={USER!r}, sip_password={kamailio.users[USER]!r},
                                       ws_url={kamailio.ws_url!r}, realm={kamailio.domain!r})
    await sip.register()
    registered = sip.is_registered()
    await sip.unregister()
    await sip.close()
    from webvoice._import_steps import SLICE_BUDGET_S
    json.dumps({{"modules": imported, "before_create": before_create, "registered": registered,
                "budget": SLICE_BUDGET_S}})
    """)
    r = json.loads(result)
    modules = r["modules"]
    names = [name for name, _, _ in modules]
    tasks: dict[int, list[tuple[str, float]]] = {}
    for name, tick, at in modules:
        tasks.setdefault(tick, []).append((name, at))
    assert r["registered"] is True
    assert "webvoice._instance" in names and "webvoice.browser._websocket" in names
    # The package's __init__ ran last, after the others...
    assert names[-1] == "webvoice"
    # ...each task's modules began within its slice's budget but for its last
    # step (the slicer checks the clock between steps: the step begun just
    # under the budget runs its module, and at most the two parent packages a
    # first import brings, after it), so an import longer than a few budgets
    # ran in several tasks...
    for group in tasks.values():
        # Not the package's __init__ (run after the last check) nor the slicer
        # itself (imported before its clock starts).
        starts = [at for name, at in group if name not in ("webvoice", "webvoice._import_steps")]
        late = [at for at in starts if at - min(starts) >= r["budget"]]
        assert len(late) <= 3, group
    spent = modules[-1][2] - modules[0][2]
    if spent > 3 * r["budget"]:
        assert len(tasks) >= 2, tasks
    # ...and registering began in a later task.
    assert r["before_create"] > max(tasks), (r["before_create"], tasks)
