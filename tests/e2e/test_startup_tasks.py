"""The start-up is split into tasks: ``import webvoice`` is not one main-thread
task, and registering runs in tasks of its own.

A structural check, not a timed one: the page counts its tasks (a
MessageChannel ping-pong bumps ``window.taskTicks`` once per task it gets), and
Python records the count as each webvoice module runs (a meta-path hook) and
as registration starts. Modules that see different counts ran in different
tasks; the browser ran something in between.

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
  await installWheel(pyodide, new URL(`/wheels/${index.wheel}`, location.href).href, { sha256: index.sha256 });
  window.pyodide = pyodide;
}"""

# Records (module, task count) as each webvoice module runs.
RECORDER = """
import importlib.abc, importlib.util, sys
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
                module_ticks.append((name, js.taskTicks))
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
    json.dumps({{"modules": imported, "before_create": before_create, "registered": registered}})
    """)
    r = json.loads(result)
    modules = r["modules"]
    names = [name for name, _ in modules]
    tasks: dict[int, list[str]] = {}
    for name, tick in modules:
        tasks.setdefault(tick, []).append(name)
    assert r["registered"] is True
    assert "webvoice._instance" in names and "webvoice.browser._websocket" in names
    # The package's modules ran in many tasks, no task ran many of them...
    assert len(tasks) >= 10, tasks
    assert max(len(group) for group in tasks.values()) <= 4, tasks
    # ...its __init__ ran last, after the others, and registering began in a later task.
    assert names[-1] == "webvoice"
    assert r["before_create"] > max(tasks), (r["before_create"], tasks)
