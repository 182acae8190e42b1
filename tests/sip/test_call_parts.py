"""The parts a call session is made of, one by one: their state, their deadlines.

``CallSession`` owns its parts (``outgoing``, ``incoming``, ``offers``,
``timer``, ``requests``, ``info``, ``refer_subscriber``, ``refer_notifier``);
the tests here drive a part through its own entry points (its
``handle_timer`` at its own deadline, its ``receive_notify``) over the two
UAs of :class:`tests.sip.test_call.Wire`, and check that the session's
deadline is exactly the earliest of its parts'. The session's own moves are
the table of ``session/_state.py``, checked here as a table.
"""

from __future__ import annotations

import re

import pytest

from tests.sip.test_call import ANSWER, HOLD, HOLD_ANSWER, OFFER, Wire, run
from webvoice.sip import NameAddr
from webvoice.sip.event._notify import subscription_state
from webvoice.sip.session._events import (
    CallEnded,
    CallFailed,
    IncomingCall,
    ReferProgress,
    ReferReceived,
    ReofferAnswered,
    ReofferFailed,
)
from webvoice.sip.session._state import (
    CALL_TRANSITIONS,
    CallInput,
    CallState,
    format_call_table,
)
from webvoice.sip.syntax._uri import parse_uri

LIVE = [s for s in CallState if s is not CallState.TERMINATED]


# --- the session's table ------------------------------------------------------------------------


@pytest.mark.parametrize("state", LIVE)
def test_every_live_state_ends_both_ways_and_nothing_leaves_terminated(state):
    assert CALL_TRANSITIONS[(state, CallInput.FAIL)] is CallState.TERMINATED
    assert CALL_TRANSITIONS[(state, CallInput.END)] is CallState.TERMINATED
    assert not [key for key in CALL_TRANSITIONS if key[0] is CallState.TERMINATED]


def test_the_table_is_the_only_way_states_change():
    w = Wire()
    a, b = w.call()
    assert (a.state, b.state) == (CallState.RINGING, CallState.INCOMING)
    assert not b.move(CallInput.ACK)  # no ACK before our 200: no move, no change
    assert b.state is CallState.INCOMING
    with pytest.raises(RuntimeError, match="cannot accept: the call is ringing"):
        a.accept(ANSWER, w.now)
    run(w.b, w, lambda: b.accept(ANSWER, w.now))
    assert a.state is b.state is CallState.ESTABLISHED
    run(w.a, w, lambda: a.terminate(w.now))
    assert a.state is b.state is CallState.TERMINATED
    assert not a.move(CallInput.END) and not a.move(CallInput.CONFIRMED)
    assert [type(e) for e in w.of("a", CallEnded)] == [CallEnded]  # ended once


def test_the_table_reads_as_text():
    text = format_call_table()
    assert len(text.splitlines()) == len(CALL_TRANSITIONS)
    assert re.search(r"^incoming +--accept\(\)-->  answered$", text, re.M)


# --- each part keeps its own deadlines -------------------------------------------------------------


def _timed(session):
    return [part.get_timer() for part in (session.incoming, session.offers, session.timer, session.refer_subscriber)
            if part is not None]


def test_the_sessions_deadline_is_the_earliest_of_its_parts():
    w = Wire()
    a, b = w.call()
    assert b.incoming.get_timer() == pytest.approx(w.now + 60.0)  # no-answer, the incoming part's
    assert b.get_timer() == min(t for t in _timed(b) if t is not None)
    run(w.b, w, lambda: b.accept(ANSWER, w.now))
    assert b.incoming.get_timer() is None  # ACK came: no 2xx resend, no ACK wait
    assert a.get_timer() is None and b.get_timer() is None  # no session timer asked for


def test_the_incoming_part_answers_480_at_its_own_no_answer_deadline():
    w = Wire(no_answer_timeout=5.0)
    _, b = w.call()
    deadline = b.incoming.get_timer()
    b.incoming.handle_timer(deadline - 0.01)
    assert b.state is CallState.INCOMING
    b.incoming.handle_timer(deadline)
    w.b._pump(deadline)
    w.flush()
    assert w.sent("b", 480) and w.of("b", CallFailed)[-1].cause == "No Answer"
    assert b.get_timer() is None


def _timed_call(w, refresher):
    session = w.a.call(parse_uri("sip:bob@webvoice.test"), OFFER, w.now,
                       headers=(("Session-Expires", f"120;refresher={refresher}"),))
    w.flush()
    b = w.of("b", IncomingCall)[-1].session
    run(w.b, w, lambda: b.accept(ANSWER, w.now))
    assert session.is_established and b.is_established
    return session, b


def test_the_session_timer_part_sends_the_refresh_at_its_own_deadline():
    w = Wire()
    a, _ = _timed_call(w, "uac")
    assert a.timer.we_refresh and a.timer.refresh_at == pytest.approx(w.now + 60)
    assert a.get_timer() == a.timer.get_timer()  # the session asks its part
    updates = len(w.sent("a", "UPDATE"))
    w.now = a.timer.refresh_at
    a.timer.handle_timer(w.now)  # the part alone, not the session, fires it
    w.a._pump(w.now)
    w.flush()
    assert len(w.sent("a", "UPDATE")) == updates + 1
    assert a.timer.refresh_at == pytest.approx(w.now + 60)  # re-armed by the 2xx


