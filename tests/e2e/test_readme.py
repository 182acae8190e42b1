"""README.md runs as written: every quick start and every example block, in Chromium.

The blocks are read from README.md itself, so the README cannot drift from
the code: each ```python, ```html and ```js block is run in the environment
its section names, against the test Kamailio, with only these replaced:

* the SIP server (``wss://sip.example.org:8443``, or the demo's
  ``ws://127.0.0.1:5066``) by the test server's WebSocket URL, and the realm
  ``example.org`` by the test realm (the README's users, alice and bob, are
  test users with the same passwords);
* the asset origin ``http://localhost:8000`` by the test's static server,
  which serves build/web/ at / (as the README's ``http.server`` would).

bob is a page answering every call, so a snippet that calls bob is checked
at his end too; a snippet that answers calls is called by bob. A block of a
language or section with no runner fails ``test_every_block_has_a_runner``.
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from devtools.browser import ConsoleLog, boot_webvoice
from devtools.demo_server import running_demo
from devtools.kamailio_server import kamailio, require_kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from devtools.web import BUILD_WEB, PAGES, StaticServer
from tests.e2e.test_calls import make_phone

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
PAGE_TIMEOUT_MS = 180_000  # Pyodide (and PyScript, or a worker) booting on a shared 2-core machine
STEP_TIMEOUT_MS = 20_000


@dataclass(frozen=True)
class Block:
    section: str
    lang: str
    code: str
    line: int

    def __str__(self) -> str:
        return f"README.md:{self.line} ({self.section}, {self.lang})"


def readme_blocks() -> list[Block]:
    blocks, section, lines = [], "", README.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("## "):
            section = lines[i][3:].strip()
        fence = re.match(r"^```(\S*)\s*$", lines[i])
        if fence:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            blocks.append(Block(section, fence.group(1), "\n".join(lines[i + 1:end]) + "\n", i + 1))
            i = end
        i += 1
    return blocks


RUNNERS = {  # (section, language) -> the test that runs such a block
    ("Quick start in PyScript", "html"): "test_pyscript_quick_start",
    ("Quick start in a PyScript worker", "html"): "test_pyscript_worker_quick_start",
    ("Quick start in JupyterLite", "python"): "test_jupyterlite_quick_start",
    ("Quick start in plain Pyodide", "js"): "test_plain_pyodide_quick_start",
    ("Fast start", "js"): "test_fast_start_boot",
}
NOT_RUN = {"sh"}  # shell commands (make demo, make test): the Makefile's own tests cover them


def runner_of(block: Block) -> str | None:
    if (block.section, block.lang) in RUNNERS:
        return RUNNERS[(block.section, block.lang)]
    return "test_python_example" if block.lang == "python" else None


def blocks_for(test_name: str) -> list[Block]:
    return [b for b in readme_blocks() if runner_of(b) == test_name]


def substitute(code: str, *, ws_url: str, origin: str = "http://127.0.0.1") -> str:
    return (code.replace("wss://sip.example.org:8443", ws_url).replace("ws://127.0.0.1:5066", ws_url)
            .replace('realm="example.org"', 'realm="webvoice.test"').replace("http://localhost:8000", origin))


def test_every_block_has_a_runner():
    blocks = readme_blocks()
    orphans = [str(b) for b in blocks if b.lang not in NOT_RUN and runner_of(b) is None]
    assert not orphans, f"README blocks no test runs: {orphans}"
    for name in RUNNERS.values():
        assert len(blocks_for(name)) == 1, f"{name}: expected exactly one README block"
    assert len(blocks_for("test_python_example")) >= 2
    # What is replaced is the only thing that differs from what a reader copies.
    for block in blocks:
        if block.lang in ("python", "html", "js") and "create_sip_instance" in block.code:
            assert re.search(r'ws_url="(wss://sip\.example\.org:8443|ws://127\.0\.0\.1:5066)"', block.code), block
            assert 'sip_login="alice", sip_password="alice-secret"' in re.sub(r"\s+", " ", block.code), block


# --- the pages ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site():
    """build/web at / (as `python3 -m http.server -d build/web` serves it), README pages at /readme/."""
    if not (BUILD_WEB / "pyscript" / "core.js").exists():
        pytest.fail(f"{BUILD_WEB} is not assembled: run `make assets`")
    with tempfile.TemporaryDirectory() as tmp:
        with StaticServer({"/": BUILD_WEB, "/readme/": Path(tmp), "/test-pages/": PAGES}) as server:
            server.pages = Path(tmp)
            yield server


@pytest.fixture(scope="module")
def bob(browser, site, kamailio):
    """bob answers every call; his page records who called."""
    page = make_phone(browser, site, kamailio, "bob")
    yield page
    py(page, "await sip.close()")
    page.context.close()


def wait_for_caller(bob, caller: str) -> None:
    py(bob, f"""
