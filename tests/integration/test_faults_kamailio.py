"""Faults through the real Kamailio, from CPython: the server dies mid-call, the
server keeps closing the connection, the server sends garbage."""

from __future__ import annotations

import asyncio

import webvoice
from devtools.ws_transport import WebsocketsTransport
from tests.integration.test_calls_kamailio import Recorder, instance, run, until

FAST = {"connection_recovery_min_interval": 0.2, "connection_recovery_max_interval": 1.0}


def test_server_killed_during_a_call(fresh_kamailio):
    async def main():
        server = fresh_kamailio
        a, b = instance(server, "alice", ua_config=FAST), instance(server, "bob", ua_config=FAST)
        await a.register()
        await b.register()
        rb = Recorder()
        incoming = []
        b.on_incoming_call(lambda r: (incoming.append(r), r.accept(rb.handlers("ended"))))
        ra = Recorder()
        call = await a.call("bob", ra.handlers("ended", "failed"))
        await until(lambda: call.is_established() and incoming and incoming[0].call.is_established())
        server.kill()
        await until(lambda: not a.is_connected() and not b.is_connected())
        assert call.is_established()  # the call (and its media) outlives the signalling
        server.restart()
        await until(lambda: a.is_registered() and b.is_registered(), timeout=15)
        assert call.is_established() and not ra.get("ended")
        # Each side refreshes its target by UPDATE (with its new Contact) on its
        # new connection. The side back first may find the other not registered
        # yet (480): its refresh is owed and tried again, so both UPDATEs end up
        # answered 200 by the peer. (The BYE below would reach the peer without
        # them: the proxy finds a gone flow's new registration.)
        a_flow, b_flow = a._transport, b._transport
        await until(lambda: _update(a_flow.sent, "alice") and _update(b_flow.sent, "bob"), timeout=10)
        for flow, user in ((a_flow, "alice"), (b_flow, "bob")):
            assert b"\r\nContact: " in _update(flow.sent, user)
        await until(lambda: _answered(a_flow.received, "UPDATE") and _answered(b_flow.received, "UPDATE"),
                    timeout=40)
        call.terminate()
        await until(lambda: rb.get("ended"), timeout=5)
        assert rb.get("ended")[0].cause == "Bye" and ra.get("ended")[0].cause == "Terminated"
        await a.close()
        await b.close()

    run(main(), timeout=80)


def test_a_reconnected_side_refreshes_its_target_at_the_peer(kamailio):
    """Only alice's connection drops: on her new connection she sends an UPDATE
    with her new Contact, bob receives it and answers 200, and bob's BYE then
    comes to alice on her new connection."""
    async def main():
        a = instance(kamailio, "alice", ua_config=FAST)
        b = instance(kamailio, "bob", ua_config=FAST)
        await a.register()
        await b.register()
        incoming = []
        b.on_incoming_call(lambda r: (incoming.append(r), r.accept()))
        ra = Recorder()
        call = await a.call("bob", ra.handlers("ended"))
        await until(lambda: call.is_established() and incoming and incoming[0].call.is_established())
        old_flow, b_flow = a._transport, b._transport
        await old_flow._ws.close()  # alice's WebSocket goes; bob's stays
        await until(lambda: a._transport is not None and a._transport is not old_flow and a.is_connected())
        new_flow = a._transport
        await until(lambda: _update(new_flow.sent, "alice") and _update(b_flow.received, "alice")
                    and _answered(new_flow.received, "UPDATE"), timeout=10)
        incoming[0].call.terminate()
        await until(lambda: ra.get("ended"))
        assert any(f.startswith(b"BYE ") for f in new_flow.received)
        assert not any(f.startswith(b"BYE ") for f in old_flow.received)
        await a.close()
        await b.close()

    run(main(), timeout=40)


def _update(frames: list[bytes], from_user: str) -> bytes | None:
    """The first UPDATE request among ``frames`` whose From is ``from_user``."""
    for frame in frames:
        head = frame.split(b"\r\n\r\n", 1)[0]
        if head.startswith(b"UPDATE ") and f"sip:{from_user}".encode() in head.split(b"From:", 1)[-1].split(b"\r\n", 1)[0]:
            return frame
    return None


def _answered(frames: list[bytes], method: str) -> bool:
    return any(f.startswith(b"SIP/2.0 200") and b"CSeq: " in f
               and f.split(b"CSeq: ", 1)[1].split(b"\r\n", 1)[0].endswith(method.encode()) for f in frames)


