"""Answers echo nothing dangerous (issue 15): no control octet of the peer's
(ESC, NUL, the other C0, DEL) leaves the UA in an answer, raw, as a
quoted-pair, %-escaped, or quoted in a parser message.

Every path on which the UA answers a request it will not serve is driven here
(the parser's 400 and 505, the UAS checks' 405/415/416/420/406, the 481 of an
unknown dialog or CANCEL, 480/405 out of dialog, 400 and 481 for Replaces,
422, 486, and the 487 of a cancelled call), each with the hostile text in each
field an answer copies (From and To display names and URIs, Call-ID, Via,
Require, the Request-URI the parser quotes).
"""

from __future__ import annotations

import random
import re

import pytest

from webvoice.sip.ua._ua import MessageRefused, UaConfig, UserAgent

ESCAPED_CONTROL = re.compile(rb"[\x00-\x1f\x7f]|%(?:[01][0-9a-fA-F]|7[fF])|\\x(?:[01][0-9a-fA-F]|7[fF])")


def ua(**config) -> UserAgent:
    agent = UserAgent(UaConfig(user="bob", domain="webvoice.test", password="x", keep_alive_interval=0, **config),
                      rng=random.Random(3))
    agent.connection_made(0.0)
    agent.outgoing()
    return agent


def request(method="OPTIONS", *, ruri="sip:bob@webvoice.test", version="SIP/2.0",
            via="SIP/2.0/WS h.invalid;branch=z9hG4bKabc", from_='"Al" <sip:alice@webvoice.test>;tag=1',
            to="<sip:bob@webvoice.test>", call_id="c1", cseq=None, extra=b"", body=b"") -> bytes:
    head = (f"{method} {ruri} {version}\r\nVia: {via}\r\nFrom: {from_}\r\nTo: {to}\r\nCall-ID: {call_id}\r\n"
            f"CSeq: {cseq or '1 ' + method}\r\nMax-Forwards: 70\r\n").encode("latin-1")
    return head + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


SDP = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
INVITE = {"method": "INVITE", "extra": b"Content-Type: application/sdp\r\n", "body": SDP}

#: (path, what the UA answers with, request fields). Each answer copies the core
#: headers; some also copy the peer's words.
PATHS = [
    ("400 parse error", 400, {"cseq": "x1 OPTIONS"}),
    ("400 quoting the Request-URI", 400, {"ruri": "tel:+1%1b[2J"}),
    ("505 version", 505, {"version": "SIP/3.0"}),
    ("405 unknown method", 405, {"method": "FOO"}),
    ("416 scheme", 416, {"ruri": "tel:+15551234"}),
    ("420 Require", 420, {"extra": b"Require: x%1b%5b31m, y%00z\r\n"}),
    ("415 body type", 415, {"extra": b"Content-Type: text/x-esc\r\n", "body": b"hi"}),
    ("406 Accept", 406, {**INVITE, "extra": INVITE["extra"] + b"Accept: text/plain\r\n"}),
    ("481 unknown dialog", 481, {"method": "BYE", "to": "<sip:bob@webvoice.test>;tag=gone"}),
    ("481 CANCEL of nothing", 481, {"method": "CANCEL"}),
    ("out-of-dialog MESSAGE", None, {"method": "MESSAGE", "extra": b"Content-Type: text/plain\r\n", "body": b"hi"}),
    ("400 bad Replaces", 400, {**INVITE, "extra": INVITE["extra"] + b"Replaces: x\r\n"}),
    ("481 unknown Replaces", 481, {**INVITE, "extra": INVITE["extra"] + b"Replaces: x;to-tag=a;from-tag=b\r\n"}),
    ("422 session interval", 422, {**INVITE, "extra": INVITE["extra"] + b"Session-Expires: 30\r\n"}),
]

#: Where the peer puts its control octets: (field, value).
HOSTILE = [
    ("From display name, quoted-pair ESC", "from_", '"Al\\\x1b[31m" <sip:alice@webvoice.test>;tag=1'),
    ("From display name, quoted-pair DEL", "from_", '"Al\\\x7f" <sip:alice@webvoice.test>;tag=1'),
    ("To display name, quoted-pair ESC", "to", '"Bob\\\x1b]0;pwned\\\x07" <sip:bob@webvoice.test>'),
    ("From URI, %1b", "from_", "<sip:al%1b[2Jice@webvoice.test>;tag=1"),
    ("To URI, %00", "to", "<sip:bob%00@webvoice.test>"),
    ("Call-ID, %1b", "call_id", "c%1b[2J"),
    ("Via branch, %7f", "via", "SIP/2.0/WS h.invalid;branch=z9hG4bK%7f"),
    ("none (the path itself)", None, None),
]


