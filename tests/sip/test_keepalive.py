"""The UA's own CRLF keep-alive pings (RFC 5626 3.5.1): sent, at the interval, only while connected.

The answer to the server's ping is checked elsewhere; these check the pings
the UA sends itself, on the fake clock of the sans-IO core, then through the
driver (``ua_config["keep_alive_interval"]``) on the event loop's clock.
"""

from __future__ import annotations

import asyncio
import random

import pytest

import webvoice
from devtools.fake_transport import FakeTransport
from webvoice.sip import UaConfig, UserAgent

PING = b"\r\n\r\n"


def _ua(interval: float) -> UserAgent:
    return UserAgent(UaConfig(user="alice", domain="webvoice.test", password="pa",
                              keep_alive_interval=interval), rng=random.Random(1))


def _pings(ua: UserAgent) -> int:
    return sum(1 for item in ua.outgoing() if item == PING)


def test_pings_go_out_at_the_interval_and_not_before():
    ua = _ua(25.0)
    ua.connection_made(100.0)
    ua.outgoing()  # whatever connecting sent (a REGISTER is not asked for here)
    assert ua.get_timer() == 125.0
    ua.handle_timer(124.999)
    assert _pings(ua) == 0
    sent_at = []
    now = 100.0
    while now < 300.0:
        now = ua.get_timer()
        ua.handle_timer(now)
        if _pings(ua):
            sent_at.append(now)
    assert sent_at[:8] == [125.0, 150.0, 175.0, 200.0, 225.0, 250.0, 275.0, 300.0]


def test_no_ping_without_a_connection_or_with_interval_zero():
    ua = _ua(25.0)
    ua.connection_made(0.0)
    ua.connection_lost(10.0)
    ua.outgoing()
    assert _no_ping_until(ua, 100.0)
    off = _ua(0)
    off.connection_made(0.0)
    off.outgoing()
    assert _no_ping_until(off, 100.0)


def _no_ping_until(ua: UserAgent, end: float) -> bool:
    while (deadline := ua.get_timer()) is not None and deadline <= end:
        ua.handle_timer(deadline)
        if _pings(ua):
            return False
    return True


def test_the_server_ping_is_answered_with_a_pong():
    ua = _ua(25.0)
    ua.connection_made(0.0)
    ua.outgoing()
    ua.receive_data(PING, 1.0)
    assert ua.outgoing() == [b"\r\n"]


@pytest.mark.parametrize("interval", [0.15])
def test_the_instance_sends_pings_at_keep_alive_interval(interval):
    """Through create_sip_instance: ua_config["keep_alive_interval"] reaches the
    core, and the driver's timer sends the pings, never early (a bound that is
    the point: at least the interval; at most 10x it, generous on a loaded machine)."""
    async def main():
        sip = webvoice.create_sip_instance(
            sip_login="alice", sip_password="pa", realm="webvoice.test", transport_factory=FakeTransport,
            ua_config={"keep_alive_interval": interval})
        await sip.connect()
        transport = FakeTransport.instances[-1]
        loop = asyncio.get_running_loop()
        seen_at: list[float] = []
        opened_at = loop.time()
        while len(seen_at) < 4:
            await asyncio.sleep(interval / 10)
            count = transport.sent.count(PING)
            while len(seen_at) < count:
                seen_at.append(loop.time())
        await sip.close()
        return opened_at, seen_at

    opened_at, seen_at = asyncio.run(asyncio.wait_for(main(), 30))
    gaps = [b - a for a, b in zip([opened_at, *seen_at], seen_at)]
    assert all(gap >= interval * 0.9 for gap in gaps), gaps
    assert all(gap <= interval * 10 for gap in gaps), gaps
