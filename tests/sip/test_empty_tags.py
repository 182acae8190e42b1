"""A tag without a value (``;tag``, ``;tag=``) or with one that is no token
(``;tag="q"``) is no tag (RFC 3261 25.1: a tag is a token): a peer that sends one gets the RFC 2543 treatment of a missing
tag, and nothing webvoice writes afterwards carries ``tag=`` (found by
fuzzing: a 2xx with ``To: <sip:bob@h>;tag`` gave an ACK and a BYE that no
parser takes, webvoice's own included).
"""

from __future__ import annotations

import pytest

from webvoice.sip import SipParseError, parse_message
from webvoice.sip.session._call import CallState
from webvoice.sip.session._events import IncomingCall
from webvoice.sip.syntax._header_parsers import parse_name_addr
from webvoice.sip.syntax._uri import parse_uri

from .test_call import ANSWER, OFFER, Wire


@pytest.mark.parametrize("text", ["<sip:bob@example.com>;tag", "<sip:bob@example.com>;tag;x=1",
                                  '<sip:bob@example.com>;tag="q"', "<sip:bob@example.com>"])
def test_a_tag_without_a_value_is_none(text):
    assert parse_name_addr(text, "To").tag is None


def test_a_tag_written_is_a_token():
    addr = parse_name_addr("<sip:bob@example.com>", "To")
    for bad in ("", "a b", "a;b", None):
        with pytest.raises(ValueError, match="token"):
            addr.with_tag(bad)
    assert str(parse_name_addr("<sip:bob@example.com>;tag", "To").with_tag("x1")) == "<sip:bob@example.com>;tag=x1"


NO_TOKEN_TAGS = [";tag", ';tag="q"']


def _valueless(data: bytes, header: str, tag: str = ";tag") -> bytes:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    for i, line in enumerate(lines):
        if line.startswith(header.encode() + b":"):
            lines[i] = line.split(b";tag=")[0] + tag.encode()
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _all_parse(messages) -> None:
    for message in messages:
        if not isinstance(message, bytes):
            try:
                parse_message(bytes(message))
            except SipParseError as exc:
                raise AssertionError(f"webvoice sent what no parser takes ({exc}):\n{message}") from None


@pytest.mark.parametrize("tag", NO_TOKEN_TAGS)
def test_a_2xx_whose_to_tag_is_no_token_makes_a_dialog_without_a_remote_tag(tag):
    w = Wire()
    a, b = w.call()
    b.accept(ANSWER, w.now)
    w.b._pump(w.now)
    ok = next(m for m in w.b.outgoing() if not isinstance(m, bytes) and getattr(m, "status_code", 0) == 200)
    w.a.receive_data(_valueless(bytes(ok), "To", tag), w.now)
    out = w.a.outgoing()
    _all_parse(out)
    assert a.state is CallState.ESTABLISHED and a.dialog.remote_tag is None
    ack = next(parse_message(bytes(m)) for m in out if getattr(m, "method", None) == "ACK")
    assert ack.to.tag is None
    a.terminate(w.now)
    w.a._pump(w.now)
    out = w.a.outgoing()
    _all_parse(out)
    assert [m.method for m in out if getattr(m, "method", None)] == ["BYE"]


def _accepted_invite_with_a_valueless(header: str, tag: str = ";tag"):
    """bob accepts alice's INVITE whose ``header`` tag was stripped of its value on the
    way: (the wire, bob's incoming call, what bob sent, all of it parseable)."""
    w = Wire()
    w.a.call(parse_uri("sip:bob@webvoice.test"), OFFER, w.now)
    invite = next(m for m in w.a.outgoing() if getattr(m, "method", None) == "INVITE")
    w.b.receive_data(_valueless(bytes(invite), header, tag), w.now)
    [incoming] = [e for e in w.b.events() if isinstance(e, IncomingCall)]
    incoming.session.accept(ANSWER, w.now)
    w.b._pump(w.now)
    out = w.b.outgoing()
    _all_parse(out)
    return w, incoming, out


def test_an_invite_whose_to_tag_has_no_value_is_answered_with_our_tag():
    _, incoming, out = _accepted_invite_with_a_valueless("To")
    ok = next(parse_message(bytes(m)) for m in out if getattr(m, "status_code", 0) == 200)
    assert ok.to.tag and ok.to.tag == incoming.session.dialog.local_tag


@pytest.mark.parametrize("tag", NO_TOKEN_TAGS)
def test_a_peer_from_tag_that_is_no_token_gets_requests_without_one(tag):
    w, incoming, _ = _accepted_invite_with_a_valueless("From", tag)
    assert incoming.session.dialog.remote_tag is None
    incoming.session.terminate(w.now)
    w.b._pump(w.now)
    out = w.b.outgoing()
    _all_parse(out)
