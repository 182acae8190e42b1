"""``Allow`` lists exactly the methods the UA serves (issue 15).

It is derived from one registry (``_uas.SERVED_METHODS``). Both directions are
checked by driving the UA, not by reading the registry: every method Allow
lists gets a real answer in its context (not 405, 501 or a 480 standing in for
"not implemented"), and every method the UA answers as served is listed. A
method added to the registry needs an exercise in ``EXERCISES`` below.
"""

from __future__ import annotations

import random

import pytest

from tests.sip.test_call import OFFER, Wire
from webvoice.sip.session._events import CallConfirmed, ReferReceived, RemoteOffer
from webvoice.sip.syntax._header_values import NameAddr
from webvoice.sip.syntax._uri import parse_uri
from webvoice.sip.ua._ua import UaConfig, UserAgent
from webvoice.sip.ua._uas import SERVED_METHODS

NOT_SERVED = {405, 501, 480}
CANDIDATES = ("INVITE", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "UPDATE", "REFER", "NOTIFY",
              "MESSAGE", "SUBSCRIBE", "PUBLISH", "PRACK", "FOO")


def lone_ua() -> UserAgent:
    agent = UserAgent(UaConfig(user="bob", domain="webvoice.test", password="x", keep_alive_interval=0),
                      rng=random.Random(5))
    agent.connection_made(0.0)
    agent.outgoing()
    return agent


def out_of_dialog(method: str, *, extra: bytes = b"", body: bytes = b"") -> bytes:
    return (f"{method} sip:bob@webvoice.test SIP/2.0\r\nVia: SIP/2.0/WS h.invalid;branch=z9hG4bK{method}\r\n"
            f"From: <sip:alice@webvoice.test>;tag=1\r\nTo: <sip:bob@webvoice.test>\r\nCall-ID: c-{method}\r\n"
            f"CSeq: 1 {method}\r\nMax-Forwards: 70\r\n").encode() + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


def codes_for(agent: UserAgent, method: str) -> list[int]:
    return [m.status_code for m in agent.outgoing()
            if not isinstance(m, bytes) and hasattr(m, "status_code") and m.cseq.method == method]


def allow_of(agent: UserAgent) -> set[str]:
    agent.receive_data(out_of_dialog("OPTIONS"), 0.0)
    [ok] = [m for m in agent.outgoing() if not isinstance(m, bytes)]
    assert ok.status_code == 200
    return {m.strip() for m in ok.header_all("Allow")}


def in_dialog(method: str, **kwargs) -> list[int]:
    """What alice answers to ``method`` sent by bob inside their established call."""
    w = Wire()
    a, b = w.established()
    request = b.dialog.create_request(method, via=w.b.new_via(), contact=w.b.contact(), **kwargs)
    w.b.transactions.send_request(request, w.now)
    w.flush()
    for event in w.of("a", RemoteOffer) + w.of("a", ReferReceived):  # the application answers
        if isinstance(event, RemoteOffer):
            event.session.answer_offer(OFFER.replace("o=- 1 1", "o=- 1 2"), w.now)
        else:
            event.session.accept_refer(w.now)
        w.a._pump(w.now)
        w.flush()
    return [m.status_code for side, m in w.log
            if side == "a" and hasattr(m, "status_code") and m.cseq.seq == request.cseq.seq and m.cseq.method == method]


def exercise_invite() -> list[int]:
    agent = lone_ua()
    agent.receive_data(out_of_dialog("INVITE", extra=b"Content-Type: application/sdp\r\n", body=OFFER.encode()), 0.0)
    return codes_for(agent, "INVITE") + in_dialog("INVITE", body=OFFER.replace("o=- 1 1", "o=- 1 9").encode(),
                                                  content_type="application/sdp")


def exercise_ack() -> list[int]:
    w = Wire()
    w.established()
    assert w.of("b", CallConfirmed), "the ACK did not confirm the call"
    return [200]  # an ACK is never answered; confirming the call is its service


def exercise_cancel() -> list[int]:
    agent = lone_ua()
    agent.receive_data(out_of_dialog("INVITE", extra=b"Content-Type: application/sdp\r\n", body=OFFER.encode()), 0.0)
    agent.outgoing()
    agent.receive_data(out_of_dialog("CANCEL").replace(b"z9hG4bKCANCEL", b"z9hG4bKINVITE")
                       .replace(b"c-CANCEL", b"c-INVITE"), 0.1)
    return codes_for(agent, "CANCEL")


