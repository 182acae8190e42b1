"""The bridged media backend: Python in a Web Worker, WebRTC on the page through agent.js.

The page (devtools/pages/worker-bridge.html) runs only the agent, loaded
from the package directory (webvoice/browser/ served at /webvoice-browser/);
Python runs in a plain module worker (worker-bridge-worker.js) that boots
Pyodide and the webvoice wheel, as a PyScript worker or a JupyterLite kernel
would. Real Chromium, fake devices, no mocks: each test opens lines "a" and
"b" through one BridgedMediaBackend in the worker and connects them to each
other (offer from a, answer from b, both through the bridge), checking what
the page's main thread holds with ``page.evaluate``.
"""

from __future__ import annotations

import json
import textwrap
import time

import pytest

from devtools.browser import ConsoleLog
from devtools.web import DEFAULT_MOUNTS, REPO, StaticServer

PAGE = "/test-pages/worker-bridge.html"

# Helpers defined in the worker's Python globals, shared by the tests.
PRELUDE = r'''
import asyncio, json, time
import js
from webvoice._media import DeviceNotFoundError, MediaError, MediaPermissionError, NotSupportedError
from webvoice.browser._bridge import BridgedMediaBackend, agent_loader_js, agent_source
from webvoice.browser._env import in_worker

backend = BridgedMediaBackend(timeout=2.0)
events = {}


def recorder(line):
    events[line] = []
    return lambda name, data: events[line].append([name, data])


async def open_line(line, on=None, **options):
    options = {"ice_servers": [], "constraints": {}, "microphone": None, "speaker": None, **options}
    return await (on or backend).open_session(line, on_event=recorder(line), **options)


async def wait_for(predicate, timeout=10.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def states(line):
    return [data["state"] for name, data in events[line] if name == "connectionstatechange"]


async def receiving(sessions, more_than=0):
    return all([(await s.get_stats())["inbound"]["packets_received"] > more_than for s in sessions])


async def connected_pair():
    """Lines a and b, connected through the bridge; returns (a, b, offer, answer)."""
    a = await open_line("a")
    b = await open_line("b")
    offer = await a.create_offer()
    answer = await b.create_answer(offer)
    await a.apply_answer(answer)

    async def both_connected():
        return all(states(line)[-1:] == ["connected"] for line in ("a", "b"))

    await wait_for(both_connected, what="both connected")
    await wait_for(lambda: receiving([a, b]), what="packets both ways")
    return a, b, offer, answer


async def reoffer(offerer, answerer):
    offer = await offerer.create_offer()
    answer = await answerer.create_answer(offer)
    await offerer.apply_answer(answer)
    return offer, answer


async def inbound_growth(session, seconds, key="packets_received"):
    before = (await session.get_stats())["inbound"][key]
    await asyncio.sleep(seconds)
    return (await session.get_stats())["inbound"][key] - before


async def settled(session, key, at_most, window=0.5):
    """Whether the inbound figure grows by at most ``at_most`` over ``window``
    (for wait_for: audio in flight and jitter buffers drain first)."""
    return await inbound_growth(session, window, key) <= at_most


async def growth(sessions, seconds, key="packets_received"):
    before = [(await s.get_stats())["inbound"][key] for s in sessions]
    await asyncio.sleep(seconds)
    after = [(await s.get_stats())["inbound"][key] for s in sessions]
    return [y - x for x, y in zip(before, after)]


async def error_of(coro):
    try:
        await coro
    except Exception as exc:
        return type(exc).__name__
    return None
'''

# What the page's main thread holds, as seen by the test.
PAGE_STATE = """() => ({
    audio: [...document.querySelectorAll("audio")].map((el) => ({
        id: el.id, line: el.dataset.webvoiceLine, bridge: el.dataset.webvoiceBridge,
        autoplay: el.autoplay, tracks: el.srcObject ? el.srcObject.getAudioTracks().length : 0})),
    lines: [...document.querySelectorAll("audio")].map((el) => el.dataset.webvoiceLine),
    open: window.openPcs().length,
})"""


