"""Calls between two UA cores over a fake wire with a fake clock.

Every message crosses as bytes and is parsed again, so what is tested is what
would go on a WebSocket. The "proxy" is a plain pipe between the two UAs.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from webvoice.sip import parse_message
from webvoice.sip.auth._client import verify_digest
from webvoice.sip.session._call import CallState
from webvoice.sip.session._events import (
    CallConfirmed,
    CallEnded,
    CallFailed,
    CallProgress,
    DtmfReceived,
    IncomingCall,
    RemoteAnswer,
    RemoteHold,
    RemoteOffer,
    ReofferAnswered,
)
from webvoice.sip.syntax._uri import parse_uri
from webvoice.sip.ua._ua import UaConfig, UserAgent

OFFER = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
ANSWER = OFFER.replace("192.0.2.1", "192.0.2.2").replace("4000", "5000")
HOLD = OFFER.replace("o=- 1 1", "o=- 1 2").replace("a=sendrecv", "a=sendonly")
HOLD_ANSWER = ANSWER.replace("o=- 1 1", "o=- 1 2").replace("a=sendrecv", "a=recvonly")


class Wire:
    """Two UAs joined back to back, a clock, and a record of what crossed."""

    def __init__(self, **config):
        self.now = 0.0
        self.a = UserAgent(UaConfig(user="alice", domain="webvoice.test", password="pa", **config),
                           rng=random.Random(1))
        self.b = UserAgent(UaConfig(user="bob", domain="webvoice.test", password="pb", **config),
                           rng=random.Random(2))
        for ua in (self.a, self.b):
            ua.connection_made(self.now)
        self.log: list[tuple[str, object]] = []
        self.events = {"a": [], "b": []}
        self.drop = lambda sender, message: False
        self.challenge_invites = False

    def flush(self, rounds: int = 50) -> None:
        for _ in range(rounds):
            moved = False
            for name, ua, peer in (("a", self.a, self.b), ("b", self.b, self.a)):
                for item in ua.outgoing():
                    if isinstance(item, bytes):
                        continue
                    message = parse_message(bytes(item))
                    self.log.append((name, message))
                    if self.drop(name, message):
                        continue
                    if self.challenge_invites and name == "a" and getattr(message, "method", "") == "INVITE" \
                            and not message.header("Proxy-Authorization"):
                        answer = message.response(407, to_tag="proxy", headers=[(
                            "Proxy-Authenticate", 'Digest realm="webvoice.test", nonce="abc", qop="auth"')])
                        self.a.receive_data(bytes(answer), self.now)
                        moved = True
                        continue
                    peer.receive_data(bytes(message), self.now)
                    moved = True
                self.events[name].extend(ua.events())
            if not moved:
                return

    def advance(self, seconds: float, step: float = 0.05) -> None:
        end = self.now + seconds
        while True:
            deadlines = [t for t in (self.a.get_timer(), self.b.get_timer()) if t is not None and t <= end]
            if not deadlines:
                break
            self.now = max(self.now, min(deadlines))
            for ua in (self.a, self.b):
                timer = ua.get_timer()
                if timer is not None and timer <= self.now:
                    ua.handle_timer(self.now)
            self.flush()
        self.now = end
        self.flush()

    def of(self, side: str, kind):
        return [e for e in self.events[side] if isinstance(e, kind)]

    def sent(self, side: str, method_or_code):
        return [m for s, m in self.log if s == side and (getattr(m, "method", None) == method_or_code
                                                          or getattr(m, "status_code", None) == method_or_code)]

    def call(self):
        session = self.a.call(parse_uri("sip:bob@webvoice.test"), OFFER, self.now)
        self.flush()
        incoming = self.of("b", IncomingCall)[-1]
        return session, incoming.session

    def established(self):
        a, b = self.call()
        b.accept(ANSWER, self.now)
        self.b._pump(self.now)
        self.flush()
        assert a.is_established and b.is_established
        return a, b


def run(ua: UserAgent, wire: Wire, action) -> None:
    action()
    ua._pump(wire.now)
    wire.flush()


def test_basic_call_and_bye_from_caller():
    w = Wire()
    a, b = w.call()
    [incoming] = w.of("b", IncomingCall)
    assert incoming.offer == OFFER
    assert str(incoming.request.from_.uri) == "sip:alice@webvoice.test"
    assert b.state is CallState.INCOMING
    [ringing] = w.of("a", CallProgress)
    assert ringing.response.status_code == 180 and a.state is CallState.RINGING
    run(w.b, w, lambda: b.accept(ANSWER, w.now))
    [confirmed_a] = w.of("a", CallConfirmed)
    [confirmed_b] = w.of("b", CallConfirmed)
    assert confirmed_a.sdp == ANSWER and confirmed_b.sdp is None
    assert len(w.sent("a", "ACK")) == 1
    run(w.a, w, lambda: a.terminate(w.now))
    assert w.of("b", CallEnded)[0].cause == "Bye" and w.of("b", CallEnded)[0].originator == "remote"
    assert w.of("a", CallEnded)[0].cause == "Terminated"
    assert w.sent("b", 200)[-1].cseq.method == "BYE"
    assert a.is_ended and b.is_ended
    assert w.a.sessions == [] and w.b.sessions == [] and len(w.a.dialogs) == 0 and len(w.b.dialogs) == 0


def test_bye_from_callee():
    w = Wire()
    a, b = w.established()
    run(w.b, w, lambda: b.terminate(w.now))
    assert w.of("a", CallEnded)[0].cause == "Bye"
    assert w.of("b", CallEnded)[0].originator == "local"


def test_decline_is_busy():
    w = Wire()
    a, b = w.call()
    run(w.b, w, lambda: b.reject(486, w.now))
    [failed] = w.of("a", CallFailed)
    assert (failed.cause, failed.status_code) == ("Busy", 486)
    assert len(w.sent("a", "ACK")) == 1  # the ACK of the 486, from the transaction
    assert w.a.sessions == [] and w.b.sessions == []


def test_cancel_before_answer():
    w = Wire()
    a, b = w.call()
    run(w.a, w, lambda: a.terminate(w.now))
    assert len(w.sent("a", "CANCEL")) == 1
    [b_failed] = w.of("b", CallFailed)
    assert b_failed.cause == "Canceled"
    [a_failed] = w.of("a", CallFailed)
    assert a_failed.cause == "Canceled" and a_failed.originator == "local"


def test_cancel_waits_for_a_provisional():
    w = Wire()
    w.drop = lambda side, m: side == "b" and getattr(m, "status_code", 0) in (100, 180)
    a, b = w.call()
    run(w.a, w, lambda: a.terminate(w.now))
    assert w.sent("a", "CANCEL") == []
    w.drop = lambda side, m: False
    b.ctx.send_response(b.incoming.server_tx, b.incoming.invite.response(180, to_tag=b.local_tag), w.now)
    w.b._pump(w.now)
    w.flush()
    assert len(w.sent("a", "CANCEL")) == 1
    assert w.of("a", CallFailed)[0].cause == "Canceled"


def test_no_answer():
    w = Wire(no_answer_timeout=30)
    a, b = w.call()
    w.advance(31)
    assert w.of("b", CallFailed)[0].cause == "No Answer"
    assert w.of("a", CallFailed)[0].status_code == 480


def test_200_is_retransmitted_until_the_ack():
    w = Wire()
    a, b = w.call()
    acks = []
    w.drop = lambda side, m: side == "a" and getattr(m, "method", "") == "ACK" and len(acks) < 2 and not acks.append(m)
    run(w.b, w, lambda: b.accept(ANSWER, w.now))
    assert b.state is CallState.ANSWERED
    w.advance(0.5)
    assert len([m for m in w.sent("b", 200) if m.cseq.method == "INVITE"]) == 2
    w.advance(1.0)
    assert b.state is CallState.ESTABLISHED  # the third 200 got its ACK through


def test_no_ack_ends_the_call():
    w = Wire()
    a, b = w.call()
    w.drop = lambda side, m: side == "a" and getattr(m, "method", "") == "ACK"
    run(w.b, w, lambda: b.accept(ANSWER, w.now))
    w.advance(40)
    assert w.of("b", CallEnded)[0].cause == "No ACK"
    assert len(w.sent("b", "BYE")) == 1


def test_hold_by_reinvite_and_unhold():
    w = Wire()
    a, b = w.established()
    run(w.a, w, lambda: a.reoffer(HOLD, w.now))
    [offer] = w.of("b", RemoteOffer)
    assert offer.sdp == HOLD and offer.method == "INVITE"
    assert w.of("b", RemoteHold)[-1].held is True
    assert not a.is_ready_to_reoffer
    run(w.b, w, lambda: b.answer_offer(HOLD_ANSWER, w.now))
    [answered] = w.of("a", ReofferAnswered)
    assert answered.sdp == HOLD_ANSWER
    assert len(w.sent("a", "ACK")) == 2 and a.is_ready_to_reoffer
    run(w.a, w, lambda: a.reoffer(OFFER.replace("o=- 1 1", "o=- 1 3"), w.now))
    assert w.of("b", RemoteHold)[-1].held is False


def test_hold_by_update():
    w = Wire()
    a, b = w.established()
    run(w.a, w, lambda: a.reoffer(HOLD, w.now, use_update=True))
    assert w.of("b", RemoteOffer)[0].method == "UPDATE"
    run(w.b, w, lambda: b.answer_offer(HOLD_ANSWER, w.now))
    assert w.of("a", ReofferAnswered)[0].sdp == HOLD_ANSWER
    assert len(w.sent("a", "ACK")) == 1  # UPDATE needs none


def test_glare_is_resolved_by_491_and_retry():
    w = Wire()
    a, b = w.established()
    a.reoffer(HOLD, w.now)
    b.reoffer(HOLD.replace("192.0.2.1", "192.0.2.2"), w.now)
    w.a._pump(w.now)
    w.b._pump(w.now)
    w.flush()
    assert len([m for m in w.sent("a", 491) + w.sent("b", 491)]) == 2
    # each side waits (14.1) and retries; answer whatever offer arrives
    for _ in range(10):
        w.advance(1.0)
        for side, session, ua in (("a", a, w.a), ("b", b, w.b)):
            if session.offers.remote_offer_tx is not None:
                run(ua, w, lambda: session.answer_offer(HOLD_ANSWER, w.now))
    assert w.of("a", ReofferAnswered) and w.of("b", ReofferAnswered)


@pytest.mark.parametrize("seed", range(16))
def test_glare_retry_waits_follow_rfc3261_14_1(seed):
    """After a 491, the owner of the Call-ID (who placed the call) retries after
    2.1-4 s, the other side after 0-2 s (RFC 3261 14.1), on the fake clock."""
    random.seed(seed)
    w = Wire()
    a, b = w.established()  # a placed the call: a generated the Call-ID
    a.reoffer(HOLD, w.now)
    b.reoffer(HOLD.replace("192.0.2.1", "192.0.2.2"), w.now)
    w.a._pump(w.now)
    w.b._pump(w.now)
    w.flush()
    assert len(w.sent("a", 491)) == 1 and len(w.sent("b", 491)) == 1
    glare_at = w.now
    before = {side: len(w.sent(side, "INVITE")) for side in "ab"}
    # Retries vanish on the wire, so that neither side's wait is cut short by
    # the other's offer arriving.
    w.drop = lambda side, m: getattr(m, "method", None) == "INVITE"
    waited: dict[str, float] = {}
    step = 0.01
    while len(waited) < 2 and w.now < glare_at + 6:
        w.advance(step)
        for side in "ab":
            if side not in waited and len(w.sent(side, "INVITE")) > before[side]:
                waited[side] = w.now - glare_at
    assert 2.1 <= waited["a"] <= 4.0 + step, waited
    assert 0.0 <= waited["b"] <= 2.0 + step, waited


def test_info_dtmf_both_ways():
    w = Wire()
    a, b = w.established()
    for tone in "123#":
        run(w.a, w, lambda: a.send_info("application/dtmf-relay", f"Signal={tone}\r\nDuration=160\r\n".encode(), w.now))
    assert [(e.tone, e.duration) for e in w.of("b", DtmfReceived)] == [("1", 160), ("2", 160), ("3", 160), ("#", 160)]
    run(w.b, w, lambda: b.send_info("application/dtmf-relay", b"Signal=*\r\nDuration=100\r\n", w.now))
    assert [e.tone for e in w.of("a", DtmfReceived)] == ["*"]


def test_offerless_invite_offer_in_200_answer_in_ack():
    """RFC 3261 13.2.1 / 13.3.1: to an INVITE without SDP, our 200 carries the
    offer and the caller's ACK the answer; both checked on the wire."""
    w = Wire()
    w.a.call(parse_uri("sip:bob@webvoice.test"), OFFER, w.now)
    # The caller's INVITE, rewritten on the wire to carry no SDP.
    invite = [m for m in w.a.outgoing() if not isinstance(m, bytes)][0]
    bare = invite.replace(body=b"").with_header_set("Content-Type", None)
    w.b.receive_data(bytes(bare), w.now)
    [incoming] = [e for e in w.b.events() if isinstance(e, IncomingCall)]
    assert incoming.offer is None
    w.drop = lambda side, m: side == "a"  # the caller below is played by hand
    run(w.b, w, lambda: incoming.session.accept(ANSWER, w.now))
    [ok] = w.sent("b", 200)
    assert ok.cseq.method == "INVITE" and str(ok.header("Content-Type")) == "application/sdp"
    assert ok.body.decode() == ANSWER  # our offer, in the 200
    caller = w.a.sessions[0]
    caller.dialog.receive_response(bare, ok)
    ack = caller.dialog.create_ack(bare, via=w.a.new_via(), body=OFFER.encode(), content_type="application/sdp")
    w.b.receive_data(bytes(ack), w.now)
    confirmed = [e for e in w.b.events() if isinstance(e, CallConfirmed)]
    assert [c.sdp for c in confirmed] == [OFFER]  # the answer, from the ACK
    assert incoming.session.is_established and incoming.session.remote_sdp == OFFER


