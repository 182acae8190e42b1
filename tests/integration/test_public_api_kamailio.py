"""Public names no other test called, each through the public API (issue 17's list).

Calls go through the real Kamailio with the fake media backend (CPython);
the ``ua_config`` keys are checked on the wire through the fake transport.
The media-only names (mute_with_constraints, renegotiate, reset_local_media,
the sdp/icecandidate/unmuted events, session.connection()) are exercised in
the browser, in tests/e2e/test_public_api_media.py.
"""

from __future__ import annotations

import asyncio

import pytest

import webvoice
from devtools.fake_transport import FakeTransport
from devtools.kamailio_server import free_port
from devtools.ws_transport import WebsocketsTransport
from tests.integration.test_calls_kamailio import Recorder, instance, run, until
from webvoice import Cause, DisconnectedEvent, EndEvent, Identity, RegisteredEvent
from webvoice.sip import parse_message


def test_call_state_identities_and_done_callbacks(kamailio):
    async def main():
        a, b = instance(kamailio, "alice"), instance(kamailio, "bob")
        registered = await a.register()
        assert isinstance(registered, RegisteredEvent) and registered.expires > 0
        await b.register()
        assert a.get_local_identity() == Identity("sip:alice@webvoice.test")
        incoming = []
        b.on_incoming_call(incoming.append)
        ra, rb = Recorder(), Recorder()
        call = await a.call("bob", ra.handlers("ended"))
        await until(lambda: incoming)
        request = incoming[0]
        assert request.remote_identity == Identity("sip:alice@webvoice.test")
        # ringing: in progress, not ready for a re-offer, not established
        assert call.is_in_progress() and not call.is_ready_to_reoffer() and not call.is_established()
        assert request.call.is_in_progress()
        session = request.event.session
        assert session.direction == "incoming" and session.local_identity.uri.startswith("sip:bob@")
        session.on("ended", rb.handlers("ended")["ended"])
        request.accept()
        await until(lambda: call.is_established() and request.call.is_established())
        assert not call.is_in_progress() and call.is_ready_to_reoffer()
        assert call.is_current_line() and call.get_local_identity() == Identity("sip:alice@webvoice.test")
        assert call.get_end_time() is None
        # hold/unhold with a done callback: called once, with the outcome
        done = []
        held = await call.hold_with_options({"use_update": True}, done=done.append)
        assert held is True
        await until(lambda: done)
        resumed = await call.unhold_with_options(None, done=done.append)
        assert resumed is True
        await until(lambda: len(done) == 2)
        assert done == [True, True]
        call.terminate()
        await until(lambda: call.is_ended() and rb.get("ended"))
        [ended] = ra.get("ended")
        assert isinstance(ended, EndEvent) and ended.cause == Cause.TERMINATED and ended.originator == "local"
        assert isinstance(rb.get("ended")[0], EndEvent) and rb.get("ended")[0].cause == Cause.BYE
        end, start = call.get_end_time(), call.get_start_time()
        assert end is not None and start is not None and end >= start
        assert not call.is_current_line()
        await a.close()
        await b.close()

    run(main(), timeout=40)


def test_a_rejected_refer_fails_the_transfer(kamailio):
    async def main():
        a, b = instance(kamailio, "carol"), instance(kamailio, "dave")
        await a.register()
        await b.register()
        refers = []

        def on_incoming(request):
            request.accept({"refer": lambda refer: (refers.append(refer), refer.reject(603))})

        b.on_incoming_call(on_incoming)
        call = await a.call("dave")
        await until(call.is_established)
        with pytest.raises(webvoice.TransferError) as failed:
            await a.blind_transfer(call.get_line_id(), "sip:erin@webvoice.test")
        assert failed.value.status_code == 603
        assert [r.refer_to.uri for r in refers] == ["sip:erin@webvoice.test"]
        assert call.is_established()  # the line is left as it was
        call.terminate()
        await until(call.is_ended)
        await a.close()
        await b.close()

    run(main(), timeout=40)


def test_not_connected_and_disconnected_events():
    async def main():
        sip = webvoice.create_sip_instance(sip_login="alice", sip_password="x", realm="webvoice.test",
                                           ws_url=f"ws://127.0.0.1:{free_port()}",
                                           transport_factory=WebsocketsTransport)
        with pytest.raises(webvoice.NotConnectedError) as refused:
            await sip.connect()
        assert isinstance(refused.value, webvoice.WebVoiceError) and isinstance(refused.value, ConnectionError)
        await sip.close()

        fake = webvoice.create_sip_instance(sip_login="alice", sip_password="x", realm="webvoice.test",
                                            transport_factory=FakeTransport)
        seen = []
        fake.on_connection_event({"disconnected": seen.append})
        await fake.connect()
        await fake.close()
        [event] = seen
        assert isinstance(event, DisconnectedEvent) and event.cause == Cause.TERMINATED

    run(main())


