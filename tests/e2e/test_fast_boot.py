"""The fast boot (webvoice/browser/boot.mjs) in Chromium, through Kamailio.

A page restored from the memory snapshot build_assets made must work like a
normally booted one (register, call, hang up); what the snapshot froze must be
renewed (``random``: two restores must not draw the same back-off jitter); a
snapshot that does not fit (missing, another wheel, another Pyodide build) must
give a normal boot that says why; and no password may ever be in the snapshot.

The inflated snapshot one page kept in the Cache API is what the next page of
the origin restores, and only while it fits: a kept copy of another build, or
one whose build id is not its manifest's, is not used. A server that sends the
snapshot with Content-Encoding: gzip (the browser inflates it) works too, its
bytes checked against the manifest's ``raw_sha256``.
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
from devtools.web import BUILD_WEB, DEFAULT_MOUNTS, REPO, StaticServer
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
        const { bootWebvoice, unpackHeap } = await import("/webvoice/boot.mjs");
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
        const raw = unpackHeap(new Uint8Array(await fetch(opts.snapshotURL).then((r) => new Response(
            r.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer())));
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


def _build_id_at(file: bytes) -> int:
    """Where the heap's build id (8 words at heap offset 16) is in a sparse
    snapshot file (webvoice/browser/boot.mjs packHeap): in its first run,
    which starts at heap offset 0 (Pyodide's header is no run of zeros)."""
    assert file[:8] == b"WVHEAP01"
    runs = int.from_bytes(file[12:16], "little")
    first_offset, first_length = (int.from_bytes(file[16 + i:20 + i], "little") for i in (0, 4))
    assert first_offset == 0 and first_length >= 48
    return 16 + 8 * runs + 16


def _tampered_build_id():
    """The snapshot with another build id in its header and its manifest (as one
    made by another Pyodide build would be): only Pyodide's own check refuses it."""
    raw = bytearray(gzip.decompress(SNAPSHOT.read_bytes()))
    at = _build_id_at(raw)
    raw[at:at + 32] = bytes(32)  # 8 words of zeros
    packed = gzip.compress(bytes(raw), compresslevel=1)
    manifest = json.loads(MANIFEST.read_text())
    manifest.update(build_id="0" * 64, sha256=hashlib.sha256(packed).hexdigest(), bytes=len(packed))
    return packed, manifest


def _other_wheel():
    manifest = json.loads(MANIFEST.read_text())
    manifest.update(wheel="webvoice-0.0.1-py3-none-any.whl", wheel_sha256="0" * 64, wheel_gz_sha256="1" * 64,
                    webvoice="0.0.1")
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


SPARSE_CASES = """async () => {
  const { packHeap, unpackHeap, SPARSE_FORMAT } = await import("/webvoice/boot.mjs");
  const heap = (size, fill) => { const h = new Uint8Array(size); fill(h); return h; };
  const cases = {
    zeros: heap(10000, () => {}),
    none: heap(5000, (h) => h.fill(7)),
    leading_and_trailing: heap(20000, (h) => h.fill(1, 4096, 15000)),
    short_runs_kept: heap(12000, (h) => { h.fill(3); h.fill(0, 100, 4195); h.fill(0, 5000, 9095); }),
    long_run_inside: heap(30000, (h) => { h.fill(9); h.fill(0, 1000, 25000); }),
  };
  const out = {};
  for (const [name, h] of Object.entries(cases)) {
    const file = packHeap(h);
    const back = unpackHeap(file);
    out[name] = { size: file.length, same: back.length === h.length && back.every((b, i) => b === h[i]),
                  runs: new DataView(file.buffer).getUint32(12, true) };
  }
  const good = packHeap(cases.long_run_inside);
  const errors = {};
  const attempt = (name, file) => { try { unpackHeap(file, "/x.gz"); errors[name] = null; }
                                    catch (e) { errors[name] = String(e.message); } };
  attempt("magic", good.slice(0).fill(0, 0, 8));
  attempt("table", good.slice(0, 20));
  const far = good.slice(0); new DataView(far.buffer).setUint32(16, 29500, true); attempt("bounds", far);
  const extra = new Uint8Array(good.length + 3); extra.set(good); attempt("extra", extra);
  return { format: SPARSE_FORMAT, out, errors };
}"""


def test_the_snapshot_file_is_the_heap_without_its_runs_of_zeros(browser, static_server, request):
    """boot.mjs packHeap leaves out runs of 4096 zeros or more, unpackHeap puts
    them back: round trips; shorter runs are kept; a file that is no sparse
    snapshot is refused, saying what is wrong. The built snapshot is one."""
    page = browser.new_page()
    request.addfinalizer(page.close)
    request.node.browser_console = ConsoleLog(page)
    page.goto(static_server.url(FAST_BOOT))
    got = page.evaluate(SPARSE_CASES)
    assert all(case["same"] for case in got["out"].values()), got["out"]
    assert got["out"]["zeros"] == {"size": 16, "same": True, "runs": 0}
    assert got["out"]["none"] == {"size": 16 + 8 + 5000, "same": True, "runs": 1}
    assert got["out"]["leading_and_trailing"] == {"size": 16 + 8 + 15000 - 4096, "same": True, "runs": 1}
    assert got["out"]["short_runs_kept"]["size"] == 16 + 8 + 12000  # runs of 4095: one run, kept whole
    assert got["out"]["long_run_inside"] == {"size": 16 + 16 + 6000, "same": True, "runs": 2}
    assert got["errors"] == {
        "magic": "/x.gz is no sparse snapshot: no magic",
        "table": "/x.gz is no sparse snapshot: 2 runs do not fit in 20 bytes",
        "bounds": "/x.gz is no sparse snapshot: run 0 is out of bounds",
        "extra": "/x.gz is no sparse snapshot: 3 bytes after the last run",
    }
    manifest = json.loads(MANIFEST.read_text())
    file = gzip.decompress(SNAPSHOT.read_bytes())
    assert manifest["format"] == got["format"]
    assert len(file) == manifest["raw_bytes"] < manifest["heap_bytes"]
    assert int.from_bytes(file[8:12], "little") == manifest["heap_bytes"]


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


def _snapshot_kept(page) -> bool:
    """Whether the page's boot kept the inflated snapshot in the Cache API (waits for the write)."""
    page.wait_for_function("window.snapshotKept !== undefined", timeout=120_000)
    return page.evaluate("window.snapshotKept")


def _snapshot_downloads(server) -> list[str]:
    return [line for line in server.request_log if "GET /snapshot/webvoice.snapshot.gz" in line]


def _register(page, sip_server, user) -> None:
    args = {"sip_login": user, "sip_password": sip_server.users[user], "ws_url": sip_server.ws_url,
            "realm": sip_server.domain}
    py(page, f"""
import json
import webvoice
sip = webvoice.create_sip_instance(**json.loads({json.dumps(json.dumps(args))}))
await sip.register()
""")
    assert py(page, "sip.is_registered()") is True
    py(page, "await sip.close()")


def test_the_next_page_restores_the_inflated_snapshot_the_first_kept(browser, static_server, kamailio, request):
    """First visit: the snapshot from the network, inflated, kept in the Cache API
    once the page booted; the next page of the origin restores that copy (no
    download, no inflating), registers, and draws its own jitter."""
    context = browser.new_context()
    request.addfinalizer(context.close)
    first, second = context.new_page(), context.new_page()
    first.console, second.console = ConsoleLog(first), ConsoleLog(second)
    request.node.browser_console = Consoles(first, second)
    boot_webvoice(first, static_server, path=FAST_BOOT)
    assert boot_path(first) == {"path": "snapshot", "reason": None}
    assert first.evaluate("window.snapshotSource") == "network"
    assert _snapshot_kept(first) is True

    downloads = len(_snapshot_downloads(static_server))
    boot_webvoice(second, static_server, path=FAST_BOOT)
    assert boot_path(second) == {"path": "snapshot", "reason": None}
    assert second.evaluate("window.snapshotSource") == "cache"
    assert _snapshot_kept(second) is False  # nothing new to keep
    assert len(_snapshot_downloads(static_server)) == downloads, "the second page downloaded the snapshot again"
    _register(second, kamailio, "heidi")
    draw = "import random\nrepr([random.random() for _ in range(4)])"
    assert py(first, draw) != py(second, draw)
    assert py(second, "import importlib.metadata as m; m.version('webvoice')") == py(second, "webvoice.__version__")


def test_a_kept_copy_evicted_is_downloaded_once_and_kept_again(browser, static_server, request):
    """The browser may evict the Cache API's copy (storage pressure, or the user
    clearing site data): the next page downloads the snapshot once, restores
    it and keeps it again; the page after it downloads nothing."""
    context = browser.new_context()
    request.addfinalizer(context.close)
    first, second, third = context.new_page(), context.new_page(), context.new_page()
    for page in (first, second, third):
        page.console = ConsoleLog(page)
    request.node.browser_console = Consoles(first, second, third)
    boot_webvoice(first, static_server, path=FAST_BOOT)
    assert _snapshot_kept(first) is True
    assert first.evaluate("async () => await caches.delete('webvoice-snapshot')") is True
    downloads = len(_snapshot_downloads(static_server))
    boot_webvoice(second, static_server, path=FAST_BOOT)
    assert boot_path(second) == {"path": "snapshot", "reason": None}
    assert second.evaluate("window.snapshotSource") == "network"
    assert len(_snapshot_downloads(static_server)) == downloads + 1
    assert _snapshot_kept(second) is True
    boot_webvoice(third, static_server, path=FAST_BOOT)
    assert third.evaluate("window.snapshotSource") == "cache"
    assert len(_snapshot_downloads(static_server)) == downloads + 1, "the third page downloaded the snapshot again"


SEED_CACHE = """async ([url, sha256, zeroBuildId]) => {
  // What a page keeps (webvoice/browser/boot.mjs: SnapshotSource.keep), put by hand.
  const packed = await fetch(url, { cache: "no-store" });
  const raw = new Uint8Array(await new Response(packed.body.pipeThrough(new DecompressionStream("gzip")))
    .arrayBuffer());
  // The heap's build id: 8 words at heap offset 16, in the file's first run
  // (boot.mjs packHeap), after the 16-byte header and the 8-byte run table entries.
  const at = 16 + 8 * new DataView(raw.buffer).getUint32(12, true) + 16;
  if (zeroBuildId) raw.fill(0, at, at + 32);
  const cache = await caches.open("webvoice-snapshot");
  await cache.put(new URL(url, location.href).href, new Response(raw, {
    headers: { "Content-Type": "application/octet-stream", "X-Webvoice-Snapshot-Sha256": sha256 } }));
  return (await cache.keys()).length;
}"""


@pytest.mark.parametrize(("case", "path", "reason", "source"), [
    # The kept copy's build id is not its manifest's: a normal boot.
    ("tampered_copy", "normal", "stale snapshot: its build id 0000000000000000", None),
    # The page now loads another wheel: the kept copy is not restored.
    ("other_wheel", "normal", "stale snapshot: made for webvoice-0.0.1-py3-none-any.whl", None),
    # A copy kept from another build (its sha256 is not the manifest's): the
    # snapshot comes from the network, and replaces it.
    ("older_build", "snapshot", None, "network"),
])
def test_a_kept_snapshot_is_restored_only_while_it_fits(browser, static_server, case, path, reason, source, request):
    context = browser.new_context()
    request.addfinalizer(context.close)
    page = context.new_page()
    page.console = ConsoleLog(page)
    request.node.browser_console = Consoles(page)
    page.goto(static_server.url(FAST_BOOT))
    page.wait_for_function("window.bootReady === true", timeout=60_000)
    manifest = json.loads(MANIFEST.read_text())
    kept_sha = "0" * 64 if case == "older_build" else manifest["sha256"]
    assert page.evaluate(SEED_CACHE, ["/snapshot/webvoice.snapshot.gz", kept_sha, case != "other_wheel"]) == 1
    if case == "other_wheel":
        _, other = _other_wheel()
        page.route("**/snapshot/webvoice.snapshot.json", lambda r: r.fulfill(json=other))
    boot_webvoice(page, static_server, path=FAST_BOOT)
    taken = boot_path(page)
    assert taken["path"] == path, taken
    if reason:
        assert taken["reason"].startswith(reason), taken
        assert any("the snapshot was not used" in line for line in page.console.lines)
    else:
        assert taken["reason"] is None
        assert page.evaluate("window.snapshotSource") == source
        assert _snapshot_kept(page) is True
        assert page.evaluate("""async () => (await (await caches.open("webvoice-snapshot")).match(
            new URL("/snapshot/webvoice.snapshot.gz", location.href).href)).headers.get(
            "X-Webvoice-Snapshot-Sha256")""") == manifest["sha256"]
    assert py(page, "import webvoice.sip.session._outgoing; webvoice.__version__") == manifest["webvoice"]


def test_a_snapshot_sent_with_content_encoding_is_checked_and_restored(browser, kamailio, request):
    """The server sends the .gz with Content-Encoding: gzip: the page receives the
    inflated bytes, checks them against the manifest's raw_sha256, restores them."""
    with StaticServer(DEFAULT_MOUNTS, content_encoded=(".snapshot.gz",)) as server:
        page = fast_phone(browser, server, kamailio, "erin")
        request.node.browser_console = Consoles(page)
        try:
            assert boot_path(page) == {"path": "snapshot", "reason": None}
            assert page.evaluate("window.snapshotSource") == "network"
            assert _snapshot_downloads(server)
        finally:
            page.context.close()


def test_inflated_bytes_that_are_not_the_manifests_fall_back(browser, static_server, request):
    """Bytes that are no gzip (as a Content-Encoding server delivers) but not the
    snapshot the manifest describes (one octet changed): a normal boot, saying why."""
    raw = bytearray(gzip.decompress(SNAPSHOT.read_bytes()))
    raw[len(raw) // 2] ^= 0xFF
    context = browser.new_context()
    request.addfinalizer(context.close)
    page = context.new_page()
    page.console = ConsoleLog(page)
    request.node.browser_console = Consoles(page)
    page.route("**/snapshot/webvoice.snapshot.gz", lambda r: r.fulfill(body=bytes(raw)))
    boot_webvoice(page, static_server, path=FAST_BOOT)
    taken = boot_path(page)
    assert taken["path"] == "normal"
    assert taken["reason"].startswith("snapshot failed: "), taken
    assert f"its manifest says {json.loads(MANIFEST.read_text())['raw_sha256']}" in taken["reason"], taken