def test_invite_answered_with_proxy_credentials():
    w = Wire()
    w.challenge_invites = True
    a, b = w.call()
    invites = w.sent("a", "INVITE")
    assert len(invites) == 2 and invites[1].cseq.seq == invites[0].cseq.seq + 1
    assert verify_digest(invites[1].header("Proxy-Authorization"), method="INVITE", uri=str(invites[1].uri), password="pa")
    run(w.b, w, lambda: b.accept(ANSWER, w.now))
    assert a.is_established


def test_max_calls_answers_486_without_telling_the_application():
    w = Wire(max_calls=1)
    w.a.config = dataclasses.replace(w.a.config, max_calls=None)
    w.established()
    w.a.call(parse_uri("sip:bob@webvoice.test"), OFFER, w.now)
    w.flush()
    assert len(w.of("b", IncomingCall)) == 1
    assert w.of("a", CallFailed)[-1].status_code == 486
    with pytest.raises(RuntimeError, match="no free line"):
        w.b.call(parse_uri("sip:alice@webvoice.test"), OFFER, w.now)


def test_session_timer_refresh_by_update_and_expiry():
    w = Wire()
    session = w.a.call(parse_uri("sip:bob@webvoice.test"), OFFER, w.now,
                       headers=(("Session-Expires", "90"), ("Min-SE", "90")))
    w.flush()
    b = w.of("b", IncomingCall)[0].session
    run(w.b, w, lambda: b.accept(ANSWER, w.now))
    ok = [m for m in w.sent("b", 200) if m.cseq.method == "INVITE"][0]
    assert ok.header("Session-Expires") == "90;refresher=uac" and "timer" in ok.header_all("Require")
    w.advance(46)
    updates = w.sent("a", "UPDATE")
    assert len(updates) == 1 and updates[0].body == b""
    assert session.is_established and b.is_established
    # alice stops refreshing: bob ends the call before the interval runs out
    w.drop = lambda side, m: side == "a" and getattr(m, "method", "") == "UPDATE"
    w.advance(90)
    assert w.of("b", CallEnded)[0].cause == "Request Timeout"


