"""Faults in Chromium: a server that closes every WebSocket at once, then recovers.

The CPython twin (tests/integration/test_faults_kamailio.py) drives the
driver through a ``websockets`` transport; this one runs the real thing: the
browser's WebSocket in Pyodide. The server in this test accepts each
connection and closes it at once (1011). With a minimum interval of 0.25 s, a
maximum of 2 s and at most 6 attempts a minute, webvoice/sip/util/_backoff.py
waits 0.25 s, then 0.25-0.5, 0.5-1, 1-2 and 1-2 s (full jitter, never below
the minimum), so all six attempts a minute allows are made within about 6 s;
the seventh would wait until the first ages out of the minute. The test
counts the attempts on both sides (the page's ``connecting`` events and the
server's accepted connections), checks that the gaps respect the schedule and
that no seventh attempt comes within twice the maximum interval, and that
every loss is reported as "Connection Error". Then the server starts
answering: ``register()`` connects at once, without waiting out the minute,
and registers, and ``close()`` unregisters and stops reconnecting. Nothing may
escape as an uncaught error in the page.
"""

from __future__ import annotations

import threading
import time
from itertools import pairwise

from devtools.browser import boot_webvoice
from devtools.pyrun import py
from devtools.ws_standin import WsStandIn

MIN_INTERVAL, MAX_INTERVAL, PER_MINUTE = 0.25, 2.0, 6
# The shortest wait before each retry: the full-jitter range of retry n is
# [c/2, c] with c = min(MAX, MIN * 2**n), and never below MIN.
SHORTEST = [max(MIN_INTERVAL, min(MAX_INTERVAL, MIN_INTERVAL * 2**n) / 2) for n in range(PER_MINUTE - 1)]
CLOCK_SLACK = 0.02  # timer and clock granularity in the page
HANDSHAKE_SLACK = 0.15  # the server stamps accepted connections after the handshake


class ClosingServer(WsStandIn):
    """Closes every WebSocket at once (1011) until ``answer`` is set, then answers REGISTER with 200 OK."""

    def __init__(self) -> None:
        self.accepted: list[float] = []  # time.monotonic() of each accepted connection
        self.registers: list[bytes] = []
        self.answer = threading.Event()
        super().__init__()

    def handle(self, ws) -> None:
        self.accepted.append(time.monotonic())
        if not self.answer.is_set():
            ws.close(1011, "go away")
            return
        for data in self.frames(ws):
            if data.startswith(b"REGISTER "):
                self.registers.append(data)
                ws.send(self.register_ok(data))


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in pairwise(times)]


def test_server_closing_repeatedly_meets_the_backoff(page, static_server, request):
    console = request.node.browser_console
    server = ClosingServer()
    try:
        boot_webvoice(page, static_server)
        py(page, f"""
import asyncio, webvoice
loop = asyncio.get_running_loop()
attempts, disconnects, events = [], [], []
def record(name):
    def handler(event=None):
        events.append(name)
        if name == "connecting":
            attempts.append(loop.time())
        elif name == "disconnected":
            disconnects.append([event.cause, event.code])
    return handler
async def wait_for(predicate, timeout):
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out in the page; events: {{events}}")
        await asyncio.sleep(0.05)
sip = webvoice.create_sip_instance(
    sip_login="carol", sip_password="x", realm="webvoice.test", ws_url={server.url!r},
    ua_config={{"connection_recovery_min_interval": {MIN_INTERVAL}, "connection_recovery_max_interval": {MAX_INTERVAL},
               "connection_recovery_max_per_minute": {PER_MINUTE}}})
sip.on_connection_event({{name: record(name) for name in ("connecting", "connected", "disconnected", "registered")}})
await sip.connect()
""")
        # All the attempts a minute allows come within ~6 s; then none for
        # twice the longest interval, which an uncapped schedule would have used.
        py(page, f"await wait_for(lambda: len(attempts) >= {PER_MINUTE}, timeout=20)", timeout=25)
        py(page, f"await asyncio.sleep({2 * MAX_INTERVAL})")
        state = py(page, "{'attempts': attempts, 'disconnects': disconnects, 'connected': sip.is_connected()}")
        attempts, accepted = state["attempts"], list(server.accepted)
        assert len(attempts) == len(accepted) == PER_MINUTE, (attempts, accepted)
        assert not state["connected"]
        for side, times, slack in (("page", attempts, CLOCK_SLACK), ("server", accepted, HANDSHAKE_SLACK)):
            g = gaps(times)
            assert all(gap >= low - slack for gap, low in zip(g, SHORTEST, strict=True)), (side, g)
            assert max(g) >= 2 * g[0] and g[-1] >= MAX_INTERVAL / 2 - slack, (side, g)
            assert max(g) <= MAX_INTERVAL + 1.5, (side, g)  # never beyond the maximum (plenty of slack for load)
        assert state["disconnects"] == [["Connection Error", 1011]] * PER_MINUTE, state["disconnects"]

        # The server recovers: register() retries at once and registers.
        server.answer.set()
        registered = py(page, "r = await asyncio.wait_for(sip.register(), 10)\n"
                              "[r.expires, sip.is_registered(), sip.is_connected(), events[-2:]]", timeout=15)
        assert registered[0] > 0 and registered[1:] == [True, True, ["connected", "registered"]], registered
        assert len(server.accepted) == PER_MINUTE + 1 and len(server.registers) == 1

        # close() unregisters, closes, and no reconnection follows.
        py(page, "await asyncio.wait_for(sip.close(), 10)\nawait wait_for(lambda: events[-1] == 'disconnected', 5)")
        py(page, f"await asyncio.sleep({2 * MIN_INTERVAL})")
        final = py(page, "[len(attempts), disconnects[-1], sip.is_connected(), sip.is_registered()]")
        assert final == [PER_MINUTE + 1, ["Terminated", 1000], False, False], final
        assert len(server.accepted) == PER_MINUTE + 1 and len(server.registers) == 2
        assert b"Expires: 0" in server.registers[-1]
        assert not server.errors, server.errors
        uncaught = [line for line in console.lines if line.startswith("[pageerror]") or "Traceback" in line]
        assert not uncaught, str(console)
    finally:
        server.close()
