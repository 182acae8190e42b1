"""The JupyterLite site (build/lite, tools/build_lite.py): the demo notebook calls a page, offline.

``demo/serve.py`` runs as ``make demo`` runs it (its own Kamailio, build/web at
/, the site at /lite/), on free ports. A plain page boots webvoice on its main
thread (devtools/pages/boot.html) and signs in as bob, answering every
call. Then Chromium opens lite/files/webvoice-demo.ipynb in JupyterLite's
Notebook app and the test runs its cells one by one through the page's
JupyterLab application (``window.jupyterapp``, exposed by the site's
``exposeAppInBrowser``), the way Shift+Enter would: the Pyodide kernel (a Web
Worker) installs webvoice and the phone widget from the site's own piplite
index, registers alice, shows the phone (whose front end starts webvoice's
media agent on the page), watches bob's line and presence (the box of that
cell prints bob's state as it changes: a third page, carol, calls bob and
hangs up, and the box shows confirmed, then terminated), calls bob, and
charts the call's RTP figures; bob's
page must receive alice's audio. The phone's Hang up button ends the call, its
Call button places another, and the last cell hangs up and signs out. Nothing
may be fetched from off this machine.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from devtools.browser import ConsoleLog, boot_webvoice
from devtools.demo_server import running_demo
from devtools.kamailio_server import require_kamailio
from devtools.pyrun import py
from devtools.web import BUILD_WEB, StaticServer

REPO = Path(__file__).resolve().parents[2]
LITE = REPO / "build" / "lite"
ARTIFACTS = REPO / "test-artifacts"
NOTEBOOK = "webvoice-demo.ipynb"
NOTEBOOK_PATH = f"/lite/notebooks/index.html?path={NOTEBOOK}"
APP_TIMEOUT_MS = 60_000
KERNEL_TIMEOUT_MS = 90_000  # Pyodide, then IPython and friends from the piplite index
CELL_TIMEOUT_S = 60
STEP_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def demo():
    """demo/serve.py on free ports, with the site built; yields its base URL and SIP URL."""
    require_kamailio()
    if not (LITE / "jupyter-lite.json").exists():
        pytest.fail(f"{LITE} is not built: run `make setup` (tools/build_lite.py)")
    if not (BUILD_WEB / "wheels" / "index.json").exists():
        pytest.fail(f"{BUILD_WEB} is not assembled: run `make setup`")
    try:
        with running_demo(need_lite=True) as server:
            yield {"base": server.base_url, "ws": server.ws_url, "lite": server.lite_url}
    except RuntimeError as exc:
        pytest.fail(str(exc))


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def test_the_site_is_served_and_offline(demo):
    base = demo["base"]
    assert demo["lite"] == base + "/lite/"
    status, body = get(base + "/lite/")
    assert status == 200 and b"<html" in body.lower()
    config = json.loads(get(base + "/lite/jupyter-lite.json")[1])["jupyter-config-data"]
    kernel = config["litePluginSettings"]["@jupyterlite/pyodide-kernel-extension:kernel"]
    # The kernel's Pyodide is this server's (build/web/pyodide), and PyPI is never asked.
    assert kernel["pyodideUrl"] == "/pyodide/pyodide.mjs" and kernel["disablePyPIFallback"] is True
    assert get(base + kernel["pyodideUrl"])[0] == 200
    index = json.loads(get(base + "/lite/pypi/all.json")[1])
    for name in ("webvoice", "webvoice-widget", "anywidget", "ipywidgets", "ipython"):
        assert name in index, name
        (release,) = [r for rs in index[name]["releases"].values() for r in rs]
        assert get(base + "/lite/pypi/" + release["url"].removeprefix("./"))[0] == 200
    names = {ext["name"] for ext in config["federated_extensions"]}
    assert {"@jupyterlite/pyodide-kernel-extension", "@jupyter-widgets/jupyterlab-manager", "anywidget"} <= names
    assert get(base + f"/lite/files/{NOTEBOOK}")[0] == 200
    assert get(base + "/demo-config.json")[0] == 200


# --- the notebook -----------------------------------------------------------------------------------

_RUN_CELL = """async ([id, timeoutMs]) => {
    const panel = window.jupyterapp.shell.currentWidget;
    const notebook = panel.content;
    const index = notebook.widgets.findIndex((cell) => cell.model.id === id);
    if (index < 0) return {error: `no cell ${id}`};
    notebook.activeCellIndex = index;
    const started = performance.now();
    const run = window.jupyterapp.commands.execute("notebook:run-cell");
    const timeout = new Promise((resolve) => setTimeout(() => resolve("timeout"), timeoutMs));
    const outcome = await Promise.race([run, timeout]);
    const cell = notebook.widgets[index];
    return {outcome: outcome === "timeout" ? "timeout" : "done", ms: performance.now() - started,
            count: cell.model.executionCount, outputs: cell.model.outputs.toJSON()};
}"""


_CELL_TEXT = """([id, wanted]) => {
    const notebook = window.jupyterapp.shell.currentWidget.content;
    const cell = notebook.widgets.find((c) => c.model.id === id);
    const text = cell ? cell.outputArea.node.textContent : "";
    // every wanted piece, in this order
    let at = 0;
    for (const piece of wanted) {
        at = text.indexOf(piece, at);
        if (at < 0) return false;
        at += piece.length;
    }
    return true;
}"""


class Notebook:
    """The demo notebook open in JupyterLite's Notebook app, run cell by cell."""

    def __init__(self, page: Page, timings: dict[str, float]):
        self.page = page
        self.timings = timings

    def open(self, url: str) -> None:
        t0 = time.monotonic()
        self.page.goto(url)
        self.page.wait_for_function(
            "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
            "        return !!(w && w.content && w.content.widgets && w.content.widgets.length); }",
            timeout=APP_TIMEOUT_MS)
        self.timings["app_s"] = time.monotonic() - t0
        # The Pyodide kernel starts with the notebook: idle once IPython is in.
        self.page.wait_for_function(
            "() => { const c = window.jupyterapp.shell.currentWidget.sessionContext;"
            "        const k = c.session && c.session.kernel; return !!(k && k.status === 'idle'); }",
            timeout=KERNEL_TIMEOUT_MS, polling=250)
        self.timings["kernel_s"] = time.monotonic() - t0

    def run(self, cell_id: str) -> tuple[str, list[dict]]:
        """Run one cell; return its text (stdout, results) and its raw outputs. Errors fail the test."""
        result = self.page.evaluate(_RUN_CELL, [cell_id, CELL_TIMEOUT_S * 1000])
        assert "error" not in result, result.get("error")
        outputs = result["outputs"]
        errors = [o for o in outputs if o["output_type"] == "error"
                  or (o["output_type"] == "stream" and o.get("name") == "stderr" and "Traceback" in o["text"])]
        assert result["outcome"] == "done", f"cell {cell_id!r} still running after {CELL_TIMEOUT_S} s: {outputs}"
        assert not errors, f"cell {cell_id!r} failed:\n" + "\n".join(
            "\n".join(o.get("traceback") or [o.get("text", "")]) for o in errors)
        self.timings[f"cell_{cell_id}_s"] = result["ms"] / 1000
        text = "".join(o.get("text", "") if o["output_type"] == "stream"
                       else o.get("data", {}).get("text/plain", "") for o in outputs)
        return text, outputs

    def wait_for_output(self, cell_id: str, *wanted: str) -> None:
        """Wait until the cell's rendered output shows each of ``wanted``, in that order
        (text a widget in it prints after the cell has run)."""
        self.page.wait_for_function(_CELL_TEXT, arg=[cell_id, list(wanted)], timeout=STEP_TIMEOUT_MS)

    def output_text(self, cell_id: str) -> str:
        return self.page.evaluate("""(id) => window.jupyterapp.shell.currentWidget.content.widgets
            .find((c) => c.model.id === id).outputArea.node.textContent""", cell_id)