def test_in_dialog_request_for_unknown_dialog_gets_481():
    w = Wire()
    a, b = w.established()
    bye = a.dialog.create_request("BYE", via=w.a.new_via())
    w.b.receive_data(bytes(bye.with_header_set("Call-ID", "unknown@x")), w.now)
    w.flush()
    assert w.sent("b", 481)


def test_options_in_dialog():
    w = Wire()
    a, b = w.established()
    options = a.dialog.create_request("OPTIONS", via=w.a.new_via())
    w.a.transactions.send_request(options, w.now)
    w.flush()
    assert w.sent("b", 200)[-1].cseq.method == "OPTIONS"


def test_remote_answer_in_ack_after_offerless_reinvite():
    w = Wire()
    a, b = w.established()
    reinvite = b.dialog.create_request("INVITE", via=w.b.new_via(), contact=w.b.contact())
    w.b.transactions.send_request(reinvite, w.now)
    w.flush()
    [offer] = w.of("a", RemoteOffer)
    assert offer.sdp is None
    run(w.a, w, lambda: a.answer_offer(OFFER.replace("o=- 1 1", "o=- 1 2"), w.now))
    # bob's side would ACK with an answer; do it by hand with a body
    ok = [m for m in w.log if m[0] == "a" and getattr(m[1], "status_code", 0) == 200 and m[1].cseq.method == "INVITE"][-1][1]
    b.dialog.receive_response(reinvite, ok)
    ack = b.dialog.create_ack(reinvite, via=w.b.new_via(), body=ANSWER.encode(), content_type="application/sdp")
    w.a.receive_data(bytes(ack), w.now)
    w.flush()
    assert w.of("a", RemoteAnswer)[0].sdp == ANSWER


