"""webvoice's side of the benchmarks, run inside the page's Pyodide.

bench/run.py sends this file's text to the page once (devtools/pyrun.py),
then calls these functions, as jssip_bench.js is called on JsSIP's side.
Times are epoch milliseconds from the page's clock (``js.benchNow()``,
longtasks.js), so windows can be matched against long tasks in any page.
"""

import asyncio
import gc
import sys
import time
import tracemalloc

import js
from pyodide.ffi import create_proxy, to_js

import webvoice
from webvoice.sip import parse_message


class _State:
    sip = None
    calls: list = []


state = _State()


def bench_parse(messages: dict, rounds: int, number: int, warmup: int) -> dict:
    """Best microseconds per parse_message() over ``rounds`` rounds of ``number``."""
    out = {}
    for name, text in messages.items():
        data = text.encode()
        for _ in range(warmup):
            parse_message(data)
        rounds_us = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(number):
                parse_message(data)
            rounds_us.append((time.perf_counter() - t0) / number * 1e6)
        out[name] = {"best_us": min(rounds_us), "rounds_us": rounds_us}
    return out


def bench_parse_frame(messages: dict, rounds: int, number: int) -> dict:
    """The same from a JavaScript string, as a WebSocket text frame arrives:
    the string crosses into Python and is encoded, as webvoice's transport
    does (webvoice/browser/_websocket.py), then parsed."""
    out = {}
    for name, text in messages.items():
        js.benchFrame = text
        get = js.Function.new("return window.benchFrame")
        get().encode("utf-8", "surrogateescape")
        rounds_us = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for _ in range(number):
                parse_message(get().encode("utf-8", "surrogateescape"))
            rounds_us.append((time.perf_counter() - t0) / number * 1e6)
        out[name] = {"best_us": min(rounds_us), "rounds_us": rounds_us}
    return out


async def start_ua(user: str, password: str, ws_url: str, domain: str) -> dict:
    """create_sip_instance + register; incoming calls are accepted."""
    t0 = js.benchNow()
    sip = webvoice.create_sip_instance(sip_login=user, sip_password=password, ws_url=ws_url,
                                       realm=domain, max_lines=16)
    sip.on_incoming_call(lambda incoming: incoming.accept())
    await sip.register()
    t1 = js.benchNow()
    state.sip = sip
    # Once registered, webvoice loads its call machinery in the background
    # (webvoice/_preload.py): when that is done is reported apart.
    from webvoice._preload import CALL_MODULES, _media_modules

    while not all(name in sys.modules for name in CALL_MODULES + _media_modules()):
        await asyncio.sleep(0.002)
    return {"t0": t0, "t1": t1, "t2": js.benchNow()}


async def stop_ua() -> bool:
    sip, state.sip = state.sip, None
    if sip is None:
        return False
    await sip.unregister()
    await sip.close()
    return True


async def call(target: str, timeout: float = 20.0) -> dict:
    """sip.call() until "confirmed" (ACK sent for the 200 OK); t_invite: when
    the INVITE goes out (the local offer's "sdp" event: microphone, offer and
    ICE gathering done)."""
    done = asyncio.get_running_loop().create_future()
    marks = {}

    def sdp(event=None):
        originator = event.get("originator") if isinstance(event, dict) else getattr(event, "originator", None)
        if originator == "local":
            marks.setdefault("t_invite", js.benchNow())

    def confirmed(event=None):
        if not done.done():
            done.set_result(js.benchNow())

    def failed(event=None):
        if not done.done():
            done.set_exception(RuntimeError(f"call failed: {getattr(event, 'cause', event)}"))

    t0 = js.benchNow()
    placed = await state.sip.call(target, {"confirmed": confirmed, "failed": failed, "sdp": sdp})
    state.calls.append(placed)
    t1 = await asyncio.wait_for(done, timeout)
    return {"t0": t0, "tInvite": marks.get("t_invite"), "t1": t1}


def live_calls() -> int:
    return 0 if state.sip is None else len(state.sip.get_call_lines())


# The same two, called from JavaScript as JsSIP's page is (bench/common.py): one
# page.evaluate awaiting a promise. Through devtools/pyrun.py instead, every call
# would compile its Python expression in the page and be polled every 20 ms,
# about 4 ms of the page's main thread that figure 5 would count as webvoice's.
# And as JsSIP's benchCall, the promise is made in JS and settled by the call's
# own handlers: a coroutine handed to JS would be a Python task turned into a
# promise, with a future and a time-out timer in Python (bench/common.py's js()
# bounds the wait), four more turns of Pyodide's event loop per call that
# figure 5 would count as webvoice's too.
_placing: set = set()


def _call_from_js(target: str, resolve, reject) -> None:
    """sip.call() as call() does, its outcome settling JavaScript's promise."""
    marks = {}

    def sdp(event=None):
        if getattr(event, "originator", None) == "local" and marks["tInvite"] is None:
            marks["tInvite"] = js.benchNow()

    def confirmed(event=None):
        if "t1" not in marks:
            marks["t1"] = js.benchNow()
            resolve(to_js(marks, dict_converter=js.Object.fromEntries))

    def failed(event=None):
        if "t1" not in marks:
            marks["t1"] = None
            reject(js.Error.new(f"call failed: {getattr(event, 'cause', event)}"))

    async def place():
        try:
            state.calls.append(await state.sip.call(target, {"confirmed": confirmed, "failed": failed, "sdp": sdp}))
        except Exception as exc:  # noqa: BLE001 - reported to the page's promise
            failed(exc)
        finally:
            _placing.discard(asyncio.current_task())

    marks.update(t0=js.benchNow(), tInvite=None)
    _placing.add(asyncio.Task(place(), loop=asyncio.get_event_loop()))  # kept until placed


js.benchWebvoiceCall = create_proxy(_call_from_js)
js.benchWebvoiceLiveCalls = create_proxy(live_calls)


def hang_up() -> int:
    if state.sip is not None:
        state.sip.terminate_sessions()
    state.calls.clear()
    return live_calls()


def collect() -> int:
    return gc.collect()


def python_heap_start() -> int:
    tracemalloc.start()
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def python_heap_now() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def python_heap_stop() -> None:
    tracemalloc.stop()
