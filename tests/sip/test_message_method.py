"""Instant messages (RFC 3428) between two UA cores over the fake wire of test_call."""

from __future__ import annotations

import pytest

from webvoice.sip import parse_message
from webvoice.sip.syntax._uri import parse_uri
from webvoice.sip.ua._message_method import (
    MAX_BODY,
    MessageDelivered,
    MessageFailed,
    MessageReceived,
    message_body,
)

from .test_call import Wire

BOB = parse_uri("sip:bob@webvoice.test")


def send(wire: Wire, text: str = "hello bob", content_type: str = "text/plain"):
    body, media = message_body(text, content_type)
    message = wire.a.send_message(BOB, body, media, wire.now)
    for _ in range(4):  # a dropped message (answered by the test's "proxy") ends a flush early
        wire.flush()
    return message


def test_message_out_of_dialog_is_delivered_and_received():
    wire = Wire()
    message = send(wire, "héllo bob\nsecond line")
    (received,) = wire.of("b", MessageReceived)
    assert received.text == "héllo bob\nsecond line"
    assert received.content_type == "text/plain"
    assert str(received.sender.uri) == "sip:alice@webvoice.test"
    assert received.session is None
    (delivered,) = wire.of("a", MessageDelivered)
    assert delivered.message is message and delivered.status_code == 200
    (request,) = wire.sent("a", "MESSAGE")
    assert request.header("Content-Type").param("charset") == "UTF-8"
    assert not request.headers.has("Contact")  # RFC 3428 4: no Contact, no dialog
    (ok,) = wire.sent("b", 200)
    assert ok.to.tag  # the 200 carries a To tag (RFC 3261 8.2.6.2)


def test_message_answered_with_proxy_challenge_is_retried_with_credentials():
    wire = Wire()
    challenged = []

    def drop(sender, message):
        if sender == "a" and getattr(message, "method", "") == "MESSAGE" \
                and not message.header("Proxy-Authorization"):
            challenged.append(message)
            answer = message.response(407, to_tag="proxy", headers=[(
                "Proxy-Authenticate", 'Digest realm="webvoice.test", nonce="abc", qop="auth"')])
            wire.a.receive_data(bytes(answer), wire.now)
            return True
        return False

    wire.drop = drop
    send(wire)
    assert len(challenged) == 1
    first, retry = wire.sent("a", "MESSAGE")
    assert retry.cseq.seq == first.cseq.seq + 1
    assert retry.call_id == first.call_id and retry.from_.tag == first.from_.tag
    assert retry.top_via.branch != first.top_via.branch
    assert 'username="alice"' in str(retry.header("Proxy-Authorization"))
    assert len(wire.of("b", MessageReceived)) == 1
    assert len(wire.of("a", MessageDelivered)) == 1


def test_challenge_after_credentials_fails_with_the_status():
    wire = Wire()

    def drop(sender, message):
        if sender == "a" and getattr(message, "method", "") == "MESSAGE":
            answer = message.response(407, to_tag="proxy", headers=[(
                "Proxy-Authenticate", 'Digest realm="webvoice.test", nonce="abc", qop="auth"')])
            wire.a.receive_data(bytes(answer), wire.now)
            return True
        return False

    wire.drop = drop
    send(wire)
    (failed,) = wire.of("a", MessageFailed)
    assert failed.status_code == 407 and failed.cause == "Authentication Error"
    assert len(wire.sent("a", "MESSAGE")) <= 3


@pytest.mark.parametrize("status, cause", [(404, "Not Found"), (480, "Unavailable"), (486, "Busy")])
def test_refused_message_fails_with_status_and_cause(status, cause):
    wire = Wire()

    def drop(sender, message):
        if sender == "a" and getattr(message, "method", "") == "MESSAGE":
            wire.a.receive_data(bytes(message.response(status, to_tag="x")), wire.now)
            return True
        return False

    wire.drop = drop
    send(wire)
    (failed,) = wire.of("a", MessageFailed)
    assert (failed.status_code, failed.cause) == (status, cause)


def test_no_answer_fails_with_408_after_timer_f():
    wire = Wire()
    wire.drop = lambda sender, message: sender == "a"
    send(wire)
    assert not wire.of("a", MessageFailed)
    wire.advance(64 * wire.a.config.timers.t1 + 1)
    (failed,) = wire.of("a", MessageFailed)
    assert failed.status_code == 408 and failed.cause == "Request Timeout"


def test_not_connected_fails_at_once():
    wire = Wire()
    wire.a.connection_lost(wire.now)
    wire.flush()
    send(wire)
    (failed,) = wire.of("a", MessageFailed)
    assert failed.status_code is None and failed.cause == "Connection Error"


def test_connection_lost_while_waiting_fails_the_message():
    wire = Wire()
    wire.drop = lambda sender, message: sender == "a"
    send(wire)
    wire.a.connection_lost(wire.now)
    wire.flush()
    (failed,) = wire.of("a", MessageFailed)
    assert failed.cause == "Connection Error"