def test_the_2xx_is_resent_without_its_transaction_after_the_connection_drops():
    """RFC 3261 13.3.1.4: the UAS core resends the 2xx until the ACK comes. When
    the connection drops before the ACK, the transport error ends the server
    transaction; the resends go on statelessly (to the new flow) instead of
    raising out of handle_timer, and a late ACK still confirms the call."""
    w = Wire()
    a, b = w.call()
    w.drop = lambda sender, message: getattr(message, "method", None) == "ACK"
    run(w.b, w, lambda: b.accept(ANSWER, w.now))
    w.b.connection_lost(w.now)
    w.b.connection_made(w.now)
    oks_before = len(w.sent("b", 200))
    w.advance(2.0)  # timer handling must not raise
    assert len(w.sent("b", 200)) > oks_before
    assert all(ok.cseq.method == "INVITE" for ok in w.sent("b", 200))
    w.drop = lambda sender, message: False
    w.advance(4.0)  # the next resend draws the ACK again, which now arrives
    assert b.is_established and w.of("b", CallConfirmed)


def test_a_ringing_call_whose_transaction_died_with_the_connection_times_out_quietly():
    """The same class: the no-answer timer's 480 finds its transaction gone
    (transport error while ringing); the call fails, nothing raises."""
    w = Wire()
    a, b = w.call()
    w.b.connection_lost(w.now)
    w.b.connection_made(w.now)
    w.advance(200.0)
    assert b.is_ended and w.of("b", CallFailed)


