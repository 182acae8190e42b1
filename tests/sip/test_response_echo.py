"""A response that matches a client transaction (its Via branch and CSeq
method) but does not copy the request's Call-ID, CSeq or From tag (RFC 3261
8.2.6.2) is dropped by the transaction layer: no owner (a call, a
subscription, a registration, a MESSAGE) ever sees it, whatever it would have
built from it (found by fuzzing: a 2xx to SUBSCRIBE with another From tag
raised out of ``receive_data``). The request stays pending: its real answer
still counts.
"""

from __future__ import annotations

import random

import pytest

from webvoice.sip import parse_message
from webvoice.sip.syntax._header_values import MediaType
from webvoice.sip.syntax._uri import parse_uri
from webvoice.sip.ua._ua import UaConfig, UserAgent

OFFER = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
BOB = parse_uri("sip:bob@webvoice.test")


def _sent(ua: UserAgent, method: str):
    return next(parse_message(bytes(m)) for m in ua.outgoing()
                if not isinstance(m, bytes) and getattr(m, "method", None) == method)


def _start(kind: str):
    ua = UserAgent(UaConfig(user="alice", domain="webvoice.test", password="pa"), rng=random.Random(3))
    ua.connection_made(0.0)
    if kind == "REGISTER":
        ua.register(0.0)
    elif kind == "INVITE":
        ua.call(BOB, OFFER, 0.0)
    elif kind == "SUBSCRIBE":
        ua.subscribe(BOB, "presence", ("application/pidf+xml",), 0.0)
    elif kind == "MESSAGE":
        ua.send_message(BOB, b"hi", MediaType("text", "plain"), 0.0)
    request = _sent(ua, kind)
    ua.events()
    return ua, request


def _forged(request, status: int, change: str) -> bytes:
    response = request.response(status, to_tag="far")
    if change == "Call-ID":
        response = response.with_header_set("Call-ID", "someone-else@elsewhere")
    elif change == "CSeq":
        response = response.with_header_set("CSeq", f"{request.cseq.seq + 7} {request.method}")
    else:
        response = response.with_header_set("From", request.from_.with_tag("not-yours"))
    return bytes(response)


@pytest.mark.parametrize("kind", ["REGISTER", "INVITE", "SUBSCRIBE", "MESSAGE"])
@pytest.mark.parametrize("status", [180, 200, 401, 481, 503])
@pytest.mark.parametrize("change", ["Call-ID", "CSeq", "From tag"])
def test_a_response_that_does_not_echo_the_request_is_dropped(kind, status, change):
    if status == 180 and kind != "INVITE":
        status = 100
    ua, request = _start(kind)
    ua.receive_data(_forged(request, status, change), 0.1)
    assert ua.events() == []  # no owner saw it
    assert [m for m in ua.outgoing() if not isinstance(m, bytes)] == []  # nothing answered or retried
    # The request is still pending: its real answer is taken.
    real = {"REGISTER": (401, [("WWW-Authenticate", 'Digest realm="webvoice.test", nonce="n1", qop="auth"')]),
            "INVITE": (200, [("Contact", "<sip:bob@192.0.2.2>")]), "SUBSCRIBE": (489, []), "MESSAGE": (200, [])}
    status, headers = real[kind]
    ua.receive_data(bytes(request.response(status, to_tag="far", headers=headers)), 0.2)
    assert ua.events() or [m for m in ua.outgoing() if not isinstance(m, bytes)], "the real answer was taken"


def test_the_layer_says_why_it_dropped_one():
    from webvoice.sip.syntax._message import not_an_answer
    ua, request = _start("SUBSCRIBE")
    for change, reason in (("Call-ID", "Call-ID"), ("CSeq", "CSeq"), ("From tag", "From tag")):
        forged = parse_message(_forged(request, 200, change))
        assert reason in not_an_answer(request, forged) and "8.2.6.2" in not_an_answer(request, forged)
    assert not_an_answer(request, request.response(200, to_tag="far")) is None