def run_in_worker(page, code: str, *, worker: str = "w1", timeout_s: float = 30):
    """Run ``code`` in the worker's Pyodide; its last expression, a JSON string,
    comes back decoded. A Python exception fails the test with its text."""
    page.evaluate("""([name, code]) => {
        window.wOutcome = undefined;
        window.runInWorker(name, code).then(
            (r) => { window.wOutcome = JSON.stringify({ok: r}); },
            (e) => { window.wOutcome = JSON.stringify({error: String(e.message || e)}); });
    }""", [worker, textwrap.dedent(code)])
    handle = page.wait_for_function("window.wOutcome", timeout=timeout_s * 1000)
    outcome = json.loads(handle.json_value())
    if "error" in outcome:
        raise AssertionError(f"Python in worker {worker} raised:\n{outcome['error']}")
    return None if outcome["ok"] is None else json.loads(outcome["ok"])


def start_worker(page, name: str, timeout_s: float = 60) -> dict:
    page.evaluate("""(name) => {
        window.bootOutcome = undefined;
        window.startWorker(name).then(
            (t) => { window.bootOutcome = JSON.stringify({ok: t}); },
            (e) => { window.bootOutcome = JSON.stringify({error: String(e.message || e)}); });
    }""", name)
    handle = page.wait_for_function("window.bootOutcome", timeout=timeout_s * 1000)
    outcome = json.loads(handle.json_value())
    if "error" in outcome:
        raise AssertionError(f"worker {name} did not boot:\n{outcome['error']}")
    run_in_worker(page, PRELUDE + "\njson.dumps(None)", worker=name)
    return outcome["ok"]


@pytest.fixture(scope="module")
def server(static_server):
    """The e2e server's mounts, plus the package directory, so the page loads agent.js itself."""
    with StaticServer({**DEFAULT_MOUNTS, "/webvoice-browser/": REPO / "webvoice" / "browser"}) as srv:
        yield srv


@pytest.fixture(scope="module")
def bridge_page(browser, server):
    context = browser.new_context()
    page = context.new_page()
    console = ConsoleLog(page)
    page.goto(server.url(PAGE))
    page.wait_for_function("window.pageReady === true")
    timings = start_worker(page, "w1")
    print("worker boot (ms):", {k: round(v) for k, v in timings.items()})
    yield page, console
    context.close()


@pytest.fixture
def page(bridge_page, request):
    """The module's page and booted worker; the test's backend is closed after it
    (every session with it, on the page too) and a fresh one made."""
    page, console = bridge_page
    request.node.browser_console = console
    yield page
    leftover = run_in_worker(page, """
        backend.close()
        proxies = backend.live_proxies
        backend = BridgedMediaBackend(timeout=2.0)
        json.dumps(proxies)
    """)
    assert leftover == 0
    page.wait_for_function("window.openPcs().length === 0 && !document.querySelector('audio')", timeout=5000)


def test_two_bridged_lines_connect_through_the_page(page):
    result = run_in_worker(page, """
        a, b, offer, answer = await connected_pair()
        await wait_for(lambda: receiving([a, b], 10), what="packets flowing")
        mark = await a.arrival_mark()
        grew = await growth([a, b], 0.5)
        marks = [mark, await a.arrival_mark()]
        json.dumps({"worker": in_worker(), "marks": marks, "has_pc": hasattr(js, "RTCPeerConnection"),
                    "offer": offer, "answer": answer, "grew": grew, "stats": await a.get_stats(),
                    "connection": a.connection(), "elements": [a.element_id, b.element_id],
                    "bridge": backend.bridge_id, "agent": backend.agent_id,
                    "events_a": sorted({e[0] for e in events["a"]}), "states_b": states("b"),
                    "media_a": [e[1] for e in events["a"] if e[0] == "connectionstatechange"][-1],
                    "candidate": next(e[1] for e in events["a"] if e[0] == "icecandidate")})
    """)
    state = page.evaluate(PAGE_STATE)
    assert result["worker"] is True and result["has_pc"] is False  # really a worker without WebRTC
    for sdp in (result["offer"], result["answer"]):
        assert "\r\na=candidate:" in sdp and "telephone-event/8000" in sdp and "a=sendrecv" in sdp
    assert all(n > 5 for n in result["grew"]), result["grew"]
    # The stall watch's probe works across the bridge too: its mark moves as audio arrives.
    assert result["marks"][0] is not None and result["marks"][1] > result["marks"][0], result["marks"]
    stats = result["stats"]
    assert stats["outbound"]["packets_sent"] > 0 and stats["inbound"]["bytes_received"] > 0
    assert stats["codec"] == "audio/opus"
    assert result["connection"] is None
    assert result["agent"] == page.evaluate("window.agent.id")
    assert result["elements"] == ["webvoice-audio-a", "webvoice-audio-b"]
    assert sorted(el["id"] for el in state["audio"]) == ["webvoice-audio-a", "webvoice-audio-b"]
    assert all(el["autoplay"] and el["tracks"] == 1 and el["bridge"] == result["bridge"] for el in state["audio"])
    assert {"icecandidate", "track", "connectionstatechange"} <= set(result["events_a"])
    assert result["states_b"][-1] == "connected"
    # Both states, for media health (written once in the engine): ICE up and the connection up.
    assert result["media_a"]["state"] == "connected" and result["media_a"]["ice"] in ("connected", "completed")
    assert result["candidate"]["candidate"].startswith("candidate:") and result["candidate"]["sdp_mid"] == "0"