def test_a_target_refresh_answered_480_is_tried_again_until_the_peer_is_back():
    """After a server restart our UPDATE may reach the proxy before the peer has
    registered again (480): the refresh is owed, tried again after 1, 2, 4... s,
    and the peer learns our new Contact once it is back."""
    w = Wire()
    a, b = w.established()
    refused = []

    def peer_not_back(sender, message):
        if sender == "b" and getattr(message, "method", None) == "UPDATE" and len(refused) < 2:
            refused.append(message)
            w.b.receive_data(bytes(message.response(480)), w.now)
            return True
        return False

    w.drop = peer_not_back
    w.b.connection_lost(w.now)
    w.b.connection_made(w.now)
    w.flush()
    assert len(refused) == 1 and b.is_established
    w.advance(0.9)
    assert len(w.sent("b", "UPDATE")) == 1  # not before the first wait
    w.advance(3.0)
    assert len(refused) == 2 and len(w.sent("b", "UPDATE")) == 3
    assert [m.cseq.method for m in w.sent("a", 200)][-1] == "UPDATE"  # the third reached alice
    assert b.is_established and a.is_established


def test_a_target_refresh_gives_up_after_its_tries():
    w = Wire()
    a, b = w.established()

    def never_back(sender, message):
        if sender == "b" and getattr(message, "method", None) == "UPDATE":
            w.b.receive_data(bytes(message.response(480)), w.now)
            return True
        return False

    w.drop = never_back
    w.b.connection_lost(w.now)
    w.b.connection_made(w.now)
    w.advance(120.0)
    assert len(w.sent("b", "UPDATE")) == 6  # the first and five more
    assert b.is_established  # the call itself goes on: media does not need the proxy