def answers(agent: UserAgent) -> list[bytes]:
    return [bytes(m) for m in agent.outgoing() if not isinstance(m, bytes)]


def assert_clean(wire: list[bytes]) -> None:
    for data in wire:
        head = data.split(b"\r\n\r\n", 1)[0]
        for line in head.split(b"\r\n"):
            assert not ESCAPED_CONTROL.search(line), line


@pytest.mark.parametrize(("path", "status", "fields"), PATHS, ids=[p[0] for p in PATHS])
@pytest.mark.parametrize(("where", "field", "value"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_no_answer_copies_a_control_octet(path, status, fields, where, field, value) -> None:
    agent = ua(max_calls=None)
    fields = dict(fields)
    if field is not None:
        fields[field] = value + (";tag=gone" if field == "to" and "tag=" in fields.get("to", "") else "")
    agent.receive_data(request(**fields), 0.0)
    wire = answers(agent)
    assert_clean(wire)
    codes = [int(w.split(b" ", 2)[1]) for w in wire]
    if field is None or "display name" in where:
        # Nothing else wrong, or only what an answer may leave out: answered.
        assert codes and (status is None or codes[-1] == status), (codes, status)
    else:  # a hostile request gets no answer at all: any answer would carry it back
        assert codes == [], codes
    refused = [e for e in agent.events() if isinstance(e, MessageRefused)]
    for event in refused:  # what the event says was sent, was sent
        assert (event.answered_with is not None) == bool(wire)


def test_486_and_the_487_of_a_cancelled_call() -> None:
    busy = ua(max_calls=0)
    busy.receive_data(request(**INVITE), 0.0)
    wire = answers(busy)
    assert [int(w.split(b" ", 2)[1]) for w in wire] == [100, 486]
    assert_clean(wire)

    agent = ua()
    agent.receive_data(request(**INVITE), 0.0)
    agent.receive_data(request("CANCEL"), 0.1)
    wire = answers(agent)
    assert sorted(int(w.split(b" ", 2)[1]) for w in wire) == [100, 180, 200, 487]
    assert_clean(wire)


@pytest.mark.parametrize(("field", "value"), [(h[1], h[2]) for h in HOSTILE
                                               if h[1] is not None and "display name" not in h[0]])
def test_a_hostile_invite_starts_no_call_and_gets_no_answer(field, value) -> None:
    """Neither a call the application would see, nor any answer (not even 100
    Trying), nor an exception out of receive_data."""
    for max_calls in (None, 0):
        agent = ua(max_calls=max_calls)
        agent.receive_data(request(**INVITE, **{field: value}), 0.0)
        agent.receive_data(request("CANCEL", **{field: value}), 0.1)
        assert agent.sessions == []
        assert answers(agent) == []


@pytest.mark.parametrize(("field", "value"), [(h[1], h[2]) for h in HOSTILE if "display name" in h[0]])
def test_a_call_from_a_hostile_display_name_is_answered_without_it(field, value) -> None:
    """Accepting is the application's choice (RFC 4475 3.1.1.2 calls such a
    message valid); the 100, 180 and 200 leave the display name out."""
    agent = ua()
    agent.receive_data(request(**INVITE, **{field: value}), 0.0)
    [session] = agent.sessions
    session.accept(SDP.decode(), 0.1)
    agent._pump(0.1)
    wire = answers(agent)
    assert [int(w.split(b" ", 2)[1]) for w in wire] == [100, 180, 200]
    assert_clean(wire)
    assert all(b"tag=1" in w for w in wire)  # still the caller's From


def test_a_2xx_whose_to_holds_a_control_display_name_confirms_the_call() -> None:
    """The UAC side: the callee's 2xx names itself with a quoted-pair ESC."""
    from webvoice.sip import parse_message
    from webvoice.sip.syntax._uri import parse_uri

    agent = ua()
    session = agent.call(parse_uri("sip:carol@webvoice.test"), SDP.decode(), 0.0)
    [invite] = [parse_message(bytes(m)) for m in agent.outgoing() if not isinstance(m, bytes)]
    ok = bytes(invite.response(200, to_tag="t9", body=SDP, content_type="application/sdp",
                               headers=[("Contact", "<sip:carol@192.0.2.9;transport=ws>")]))
    ok = ok.replace(b"To: <sip:carol@webvoice.test>", b'To: "Carol\\\x1b[5m" <sip:carol@webvoice.test>')
    assert b"\\\x1b" in ok
    agent.receive_data(ok, 0.1)
    assert session.is_established
    assert session.remote_identity.display_name is None and session.remote_identity.tag == "t9"
    wire = answers(agent)  # the ACK
    assert_clean(wire)