def test_hold_through_the_bridge(page):
    """a holds: its offer is sendonly, b answers recvonly and stops sending, and
    a takes its microphone off the sender: neither side receives RTP (the same
    engine as the main thread's, so the same behaviour)."""
    result = run_in_worker(page, """
        a, b, *_ = await connected_pair()
        a.set_hold(True)  # synchronous: posted now, seen by the next offer
        held_offer, held_answer = await reoffer(a, b)
        await wait_for(lambda: settled(a, "packets_received", 1), what="a's inbound stalling")
        await wait_for(lambda: settled(b, "packets_received", 1), what="b's inbound stalling")
        held = await growth([a, b], 1.0)
        held_energy = await inbound_growth(b, 1.0, "total_audio_energy")
        a.set_hold(False)
        resume_offer, _ = await reoffer(a, b)

        async def both_flowing():
            return all(n > 10 for n in await growth([a, b], 0.5))

        await wait_for(both_flowing, what="packets both ways after resuming")
        resumed = await growth([a, b], 1.0)
        json.dumps({"held_offer": held_offer, "held_answer": held_answer, "held": held,
                    "held_energy": held_energy, "resume_offer": resume_offer, "resumed": resumed})
    """)
    assert "a=sendonly" in result["held_offer"] and "a=recvonly" in result["held_answer"]
    a_held, b_held = result["held"]
    assert a_held <= 2 and b_held <= 2, result["held"]
    assert result["held_energy"] < 1e-6
    assert "a=sendrecv" in result["resume_offer"]
    assert all(n > 20 for n in result["resumed"]), result["resumed"]


def test_mute_rollback_and_dtmf(page):
    result = run_in_worker(page, """
        early = await open_line("early")
        not_yet = await error_of(early.send_dtmf("1", 100, 70))
        bad_tone = await error_of(early.send_dtmf("1x", 100, 70))
        early.close()
        a, b, *_ = await connected_pair()
        t0 = time.monotonic()
        await a.send_dtmf("12#", 100, 70)
        elapsed = time.monotonic() - t0
        await wait_for(lambda: inbound_growth(b, 0.3, "total_audio_energy"), what="b hearing a's beeps")
        loud = await inbound_growth(b, 1.0, "total_audio_energy")
        a.set_muted(True)
        await wait_for(lambda: settled(b, "total_audio_energy", loud / 200), what="silence after mute")
        quiet = await inbound_growth(b, 1.0, "total_audio_energy")
        a.set_muted(False)
        a.set_hold(True)
        await a.create_offer()
        await a.rollback()  # the peer refused the hold: the agent says we are not held
        json.dumps({"not_yet": not_yet, "bad_tone": bad_tone, "elapsed": elapsed, "quiet": quiet, "loud": loud,
                    "held_after_rollback": a.held})
    """)
    enabled = page.evaluate("window.openPcs()[0].getSenders()[0].track.enabled")  # line a's
    assert result["not_yet"] == "NotSupportedError"
    assert result["bad_tone"] == "ValueError"
    # Three tones of 100 ms with 70 ms gaps (0.44 s), reported by "tonechange" on
    # the page: never before they played; not the 20 s op time-out (10x generous).
    assert 0.4 <= result["elapsed"] < 4.4, result["elapsed"]
    assert result["loud"] > 0 and result["quiet"] < result["loud"] / 100, result  # muted: silence
    assert result["held_after_rollback"] is False and enabled is True


