"""The fast boot (webvoice/browser/boot.mjs) in Chromium, through Kamailio.

A page restored from the memory snapshot build_assets made must work like a
normally booted one (register, call, hang up); what the snapshot froze must be
renewed (``random``: two restores must not draw the same back-off jitter); a
snapshot that does not fit (missing, another wheel, another Pyodide build) must
give a normal boot that says why; and no password may ever be in the snapshot.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os

import pytest
from playwright.sync_api import expect

from devtools.browser import ConsoleLog, boot_webvoice
from devtools.demo_server import running_demo
from devtools.kamailio.server import TEST_USERS
from devtools.kamailio_server import kamailio, require_kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from devtools.web import BUILD_WEB, REPO
from tests.e2e.test_calls import PHONE, hang_up, place
from tests.e2e.test_demo import BOOT_TIMEOUT_MS, STEP_TIMEOUT_MS, VIEWPORT, answer, dial, sign_in

FAST_BOOT = "/test-pages/fast-boot.html"
SNAPSHOT = BUILD_WEB / "snapshot" / "webvoice.snapshot.gz"
MANIFEST = BUILD_WEB / "snapshot" / "webvoice.snapshot.json"


class Consoles:
    """Pages' console logs, as one for the report of a failing test (tests/e2e/conftest.py)."""

    def __init__(self, *pages) -> None:
        self.logs = [(page.url, page.console) for page in pages]

    @property
    def lines(self) -> list[str]:
        return [line for _, log in self.logs for line in log.lines]

    def __str__(self) -> str:
        return "\n".join(f"--- {url}\n{log}" for url, log in self.logs)


def boot_path(page) -> dict:
    return page.evaluate("window.bootPath")


def fast_phone(browser, server, sip_server, user, path=FAST_BOOT, route=None):
    """A page booted by boot.mjs (``path`` picks the snapshot) and registered as ``user``."""
    context = browser.new_context()
    page = context.new_page()
    page.console = ConsoleLog(page)
    if route:
        route(page)
    boot_webvoice(page, server, path=path)
    py(page, PHONE)
    args = {"sip_login": user, "sip_password": sip_server.users[user], "ws_url": sip_server.ws_url,
            "realm": sip_server.domain}
    py(page, f"""
sip = webvoice.create_sip_instance(**json.loads({json.dumps(json.dumps(args))}))
sip.on_incoming_call(on_incoming)
await sip.register()
""")
    assert py(page, "sip.is_registered()") is True
    return page


def test_snapshot_boot_registers_calls_and_hangs_up(browser, static_server, kamailio, request):
    a = fast_phone(browser, static_server, kamailio, "carol")
    b = fast_phone(browser, static_server, kamailio, "dave")
    request.node.browser_console = Consoles(a, b)
    try:
        assert boot_path(a) == {"path": "snapshot", "reason": None}
        assert boot_path(b) == {"path": "snapshot", "reason": None}
        py(b, "events.clear(); incoming.clear(); mode['answer'] = 'accept'")
        place(a, "dave")
        py(a, "await wait_for(call.is_established)")
        py(b, "await wait_for(lambda: incoming and incoming[-1].call.is_established())\nbcall = incoming[-1].call")
        assert [e[0] for e in py(a, "events")][:2] == ["progress", "confirmed"]
        assert py(b, "incoming[-1].event.session.remote_identity.uri") == "sip:carol@webvoice.test"
        assert py(a, "await inbound_growth(call)") > 20
        hang_up(a, b)
        # The restored page still finds webvoice's files (installed again after
        # the restore): its distribution metadata is readable.
        assert py(a, "import importlib.metadata as m; m.version('webvoice')") == py(a, "webvoice.__version__")
    finally:
        a.context.close()
        b.context.close()


def test_two_restores_draw_different_back_off_jitter(browser, static_server, request):
    """Two restores of one snapshot hold the same ``random`` state; boot.mjs reseeds it.

    Without the reseed both Pyodides below would draw the same jitter (the
    control: two raw restores, no reseed, draw the same numbers). The time
    module's zone, also frozen (the maker's), is the page's after the restore.
    """
    context = browser.new_context(timezone_id="America/New_York")
    request.addfinalizer(context.close)
    page = context.new_page()
    request.node.browser_console = ConsoleLog(page)
    page.goto(static_server.url(FAST_BOOT))
    page.wait_for_function("window.bootReady === true", timeout=120_000)
    page.evaluate("""() => { window.draws = undefined; (async () => {
        const { bootWebvoice } = await import("/webvoice/boot.mjs");
        const { loadPyodide } = await import("/pyodide/pyodide.mjs");
        const index = await (await fetch("/wheels/index.json")).json();
        const opts = { indexURL: "/pyodide/", wheelURL: `/wheels/${index.wheel}`,
                       snapshotURL: "/snapshot/webvoice.snapshot.gz" };
        const draw = `from webvoice.sip.util._backoff import Backoff
b = Backoff()
delays = []
for i in range(4):
    b.attempt(i * 100.0)
    delays.append(b.next_delay(i * 100.0))
repr(delays)`;
        const booted = [await bootWebvoice(opts), await bootWebvoice(opts)];
        const raw = await fetch(opts.snapshotURL).then((r) => new Response(
            r.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
        const plain = [];
        for (let n = 0; n < 2; n++) {
            const py = await loadPyodide({ indexURL: "/pyodide/", _loadSnapshot: raw.slice(0) });
            plain.push(py.runPython("import random\\nrepr([random.random() for _ in range(4)])"));
        }
        window.draws = JSON.stringify({
            paths: booted.map((r) => r.path),
            jitter: booted.map((r) => r.pyodide.runPython(draw)),
            zone: booted[0].pyodide.runPython("import time\\nrepr((time.tzname, time.timezone, time.daylight))"),
            plain });
    })().catch((e) => { window.draws = JSON.stringify({ error: String(e.stack || e) }); }); }""")
    draws = json.loads(page.wait_for_function("window.draws", timeout=240_000).json_value())
    assert "error" not in draws, draws
    assert draws["paths"] == ["snapshot", "snapshot"]
    assert draws["plain"][0] == draws["plain"][1], "the control: a raw restore's random state is the snapshot's"
    assert draws["jitter"][0] != draws["jitter"][1], draws
    assert draws["zone"] == "(('UTC-0500', 'UTC-0400'), 18000, 1)"


