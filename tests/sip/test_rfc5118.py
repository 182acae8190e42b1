"""The RFC 5118 torture messages (SIP and IPv6), driven by tests/data/rfc5118.

Every `valid` message parses with the fields the manifest names and writes
back to an equal message; every `invalid` one raises SipParseError and, fed to
a UA, is answered 400. Around them, the rules the messages stand for: IPv6
references in URIs and Via are checked as addresses (RFC 4291), bare IPv6 in
Via received= and maddr=, ports read outside the brackets only.
"""

from __future__ import annotations

import json
import pathlib
import random

import pytest

from webvoice.sip import SipParseError, SipUri, Via, parse_message, parse_uri
from webvoice.sip.syntax._abnf import is_ipv6_address
from webvoice.sip.syntax._header_parsers import parse_header_values
from webvoice.sip.syntax._sdp import parse_sdp
from webvoice.sip.ua._ua import MessageRefused, UaConfig, UserAgent

CORPUS = pathlib.Path(__file__).resolve().parents[1] / "data" / "rfc5118"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())


def rows(kind: str):
    return [pytest.param(r, id=r["file"]) for r in MANIFEST if r["kind"] == kind]


def test_manifest_covers_sections_4_1_to_4_10():
    assert len(MANIFEST) == 12
    assert {r["section"] for r in MANIFEST} == {f"4.{n}" for n in range(1, 11)}
    assert all((CORPUS / r["file"]).is_file() for r in MANIFEST)


@pytest.mark.parametrize("row", rows("valid"))
def test_valid_messages_parse_with_the_fields_the_rfc_describes(row):
    message = parse_message((CORPUS / row["file"]).read_bytes())
    assert parse_message(bytes(message)) == message
    fields = row["fields"]
    if "uri.host" in fields:
        assert (message.uri.host, message.uri.port) == (fields["uri.host"], fields.get("uri.port", message.uri.port))
    if "via" in fields:
        assert [[v.host, v.port, v.received] for v in message.via] == fields["via"]
    if "contact.host" in fields:
        assert message.contact.uri.host == fields["contact.host"]
    if "to.host" in fields:
        assert message.to.uri.host == fields["to.host"]
    if "sdp.connections" in fields:
        sdp = parse_sdp(message.body)
        assert [m.connection_address for m in sdp.media] == fields["sdp.connections"]


@pytest.mark.parametrize("row", rows("invalid"))
def test_invalid_messages_are_refused_and_answered_400(row):
    data = (CORPUS / row["file"]).read_bytes()
    with pytest.raises(SipParseError) as info:
        parse_message(data)
    assert "Request-URI" in str(info.value)
    ua = UserAgent(UaConfig(user="u", domain="example.com", password="p"), rng=random.Random(1))
    ua.connection_made(0.0)
    ua.receive_data(data, 0.0)
    [refused] = [e for e in ua.events() if isinstance(e, MessageRefused)]
    assert refused.answered_with == 400
    [answer] = [m for m in ua.outgoing() if not isinstance(m, bytes)]
    assert answer.status_code == 400 and answer.via[0].host == "[2001:db8::9:1]"


# --- the rules behind the messages ------------------------------------------------------

@pytest.mark.parametrize("text", [
    "sip:[1::2::3]", "sip:a@[:::]", "sip:a@[1:2:3:4:5:6:7:8:9]", "sip:a@[12345::1]", "sip:a@[::256.0.0.1]",
    "sip:a@[1:2:3:4:5:6:7]", "sip:a@[::1:]", "sip:a@[.]", "sip:a@[::1.2.3]", "sip:a@[1::2:::192.0.2.1]",
    "sip:2001:db8::10", "sip:a@2001:db8::10", "sip:a@[::1]:99999", "sip:a@[::1]:", "sip:a@[::1]x",
    "sip:a@h;maddr=[1::2::3]",
])
def test_malformed_ipv6_references_in_uris_are_refused(text):
    with pytest.raises(SipParseError):
        parse_uri(text)
    with pytest.raises(SipParseError):
        parse_header_values("Contact", f"<{text}>")


@pytest.mark.parametrize("text,host,port", [
    ("sip:[2001:db8::10]", "[2001:db8::10]", None), ("sip:a@[2001:db8::10]:5070", "[2001:db8::10]", 5070),
    ("sip:[2001:db8::10:5070]", "[2001:db8::10:5070]", None), ("sips:[::1]:5061", "[::1]", 5061),
    ("sip:a@[::ffff:192.0.2.2]", "[::ffff:192.0.2.2]", None), ("sip:[1:2:3:4:5:6:7::]", "[1:2:3:4:5:6:7::]", None),
])
def test_ipv6_references_and_ports_are_read_unambiguously(text, host, port):
    uri = parse_uri(text)
    assert (uri.host, uri.port) == (host, port)


@pytest.mark.parametrize("value,ok", [
    ("SIP/2.0/WS [::1];received=::1", True), ("SIP/2.0/WS h;received=2001:db8::9:255", True),
    ("SIP/2.0/WS h;received=[2001:db8::9:255]", True), ("SIP/2.0/WS h;maddr=2001:db8::1", True),
    ("SIP/2.0/WS h;maddr=[2001:db8::1];ttl=1", True), ("SIP/2.0/WS [::ffff:192.0.2.1]:5060;rport=5060", True),
    ("SIP/2.0/WS h;received=1::2::3", False), ("SIP/2.0/WS h;received=[1::2::3]", False),
    ("SIP/2.0/WS h;maddr=[zz]", False), ("SIP/2.0/WS h;maddr=::1::", False), ("SIP/2.0/WS [1::2::3]", False),
    ("SIP/2.0/WS [::1]:70000", False), ("SIP/2.0/WS h;received=12345::1", False),
])
def test_ipv6_in_via_parameters(value, ok):
    if ok:
        parse_header_values("Via", value)
    else:
        with pytest.raises(SipParseError):
            parse_header_values("Via", value)


def test_application_values_are_checked_the_same_way():
    with pytest.raises(ValueError):
        SipUri(host="[1::2::3]")
    with pytest.raises(ValueError):
        Via("WS", "[::1::]")
    assert SipUri(host="[2001:db8::1]", port=5060).hostport == "[2001:db8::1]:5060"


@pytest.mark.parametrize("address", ["::", "::1", "1::", "2001:db8::1", "1:2:3:4:5:6:7:8", "::ffff:192.0.2.1",
                                     "1:2:3:4:5:6:192.0.2.1", "2001:db8:::192.0.2.1", "fe80::1:2"])
def test_ipv6_addresses(address):
    assert is_ipv6_address(address)
