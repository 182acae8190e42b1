"""Subscriptions (RFC 6665), subscriber side, against a scripted notifier on a fake clock.

The notifier is the test: it reads the SUBSCRIBEs the UA core puts on the
wire, answers them and sends NOTIFYs built by hand, as bytes, so what is
tested is what would cross the WebSocket.
"""

from __future__ import annotations

import random

import pytest

from webvoice.sip import parse_message
from webvoice.sip.event._notify import parse_subscription_state
from webvoice.sip.event._subscription_state import (
    SUBSCRIPTION_TRANSITIONS,
    SubscriptionEnded,
    SubscriptionNotified,
    SubState,
    refresh_delay,
)
from webvoice.sip.syntax._uri import parse_uri
from webvoice.sip.ua._ua import UaConfig, UserAgent

BOB = parse_uri("sip:bob@webvoice.test")


class Notifier:
    """alice's UA core, and the far end of her subscriptions, played by the test."""

    def __init__(self):
        self.now = 0.0
        self.ua = UserAgent(UaConfig(user="alice", domain="webvoice.test", password="pa",
                                            keep_alive_interval=0), rng=random.Random(7))
        self.ua.connection_made(self.now)
        self.events: list = []
        self.sent: list = []  # every message from the UA, parsed
        self.cseq = 0

    def drain(self):
        out = [parse_message(bytes(m)) for m in self.ua.outgoing() if not isinstance(m, bytes)]
        self.sent.extend(out)
        self.events.extend(self.ua.events())
        return out

    def subscribes(self):
        return [m for m in self.drain() if getattr(m, "method", None) == "SUBSCRIBE"]

    def subscribe(self, expires=600):
        sub = self.ua.subscribe(BOB, "dialog", ("application/dialog-info+xml",), self.now, expires=expires)
        return sub, self.one_subscribe()

    def one_subscribe(self):
        (request,) = self.subscribes()
        return request

    def answer(self, request, code=200, headers=()):
        response = request.response(code, to_tag="n1" if code < 300 else "x", headers=[
            *(() if code >= 300 else [("Contact", "<sip:bob@192.0.2.9>")]), *headers])
        self.ua.receive_data(bytes(response), self.now)

    def notify(self, request, state="active;expires=600", body=b"", event="dialog", tag="n1",
               content_type="application/dialog-info+xml"):
        """A NOTIFY in the dialog of ``request`` (a SUBSCRIBE we saw); returns the UA's answer."""
        self.cseq += 1
        state_line = f"Subscription-State: {state}\r\n" if state is not None else ""
        ct = f"Content-Type: {content_type}\r\n" if body else ""
        data = (
            f"NOTIFY {request.contact.uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/WS 192.0.2.9;branch=z9hG4bK-n{self.cseq}-{random.random()}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:bob@webvoice.test>;tag={tag}\r\n"
            f"To: {request.header('From')}\r\n"
            f"Call-ID: {request.call_id}\r\n"
            f"CSeq: {self.cseq} NOTIFY\r\n"
            "Contact: <sip:bob@192.0.2.9>\r\n"
            f"Event: {event}\r\n{state_line}{ct}"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self.ua.receive_data(data, self.now)
        (answer,) = [m for m in self.drain() if hasattr(m, "status_code")]
        return answer

    def advance_to_timer(self):
        timer = self.ua.get_timer()
        assert timer is not None
        self.now = timer
        self.ua.handle_timer(self.now)

    def advance(self, seconds):
        end = self.now + seconds
        while (timer := self.ua.get_timer()) is not None and timer <= end:
            self.now = max(self.now, timer)
            self.ua.handle_timer(self.now)
        self.now = end

    def of(self, kind):
        self.drain()
        return [e for e in self.events if isinstance(e, kind)]


def active(expires=600):
    n = Notifier()
    sub, request = n.subscribe(expires)
    n.answer(request, 202, headers=[("Expires", expires)])
    assert n.notify(request, f"active;expires={expires}", b"<x/>").status_code == 200
    assert sub.state is SubState.ACTIVE
    return n, sub, request


def test_subscribe_then_notify_makes_an_active_subscription():
    n = Notifier()
    sub, request = n.subscribe()
    assert request.header("Event") == "dialog" and request.header("Expires") == 600
    assert request.header("Accept").mime == "application/dialog-info+xml"
    assert request.contact is not None and request.to.tag is None
    assert sub.state is SubState.SUBSCRIBING
    n.answer(request, 202, headers=[("Expires", 600)])
    answer = n.notify(request, "active;expires=600", b"<dialog-info/>")
    assert answer.status_code == 200 and answer.to.tag == request.from_.tag
    (notified,) = n.of(SubscriptionNotified)
    assert notified.state == "active" and notified.body == b"<dialog-info/>"
    assert notified.content_type == "application/dialog-info+xml" and notified.subscription is sub
    assert sub.state is SubState.ACTIVE
    assert n.ua.get_timer() == pytest.approx(n.now + refresh_delay(600))


def test_refresh_before_expiry_in_the_dialog():
    n, sub, first = active(600)
    n.advance_to_timer()
    assert n.now == pytest.approx(568)
    refresh = n.one_subscribe()
    assert refresh.call_id == first.call_id and refresh.to.tag == "n1"
    assert refresh.cseq.seq == first.cseq.seq + 1 and refresh.header("Expires") == 600
    assert refresh.uri == parse_uri("sip:bob@192.0.2.9")  # the remote target from Contact
    n.answer(refresh, 200, headers=[("Expires", 300)])  # the notifier may shorten it
    assert n.ua.get_timer() == pytest.approx(n.now + refresh_delay(300))
    assert sub.state is SubState.ACTIVE and not n.of(SubscriptionEnded)


def test_short_grant_refreshes_half_way():
    n, sub, _ = active(40)
    assert n.ua.get_timer() == pytest.approx(n.now + 20)
    assert refresh_delay(3600) == 3568 and refresh_delay(10) == 5


def test_notify_before_the_2xx_makes_the_dialog():
    n = Notifier()
    sub, request = n.subscribe()
    assert n.notify(request, "pending;expires=600").status_code == 200
    assert sub.state is SubState.PENDING and sub.dialog is not None
    n.answer(request, 202, headers=[("Expires", 600)])
    assert n.notify(request, "active;expires=600", b"<x/>").status_code == 200
    assert sub.state is SubState.ACTIVE
    assert [e.state for e in n.of(SubscriptionNotified)] == ["pending", "active"]


def test_423_retries_with_the_servers_minimum():
    n = Notifier()
    sub, request = n.subscribe(60)
    n.answer(request, 423, headers=[("Min-Expires", 120)])
    again = n.one_subscribe()
    assert again.header("Expires") == 120 and again.call_id == request.call_id
    assert again.cseq.seq == request.cseq.seq + 1
    assert sub.expires == 120 and not n.of(SubscriptionEnded)


def test_481_to_a_refresh_starts_a_new_subscription():
    n, sub, first = active()
    n.advance_to_timer()
    refresh = n.one_subscribe()
    n.answer(refresh, 481)
    n.advance(0)
    fresh = n.one_subscribe()
    assert fresh.call_id != first.call_id and fresh.to.tag is None
    (ended,) = n.of(SubscriptionEnded)
    assert ended.will_retry and ended.status_code == 481


def test_refresh_without_answer_retries_after_a_growing_wait():
    n, sub, first = active()
    n.advance_to_timer()
    n.one_subscribe()  # never answered
    n.advance(64 * 0.5)
    (ended,) = n.of(SubscriptionEnded)
    assert ended.will_retry and ended.status_code == 408 and sub.state is SubState.WAITING
    assert n.subscribes() == []
    n.advance(5)
    retry = n.one_subscribe()
    assert retry.call_id != first.call_id
    n.advance(64 * 0.5)  # no answer again: the wait doubles
    n.advance(9.9)
    assert n.subscribes() == []
    n.advance(0.2)
    assert len(n.subscribes()) == 1


def test_no_notify_after_the_2xx_retries():
    n = Notifier()
    sub, request = n.subscribe()
    n.answer(request, 202, headers=[("Expires", 600)])
    n.advance(64 * 0.5)
    (ended,) = n.of(SubscriptionEnded)
    assert ended.will_retry and "no NOTIFY" in ended.reason
    n.advance(5)
    assert n.one_subscribe().call_id != request.call_id


@pytest.mark.parametrize("reason, retry_at", [("deactivated", 0.0), ("timeout", 0.0), ("probation;retry-after=30", 30.0),
                                              ("giveup", 5.0)])
def test_terminated_by_the_notifier_and_subscribed_again(reason, retry_at):
    n, sub, first = active()
    assert n.notify(first, f"terminated;reason={reason}").status_code == 200
    (ended,) = n.of(SubscriptionEnded)
    assert ended.will_retry and sub.state is SubState.WAITING
    if retry_at:
        n.advance(retry_at - 0.1)
        assert n.subscribes() == []
    n.advance(0.2)
    assert n.one_subscribe().call_id != first.call_id


@pytest.mark.parametrize("reason", ["rejected", "noresource", "invariant"])
def test_final_termination_by_the_notifier(reason):
    n, sub, first = active()
    n.notify(first, f"terminated;reason={reason}")
    (ended,) = n.of(SubscriptionEnded)
    assert not ended.will_retry and reason in ended.reason
    assert sub.state is SubState.TERMINATED and sub not in n.ua.subscriptions
    n.advance(1000)
    assert n.subscribes() == []
    assert n.notify(first, "active").status_code == 481


def test_unsubscribe_sends_expires_0_and_ends_on_the_final_notify():
    n, sub, first = active()
    n.ua.unsubscribe(sub, n.now)
    bye = n.one_subscribe()
    assert bye.header("Expires") == 0 and bye.call_id == first.call_id and bye.to.tag == "n1"
    assert sub.state is SubState.UNSUBSCRIBING
    n.answer(bye, 200, headers=[("Expires", 0)])
    assert n.notify(first, "terminated;reason=timeout").status_code == 200
    (ended,) = n.of(SubscriptionEnded)
    assert not ended.will_retry and ended.reason == "unsubscribed"
    assert sub not in n.ua.subscriptions
    n.advance(1000)
    assert n.subscribes() == []


def test_unsubscribe_without_the_final_notify_gives_up_after_timer_f():
    n, sub, first = active()
    n.ua.unsubscribe(sub, n.now)
    n.answer(n.one_subscribe(), 200)
    n.advance(64 * 0.5)
    assert sub.state is SubState.TERMINATED and n.of(SubscriptionEnded)[0].reason == "unsubscribed"


def test_unsubscribe_while_the_first_subscribe_is_in_flight():
    n = Notifier()
    sub, request = n.subscribe()
    n.ua.unsubscribe(sub, n.now)
    assert n.subscribes() == []
    n.answer(request, 202, headers=[("Expires", 600)])
    bye = n.one_subscribe()
    assert bye.header("Expires") == 0 and bye.to.tag == "n1"


def test_reconnect_subscribes_again():
    n, sub, first = active()
    n.ua.connection_lost(n.now)
    (ended,) = n.of(SubscriptionEnded)
    assert ended.will_retry and ended.reason == "connection lost"
    n.advance(1000)
    assert n.subscribes() == []  # nothing to send on: wait for the connection
    n.ua.connection_made(n.now)
    fresh = [m for m in n.drain() if getattr(m, "method", None) == "SUBSCRIBE"]
    assert len(fresh) == 1 and fresh[0].call_id != first.call_id


def test_subscribe_while_disconnected_waits_for_the_connection():
    n = Notifier()
    n.ua.connection_lost(n.now)
    n.drain()
    sub = n.ua.subscribe(BOB, "presence", ("application/pidf+xml",), n.now)
    assert sub.state is SubState.WAITING and n.subscribes() == []
    n.ua.connection_made(n.now)
    assert [m.header("Event") for m in n.drain() if getattr(m, "method", None) == "SUBSCRIBE"] == ["presence"]


def test_proxy_challenge_is_answered():
    n = Notifier()
    sub, request = n.subscribe()
    n.ua.receive_data(bytes(request.response(407, to_tag="p", headers=[
        ("Proxy-Authenticate", 'Digest realm="webvoice.test", nonce="abc", qop="auth"')])), n.now)
    again = n.one_subscribe()
    assert again.header("Proxy-Authorization") is not None and again.call_id == request.call_id
    assert again.cseq.seq == request.cseq.seq + 1


@pytest.mark.parametrize("code", [403, 404, 489, 603])
def test_final_refusals_end_the_subscription(code):
    n = Notifier()
    sub, request = n.subscribe()
    n.answer(request, code)
    (ended,) = n.of(SubscriptionEnded)
    assert ended.status_code == code and not ended.will_retry and sub.state is SubState.TERMINATED
    n.advance(1000)
    assert n.subscribes() == []


def test_503_with_retry_after_waits_that_long():
    n = Notifier()
    sub, request = n.subscribe()
    n.answer(request, 503, headers=[("Retry-After", "20")])
    n.advance(19.9)
    assert n.subscribes() == []
    n.advance(0.2)
    assert len(n.subscribes()) == 1


def test_bad_notifies_are_refused():
    n, sub, first = active()
    assert n.notify(first, "active", event="presence").status_code == 489
    assert n.notify(first, None).status_code == 400
    assert n.notify(first, "active;;;").status_code == 400
    assert sub.state is SubState.ACTIVE
    other = first.replace(headers=first.headers.set("Call-ID", "unknown-call"))
    assert n.notify(other, "active").status_code == 481


def test_parse_subscription_state():
    assert parse_subscription_state("active;expires=60") == ("active", {"expires": "60"})
    assert parse_subscription_state("Terminated ; reason=timeout;retry-after=5") == (
        "terminated", {"reason": "timeout", "retry-after": "5"})
    assert parse_subscription_state("") is None
    assert parse_subscription_state("active;") is None or parse_subscription_state("active;")[0] == "active"


def test_transition_table_covers_every_state():
    assert set(SUBSCRIPTION_TRANSITIONS) == set(SubState)
    assert SUBSCRIPTION_TRANSITIONS[SubState.TERMINATED] == frozenset()