def test_devices_speakers_and_errors(page):
    result = run_in_worker(page, """
        before = backend.supports_speaker_selection()
        devices = await backend.list_devices()
        changes = []
        backend.on_devices_changed(lambda: changes.append(1))
        a = await open_line("a")
        bogus_speaker = await error_of(a.set_speaker("no-such-speaker"))
        bogus_mic = await error_of(a.replace_microphone("no-such-microphone"))
        default = await error_of(a.set_speaker(None))
        inputs = [d.device_id for d in devices if d.kind == "audioinput"]
        await a.replace_microphone(inputs[-1])
        import logging
        logged = []
        catcher = logging.Handler()
        catcher.emit = lambda record: logged.append([record.levelname, record.getMessage()])
        logging.getLogger("webvoice").addHandler(catcher)
        s = await open_line("s", speaker="no-such-speaker")  # opens; plays on the default speaker
        logging.getLogger("webvoice").removeHandler(catcher)
        s.close()
        taken = await error_of(open_line("a"))
        bad_ice = await error_of(open_line("x", ice_servers=["http://example.com"]))
        json.dumps({"devices": [[d.device_id, d.label, d.kind] for d in devices], "before": before,
                    "supports": backend.supports_speaker_selection(), "bogus_speaker": bogus_speaker,
                    "bogus_mic": bogus_mic, "default": default, "wanted": inputs[-1], "taken": taken,
                    "bad_ice": bad_ice, "logged": logged})
    """)
    # A devicechange on the page reaches the worker's handler through the bridge.
    page.evaluate("navigator.mediaDevices.dispatchEvent(new Event('devicechange'))")
    changes = run_in_worker(page, """
        await wait_for(lambda: asyncio.sleep(0, bool(changes)), what="devicechange", timeout=3)
        backend.on_devices_changed(None)
        await a.get_stats()  # the unsubscription has reached the page
        json.dumps(len(changes))
    """)
    page.evaluate("navigator.mediaDevices.dispatchEvent(new Event('devicechange'))")
    after_off = run_in_worker(page, """
        await a.get_stats()  # an event forwarded meanwhile would have arrived before this answer
        json.dumps(len(changes))
    """)
    page_side = page.evaluate("() => ({device: window.openPcs()[0].getSenders()[0].track.getSettings().deviceId})")
    print("devices:", result["devices"])
    assert {kind for _, _, kind in result["devices"]} == {"audioinput", "audiooutput"}
    assert all(device_id and label for device_id, label, _ in result["devices"])
    assert result["before"] is True and result["supports"] is True
    assert result["bogus_speaker"] == "DeviceNotFoundError"
    assert result["bogus_mic"] == "DeviceNotFoundError"
    assert result["default"] is None
    assert page_side["device"] == result["wanted"]
    assert result["taken"] == "ValueError" and result["bad_ice"] == "ValueError"
    [(level, message)] = result["logged"]
    assert level == "WARNING" and message.startswith("line s: playing on the default speaker: setSinkId")
    assert changes == 1
    assert after_off == 1  # unsubscribed: the second event is not forwarded


def test_close_releases_the_page_side(page):
    page.evaluate("window.captured = undefined")
    run_in_worker(page, """
        a, b, *_ = await connected_pair()
        json.dumps(None)
    """)
    before = page.evaluate("""() => {
        window.captured = window.openPcs().map((pc) => ({pc, tracks: pc.getSenders().map((s) => s.track)}));
        return document.querySelectorAll("audio").length; }""")
    result = run_in_worker(page, """
        a.close()
        b.close()
        a.close()  # twice is fine
        after_offer = await error_of(a.create_offer())
        stats = await a.get_stats()
        await asyncio.sleep(0.2)  # the close messages reach the page
        again = await open_line("a")  # the line can be opened anew
        again.close()
        json.dumps({"after_offer": after_offer, "stats": stats})
    """)
    page.wait_for_function("window.openPcs().length === 0", timeout=3000)
    after = page.evaluate("""() => ({
        audio: document.querySelectorAll("audio").length,
        pcs: window.captured.map((c) => c.pc.signalingState),
        tracks: window.captured.flatMap((c) => c.tracks.map((t) => t.readyState))})""")
    assert before == 2
    assert after == {"audio": 0, "pcs": ["closed", "closed"], "tracks": ["ended", "ended"]}
    assert result["after_offer"] == "MediaError"
    assert result["stats"]["inbound"]["packets_received"] == 0