def inbound_packets(page: Page) -> int:
    return py(page, """
        _line = callee.get_call_lines()[0]
        (await callee.get_line(_line.id).get_stats())["inbound"]["packets_received"]
    """)


def test_the_demo_notebook_calls_a_page(browser, demo, request):
    base, ws_url = demo["base"], demo["ws"]
    callee_context = browser.new_context()
    colleague_caller_context = browser.new_context()
    lite_context = browser.new_context(viewport={"width": 1200, "height": 1400})
    callee_page, page = callee_context.new_page(), lite_context.new_page()
    carol_page = colleague_caller_context.new_page()
    consoles = {"callee": ConsoleLog(callee_page), "notebook": ConsoleLog(page), "carol": ConsoleLog(carol_page)}

    class Both:  # both pages' logs, for the report of a failure (tests/e2e/conftest.py)
        @property
        def lines(self):
            return [f"[{name}] {line}" for name, log in consoles.items() for line in log.lines]

        def __str__(self):
            return "\n".join(self.lines)

    request.node.browser_console = Both()
    off_machine: list[str] = []
    lite_context.on("request", lambda r: off_machine.append(r.url)
                    if re.match(r"^(https?|wss?)://(?!127\.0\.0\.1[:/])", r.url) else None)
    timings: dict[str, float] = {}
    t0 = time.monotonic()
    try:
        with StaticServer() as static:  # the callee's page: another origin, its own Pyodide
            # bob: webvoice on a page's main thread, answering whatever rings.
            boot_webvoice(callee_page, static)
            py(callee_page, f"""
                import webvoice
                callee = webvoice.create_sip_instance(sip_login="bob", sip_password="bob-secret",
                                                      ws_url={ws_url!r}, realm="webvoice.test")
                callers = []

                def answer(incoming):
                    callers.append(incoming.event.session.remote_identity.uri)
                    incoming.accept()

                callee.on_incoming_call(answer)
                await callee.register()
                callee.is_registered()
            """)
            timings["callee_ready_s"] = time.monotonic() - t0

            notebook = Notebook(page, timings)
            notebook.open(base + NOTEBOOK_PATH)

            text, _ = notebook.run("install")
            text, _ = notebook.run("config")
            assert f"SIP server {ws_url}, realm webvoice.test; alice will call bob" in text, text

            # The phone: its front end starts the media agent on this page.
            notebook.run("phone")
            phone = page.locator(".wv-phone")
            expect(phone).to_be_visible(timeout=STEP_TIMEOUT_MS)
            expect(phone.locator(".wv-agent")).to_have_attribute("data-state", "ready", timeout=STEP_TIMEOUT_MS)
            assert page.evaluate("() => globalThis.__webvoiceWidgetAgents.has('webvoice-media')")

            text, _ = notebook.run("register")
            assert "registered as alice@webvoice.test for" in text and text.strip().endswith("True"), text
            expect(phone).to_have_attribute("data-registration", "registered", timeout=STEP_TIMEOUT_MS)

            # bob's line and presence, watched: the cell's box prints each change as it comes.
            py(callee_page, "await callee.publish_presence('open', 'at the desk')")
            notebook.run("lamp")
            notebook.wait_for_output("lamp", "bob line: terminated")
            notebook.wait_for_output("lamp", "bob presence: open (at the desk)")
            # carol, on a plain webvoice page, calls bob (who answers) and hangs up.
            boot_webvoice(carol_page, static)
            py(carol_page, f"""
                import asyncio
                import webvoice
                carol = webvoice.create_sip_instance(sip_login="carol", sip_password="carol-secret",
                                                     ws_url={ws_url!r}, realm="webvoice.test")
                await carol.register()
                answered = asyncio.get_running_loop().create_future()
                call = await carol.call("bob", {{"confirmed": lambda e: answered.set_result(None)}})
                await asyncio.wait_for(answered, 15)
            """)
            notebook.wait_for_output("lamp", "bob line: terminated",
                                     "bob line: confirmed with sip:carol@webvoice.test, called")
            py(carol_page, "call.terminate()\nawait carol.close()")
            notebook.wait_for_output("lamp", "bob line: confirmed with sip:carol@webvoice.test, called",
                                     "bob line: terminated")
            assert py(callee_page, "callers") == ["sip:carol@webvoice.test"]
            py(callee_page, "callers.clear()")
            page.locator(".jp-Cell").filter(has_text="board = Output").scroll_into_view_if_needed()
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / "jupyterlite-busy-lamp.png")

            text, _ = notebook.run("call")
            assert "call to bob: confirmed" in text, text
            assert py(callee_page, "callers") == ["sip:alice@webvoice.test"]
            expect(phone).to_have_attribute("data-call-state", "confirmed", timeout=STEP_TIMEOUT_MS)

            # Eight seconds of figures, charted; meanwhile alice's audio reaches bob's page.
            before = inbound_packets(callee_page)
            text, outputs = notebook.run("quality")
            after = inbound_packets(callee_page)
            m = re.search(r"packets received (\d+), sent (\d+), lost (\d+), jitter ([\d.]+) ms, codec (\S+)", text)
            assert m, text
            received, sent = int(m.group(1)), int(m.group(2))
            assert received > 150 and sent > 150, text  # 50 a second each way
            assert m.group(5) == "audio/opus", text
            assert any("image/svg+xml" in o.get("data", {}) for o in outputs), outputs
            assert after - before > 150, (before, after)  # bob hears alice
            expect(page.locator(".jp-RenderedSVG").first).to_be_visible()
            page.wait_for_function("Number(document.querySelector('.wv-phone .wv-rx').textContent) > 50",
                                   timeout=STEP_TIMEOUT_MS)
            ARTIFACTS.mkdir(exist_ok=True)
            phone.scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / "jupyterlite-phone-in-call.png")
            page.locator(".jp-RenderedSVG").first.scroll_into_view_if_needed()
            page.screenshot(path=ARTIFACTS / "jupyterlite-quality-chart.png")

            # The phone's Hang up button (a widget message to the idle kernel) ends the call.
            phone.locator(".wv-hangup").click()
            expect(phone).to_have_attribute("data-call-state", "ended", timeout=STEP_TIMEOUT_MS)
            callee_page.wait_for_function(
                "() => window.pyodide.runPython('len(callee.get_call_lines())') === 0", timeout=STEP_TIMEOUT_MS)
            expect(phone.locator(".wv-status")).to_contain_text("Call with bob ended")

            # Its Call button calls the number in its field (bob) again; the last cell hangs up and signs out.
            expect(phone.locator(".wv-target")).to_have_value("bob")
            phone.locator(".wv-call").click()
            expect(phone).to_have_attribute("data-call-state", "confirmed", timeout=STEP_TIMEOUT_MS)
            callee_page.wait_for_function(
                "() => window.pyodide.runPython('len(callee.get_call_lines())') === 1", timeout=STEP_TIMEOUT_MS)
            assert py(callee_page, "callers") == ["sip:alice@webvoice.test"] * 2
            text, _ = notebook.run("hangup")
            assert "call: ended" in text and "registered: False" in text, text
            callee_page.wait_for_function(
                "() => window.pyodide.runPython('len(callee.get_call_lines())') === 0", timeout=STEP_TIMEOUT_MS)
            expect(phone).to_have_attribute("data-call-state", "ended", timeout=STEP_TIMEOUT_MS)
            expect(phone).to_have_attribute("data-registration", "offline", timeout=STEP_TIMEOUT_MS)
            py(callee_page, "await callee.close()")
    finally:
        timings["total_s"] = time.monotonic() - t0
        print("timings:", json.dumps({k: round(v, 2) for k, v in timings.items()}))
        lite_context.close()
        callee_context.close()
        colleague_caller_context.close()
    assert not off_machine, f"requests off this machine: {off_machine}"
    errors = [line for line in str(request.node.browser_console).splitlines() if "[pageerror]" in line]
    assert not errors, "\n".join(errors)