await wait_for(lambda: incoming and incoming[-1].call.is_established(), timeout=60)
assert incoming[-1].remote_identity.uri == "sip:{caller}@webvoice.test", incoming[-1].remote_identity
incoming[-1].call.terminate()
await wait_for(lambda: sip.get_call_lines() == [])
""", timeout=90)


def open_snippet_page(browser, site, name: str, html: str):
    (site.pages / name).write_text(html)
    context = browser.new_context()
    page = context.new_page()
    page.console = ConsoleLog(page)
    page.goto(site.url(f"/readme/{name}"))
    return page


def test_pyscript_quick_start(browser, site, kamailio, bob):
    (block,) = blocks_for("test_pyscript_quick_start")
    page = open_snippet_page(browser, site, "phone.html", substitute(block.code, ws_url=kamailio.ws_url))
    try:
        expect(page.locator("#state")).to_have_text("registered", timeout=PAGE_TIMEOUT_MS)
        # it answers calls: bob calls alice
        py(bob, "incoming.clear(); events.clear()\n"
                "out = await sip.call('alice', {n: record(n) for n in CALL_EVENTS})\n"
                "await wait_for(out.is_established, timeout=30)\nout.terminate()\nawait wait_for(out.is_ended)",
           timeout=60)
    finally:
        page.context.close()


def test_pyscript_worker_quick_start(browser, site, kamailio, bob):
    (block,) = blocks_for("test_pyscript_worker_quick_start")
    assert "http://localhost:8000/pyodide/pyodide.mjs" in block.code  # a worker needs absolute URLs
    py(bob, "incoming.clear(); mode['answer'] = 'accept'")
    page = open_snippet_page(browser, site, "worker.html",
                             substitute(block.code, ws_url=kamailio.ws_url, origin=site.base_url))
    try:
        wait_for_caller(bob, "alice")
    finally:
        page.context.close()


def test_plain_pyodide_quick_start(browser, site, kamailio, bob):
    (block,) = blocks_for("test_plain_pyodide_quick_start")
    py(bob, "incoming.clear(); mode['answer'] = 'accept'")
    html = f'<!doctype html>\n<script type="module">\n{substitute(block.code, ws_url=kamailio.ws_url)}</script>\n'
    page = open_snippet_page(browser, site, "pyodide.html", html)
    try:
        wait_for_caller(bob, "alice")
        for _ in range(100):
            if any("talking to bob" in line for line in page.console.lines):
                break
            page.wait_for_timeout(100)
        assert any("talking to bob" in line for line in page.console.lines), str(page.console)
    finally:
        page.context.close()


def test_fast_start_boot(browser, site, kamailio):
    """The boot helper as README "Fast start" shows it: restored from the snapshot, it
    says so, and the SIP server's socket it was asked to open is open, waiting for webvoice."""
    (block,) = blocks_for("test_fast_start_boot")
    code = substitute(block.code, ws_url=kamailio.ws_url)
    page = open_snippet_page(browser, site, "fast.html",
                             f'<!doctype html>\n<script type="module">\n{code}</script>\n')
    try:
        for _ in range(int(PAGE_TIMEOUT_MS / 100)):
            if any(line == "[log] snapshot null" for line in page.console.lines):
                break
            page.wait_for_timeout(100)
        assert "[log] snapshot null" in page.console.lines, str(page.console)
        page.wait_for_function("""(url) => globalThis.__webvoicePreconnected?.entries.get(url)
                                  ?.socket.readyState === WebSocket.OPEN""",
                               arg=kamailio.ws_url + "/", timeout=STEP_TIMEOUT_MS)
    finally:
        page.context.close()