def test_missing_agent_is_not_supported_then_loader_starts_one(page):
    result = run_in_worker(page, """
        lonely = BridgedMediaBackend("nobody-listens", timeout=1.0)
        t0 = time.monotonic()
        try:
            await lonely.list_devices()
            error = None
        except NotSupportedError as exc:
            error = str(exc)
        elapsed = time.monotonic() - t0
        json.dumps({"error": error, "elapsed": elapsed, "loader": agent_loader_js("nobody-listens"),
                    "source_ok": "export function startAgent" in agent_source()})
    """)
    assert result["error"] and "agent.js" in result["error"] and "nobody-listens" in result["error"]
    # not before its 1 s timeout; well before the 20 s op time-out (10x generous)
    assert 0.9 <= result["elapsed"] < 10.0, result["elapsed"]
    assert result["source_ok"]
    # The worker's own copy of agent.js (from the wheel) starts an agent on the page.
    second = page.evaluate(result["loader"])
    assert second and second != page.evaluate("window.agent.id")
    found = run_in_worker(page, """
        lonely = BridgedMediaBackend("nobody-listens", timeout=1.0)
        x = await open_line("x", on=lonely)
        agent = lonely.agent_id
        lonely.close()
        json.dumps({"agent": agent, "element": x.element_id})
    """)
    assert found == {"agent": second, "element": "webvoice-audio-x"}
    page.evaluate("window.webvoiceAgent.stop()")


def test_agent_gone_ends_the_lines_and_a_new_agent_is_found(page):
    result = run_in_worker(page, """
        a, b, *_ = await connected_pair()
        first = backend.agent_id
        json.dumps(first)
    """)
    page.evaluate("""() => { window.agent.stop();
        window.agent = window.startAgent(); }""")
    result = run_in_worker(page, """
        await wait_for(lambda: asyncio.sleep(0, a.closed and b.closed), timeout=3, what="lines lost")
        lost = [e for e in events["a"] if e[0] == "ended"]
        offer_error = await error_of(a.create_offer())
        c = await open_line("c")  # looks for an agent again
        json.dumps({"lost": lost, "offer_error": offer_error, "agent": backend.agent_id,
                    "element": c.element_id})
    """)
    assert result["lost"] == [["ended", {"reason": "agent"}]]
    assert result["offer_error"] == "MediaError"
    assert result["agent"] == page.evaluate("window.agent.id")
    assert result["element"] == "webvoice-audio-c"
    assert page.evaluate("document.querySelectorAll('audio').length") == 1  # the stopped agent removed a and b


def test_two_workers_share_the_agent_and_a_dead_one_is_cleaned_up(page):
    """Worker w2 opens line "a" too: no crossed wires (its own element id,
    its own events); w1's line a calls w2's line a. Then w2 is terminated,
    as a kernel restart does: its Web Lock is released, and the agent closes
    its session (microphone stopped, element gone) while w1's stays."""
    t0 = time.monotonic()
    start_worker(page, "w2")
    print(f"second worker boot: {(time.monotonic() - t0) * 1000:.0f} ms")
    offer = run_in_worker(page, """
        a = await open_line("a")
        json.dumps(await a.create_offer())
    """)
    answer = run_in_worker(page, f"""
        a = await open_line("a")
        json.dumps(await a.create_answer({offer!r}))
    """, worker="w2")
    w1 = run_in_worker(page, f"""
        await a.apply_answer({answer!r})
        await wait_for(lambda: receiving([a], 10), what="w2's packets")
        json.dumps(backend.bridge_id)
    """)
    w2 = run_in_worker(page, """
        await wait_for(lambda: receiving([a], 10), what="w1's packets")
        json.dumps({"bridge": backend.bridge_id, "element": a.element_id, "states": states("a")})
    """, worker="w2")
    state = page.evaluate(PAGE_STATE)
    assert w2["element"] == f"webvoice-audio-{w2['bridge']}-a"
    assert sorted(el["id"] for el in state["audio"]) == sorted(["webvoice-audio-a", w2["element"]])
    assert state["lines"] == ["a", "a"] and state["open"] == 2
    assert "connected" in w2["states"]
    # w2's line was opened second: its connection is the second one open.
    page.evaluate("window.w2track = window.openPcs()[1].getSenders()[0].track")

    page.evaluate("window.terminateWorker('w2')")
    page.wait_for_function("window.openPcs().length === 1", timeout=5000)
    after = page.evaluate(PAGE_STATE)
    assert [(el["id"], el["bridge"]) for el in after["audio"]] == [("webvoice-audio-a", w1)]
    assert page.evaluate("window.w2track.readyState") == "ended"