MIN_INTERVAL, MAX_INTERVAL, PER_MINUTE = 0.25, 2.0, 6
# The shortest wait before each retry: the full-jitter range of retry n is
# [c/2, c] with c = min(MAX, MIN * 2**n), and never below MIN (as in the
# browser twin, tests/e2e/test_faults_backoff.py).
SHORTEST = [max(MIN_INTERVAL, min(MAX_INTERVAL, MIN_INTERVAL * 2**n) / 2) for n in range(PER_MINUTE - 1)]
LONGEST = [max(MIN_INTERVAL, min(MAX_INTERVAL, MIN_INTERVAL * 2**n)) for n in range(PER_MINUTE - 1)]
CLOCK_SLACK = 0.02  # timer and clock granularity


def test_server_closing_repeatedly_meets_the_backoff():
    """A server that accepts each WebSocket and closes it at once: each gap
    between attempts lies in its slot of the schedule (never shorter; longer
    only by a load allowance), and no attempt beyond the per-minute cap comes
    within twice the longest interval."""
    import threading

    from websockets.sync.server import serve

    accepted = []

    def handler(ws):
        accepted.append(ws)
        ws.close(1011, "go away")

    server = serve(handler, "127.0.0.1", 0, subprotocols=["sip"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}"

    async def main():
        sip = webvoice.create_sip_instance(
            sip_login="carol", sip_password="x", realm="webvoice.test", ws_url=url,
            transport_factory=WebsocketsTransport,
            ua_config={"connection_recovery_min_interval": MIN_INTERVAL,
                       "connection_recovery_max_interval": MAX_INTERVAL,
                       "connection_recovery_max_per_minute": PER_MINUTE})
        loop = asyncio.get_running_loop()
        attempts, causes = [], []
        sip.on_connection_event({"connecting": lambda: attempts.append(loop.time()),
                                 "disconnected": lambda e: causes.append(e.cause)})
        await sip.connect()
        await until(lambda: len(attempts) >= PER_MINUTE, timeout=20)
        await asyncio.sleep(2 * MAX_INTERVAL)  # the cap: no seventh attempt this minute
        await sip.close()
        return attempts, causes

    try:
        attempts, causes = run(main(), timeout=40)
    finally:
        server.shutdown()
        thread.join(5)
    gaps = [b - a for a, b in zip(attempts, attempts[1:])]
    assert len(attempts) == PER_MINUTE, attempts
    for gap, low, high in zip(gaps, SHORTEST, LONGEST, strict=True):
        assert low - CLOCK_SLACK <= gap, (gaps, SHORTEST)
        assert gap <= high + 1.5, (gaps, LONGEST)  # never beyond the slot (slack for a loaded machine)
    assert set(causes) == {"Connection Error"} and len(accepted) == len(attempts)


def test_oversized_input_from_the_server_is_refused():
    from devtools.fake_transport import FakeTransport

    async def main():
        sip = webvoice.create_sip_instance(sip_login="x", sip_password="y", realm="a.test", transport_factory=FakeTransport)
        await sip.connect()
        huge = (b"OPTIONS sip:x@a.test SIP/2.0\r\nVia: SIP/2.0/WS h;branch=z9hG4bKbig\r\nFrom: <sip:s@a.test>;tag=1\r\n"
                b"To: <sip:x@a.test>\r\nCall-ID: big\r\nCSeq: 1 OPTIONS\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
        many = b"OPTIONS sip:x@a.test SIP/2.0\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(400)) + b"\r\n"
        sip._link.on_data(huge)
        sip._link.on_data(many)
        transport = FakeTransport.instances[-1]
        assert transport.sent == [] and sip.is_connected()
        await sip.close()

    run(main())


def test_a_fault_while_handling_a_lost_connection_does_not_stop_reconnecting(monkeypatch, caplog):
    """Whatever the core raises while a lost connection is handled is logged,
    and the instance still reconnects (a page that stopped after its WebSocket
    closed is how a `make bench` once hung)."""
    from devtools.fake_transport import FakeTransport

    async def main():
        sip = webvoice.create_sip_instance(
            sip_login="x", sip_password="y", realm="a.test", transport_factory=FakeTransport,
            ua_config={"connection_recovery_min_interval": 0.05, "connection_recovery_max_interval": 0.1})
        await sip.connect()
        first = FakeTransport.instances[-1]

        def broken(now):
            raise RuntimeError("a core fault")

        monkeypatch.setattr(sip._ua, "connection_lost", broken)
        first.opened = False
        sip._link.on_close(1006, "gone")  # the socket closed under us
        await until(lambda: FakeTransport.instances[-1] is not first and sip.is_connected())
        await sip.close()

    run(main())
    assert "internal error while handling the lost connection" in caplog.text