@pytest.mark.parametrize("block", blocks_for("test_python_example"), ids=str)
def test_python_example(browser, site, kamailio, bob, block):
    """A python block of the README, run in a page with webvoice installed (top-level await allowed)."""
    py(bob, "incoming.clear(); mode['answer'] = 'accept'")
    context = browser.new_context()
    page = context.new_page()
    console = ConsoleLog(page)
    code = substitute(block.code, ws_url=kamailio.ws_url, origin=site.base_url)
    try:
        boot_webvoice(page, site)
        page.evaluate("(code) => window.pyodide.loadPackagesFromImports(code)", code)
        py(page, code, timeout=90)
        if re.search(r"""sip\.call\(["']bob""", code):
            py(bob, "await wait_for(lambda: len(incoming) > 0, timeout=30)")
            assert py(bob, "incoming[-1].remote_identity.uri") == "sip:alice@webvoice.test"
        py(page, "if 'sip' in globals():\n    await sip.close()")
    except Exception as exc:
        raise AssertionError(f"{block} failed:\n{exc}\nconsole:\n{console}") from None
    finally:
        context.close()


# --- JupyterLite ----------------------------------------------------------------------------------

_ADD_AND_RUN_CELL = """async ([source, timeoutMs]) => {
    const panel = window.jupyterapp.shell.currentWidget;
    const notebook = panel.content;
    notebook.model.sharedModel.insertCell(notebook.widgets.length, {cell_type: "code", source});
    notebook.activeCellIndex = notebook.widgets.length - 1;
    const run = window.jupyterapp.commands.execute("notebook:run-cell");
    const timeout = new Promise((resolve) => setTimeout(() => resolve("timeout"), timeoutMs));
    const outcome = await Promise.race([run, timeout]);
    const cell = notebook.widgets[notebook.widgets.length - 1];
    return {outcome: outcome === "timeout" ? "timeout" : "done", outputs: cell.model.outputs.toJSON()};
}"""


def test_jupyterlite_quick_start(browser):
    """The snippet as a new cell of a notebook in the demo's JupyterLite site: the phone shows, registered."""
    (block,) = blocks_for("test_jupyterlite_quick_start")
    require_kamailio()
    if not (REPO / "build" / "lite" / "jupyter-lite.json").exists():
        pytest.fail("build/lite is not built: run `make setup`")
    with running_demo(need_lite=True) as demo:
        context = browser.new_context(viewport={"width": 1200, "height": 1000})
        page = context.new_page()
        console = ConsoleLog(page)
        try:
            page.goto(demo.url("/lite/notebooks/index.html?path=webvoice-demo.ipynb"))
            page.wait_for_function(
                "() => { const c = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                "        const k = c && c.sessionContext && c.sessionContext.session"
                "                  && c.sessionContext.session.kernel;"
                "        return !!(k && k.status === 'idle'); }", timeout=PAGE_TIMEOUT_MS, polling=250)
            result = page.evaluate(_ADD_AND_RUN_CELL, [substitute(block.code, ws_url=demo.ws_url), 120_000])
            errors = [o for o in result["outputs"] if o["output_type"] == "error"]
            assert result["outcome"] == "done" and not errors, json.dumps(result["outputs"])[:4000]
            phone = page.locator(".wv-phone").last
            expect(phone).to_be_visible(timeout=STEP_TIMEOUT_MS)
            expect(phone).to_have_attribute("data-registration", "registered", timeout=STEP_TIMEOUT_MS)
            expect(phone.locator(".wv-agent")).to_have_attribute("data-state", "ready", timeout=STEP_TIMEOUT_MS)
        except Exception as exc:
            raise AssertionError(f"{block} failed:\n{exc}\nconsole:\n{console}") from None
        finally:
            context.close()