def test_pc_config_reaches_the_page_connection(page):
    """The worker's pc_config is the page's RTCPeerConnection configuration; a bad one
    raises ValueError in the worker before the page is asked for anything."""
    result = run_in_worker(page, """
        bad = await error_of(open_line("x", pc_config={"iceTransportPolicy": "nearby"}))
        a = await open_line("a", pc_config={"iceTransportPolicy": "relay"},
                            offer_constraints={"offerToReceiveAudio": True})
        offer = await a.create_offer()
        json.dumps({"bad": bad, "host_candidates": offer.count(" typ host")})
    """)
    policy = page.evaluate("window.openPcs().map((pc) => pc.getConfiguration().iceTransportPolicy)")
    assert result == {"bad": "ValueError", "host_candidates": 0}
    assert policy == ["relay"]


def test_ringback_plays_on_the_page_and_stops(page):
    """The ringback tone is the engine's, so a worker's line plays it on the page too."""
    page.mouse.click(5, 5)  # a person dials with a click: the page may play sound
    run_in_worker(page, """
        a = await open_line("a")
        a.start_ringback()
        json.dumps(a.ringback_playing)
    """)
    page.wait_for_function("window.audioContexts.length > 0 && window.audioContexts.at(-1).state === 'running'",
                           timeout=5000)
    playing = page.evaluate("window.audioPeak(1500)")
    stopped = run_in_worker(page, """
        a.stop_ringback()
        await a.get_stats()  # the stop has reached the page
        json.dumps(a.ringback_playing)
    """)
    # The lines share one AudioContext (webvoice/browser/_ringback.py): suspended while none rings.
    page.wait_for_function("window.audioContexts.at(-1).state === 'suspended'", timeout=5000)
    assert playing["state"] == "running" and playing["peak"] > 0.05, playing
    assert stopped is False


# What the agent's slots hold, by the constructor of each value (for a failing test's message).
SLOT_KINDS = """() => [...window.agent.clients.values()].flatMap((client) => [...client.slots.values()]
    .map((cell) => (cell.value === undefined || cell.value === null) ? String(cell.value) : cell.value.constructor?.name))"""