def _raw_message(body: bytes, content_type: str | None = "text/plain", to_tag: str = "") -> bytes:
    ct = f"Content-Type: {content_type}\r\n" if content_type else ""
    return (
        "MESSAGE sip:bob@webvoice.test SIP/2.0\r\n"
        "Via: SIP/2.0/WS x.invalid;branch=z9hG4bK-raw1\r\n"
        "Max-Forwards: 70\r\n"
        "From: \"Eve\" <sip:eve@webvoice.test>;tag=e1\r\n"
        f"To: <sip:bob@webvoice.test>{';tag=' + to_tag if to_tag else ''}\r\n"
        "Call-ID: raw-message-1\r\n"
        "CSeq: 1 MESSAGE\r\n"
        f"{ct}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def _answer(wire: Wire, data: bytes):
    wire.b.receive_data(data, wire.now)
    (answer,) = [parse_message(bytes(m)) for m in wire.b.outgoing() if not isinstance(m, bytes)]
    wire.events["b"].extend(wire.b.events())
    return answer


@pytest.mark.parametrize("body, content_type, status", [
    (b"x" * (MAX_BODY + 1), "text/plain", 413),
    (b"<b>hi</b>", "image/png", 415),
    (b"hi", "application/sdp", 415),
    (b"", "text/plain", 400),
    (b"hi", None, 415),
])
def test_incoming_message_refused(body, content_type, status):
    wire = Wire()
    answer = _answer(wire, _raw_message(body, content_type))
    assert answer.status_code == status
    if status != 415:
        assert answer.to.tag  # ours; the UAS checks (415 for types no part serves) come first
    if status == 415:
        assert answer.header("Accept") is not None
    assert not wire.of("b", MessageReceived)


def test_incoming_message_charset_and_garbage_bytes_are_shown_not_fatal():
    wire = Wire()
    answer = _answer(wire, _raw_message("caf\u00e9".encode("latin-1"), "text/plain;charset=ISO-8859-1"))
    assert answer.status_code == 200
    answer = _answer(wire, _raw_message(b"\xff\xfe bad utf-8", "text/plain"))
    assert answer.status_code == 200
    answer = _answer(wire, _raw_message(b"odd", "text/plain;charset=no-such-charset"))
    assert answer.status_code == 200
    texts = [e.text for e in wire.of("b", MessageReceived)]
    assert texts[0] == "caf\u00e9" and texts[1].endswith(" bad utf-8") and texts[2] == "odd"
    assert wire.of("b", MessageReceived)[0].sender.display_name == "Eve"


def test_incoming_json_and_html_are_accepted():
    wire = Wire()
    assert _answer(wire, _raw_message(b'{"a": 1}', "application/json")).status_code == 200
    assert _answer(wire, _raw_message(b"<b>hi</b>", "text/html")).status_code == 200
    assert [e.content_type for e in wire.of("b", MessageReceived)] == ["application/json", "text/html"]


def test_in_dialog_message_for_unknown_dialog_gets_481():
    wire = Wire()
    answer = _answer(wire, _raw_message(b"hi", "text/plain", to_tag="nosuch"))
    assert answer.status_code == 481


def test_message_in_a_call_both_ways():
    wire = Wire()
    a, b = wire.established()
    body, media = message_body("in call", "text/plain")
    wire.a.send_message_in_call(a, body, media, wire.now)
    wire.flush()
    (received,) = wire.of("b", MessageReceived)
    assert received.session is b and received.text == "in call"
    (request,) = wire.sent("a", "MESSAGE")
    assert request.call_id == a.call_id and request.to.tag == a.dialog.remote_tag
    body, media = message_body("back", "text/plain")
    wire.b.send_message_in_call(b, body, media, wire.now)
    wire.flush()
    (back,) = wire.of("a", MessageReceived)
    assert back.session is a and back.text == "back"
    assert len(wire.of("a", MessageDelivered)) == 1 and len(wire.of("b", MessageDelivered)) == 1
    assert a.is_established and b.is_established


def test_message_in_a_call_needs_an_established_call():
    wire = Wire()
    a, _ = wire.call()
    body, media = message_body("too early", "text/plain")
    with pytest.raises(RuntimeError, match="established"):
        wire.a.send_message_in_call(a, body, media, wire.now)


@pytest.mark.parametrize("text, content_type, error", [
    ("hi", "text/plain\r\nX-Evil: 1", "control character"),
    ("hi", "text/plain\n", "control character"),
    ("hi", "image/png", "not sent"),
    ("hi", "plain", "not a media type"),
    ("hi", "text/plain;charset=latin-1", "UTF-8"),
    ("a\x00b", "text/plain", "control character"),
    ("bell\x07", "text/plain", "control character"),
    ("", "text/plain", "empty"),
    ("x" * (MAX_BODY + 1), "text/plain", "at most"),
    ("é" * (MAX_BODY // 2 + 1), "text/plain", "at most"),
])
def test_bad_message_arguments_raise_before_sending(text, content_type, error):
    with pytest.raises(ValueError, match=error):
        message_body(text, content_type)


def test_message_body_types_and_charset():
    body, media = message_body("tab\tand\r\nbreaks", "text/plain")
    assert body == b"tab\tand\r\nbreaks" and media.param("charset") == "UTF-8"
    _, media = message_body("{}", "application/json")
    assert media.param("charset") is None
    _, media = message_body("x", "text/html; charset=utf-8")
    assert media.param("charset") == "utf-8"
    with pytest.raises(TypeError):
        message_body(b"bytes", "text/plain")


def test_allow_and_options_name_message():
    wire = Wire()
    assert "MESSAGE" in wire.b.parts.allow.split(", ")
