"""The whole driver (SipInstance + core) against the real Kamailio, from CPython.

The transport is the ``websockets`` twin of the browser's; everything above it
is the code that runs in Pyodide. The browser tier repeats the key cases in
Chromium.
"""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

import webvoice
from devtools.ws_transport import WebsocketsTransport


def instance(server, user="alice", password=None, **kwargs):
    return webvoice.create_sip_instance(
        sip_login=user,
        sip_password=server.users[user] if password is None else password,
        ws_url=server.ws_url,
        realm=server.domain,
        transport_factory=WebsocketsTransport,
        **kwargs,
    )


def run(coro, timeout=20):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_register_and_unregister(kamailio):
    async def main():
        sip = instance(kamailio, "alice")
        events = []
        sip.on_connection_event({
            "connecting": lambda: events.append("connecting"),
            "connected": lambda: events.append("connected"),
            "registered": lambda e: events.append(("registered", e.expires)),
        })
        result = await sip.register()
        assert result.expires > 0 and result.contact.startswith("sip:")
        assert sip.is_registered() and sip.is_connected()
        assert events == ["connecting", "connected", ("registered", result.expires)]
        [binding] = kamailio.lookup("alice")
        assert sip.instance_id in binding.get("Instance", "")
        await sip.unregister()
        assert not sip.is_registered()
        assert kamailio.lookup("alice") == []
        await sip.close()

    run(main())


def test_wrong_password_fails_fast_with_two_registers(kamailio):
    async def main():
        sip = instance(kamailio, "bob", password="not-the-password")
        start = time.monotonic()
        with pytest.raises(webvoice.RegistrationError) as info:
            await sip.register()
        # refused, not timed out: well within timer F (64*T1 = 32 s), the cause says why
        assert time.monotonic() - start < 16
        assert info.value.status_code in (401, 403)
        assert info.value.cause == "Authentication Error"
        transport = WebsocketsTransport.instances[-1]
        registers = [d for d in transport.sent if d.startswith(b"REGISTER ")]
        assert len(registers) <= 2
        assert not sip.is_registered()
        await sip.close()

    run(main())


def test_refresh_and_expiring_event(kamailio):
    async def main():
        sip = instance(kamailio, "carol", ua_config={"register_expires": 3})
        expiring, registered = asyncio.Event(), []
        sip.on_connection_event({
            "registration_expiring": lambda e: expiring.set(),
            "registered": lambda e: registered.append(e),
        })
        await sip.register()
        await asyncio.wait_for(expiring.wait(), 5)
        for _ in range(50):
            if len(registered) >= 2:
                break
            await asyncio.sleep(0.1)
        assert len(registered) >= 2 and sip.is_registered()
        await sip.close()

    run(main())


def test_reconnect_and_register_again_after_server_restart(fresh_kamailio):
    async def main():
        sip = instance(fresh_kamailio, "dave", ua_config={"connection_recovery_min_interval": 0.2, "connection_recovery_max_interval": 1.0})
        disconnected, registered = [], []
        sip.on_connection_event({
            "disconnected": lambda e: disconnected.append(e.cause),
            "registered": lambda e: registered.append(e),
        })
        await sip.register()
        fresh_kamailio.kill()
        for _ in range(50):
            if disconnected:
                break
            await asyncio.sleep(0.1)
        assert disconnected == ["Connection Error"] and not sip.is_registered()
        fresh_kamailio.restart()
        for _ in range(150):
            if sip.is_registered():
                break
            await asyncio.sleep(0.1)
        assert sip.is_registered() and len(registered) == 2
        assert fresh_kamailio.lookup("dave")
        await sip.close()

    run(main(), timeout=30)


def test_debug_logs_register_exchange_without_secrets(kamailio, caplog):
    async def main():
        sip = instance(kamailio, "erin", debug=True)
        with caplog.at_level(logging.DEBUG, logger="webvoice"):
            await sip.register()
            await sip.close()

    run(main())
    text = caplog.text
    assert "REGISTER sip:webvoice.test SIP/2.0" in text and "SIP/2.0 200 OK" in text
    assert "Authorization: Digest" in text and 'response="<redacted>"' in text
    assert kamailio.users["erin"] not in text
    import re
    assert not re.search(r'response="[0-9a-f]{32}"', text)