def test_many_lines_leave_nothing_in_the_agent_or_the_worker(page):
    """A worker's phone stays open for hours: each line's objects on the page (the
    agent's slots) and its proxies in the worker are freed with the line, so ten
    pairs of lines (ringback, hold and resume, mute, DTMF, a new microphone,
    stats), closed, leave the counts where one pair did (a leak of one a line
    would grow a count by the number of lines)."""
    lines = 10

    def counts() -> dict:
        page.wait_for_function("window.openPcs().length === 0 && !document.querySelector('audio')", timeout=5000)
        return {"slots": page.evaluate("() => [...window.agent.clients.values()]"
                                       ".reduce((n, client) => n + client.slots.size, 0)"),
                "proxies": run_in_worker(page, "json.dumps(backend.live_proxies)"),
                # the worker's Python objects by type: webvoice's (its record of each batch
                # sent to the page among them), Pyodide's proxies, asyncio's
                "python": run_in_worker(page, """
                    import collections, gc
                    gc.collect()
                    census = collections.Counter(
                        f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects()
                        if (type(o).__module__ or "").startswith(("webvoice", "pyodide", "asyncio", "_asyncio")))
                    json.dumps(census)
                """)}

    def pairs(n: int) -> None:
        run_in_worker(page, f"""
            for _ in range({n}):
                a, b, *_ = await connected_pair()
                a.start_ringback()
                a.stop_ringback()
                a.set_hold(True)
                await reoffer(a, b)  # renegotiations: a hold and its resume
                a.set_hold(False)
                await reoffer(a, b)
                a.set_muted(True)
                a.set_muted(False)
                await a.send_dtmf("1", 100, 70)
                await a.replace_microphone(None)
                await a.get_stats()
                await a.arrival_mark()
                a.close()
                b.close()
            await asyncio.sleep(0.3)  # the last close messages reach the page
            json.dumps(None)
        """, timeout_s=120)

    pairs(1)  # first use: whatever is made once per backend
    before = counts()
    pairs(lines)
    after = counts()
    assert after["slots"] - before["slots"] < lines / 2, (before, after, page.evaluate(SLOT_KINDS))
    assert after["proxies"] - before["proxies"] < lines / 2, (before, after)
    grown = {kind: (before["python"].get(kind, 0), n) for kind, n in after["python"].items()
             if n - before["python"].get(kind, 0) >= lines / 2}
    assert not grown, grown
    assert "webvoice.browser._remote.RemoteRealm" in before["python"]  # the census sees webvoice's objects


def test_watching_devices_on_and_off_leaves_no_slot(page):
    """Before any line the watch makes its own reference to navigator.mediaDevices:
    released when the watch stops, so turning it on and off does not pile them up."""
    slots = "() => [...window.agent.clients.values()].reduce((n, client) => n + client.slots.size, 0)"
    run_in_worker(page, """
        backend.on_devices_changed(lambda: None)
        backend.on_devices_changed(None)
        await asyncio.sleep(0.2)
        json.dumps(None)
    """)
    before = page.evaluate(slots)
    run_in_worker(page, """
        for _ in range(10):
            backend.on_devices_changed(lambda: None)
            backend.on_devices_changed(None)
        await asyncio.sleep(0.2)
        json.dumps(None)
    """)
    assert page.evaluate(slots) - before < 5, (before, page.evaluate(SLOT_KINDS))


FAIL_SET_LOCAL_JS = """(mode) => {
    // setLocalDescription refused for an offer ("offer": a stable connection's)
    // or an answer ("answer": one with the peer's offer set), as a browser may.
    const proto = RTCPeerConnection.prototype;
    if (!window.realSetLocal) window.realSetLocal = proto.setLocalDescription;
    proto.setLocalDescription = mode === null ? window.realSetLocal : function (...args) {
        const offering = this.signalingState === "stable" || this.signalingState === "have-local-offer";
        if ((mode === "offer") === offering) {
            return Promise.reject(new DOMException("refused by the test", "OperationError"));
        }
        return window.realSetLocal.apply(this, args);
    };
}"""


def test_negotiations_that_fail_leave_nothing_in_the_agent_or_the_worker(page):
    """A description the browser would not set (setLocalDescription rejected) is
    released like one that was set. Each try fails four ways: a new line's
    offer and answer (made and set in one step), and on a connected pair an
    ICE restart's offer and a re-answer (made, then set: the paths that hold a
    description of their own). Ten tries, every line closed, leave the agent's
    slots and the worker's proxies where one try did."""
    tries = 10
    slots = "() => [...window.agent.clients.values()].reduce((n, client) => n + client.slots.size, 0)"

    def counts() -> dict:
        page.wait_for_function("window.openPcs().length === 0", timeout=5000)
        return {"slots": page.evaluate(slots), "proxies": run_in_worker(page, "json.dumps(backend.live_proxies)")}

    def failing(mode: str | None, code: str) -> str:
        page.evaluate(FAIL_SET_LOCAL_JS, mode)
        return run_in_worker(page, f"""
            try:
{textwrap.indent(textwrap.dedent(code), " " * 16)}
            except MediaError as exc:
                outcome = type(exc).__name__
            else:
                outcome = "set"
            json.dumps(outcome)
        """)

    def one_try() -> list:
        run_in_worker(page, """
            n = await open_line("n")
            fresh_offer = await n.create_offer()
            n.close()
            a, b, *_ = await connected_pair()
            json.dumps(None)
        """)
        outcomes = [
            failing("offer", 's = await open_line("s")\ntry:\n    await s.create_offer()\nfinally:\n    s.close()'),
            failing("answer", 's = await open_line("s")\ntry:\n    await s.create_answer(fresh_offer)\n'
                              'finally:\n    s.close()'),
            failing("offer", "await a.create_offer(ice_restart=True)"),
        ]
        page.evaluate(FAIL_SET_LOCAL_JS, None)
        run_in_worker(page, "second_offer = await a.create_offer()\njson.dumps(None)")
        outcomes.append(failing("answer", "await b.create_answer(second_offer)"))
        page.evaluate(FAIL_SET_LOCAL_JS, None)
        run_in_worker(page, """
            a.close()
            b.close()
            await asyncio.sleep(0.3)  # the last close messages reach the page
            json.dumps(None)
        """)
        return outcomes

    try:
        assert "set" not in one_try()  # first use: whatever is made once per backend
        before = counts()
        outcomes = [o for _ in range(tries) for o in one_try()]
        after = counts()
    finally:
        page.evaluate(FAIL_SET_LOCAL_JS, None)
    assert len(outcomes) == 4 * tries and "set" not in outcomes, outcomes
    assert after["slots"] - before["slots"] < tries / 2, (before, after, page.evaluate(SLOT_KINDS))
    assert after["proxies"] - before["proxies"] < tries / 2, (before, after)


