"""Many calls from a Web Worker leave nothing behind, in the worker or on the page.

The same question as tests/e2e/test_soak.py, for webvoice in a Web Worker (the
bridged media backend): two phones in one worker (its default backend for
each, through the page's media agent) call each other through Kamailio a
dozen times, half of the calls held and resumed with DTMF and mute on the
way. A census after two warm-up calls and one after the rest, once the last
transactions are over (bounded), compare:

* in the worker, Python objects by type (webvoice's, Pyodide's proxies,
  asyncio's): each batch of operations sent to the page, each answer waited
  for, each call's tasks;
* on the page, the agent's slots (every browser object a worker holds there),
  peer connections left open and `<audio>` elements.

A leak of one object a call grows a count by at least the number of calls;
less than half that passes (see test_soak.py).
"""

from __future__ import annotations

import time

import pytest

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from tests.e2e.test_soak import T1_S
from tests.e2e.test_worker_bridge import PAGE, run_in_worker, server, start_worker  # noqa: F401  (server: fixture)

CALLS = 12  # after the warm-up
WARM_UP = 2
SETTLE_S = 64 * T1_S + 13.0  # the last INVITE transactions' Timer L, and some

PHONES = """
import collections, gc
import webvoice

async def until(predicate, timeout=10.0, what="a condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)

inbox = []
def answer(request):
    inbox.append(request.call)
    request.accept()

def phone(user, password):
    return webvoice.create_sip_instance(sip_login=user, sip_password=password, ws_url=ACCOUNT["ws_url"],
                                        realm=ACCOUNT["realm"], ua_config={"t1": ACCOUNT["t1"]})

erin = phone("erin", ACCOUNT["erin"])
frank = phone("frank", ACCOUNT["frank"])
frank.on_incoming_call(answer)
await erin.register()
await frank.register()

async def one_call(n):
    call = await erin.call("frank")
    await until(lambda: call.is_established() and inbox and inbox[-1].is_established(), what="the call")
    if n % 2:
        assert await call.hold() is True
        await until(lambda: inbox[-1].is_on_hold().remote, what="held")
        assert await call.unhold() is True
        await until(lambda: not inbox[-1].is_on_hold().remote, what="resumed")
        await call.send_dtmf("12", transport_type="INFO", duration=100, inter_tone_gap=70)
        inbox[-1].mute()
        inbox[-1].unmute()
    call.terminate()
    await until(lambda: call.is_ended() and inbox[-1].is_ended(), what="the hang-up")
    inbox.clear()

def census():
    gc.collect()
    return collections.Counter(
        f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects()
        if (type(o).__module__ or "").startswith(("webvoice", "pyodide", "asyncio", "_asyncio")))
json.dumps(None)
"""

PAGE_CENSUS = """() => ({
    slots: [...window.agent.clients.values()].reduce((n, client) => n + client.slots.size, 0),
    open: window.openPcs().length,
    audio: document.querySelectorAll("audio").length,
})"""


@pytest.fixture(scope="module")
def worker_phones(browser, server, kamailio):
    context = browser.new_context()
    page = context.new_page()
    page.goto(server.url(PAGE))
    page.wait_for_function("window.pageReady === true")
    start_worker(page, "w1")
    account = {"ws_url": kamailio.ws_url, "realm": kamailio.domain, "t1": T1_S,
               "erin": kamailio.users["erin"], "frank": kamailio.users["frank"]}
    run_in_worker(page, f"ACCOUNT = {account!r}\n" + PHONES)
    yield page
    run_in_worker(page, "await erin.close()\nawait frank.close()\njson.dumps(None)")
    context.close()


def _census(page) -> dict:
    return {"py": run_in_worker(page, "json.dumps(census())"), "page": page.evaluate(PAGE_CENSUS)}


def _grown(before: dict, after: dict) -> dict:
    counts = [("py", before["py"], after["py"]), ("page", {"slots": before["page"]["slots"]},
                                                  {"slots": after["page"]["slots"]})]
    return {f"{side}:{name}": (old.get(name, 0), n) for side, old, new in counts for name, n in new.items()
            if n - old.get(name, 0) >= CALLS / 2}


def test_many_calls_from_a_worker_leave_nothing_behind(worker_phones):
    page = worker_phones
    for n in range(WARM_UP):
        run_in_worker(page, f"await one_call({n})\njson.dumps(None)")
    before = _census(page)
    for n in range(CALLS):
        run_in_worker(page, f"await one_call({n})\njson.dumps(None)")
    deadline = time.monotonic() + SETTLE_S
    while True:  # the last transactions end on their own: wait (bounded)
        after = _census(page)
        grown = _grown(before, after)
        if not grown or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    assert not grown, grown
    assert after["page"]["open"] == 0 and after["page"]["audio"] == 0, after["page"]
    assert "webvoice.browser._remote.RemoteRealm" in after["py"]  # the census sees webvoice's objects
    assert run_in_worker(page, "json.dumps([erin.is_registered(), frank.is_registered()])") == [True, True]


def test_a_call_whose_media_page_goes_away_is_hung_up(worker_phones):
    """The page holding a worker's media (its agent) goes away mid-call: no audio can
    flow again, so the calls are hung up (the peer told by a BYE), not left
    "confirmed" with nothing behind them."""
    page = worker_phones
    run_in_worker(page, """
        lost = await erin.call("frank")
        await until(lambda: lost.is_established() and inbox and inbox[-1].is_established(), what="the call")
        json.dumps(None)
    """)
    page.evaluate("() => { window.agent.stop(); window.agent = window.startAgent(); }")
    ends = run_in_worker(page, """
        await until(lambda: lost.is_ended() and inbox[-1].is_ended(), what="both ends")
        ends = [[c.get_status(), c.is_ended()] for c in (lost, inbox[-1])]
        inbox.clear()
        json.dumps(ends)
    """)
    assert ends == [["ended", True], ["ended", True]], ends
    assert run_in_worker(page, "json.dumps([erin.get_call_lines(), frank.get_call_lines()])") == [[], []]