def _register_on_fake(ua_config: dict, **kwargs):
    async def main():
        sip = webvoice.create_sip_instance(sip_login="alice", sip_password="pa", realm="webvoice.test",
                                           transport_factory=FakeTransport, ua_config=ua_config, **kwargs)
        task = asyncio.ensure_future(sip.register())
        await until(lambda: FakeTransport.instances and FakeTransport.instances[-1].sent)
        transport = FakeTransport.instances[-1]
        first = parse_message(transport.sent[0])
        challenge = first.response(401, to_tag="r", headers=[(
            "WWW-Authenticate", 'Digest realm="webvoice.test", nonce="n1", qop="auth", algorithm=MD5')])
        sip._link.on_data(bytes(challenge))
        await until(lambda: len(transport.sent) >= 2)
        second = parse_message(transport.sent[1])
        task.cancel()
        await sip.close()
        return first, second

    return run(main())


def test_ua_config_user_agent_instance_id_and_authorization_user():
    uuid = "6e7c2a7e-1d2b-4c3d-9e8f-0a1b2c3d4e5f"
    first, second = _register_on_fake({"user_agent": "wv-test/1", "instance_id": uuid,
                                       "authorization_user": "alice-auth"})
    assert first.header("User-Agent") == "wv-test/1"
    assert f'+sip.instance="<urn:uuid:{uuid}>"' in str(first.header("Contact"))
    assert 'username="alice-auth"' in str(second.header("Authorization"))
    assert "sip:alice@webvoice.test" in str(second.header("From"))


def test_ua_config_t1_sets_the_transaction_timers():
    """A REGISTER nobody answers times out after 64*T1 (timer F): with t1=0.01, in 0.64 s."""
    async def main():
        sip = webvoice.create_sip_instance(sip_login="alice", sip_password="pa", realm="webvoice.test",
                                           transport_factory=FakeTransport, ua_config={"t1": 0.01})
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        with pytest.raises(webvoice.RegistrationError) as failed:
            await sip.register()
        waited = loop.time() - t0
        await sip.close()
        return failed.value, waited

    error, waited = run(main(), timeout=20)
    assert error.cause == Cause.REQUEST_TIMEOUT
    assert 0.64 * 0.9 <= waited < 6.4, waited  # not early; far from the default 32 s


OFFER = ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
         "m=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n")


@pytest.mark.parametrize("enabled", [True, False])
def test_ua_config_session_timers(enabled):
    """An INVITE asking for a session timer (RFC 4028) gets one in our 200 only
    when ua_config["session_timers"] is on."""
    async def main():
        from devtools.fake_media import FakeMediaBackend

        sip = webvoice.create_sip_instance(sip_login="alice", sip_password="pa", realm="webvoice.test",
                                           transport_factory=FakeTransport, media_backend=FakeMediaBackend(),
                                           ua_config={"session_timers": enabled})
        sip.on_incoming_call(lambda request: request.accept())
        await sip.connect()
        transport = FakeTransport.instances[-1]
        sip._link.on_data((
            "INVITE sip:alice@webvoice.test SIP/2.0\r\nVia: SIP/2.0/WS peer.invalid;branch=z9hG4bKst1\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:bob@webvoice.test>;tag=b1\r\nTo: <sip:alice@webvoice.test>\r\n"
            "Call-ID: st-1\r\nCSeq: 1 INVITE\r\nContact: <sip:bob@peer.invalid;transport=ws>\r\n"
            "Supported: timer\r\nSession-Expires: 1800\r\nContent-Type: application/sdp\r\n"
            f"Content-Length: {len(OFFER)}\r\n\r\n{OFFER}").encode())
        await until(lambda: any(f.startswith(b"SIP/2.0 200") for f in transport.sent))
        ok = parse_message(next(f for f in transport.sent if f.startswith(b"SIP/2.0 200")))
        sip.terminate_sessions()
        await sip.close()
        return ok

    ok = run(main())
    assert (ok.header("Session-Expires") is not None) is enabled