@pytest.mark.parametrize("status", [200, 401, 422, 491])
def test_an_answer_to_our_reinvite_after_the_peers_bye_is_moot(status):
    """The peer's BYE crossed our re-INVITE: its answer, whatever it is, comes to a
    dialog that is over. Nothing is sent in it (no ACK, no retry, no glare retry
    later) and nothing raises (found by fuzzing: the 2xx's ACK raised out of
    receive_data)."""
    w = Wire()
    a, b = w.established()
    w.drop = lambda sender, message: sender == "a" and getattr(message, "method", "") == "INVITE"
    run(w.a, w, lambda: a.reoffer(HOLD, w.now))
    reinvite = w.sent("a", "INVITE")[-1]
    run(w.b, w, lambda: b.terminate(w.now))
    assert a.is_ended
    headers = {200: [("Contact", "<sip:bob@192.0.2.2>"), ("Content-Type", "application/sdp")],
               401: [("WWW-Authenticate", 'Digest realm="webvoice.test", nonce="n1"')],
               422: [("Min-SE", "1800")], 491: []}[status]
    body = HOLD_ANSWER.encode() if status == 200 else b""
    before = len(w.log)
    w.a.receive_data(bytes(reinvite.response(status, to_tag=reinvite.to.tag, headers=headers, body=body)), w.now)
    w.advance(10)
    sent = [m.method for side, m in w.log[before:] if side == "a" and hasattr(m, "method")]
    # (a non-2xx final answer is ACKed by its INVITE transaction, as RFC 3261 17.1.1.3 says)
    assert sent == ([] if status == 200 else ["ACK"])


@pytest.mark.parametrize("answer", ["200", "timeout"])
def test_the_bye_to_a_fork_that_answered_second_leaves_the_call_alone(answer):
    """RFC 3261 13.2.2.4: a second 2xx from another fork is ACKed and hung up.
    That BYE's answer (or its timeout) ends that fork's dialog only, not the
    call's (found by fuzzing: the call stayed "established" on a dialog that
    was gone, its peer's requests got 481 and its refreshes raised)."""
    w = Wire()
    a, b = w.established()
    ok = w.sent("b", 200)[0]
    assert ok.cseq.method == "INVITE"
    forked = ok.replace(headers=ok.headers.set("To", ok.to.with_tag("fork2")))
    w.a.receive_data(bytes(forked), w.now)
    out = [m for m in w.a.outgoing() if not isinstance(m, bytes)]
    [bye] = [m for m in out if m.method == "BYE"]
    assert bye.to.tag == "fork2"
    if answer == "200":
        w.a.receive_data(bytes(bye.response(200)), w.now)
    else:
        w.advance(40)  # Timer F: the fork never answers
    assert a.is_established and a.dialog.remote_tag == ok.to.tag and w.a.dialogs.get(a.dialog.id) is a.dialog
    run(w.b, w, lambda: b.terminate(w.now))  # the real peer can still hang up in the call's dialog
    assert a.is_ended and w.sent("a", 200)[-1].cseq.method == "BYE"