def _tampered_build_id():
    """The snapshot with another build id in its header and its manifest (as one
    made by another Pyodide build would be): only Pyodide's own check refuses it."""
    raw = bytearray(gzip.decompress(SNAPSHOT.read_bytes()))
    raw[16:48] = bytes(32)  # 8 words of zeros
    packed = gzip.compress(bytes(raw), compresslevel=1)
    manifest = json.loads(MANIFEST.read_text())
    manifest.update(build_id="0" * 64, sha256=hashlib.sha256(packed).hexdigest(), bytes=len(packed))
    return packed, manifest


def _other_wheel():
    manifest = json.loads(MANIFEST.read_text())
    manifest.update(wheel="webvoice-0.0.1-py3-none-any.whl", wheel_sha256="0" * 64, webvoice="0.0.1")
    return SNAPSHOT.read_bytes(), manifest


@pytest.mark.parametrize(("case", "user", "reason"), [
    ("missing", "erin", "snapshot failed: cannot fetch"),
    ("other_wheel", "frank", "stale snapshot: made for webvoice-0.0.1-py3-none-any.whl"),
    ("other_build", "grace", "stale snapshot: made by another build of Pyodide (build id mismatch)"),
])
def test_a_snapshot_that_does_not_fit_falls_back_to_the_normal_boot(browser, static_server, kamailio,
                                                                    case, user, reason, request):
    def route(page):
        if case == "missing":
            return
        body, manifest = _tampered_build_id() if case == "other_build" else _other_wheel()
        page.route("**/snapshot/webvoice.snapshot.gz", lambda r: r.fulfill(body=body))
        page.route("**/snapshot/webvoice.snapshot.json", lambda r: r.fulfill(json=manifest))

    path = FAST_BOOT + ("?snapshot=/snapshot/missing.snapshot.gz" if case == "missing" else "")
    page = fast_phone(browser, static_server, kamailio, user, path=path, route=route)
    request.node.browser_console = Consoles(page)
    try:
        taken = boot_path(page)
        assert taken["path"] == "normal"
        assert taken["reason"].startswith(reason), taken
        assert any("the snapshot was not used" in line for line in page.console.lines)
    finally:
        page.context.close()


def test_no_password_is_in_the_snapshot():
    raw = gzip.decompress(SNAPSHOT.read_bytes())
    assert b"webvoice.sip.session._outgoing" in raw  # the heap as searched holds webvoice's modules
    # The demo's accounts (demo/softphone.py: "<name>-secret") and the test users'.
    passwords = set(TEST_USERS.values()) | {f"{n}-secret" for n in ("alice", "bob", "carol", "dave")}
    found = sorted(p for p in passwords if p.encode() in raw or p.encode("utf-16-le") in raw)
    assert found == []
    # Nor anything of the machine that built it: its paths, its environment.
    assert str(REPO).encode() not in raw
    path = os.environ.get("PATH", os.defpath)
    assert path == os.defpath or path.encode() not in raw  # CPython holds os.defpath itself


def test_the_demo_softphone_boots_from_the_snapshot_and_calls(browser, request):
    """demo/?boot=fast: the softphone without PyScript, restored from the snapshot,
    signs in, calls the PyScript-booted softphone and hangs up."""
    require_kamailio()
    with running_demo() as demo:
        contexts = [browser.new_context(viewport=VIEWPORT) for _ in range(2)]
        try:
            fast, plain = (context.new_page() for context in contexts)
            fast.console, plain.console = ConsoleLog(fast), ConsoleLog(plain)
            consoles = [fast.console, plain.console]
            request.node.browser_console = Consoles(fast, plain)
            fast.goto(demo.url("/?boot=fast"))
            plain.goto(demo.url("/"))
            for page in (fast, plain):
                page.wait_for_function("document.body.dataset.ready === 'yes'", timeout=BOOT_TIMEOUT_MS * 2)
            assert fast.evaluate("document.body.dataset.boot") == "snapshot", str(consoles[0])
            assert plain.evaluate("document.body.dataset.boot") is None  # PyScript ran that one
            sign_in(fast, "alice")
            sign_in(plain, "bob")
            dial(fast, "bob")
            answer(plain, "alice")
            for page in (fast, plain):
                expect(page.locator("#lines li.line")).to_have_attribute("data-status", "confirmed",
                                                                         timeout=STEP_TIMEOUT_MS)
            fast.wait_for_function("Number(document.getElementById('q-rx').textContent) > 25",
                                   timeout=STEP_TIMEOUT_MS)
            fast.click("#hangup-btn")
            for page in (fast, plain):
                expect(page.locator("#lines li.line")).to_have_count(0, timeout=STEP_TIMEOUT_MS)
            assert not [line for line in consoles[0].lines if line.startswith(("[error]", "[pageerror]"))]
        finally:
            for context in contexts:
                context.close()