def exercise_options() -> list[int]:
    agent = lone_ua()
    agent.receive_data(out_of_dialog("OPTIONS"), 0.0)
    return codes_for(agent, "OPTIONS") + in_dialog("OPTIONS")


def exercise_message() -> list[int]:
    agent = lone_ua()
    agent.receive_data(out_of_dialog("MESSAGE", extra=b"Content-Type: text/plain\r\n", body=b"hi"), 0.0)
    return codes_for(agent, "MESSAGE") + in_dialog("MESSAGE", body=b"hi", content_type="text/plain")


def exercise_prack() -> list[int]:
    """Early media sent reliably (RFC 3262): the caller's PRACK is answered."""
    w = Wire()
    _, b = w.call()
    b.progress(OFFER.replace("192.0.2.1", "192.0.2.2"), w.now)
    w.b._pump(w.now)
    w.flush()
    return [m.status_code for side, m in w.log if side == "b" and hasattr(m, "status_code")
            and m.cseq.method == "PRACK"]


EXERCISES = {
    "PRACK": exercise_prack,
    "OPTIONS": exercise_options,
    "INVITE": exercise_invite,
    "ACK": exercise_ack,
    "CANCEL": exercise_cancel,
    "BYE": lambda: in_dialog("BYE"),
    "INFO": lambda: in_dialog("INFO", body=b"Signal=5\r\nDuration=100\r\n", content_type="application/dtmf-relay"),
    "UPDATE": lambda: in_dialog("UPDATE"),
    "REFER": lambda: in_dialog("REFER", headers=[("Refer-To", NameAddr(parse_uri("sip:carol@webvoice.test")))]),
    "MESSAGE": exercise_message,  # used once MESSAGE is served (RFC 3428)
    "NOTIFY": lambda: in_dialog("NOTIFY", body=b"SIP/2.0 100 Trying\r\n", content_type="message/sipfrag",
                                headers=[("Event", "refer"), ("Subscription-State", "active;expires=60")]),
}


def test_allow_is_the_registry() -> None:
    agent = lone_ua()
    assert allow_of(agent) == set(SERVED_METHODS)
    assert agent.parts.allow == ", ".join(sorted(SERVED_METHODS))


@pytest.mark.parametrize("method", sorted(allow_of(lone_ua())))
def test_every_method_listed_is_served(method) -> None:
    assert method in EXERCISES, f"{method} is in Allow: add how to exercise it to EXERCISES"
    codes = EXERCISES[method]()
    assert codes and not set(codes) & NOT_SERVED, (method, codes)


@pytest.mark.parametrize("method", CANDIDATES)
def test_every_method_served_is_listed(method) -> None:
    """Outside a dialog and inside one, a method the UA does not refuse as
    unknown (405, 501) is one Allow lists."""
    allowed = allow_of(lone_ua())
    agent = lone_ua()
    agent.receive_data(out_of_dialog(method), 0.0)
    outside = codes_for(agent, method)
    inside = in_dialog(method) if method != "CANCEL" else []  # a CANCEL is never in a dialog
    answered = set(outside) | set(inside)
    if method in allowed:
        assert answered - {405, 501}, (method, outside, inside)
    else:
        assert answered <= {405, 501}, (method, outside, inside)
        assert 405 in answered or 501 in answered


def test_messages_are_not_advertised_while_they_are_refused() -> None:
    """The defect of issue 15: Allow listed MESSAGE while MESSAGE got 480."""
    agent = lone_ua()
    allowed = allow_of(agent)
    agent.receive_data(out_of_dialog("MESSAGE", extra=b"Content-Type: text/plain\r\n", body=b"hi"), 0.0)
    [code] = codes_for(agent, "MESSAGE")
    assert ("MESSAGE" in allowed) == (code not in NOT_SERVED), (allowed, code)


def test_a_dialog_method_outside_a_dialog_gets_481_not_405() -> None:
    for method, where in SERVED_METHODS.items():
        if where != "dialog":
            continue
        agent = lone_ua()
        agent.receive_data(out_of_dialog(method), 0.0)
        assert codes_for(agent, method) == [481], method