def test_a_failure_stops_only_the_line_it_belongs_to(page):
    """Operations of several lines travel to the page in one batch when they are
    made in the same turn; one line's failure (a description the browser would
    not set) must not stop another line's, here a hang-up: its connection
    closed, its microphone stopped, its audio element removed."""
    run_in_worker(page, """
        x = await open_line("x")
        y = await open_line("y")
        z = await open_line("z")
        y_offer = await y.create_offer()  # y has its audio element and microphone
        json.dumps(None)
    """)
    page.evaluate(FAIL_SET_LOCAL_JS, "offer")
    try:
        outcome = run_in_worker(page, """
            async def hang_up(line):
                line.close()
            async def offer(line):
                try:
                    await line.create_offer()
                except MediaError as exc:
                    return type(exc).__name__
                return "set"
            # Started together: their first steps run in the same turn, their
            # operations leave in one batch.
            outcome = await asyncio.gather(offer(x), hang_up(y), offer(z))
            await asyncio.sleep(0.3)
            json.dumps(outcome)
        """)
    finally:
        page.evaluate(FAIL_SET_LOCAL_JS, None)
    assert outcome[0] != "set" and outcome[2] != "set", outcome
    deadline = time.monotonic() + 5
    while (open_pcs := page.evaluate("window.openPcs().length")) != 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert open_pcs == 2, f"{open_pcs} connections open: x's and z's, not y's, should be"
    run_in_worker(page, "x.close()\nz.close()\njson.dumps(None)")
    page.wait_for_function("window.openPcs().length === 0", timeout=5000)


def test_an_operation_the_page_never_answers_fails_after_its_time_out(page):
    """A browser call that never settles (here getStats) holds its batch's answer:
    the worker fails what waits on it after the backend's op_timeout, naming it,
    and the line still closes."""
    page.evaluate("""() => {
        window.realGetStats = RTCPeerConnection.prototype.getStats;
        RTCPeerConnection.prototype.getStats = () => new Promise(() => {});
    }""")
    try:
        outcome = run_in_worker(page, """
            patient = BridgedMediaBackend(timeout=2.0, op_timeout=1.0)
            line = await open_line("t", on=patient)
            started = time.monotonic()
            try:
                await line.get_stats()
            except MediaError as exc:
                outcome = [str(exc), time.monotonic() - started]
            else:
                outcome = ["answered", time.monotonic() - started]
            line.close()
            patient.close()
            json.dumps(outcome)
        """)
    finally:
        page.evaluate("() => { RTCPeerConnection.prototype.getStats = window.realGetStats; }")
    message, waited = outcome
    assert "did not answer 'getStats' within 1 s" in message, outcome
    assert waited >= 1.0, outcome  # not before its time-out (the wait itself is bounded by run_in_worker)
    page.wait_for_function("window.openPcs().length === 0", timeout=5000)