def test_the_session_timer_part_ends_the_call_at_its_own_expiry():
    w = Wire()
    a, b = _timed_call(w, "uac")
    assert not b.timer.we_refresh and b.timer.expire_at == pytest.approx(w.now + 120 - 32)
    w.now = b.timer.expire_at
    b.timer.handle_timer(w.now)
    w.b._pump(w.now)
    w.flush()
    [ended] = w.of("b", CallEnded)
    assert (ended.cause, ended.originator, ended.status_code) == ("Request Timeout", "local", 408)
    assert w.sent("b", "BYE") and a.is_ended


def test_the_glare_wait_belongs_to_the_offer_answer_part():
    w = Wire()
    a, b = w.established()
    a.reoffer(HOLD, w.now)
    b.reoffer(HOLD.replace("192.0.2.1", "192.0.2.2"), w.now)
    w.a._pump(w.now)
    w.b._pump(w.now)
    w.flush()
    assert w.sent("a", 491) and w.sent("b", 491)
    assert a.offers.get_timer() is not None and a.get_timer() == a.offers.get_timer()
    assert not a.is_ready_to_reoffer  # the offer waits for its retry
    assert a.timer.get_timer() is None  # and no other part holds that wait
    w.drop = lambda side, m: side == "b" and getattr(m, "method", None) == "INVITE"  # b's retry stays out
    invites = len(w.sent("a", "INVITE"))
    w.now = a.offers.get_timer()
    a.offers.handle_timer(w.now)
    w.a._pump(w.now)
    w.flush()
    assert len(w.sent("a", "INVITE")) == invites + 1 and a.offers.get_timer() is None
    run(w.b, w, lambda: b.answer_offer(HOLD_ANSWER, w.now))
    assert [e.sdp for e in w.of("a", ReofferAnswered)] == [HOLD_ANSWER]


def test_a_challenge_we_cannot_answer_fails_the_reoffer_once():
    """A 401 to a re-INVITE that our credentials cannot answer (a scheme we do
    not speak) ends that re-offer with one ReofferFailed: the application hears
    of it once, and may offer again."""
    w = Wire()
    a, _ = w.established()
    w.drop = lambda side, m: side == "a" and getattr(m, "method", None) == "INVITE"
    run(w.a, w, lambda: a.reoffer(HOLD, w.now))
    invite = w.sent("a", "INVITE")[-1]
    challenge = invite.response(401, headers=[("WWW-Authenticate", 'Basic realm="webvoice.test"')])
    w.a.receive_data(bytes(challenge), w.now)
    w.flush()
    [failed] = w.of("a", ReofferFailed)
    assert (failed.status_code, failed.cause) == (401, "Authentication Error")
    assert a.is_ready_to_reoffer and a.is_established


# --- REFER's parts on the subscription rules ------------------------------------------------------------


def _transfer(w):
    a, b = w.established()
    run(w.a, w, lambda: a.refer(NameAddr(parse_uri("sip:carol@webvoice.test")), w.now))
    [received] = w.of("b", ReferReceived)
    return a, b


def test_the_subscriber_keeps_the_implicit_subscription_until_the_final_notify():
    w = Wire()
    a, b = _transfer(w)
    assert not a.refer_subscriber.active  # no answer yet
    run(w.b, w, lambda: b.accept_refer(w.now))
    assert a.refer_subscriber.active and b.refer_notifier.active
    notify = [m for m in w.sent("b", "NOTIFY")][-1]
    assert notify.header("Subscription-State") == subscription_state("active", expires=60) == "active;expires=60"
    assert a.refer_subscriber.get_timer() == pytest.approx(w.now + 60)
    run(w.b, w, lambda: b.notify_refer(200, "OK", w.now, final=True))
    assert w.sent("b", "NOTIFY")[-1].header("Subscription-State") == "terminated;reason=noresource"
    assert not a.refer_subscriber.active and not b.refer_notifier.active
    assert a.refer_subscriber.get_timer() is None
    assert [(p.status_code, p.final) for p in w.of("a", ReferProgress)] == [(100, False), (200, True)]


def test_the_implicit_subscription_lapses_at_the_expiry_the_notifier_gave():
    w = Wire()
    a, b = _transfer(w)
    run(w.b, w, lambda: b.accept_refer(w.now))
    expiry = a.refer_subscriber.get_timer()
    a.refer_subscriber.handle_timer(expiry)
    assert not a.refer_subscriber.active and a.get_timer() is None
    assert [p.final for p in w.of("a", ReferProgress)] == [False]  # nothing new reported


@pytest.mark.parametrize(("headers", "code"), [
    ([("Event", "presence"), ("Subscription-State", "active")], 489),
    ([("Event", "refer")], 400),
])
def test_a_notify_is_read_by_the_subscription_rules(headers, code):
    """The checks are event/_notify.py's, the same a SUBSCRIBE's subscription uses."""
    w = Wire()
    a, b = _transfer(w)
    notify = b.dialog.create_request("NOTIFY", via=w.b.new_via(), contact=w.b.contact(), headers=headers,
                                     body=b"SIP/2.0 180 Ringing\r\n", content_type="message/sipfrag")
    w.b.transactions.send_request(notify, w.now)
    w.flush()
    assert [m.status_code for m in w.sent("a", code) if m.cseq.method == "NOTIFY"] == [code]
    assert not w.of("a", ReferProgress)
