"""The UA's own CRLF keep-alive pings (RFC 5626 3.5.1): sent, at the interval, only while connected;
and a dead flow (RFC 5626 4.4.1): a server that answered a ping once leaves one unanswered.

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
from webvoice.sip import PONG_TIMEOUT, FlowFailed, UaConfig, UserAgent

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


# --- a dead flow: pings a server answered once go unanswered (RFC 5626 4.4.1) -----------------------------

PONG = b"\r\n"


def _ping_at(ua: UserAgent) -> float:
    """Run the core's timers until it sends a ping; when it did."""
    while True:
        now = ua.get_timer()
        ua.handle_timer(now)
        if _pings(ua):
            return now


def _pinged_after_a_pong() -> tuple[UserAgent, float]:
    """A connected UA whose server answered its first ping; when it sent the second."""
    ua = _ua(25.0)
    ua.connection_made(0.0)
    ua.outgoing()
    ua.receive_data(PONG, _ping_at(ua) + 0.05)
    return ua, _ping_at(ua)


def _flow_failures(ua: UserAgent) -> list[FlowFailed]:
    return [e for e in ua.events() if isinstance(e, FlowFailed)]


def test_a_server_that_never_answers_pings_is_not_failed_for_it():
    ua = _ua(25.0)
    ua.connection_made(0.0)
    ua.outgoing()
    for _ in range(6):
        _ping_at(ua)
    assert not _flow_failures(ua) and ua.connected


def test_once_the_server_answered_a_ping_an_unanswered_one_fails_the_flow_after_the_pong_timeout():
    ua, second = _pinged_after_a_pong()
    assert ua.get_timer() == second + PONG_TIMEOUT  # before the next ping (25 s)
    ua.handle_timer(second + PONG_TIMEOUT - 0.001)
    assert not _flow_failures(ua)
    ua.handle_timer(second + PONG_TIMEOUT)
    (failed,) = _flow_failures(ua)
    assert "keep-alive" in failed.reason
    assert _no_ping_until(ua, second + 200.0)  # no more pings on a dead flow
    ua.connection_lost(second + 11.0)
    ua.connection_made(second + 12.0)  # the driver connected again: pings again, the server known to answer
    ua.outgoing()
    third = _ping_at(ua)
    assert third == second + 12.0 + 25.0
    ua.handle_timer(third + PONG_TIMEOUT)
    assert len(_flow_failures(ua)) == 1


def test_any_frame_before_the_pong_timeout_shows_the_flow_alive():
    ua, second = _pinged_after_a_pong()
    ua.receive_data(PING, second + 3.0)  # the server's own ping: not a pong, but the flow works
    ua.handle_timer(second + PONG_TIMEOUT)
    assert not _flow_failures(ua)


def test_a_lost_connection_cancels_the_pong_wait():
    ua, second = _pinged_after_a_pong()
    ua.connection_lost(second + 1.0)
    assert ua.get_timer() is None
    ua.handle_timer(second + PONG_TIMEOUT)
    assert not _flow_failures(ua)


class _PongingTransport(FakeTransport):
    """Answers pings until ``dead``; then swallows everything and never closes
    by itself (a dead network); its late close event comes when the test says."""

    dead = False

    def send(self, data: bytes) -> None:
        super().send(data)
        if data == PING and not self.dead:
            asyncio.get_running_loop().call_soon(self.callbacks.on_data, PONG)

    def close(self) -> None:
        self.opened = False  # a dead socket: no close event now


def test_the_instance_drops_a_dead_flow_and_connects_again():
    async def main():
        _PongingTransport.dead = False
        sip = webvoice.create_sip_instance(
            sip_login="alice", sip_password="pa", realm="webvoice.test", transport_factory=_PongingTransport,
            ua_config={"keep_alive_interval": 0.05, "connection_recovery_min_interval": 0.05,
                       "connection_recovery_max_interval": 0.05})
        seen = []
        sip.on_connection_event({"connected": lambda e: seen.append("connected"),
                                 "disconnected": lambda e: seen.append(("disconnected", e.code, e.reason))})
        await sip.connect()
        old = FakeTransport.instances[-1]
        loop = asyncio.get_running_loop()
        while old.sent.count(PING) < 2:  # the server answered: it is known to pong
            await asyncio.sleep(0.01)
        old.dead = True
        _PongingTransport.dead = False
        started = loop.time()
        while FakeTransport.instances[-1] is old:
            await asyncio.sleep(0.05)
        waited = loop.time() - started
        new = FakeTransport.instances[-1]
        while not sip.is_connected():
            await asyncio.sleep(0.01)
        old.callbacks.on_close(1006, "late")  # the dead socket's close, minutes later: ignored
        await asyncio.sleep(0.05)
        connected = sip.is_connected()
        await sip.close()
        return seen, waited, connected, new is not old

    from webvoice.sip.ua import _ua as core
    saved = core.PONG_TIMEOUT
    core.PONG_TIMEOUT = 0.3
    try:
        seen, waited, connected, replaced = asyncio.run(asyncio.wait_for(main(), 30))
    finally:
        core.PONG_TIMEOUT = saved
    assert replaced and connected
    assert seen[:3] == ["connected", ("disconnected", 1006, "no answer to a keep-alive ping in 0.3 s"), "connected"], seen
    assert waited >= 0.3, waited
