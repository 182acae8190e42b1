"""The demo softphone (demo/), used the way a person would: by clicking.

``demo/serve.py`` runs as a subprocess on free ports, exactly as ``make demo``
runs it (its own Kamailio, its own HTTP server). Three browser contexts with
fake microphones open the page and sign in as alice, bob and carol; alice
calls bob, bob answers, alice holds and resumes, sends DTMF from the dial pad
(RFC 2833, then SIP INFO, which bob's page reports), media flows (the
quality panels count packets), alice hangs up. Then alice calls bob again and
transfers him blind to carol, who answers. Screenshots of the softphones in
a call go to test-artifacts/.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from devtools.browser import ConsoleLog
from devtools.demo_server import running_demo
from devtools.kamailio_server import require_kamailio
from devtools.web import BUILD_WEB

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
VIEWPORT = {"width": 1280, "height": 960}
BOOT_TIMEOUT_MS = 180_000  # three pages boot Pyodide at once on a shared 2-core machine
STEP_TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def demo():
    """python -m demo.serve on free ports; stopped with SIGTERM, which must stop Kamailio too."""
    require_kamailio()
    if not (BUILD_WEB / "pyscript" / "core.js").exists():
        pytest.fail(f"{BUILD_WEB} has no PyScript: run `make assets` first")
    try:
        with running_demo() as server:
            yield server
    except RuntimeError as exc:
        pytest.fail(str(exc))


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def test_the_page_and_its_assets_are_served(demo):
    status, kind, body = get(demo.url("/"))
    assert status == 200 and kind.startswith("text/html")
    assert b'src="/pyscript/core.js"' in body and b'src="softphone.py"' in body
    for path in ("/pyscript/core.js", "/pyscript/core.css", "/pyodide/pyodide.mjs", "/style.css",
                 "/softphone.py", "/quality.py", "/tones.py"):
        status, kind, body = get(demo.url(path))
        assert status == 200 and body, path
    _, kind, body = get(demo.url("/pyscript.json"))
    config = json.loads(body)
    assert config["interpreter"] == "/pyodide/pyodide.mjs"
    (wheel,) = [p for p in config["packages"] if p.endswith(".whl")]
    assert get(demo.url(wheel))[0] == 200
    for source in config["files"]:
        assert get(demo.url(source))[0] == 200, source
    _, _, body = get(demo.url("/demo-config.json"))
    settings = json.loads(body)
    assert settings["ws_url"] == demo.ws_url and settings["realm"] == "webvoice.test"
    assert [u["login"] for u in settings["users"]] == ["alice", "bob", "carol", "dave"]
    # The number field suggests only users that exist.
    _, _, page_html = get(demo.url("/"))
    placeholder = re.search(r'id="target" placeholder="([^"]+)"', page_html.decode()).group(1)
    suggested = [re.sub(r"^sips?:|@.*$", "", word) for word in re.split(r", | or ", placeholder)]
    assert suggested and set(suggested) <= {u["login"] for u in settings["users"]}, placeholder
    # Nothing in the page or its config points off this machine (an SVG namespace is no load).
    for path in ("/", "/pyscript.json"):
        assert not re.search(rb"https?://(?!127\.0\.0\.1|www\.w3\.org/2000/svg)", get(demo.url(path))[2]), path


class Consoles:
    """The console logs of several pages, for the failure report (tests/e2e/conftest.py)."""

    def __init__(self, **logs: ConsoleLog) -> None:
        self.logs = logs

    @property
    def lines(self) -> list[str]:
        return [f"[{name}] {line}" for name, log in self.logs.items() for line in log.lines]

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def errors(self) -> list[str]:
        return [line for line in self.lines if "[pageerror]" in line or "Traceback" in line]


@pytest.fixture
def phones(browser, demo, request):
    """Pages for alice, bob and carol, loaded at once (they boot in parallel), signed in."""
    contexts = {name: browser.new_context(viewport=VIEWPORT) for name in ("alice", "bob", "carol")}
    pages = {name: context.new_page() for name, context in contexts.items()}
    consoles = Consoles(**{name: ConsoleLog(page) for name, page in pages.items()})
    request.node.browser_console = consoles
    for page in pages.values():
        page.goto(demo.url("/"))
    for name, page in pages.items():
        page.wait_for_function("document.body.dataset.ready === 'yes'", timeout=BOOT_TIMEOUT_MS)
        sign_in(page, name)
    yield pages, consoles
    for context in contexts.values():
        context.close()


def sign_in(page: Page, user: str) -> None:
    expect(page.locator("#ws-url")).to_have_value(re.compile(r"^ws://127\.0\.0\.1:\d+$"))
    page.select_option("#user-picker", user)
    expect(page.locator("#password")).to_have_value(f"{user}-secret")
    page.evaluate("""() => {  // every label the registration pill shows, in order
        const pill = document.getElementById("reg-state");
        window.regLabels = [];
        new MutationObserver(() => window.regLabels.push(pill.textContent))
            .observe(pill, {childList: true, characterData: true, subtree: true});
    }""")
    page.click("#signin-btn")
    expect(page.locator("#reg-state")).to_have_attribute("data-state", "registered", timeout=STEP_TIMEOUT_MS)
    expect(page.locator("#reg-state")).to_contain_text(f"{user}@webvoice.test")
    labels = page.evaluate("window.regLabels")
    assert labels[:2] == ["Connecting…", "Connected, registering…"], labels


def line(page: Page):
    return page.locator("#lines li.line")


def activity(page: Page):
    return page.locator("#activity")


def dial(page: Page, target: str) -> None:
    page.fill("#target", target)
    page.click("#call-btn")


def answer(page: Page, caller: str) -> None:
    expect(page.locator("#incoming")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    expect(page.locator("#incoming-text")).to_have_text(caller)
    page.click("#answer-btn")
    expect(page.locator("#incoming")).to_be_hidden()


def packets_received(page: Page) -> int:
    return int(page.locator("#q-rx").inner_text())


def test_two_softphones_call_hold_dtmf_and_transfer(phones):
    pages, consoles = phones
    alice, bob, carol = pages["alice"], pages["bob"], pages["carol"]

    # alice calls bob; bob's page rings; he answers by clicking.
    dial(alice, "bob")
    answer(bob, "alice")
    for page, other in ((alice, "bob"), (bob, "alice")):
        expect(line(page)).to_have_count(1)
        expect(line(page)).to_have_attribute("data-status", "confirmed", timeout=STEP_TIMEOUT_MS)
        expect(line(page)).to_have_attribute("data-media", "connected", timeout=STEP_TIMEOUT_MS)
        expect(line(page)).to_contain_text(other)
        expect(page.locator("#call-summary")).to_contain_text(f"Connected {other}")

    # Media flows both ways: the quality panels count packets.
    for page in (alice, bob):
        page.wait_for_function("Number(document.getElementById('q-rx').textContent) > 25",
                               timeout=STEP_TIMEOUT_MS)
        expect(page.locator("#q-codec")).to_have_text("opus")

    # Hold and resume from alice's line list; bob's page sees both.
    alice.click("#lines [data-action=hold]")
    expect(line(alice)).to_have_attribute("data-held", "true", timeout=STEP_TIMEOUT_MS)
    expect(line(bob)).to_have_attribute("data-remote-held", "true", timeout=STEP_TIMEOUT_MS)
    expect(activity(bob)).to_contain_text("alice put the call on hold")
    alice.click("#lines [data-action=resume]")
    expect(line(alice)).to_have_attribute("data-held", "false", timeout=STEP_TIMEOUT_MS)
    expect(line(bob)).to_have_attribute("data-remote-held", "false", timeout=STEP_TIMEOUT_MS)

    # DTMF from the dial pad: RFC 2833 (in the audio), then SIP INFO, which bob's page reports.
    alice.click("#dialpad [data-digit='1']")
    alice.click("#dialpad [data-digit='2']")
    expect(alice.locator("#dtmf-sent")).to_have_text("Sent: 12")
    expect(activity(alice)).to_contain_text("Sent DTMF 2 (RFC 2833)", timeout=STEP_TIMEOUT_MS)
    alice.select_option("#dtmf-mode", "INFO")
    alice.click("#dialpad [data-digit='#']")
    expect(activity(alice)).to_contain_text("Sent DTMF # (SIP INFO)", timeout=STEP_TIMEOUT_MS)
    expect(activity(bob)).to_contain_text("alice pressed # (DTMF)", timeout=STEP_TIMEOUT_MS)

    # bob picks another microphone in the middle of the call.
    bob.select_option("#mic-select", label="Fake Audio Input 1")
    expect(activity(bob)).to_contain_text("Microphone: Fake Audio Input 1", timeout=STEP_TIMEOUT_MS)

    # Let the charts fill a little, then keep pictures of both softphones in the call.
    before = [packets_received(alice), packets_received(bob)]
    alice.wait_for_timeout(2500)
    after = [packets_received(alice), packets_received(bob)]
    assert after[0] > before[0] + 20 and after[1] > before[1] + 20, (before, after)  # 50 a second
    ARTIFACTS.mkdir(exist_ok=True)
    alice.screenshot(path=ARTIFACTS / "demo-alice-in-call.png", full_page=True)
    bob.screenshot(path=ARTIFACTS / "demo-bob-in-call.png", full_page=True)

    # alice hangs up; both line lists empty.
    alice.click("#hangup-btn")
    for page in (alice, bob):
        expect(line(page)).to_have_count(0, timeout=STEP_TIMEOUT_MS)
    expect(activity(bob)).to_contain_text("Call with alice ended (hung up by them)")

    # Blind transfer: alice calls bob again and sends him to carol.
    dial(alice, "bob")
    answer(bob, "alice")
    expect(line(alice)).to_have_attribute("data-status", "confirmed", timeout=STEP_TIMEOUT_MS)
    expect(alice.locator("#transfer")).to_be_visible()
    alice.fill("#xfer-target", "carol")
    alice.click("#xfer-blind")
    answer(carol, "bob")
    expect(activity(alice)).to_contain_text("Transferred bob to carol", timeout=STEP_TIMEOUT_MS)
    expect(line(alice)).to_have_count(0, timeout=STEP_TIMEOUT_MS)
    for page, other in ((bob, "carol"), (carol, "bob")):
        expect(line(page)).to_have_count(1, timeout=STEP_TIMEOUT_MS)
        expect(line(page)).to_have_attribute("data-status", "confirmed", timeout=STEP_TIMEOUT_MS)
        expect(line(page)).to_contain_text(other)
    carol.wait_for_function("Number(document.getElementById('q-rx').textContent) > 10",
                            timeout=STEP_TIMEOUT_MS)
    carol.screenshot(path=ARTIFACTS / "demo-carol-after-transfer.png", full_page=True)
    # bob's page says what happened: the transfer, the new call on its line, then its end.
    expect(activity(bob)).to_contain_text("alice transferred you to carol")
    expect(activity(bob)).to_contain_text("Connected with carol")
    expect(bob.locator("#call-summary")).to_contain_text("Connected carol")
    bob.screenshot(path=ARTIFACTS / "demo-bob-after-transfer.png", full_page=True)
    carol.click("#hangup-btn")
    for page in (bob, carol):
        expect(line(page)).to_have_count(0, timeout=STEP_TIMEOUT_MS)
    expect(activity(bob)).to_contain_text("Call with carol ended (hung up by them)")

    # A failed call tells why and keeps what was typed, to correct it and call again.
    dial(alice, "nosuchuser")
    expect(alice.locator("#error")).to_be_visible(timeout=STEP_TIMEOUT_MS)
    expect(alice.locator("#error-text")).to_contain_text("nosuchuser")
    expect(alice.locator("#target")).to_have_value("nosuchuser")
    alice.click("#error-close")
    expect(line(alice)).to_have_count(0, timeout=STEP_TIMEOUT_MS)
    # The digits sent during a call stay on one line however many there are.
    dial(alice, "bob")
    answer(bob, "alice")
    expect(line(alice)).to_have_attribute("data-status", "confirmed", timeout=STEP_TIMEOUT_MS)
    expect(alice.locator("#target")).to_have_value("")  # cleared once connected
    for digit in "1234567890*#1234":
        alice.click(f"#dialpad [data-digit='{digit}']")
    expect(alice.locator("#dtmf-sent")).to_have_text("Sent: 1234567890*#1234")
    box = alice.locator("#dtmf-sent").bounding_box()
    line_height = alice.evaluate("parseFloat(getComputedStyle(document.getElementById('dtmf-sent')).lineHeight) || 20")
    assert box["height"] < 1.5 * line_height, (box, line_height)
    alice.click("#hangup-btn")
    for page in (alice, bob):
        expect(line(page)).to_have_count(0, timeout=STEP_TIMEOUT_MS)

    for page in (alice, bob, carol):
        expect(page.locator("#error")).to_be_hidden()
    assert not consoles.errors(), "\n".join(consoles.errors())