def test_garbage_from_the_server_is_survived_and_answered_where_possible():
    from devtools.fake_transport import FakeTransport

    async def main():
        sip = webvoice.create_sip_instance(sip_login="frank", sip_password="x", realm="a.test", transport_factory=FakeTransport)
        await sip.connect()
        transport = FakeTransport.instances[-1]
        sip._link.on_data(b"\x00\xffgarbage\r\n\r\n")
        sip._link.on_data(b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/WS h;branch=z9hG4bKx\r\n\r\n")
        sip._link.on_data(b"OPTIONS sip:frank@a.test SIP/2.0\r\nVia: SIP/2.0/WS h;branch=z9hG4bKy\r\nFrom: <sip:x@a.test>;tag=1\r\n"
                    b"To: <sip:frank@a.test>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n\r\n")
        sip._link.on_data(b"\r\n\r\n")
        assert transport.sent[0].startswith(b"SIP/2.0 400 Bad Request\r\n")
        assert transport.sent[1].startswith(b"SIP/2.0 200 OK\r\n") and b"Allow: " in transport.sent[1]
        assert transport.sent[2] == b"\r\n"
        assert sip.is_connected()
        await sip.close()

    run(main())


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(sip_login="", sip_password="x", realm="a.test"), "sip_login"),
        (dict(sip_login="al\r\nice", sip_password="x", realm="a.test"), "control character"),
        (dict(sip_login="alice", sip_password="x"), "realm"),
        (dict(sip_login="alice", sip_password="x", realm="a.test", ws_url="http://a.test"), "ws_url"),
        (dict(sip_login="alice", sip_password="x", realm="a.test", ssl=True, ws_url="ws://a.test"), "ssl=True"),
        (dict(sip_login="alice", sip_password="x", realm="a.test", ua_config={"bogus": 1}), "bogus"),
        (dict(sip_login="alice", sip_password="x", realm="a.test", max_lines=0), "max_lines"),
        (dict(sip_login="alice", sip_password="x", realm="a.test", stun_servers=["stun.example.com"]), "stun:"),
        (dict(sip_login="alice", sip_password="x", realm="a.test", line_events={"on_nothing": print}), "on_nothing"),
    ],
)
def test_bad_arguments_fail_before_anything_is_sent(kwargs, words):
    with pytest.raises((ValueError, TypeError)) as info:
        webvoice.create_sip_instance(transport_factory=WebsocketsTransport, **kwargs)
    assert words in str(info.value)


def test_defaults_and_secrets_in_repr():
    sip = webvoice.create_sip_instance(sip_login="alice@example.org", sip_password="s3cret!", transport_factory=WebsocketsTransport)
    assert "wss" not in repr(sip) and "ws://example.org" in repr(sip)
    ssl = webvoice.create_sip_instance(sip_login="alice", sip_password="s3cret!", realm="example.org", ssl=True, transport_factory=WebsocketsTransport)
    assert "wss://example.org" in repr(ssl)
    assert "s3cret" not in repr(sip) and "s3cret" not in repr(sip._settings) and "s3cret" not in repr(sip._ua.config)
    local = webvoice.create_sip_instance(sip_login="alice", sip_password="x", realm="a.test", ssl=True, ws_url="ws://127.0.0.1:8080", transport_factory=WebsocketsTransport)
    assert local.is_connected() is False


def test_connection_events_have_several_listeners_and_each_can_unsubscribe():
    from devtools.fake_transport import FakeTransport

    async def main():
        sip = webvoice.create_sip_instance(sip_login="frank", sip_password="x", realm="a.test", transport_factory=FakeTransport)
        heard = []
        page = sip.on_connection_event({"connected": lambda: heard.append("page"),
                                        "disconnected": lambda e: heard.append(("page", e.cause))})
        sip.on_connection_event({"connected": lambda: heard.append("widget")})
        await sip.connect()
        assert heard == ["page", "widget"]
        page()
        page()  # a second call changes nothing
        await sip.close()
        await sip.connect()
        assert heard == ["page", "widget", "widget"]
        await sip.close()

    run(main())
