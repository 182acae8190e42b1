"""webvoice in a PyScript worker calls a page running webvoice on its main thread.

The worker page is the demo's /worker/ (served by demo/serve.py with its own
Kamailio): the SIP stack runs in a Web Worker, the page's main thread hosts
only the media agent. The callee is a plain page with webvoice on the main
thread. Audio must flow both ways: the callee's inbound packets grow, and so
do the worker's (it reports its stats over a BroadcastChannel).
"""

from __future__ import annotations

import json
import time
import urllib.request

from devtools.browser import ConsoleLog, boot_webvoice
from devtools.pyrun import py
from tests.e2e.test_calls import PHONE
from tests.e2e.test_demo import demo  # noqa: F401  (fixture: demo/serve.py on free ports)


def test_pyscript_worker_calls_a_main_thread_page(browser, static_server, demo):
    config = json.loads(urllib.request.urlopen(demo.url("/demo-config.json")).read())
    password = {u["login"]: u["password"] for u in config["users"]}
    # The callee: webvoice on a page's main thread, auto-answering.
    callee_context = browser.new_context()
    callee = callee_context.new_page()
    callee.console = ConsoleLog(callee)
    worker_context = browser.new_context()
    try:
        boot_webvoice(callee, static_server)
        py(callee, PHONE)
        args = {"sip_login": "bob", "sip_password": password["bob"], "ws_url": config["ws_url"],
                "realm": config["realm"]}
        py(callee, f"""
sip = webvoice.create_sip_instance(**json.loads({json.dumps(json.dumps(args))}))
sip.on_incoming_call(on_incoming)
await sip.register()
""")
        # The caller: the PyScript worker page.
        worker_page = worker_context.new_page()
        log = ConsoleLog(worker_page)
        worker_page.goto(demo.url("/worker/?user=alice&call=bob"))
        try:
            worker_page.wait_for_function(
                "window.workerStatus && window.workerStatus.some(r => r.event === 'confirmed')", timeout=90_000)
        except Exception:
            status = worker_page.evaluate("window.workerStatus")
            raise AssertionError(f"the worker's call did not connect; its reports: {status}\npage log:\n{log}") from None
        statuses = worker_page.evaluate("window.workerStatus")
        assert any(r.get("event") == "registered" and r.get("in_worker") for r in statuses), statuses
        # The worker really has no DOM and no WebRTC: webvoice bridged its media to this page.
        assert worker_page.evaluate("document.querySelectorAll('audio[data-webvoice-line]').length") == 1
        py(callee, "await wait_for(lambda: incoming and incoming[-1].call.is_established())\nbcall = incoming[-1].call")
        assert py(callee, "await settled_growth(bcall, flowing=True)") > 20
        # and the other way: the worker's line receives, its inbound count
        # growing by more than 20 packets past what it had reported so far
        so_far = max([r["inbound"] for r in worker_page.evaluate("window.workerStatus")
                      if r.get("event") == "stats"], default=0)
        worker_page.wait_for_function(
            "(n) => window.workerStatus.some(r => r.event === 'stats' && r.inbound > n + 20)",
            arg=so_far, timeout=15_000)
        # Media health through the worker's bridged backend (the engine's states reach the call).
        worker_page.wait_for_function(
            "window.workerStatus.some(r => r.event === 'stats' && r.media === 'connected')", timeout=15_000)
        py(callee, "bcall.terminate()\nawait wait_for(bcall.is_ended)")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(r.get("event") == "ended" for r in worker_page.evaluate("window.workerStatus")):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the worker did not see the call end:\n{log}")
        assert worker_page.evaluate("document.querySelectorAll('audio[data-webvoice-line]').length") == 0
    finally:
        callee_context.close()
        worker_context.close()