@pytest.mark.parametrize("retry_tag", ["t1", "t2"])
def test_an_invite_retried_after_a_challenge_leaves_no_early_dialog_behind(retry_tag):
    """A 180 made an early dialog, then a 407 asked for credentials: the INVITE
    goes again with the next CSeq, and the first one's early dialogs end with
    it (found by fuzzing: the retry's 180 from the same To tag raised "a live
    dialog ... is already registered", and one from another tag left the first
    early dialog in the store for good)."""
    ua = UserAgent(UaConfig(user="alice", domain="webvoice.test", password="pa"), rng=random.Random(1))
    ua.connection_made(0.0)
    session = ua.call(parse_uri("sip:bob@webvoice.test"), OFFER, 0.0)
    [invite] = [parse_message(bytes(m)) for m in ua.outgoing() if getattr(m, "method", None) == "INVITE"]
    contact = [("Contact", "<sip:bob@192.0.2.2>")]
    ua.receive_data(bytes(invite.response(180, to_tag="t1", headers=contact)), 0.1)
    assert len(ua.dialogs) == 1
    ua.receive_data(bytes(invite.response(407, to_tag="proxy", headers=[
        ("Proxy-Authenticate", 'Digest realm="webvoice.test", nonce="abc", qop="auth"')])), 0.2)
    [retry] = [parse_message(bytes(m)) for m in ua.outgoing() if getattr(m, "method", None) == "INVITE"]
    assert retry.cseq.seq == invite.cseq.seq + 1 and len(ua.dialogs) == 0
    ua.receive_data(bytes(retry.response(180, to_tag=retry_tag, headers=contact)), 0.3)
    ua.receive_data(bytes(retry.response(200, to_tag=retry_tag, headers=contact, body=ANSWER.encode(),
                                         content_type="application/sdp")), 0.4)
    assert session.is_established and [d.remote_tag for d in ua.dialogs] == [retry_tag]


def test_a_peer_inventing_forks_does_not_grow_the_ua():
    """Every response with a new To tag is another fork (RFC 3261 13.2.2.4): at most
    MAX_FORKS early dialogs ring at once, and hung-up forks are remembered up to
    the same bound (found by fuzzing: 5,000 invented forks kept 5,000 dialogs for
    the call's life). Each one still gets its ACK and BYE."""
    from webvoice.sip.dialog._forking import MAX_FORKS

    ua = UserAgent(UaConfig(user="alice", domain="webvoice.test", password="pa"), rng=random.Random(1))
    ua.connection_made(0.0)
    session = ua.call(parse_uri("sip:bob@webvoice.test"), OFFER, 0.0)
    [invite] = [parse_message(bytes(m)) for m in ua.outgoing() if getattr(m, "method", None) == "INVITE"]
    contact = [("Contact", "<sip:bob@192.0.2.2>")]
    for n in range(3 * MAX_FORKS):
        ua.receive_data(bytes(invite.response(180, to_tag=f"ring{n}", headers=contact)), 0.1)
    assert len(ua.dialogs) == MAX_FORKS and session.state is CallState.RINGING
    answer = {"headers": contact, "body": ANSWER.encode(), "content_type": "application/sdp"}
    ua.receive_data(bytes(invite.response(200, to_tag="ring0", **answer)), 0.2)
    assert session.is_established
    ua.outgoing()
    for n in range(3 * MAX_FORKS):
        ua.receive_data(bytes(invite.response(200, to_tag=f"late{n}", **answer)), 0.3)
        sent = [m.method for m in ua.outgoing() if not isinstance(m, bytes)]
        assert sent == ["ACK", "BYE"]
    assert [d.remote_tag for d in ua.dialogs if d.state.value != "terminated"] == ["ring0"] and session.is_established
    assert len(session.outgoing._forks.dialogs) <= MAX_FORKS  # the forks it remembers
    # The oldest hung-up fork forgotten, a retransmission of its 2xx is hung up again.
    ua.receive_data(bytes(invite.response(200, to_tag="late0", **answer)), 0.4)
    assert [m.method for m in ua.outgoing() if not isinstance(m, bytes)] == ["ACK", "BYE"]
