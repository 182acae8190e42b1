"""Security: header injection refused everywhere, secrets never shown.

CR, LF and control characters in targets, display names, custom headers and
DTMF strings raise ValueError before anything is sent; the password and digest
responses appear in no log, exception or repr(); ssl=True keeps off ws://
except to localhost. (The REFER consent rule is tested with transfers, size
limits with faults, logs in the browser tier as well.)
"""

from __future__ import annotations

import logging
import re

import pytest

import webvoice
from devtools.fake_transport import FakeTransport
from devtools.ws_transport import WebsocketsTransport
from tests.integration.test_calls_kamailio import instance, run, until

INJECTIONS = ["evil\r\nVia: SIP/2.0/UDP attacker", "evil\nX: y", "evil\rX", "nul\x00", "bell\x07", "del\x7f"]


@pytest.mark.parametrize("bad", INJECTIONS)
def test_targets_display_names_and_headers_refuse_control_characters(bad):
    async def main():
        before = len(FakeTransport.instances)
        sip = webvoice.create_sip_instance(sip_login="a", sip_password="p", realm="a.test", transport_factory=FakeTransport)
        with pytest.raises(ValueError):
            await sip.call(f"bob{bad}")
        with pytest.raises(ValueError):
            await sip.call("bob", extra_headers=[f"X-Note: {bad}"])
        with pytest.raises(ValueError):
            await sip.call("bob", extra_headers=[(f"X-{bad}", "v")])
        assert len(FakeTransport.instances) == before  # refused before even connecting

    run(main())
    with pytest.raises(ValueError):
        webvoice.create_sip_instance(sip_login="a", sip_password="p", realm="a.test",
                                     ua_config={"display_name": f"Alice {bad}"}, transport_factory=FakeTransport)
    with pytest.raises(ValueError):
        webvoice.create_sip_instance(sip_login="a", sip_password="p", realm="a.test",
                                     call_options={"extra_headers": [f"X: {bad}"]}, transport_factory=FakeTransport)


def test_extra_headers_may_not_replace_the_stacks_own():
    async def main():
        sip = webvoice.create_sip_instance(sip_login="a", sip_password="p", realm="a.test", transport_factory=FakeTransport)
        for name in ("Via", "Call-ID", "Content-Length", "Contact", "f"):
            with pytest.raises(ValueError, match="set by the SIP stack"):
                await sip.call("bob", extra_headers=[f"{name}: x"])

    run(main())


def test_dtmf_strings_are_checked(kamailio):
    async def main():
        a, b = instance(kamailio, "alice"), instance(kamailio, "bob")
        await a.register()
        await b.register()
        b.on_incoming_call(lambda r: r.accept())
        call = await a.call("bob")
        await until(call.is_established)
        for bad in ["1\r\n2", "12x", "", "1\x00", "#\nSignal=5"]:
            with pytest.raises(ValueError):
                call.send_dtmf(bad, transport_type="INFO")
        with pytest.raises(ValueError):
            call.send_dtmf("1", transport_type="SMS")
        with pytest.raises(ValueError):
            call.send_dtmf("1", duration=10)
        call.terminate()
        await a.close()
        await b.close()

    run(main())


def test_secrets_never_appear_in_logs_exceptions_or_reprs(kamailio, caplog):
    password = kamailio.users["carol"]
    seen: list[str] = []

    async def main():
        a = instance(kamailio, "carol", debug=True)
        b = instance(kamailio, "dave", debug=True)
        await a.register()
        await b.register()
        b.on_incoming_call(lambda r: r.accept())
        call = await a.call("dave")  # answered with proxy credentials
        await until(call.is_established)
        ua = a._ua
        # The INVITE that carried the proxy credentials, as it went on the wire
        # (it must exist: the call was answered through proxy auth).
        from webvoice.sip import parse_message

        invites = [parse_message(frame) for frame in a._transport.sent
                   if frame.startswith(b"INVITE ") and b"\r\nProxy-Authorization: Digest" in frame]
        assert invites, "no INVITE with Proxy-Authorization was sent"
        objects = [a, a._settings, ua.config, ua.auth, ua.registration, call, call.core, ua, b, *invites]
        seen.extend(repr(o) for o in objects)
        seen.extend(str(o) for o in objects if not hasattr(o, "method"))
        wrong = webvoice.create_sip_instance(
            sip_login="erin", sip_password="wrong-" + password, ws_url=kamailio.ws_url, realm=kamailio.domain,
            transport_factory=WebsocketsTransport, debug=True)
        with pytest.raises(webvoice.RegistrationError) as refused:  # a wrong password never registers
            await wrong.register()
        seen.extend([str(refused.value), repr(refused.value)])
        assert not wrong.is_registered()
        call.terminate()
        for sip in (a, b, wrong):
            await sip.close()

    with caplog.at_level(logging.DEBUG, logger="webvoice"):
        run(main())
    text = "\n".join(seen) + "\n" + caplog.text
    assert password not in text
    assert "Proxy-Authorization: Digest" in caplog.text  # the exchange is logged...
    assert not re.search(r'response="?[0-9a-f]{32}', text)  # ...without the answers


def test_request_repr_redacts_digest_answers():
    from webvoice.sip import parse_message

    request = parse_message(
        b"INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/WS h;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\n"
        b"Call-ID: c\r\nCSeq: 2 INVITE\r\nProxy-Authorization: Digest username=\"a\", realm=\"x\", nonce=\"n\", "
        b"uri=\"sip:b@x\", response=\"0123456789abcdef0123456789abcdef\"\r\n\r\n")
    assert "0123456789abcdef" not in repr(request)
    assert b"0123456789abcdef" in bytes(request)  # the wire form is the real message


@pytest.mark.parametrize("url", ["ws://sip.example.org", "ws://10.0.0.1:8080", "ws://localhost.example.org"])
def test_ssl_refuses_plain_websocket_off_localhost(url):
    with pytest.raises(ValueError, match="ssl=True"):
        webvoice.create_sip_instance(sip_login="a", sip_password="p", realm="a.test", ssl=True, ws_url=url,
                                     transport_factory=FakeTransport)
    for local in ("ws://localhost:8080", "ws://127.0.0.1:5066", "ws://[::1]:80"):
        webvoice.create_sip_instance(sip_login="a", sip_password="p", realm="a.test", ssl=True, ws_url=local,
                                     transport_factory=FakeTransport)
