"""100rel and PRACK (RFC 3262), both directions, with a fake clock.

The UAC side is driven by a hand-written peer (a PSTN gateway sending reliable
183s, forks, retransmissions, RSeqs out of order, challenges to the PRACK);
the UAS side by hand-written INVITEs and PRACKs, its retransmissions timed
with the injected clock; then two webvoice cores call each other with early
media over the fake wire of test_call.
"""

from __future__ import annotations

import random

import pytest

from tests.sip.test_call import ANSWER, OFFER, Wire
from webvoice.sip import parse_message
from webvoice.sip.session._call import CallState
from webvoice.sip.session._events import CallConfirmed, CallFailed, CallProgress, IncomingCall, RemoteAnswer
from webvoice.sip.session._prack_uas import ReliableProvisionals
from webvoice.sip.syntax._uri import parse_uri
from webvoice.sip.ua._ua import MessageRefused, UaConfig, UserAgent

T1 = 0.5


def ua(user: str = "alice", seed: int = 1) -> UserAgent:
    agent = UserAgent(UaConfig(user=user, domain="webvoice.test", password="pw", keep_alive_interval=0,
                               session_timers=False), rng=random.Random(seed))
    agent.connection_made(0.0)
    agent.outgoing()
    return agent


def sent(agent: UserAgent) -> list:
    return [parse_message(bytes(m)) for m in agent.outgoing() if not isinstance(m, bytes)]


def events(agent: UserAgent, kind) -> list:
    return [e for e in agent.events() if isinstance(e, kind)]


# --- as UAC: acknowledging a gateway's reliable 1xx ---------------------------------------------------


def place_call(agent: UserAgent):
    session = agent.call(parse_uri("sip:+15550100@webvoice.test"), OFFER, 0.0)
    [invite] = sent(agent)
    return session, invite


def reliable(invite, code: int, tag: str, rseq: str | None, *, sdp: str | None = ANSWER, require: bool = True):
    headers = [("Contact", "<sip:gw@192.0.2.9;transport=ws>")]
    if require:
        headers.append(("Require", "100rel"))
    if rseq is not None:
        headers.append(("RSeq", rseq))
    kwargs = {"body": sdp.encode(), "content_type": "application/sdp"} if sdp else {}
    return bytes(invite.response(code, to_tag=tag, headers=headers, **kwargs))


def test_our_invite_offers_100rel():
    agent = ua()
    _, invite = place_call(agent)
    assert "100rel" in [t.lower() for t in invite.header_all("Supported")]
    assert "PRACK" in [m.strip() for m in invite.header_all("Allow")]


def test_a_reliable_183_is_pracked_in_its_early_dialog_and_its_answer_is_early_media():
    agent = ua()
    session, invite = place_call(agent)
    agent.receive_data(reliable(invite, 183, "gw1", "7"), 0.1)
    [prack] = sent(agent)
    assert prack.method == "PRACK" and prack.header("RAck") == "7 1 INVITE"
    assert prack.to.tag == "gw1" and prack.call_id == invite.call_id and prack.cseq.seq == 2
    assert str(prack.uri) == "sip:gw@192.0.2.9;transport=ws"  # the early dialog's remote target
    [progress] = events(agent, CallProgress)
    assert progress.sdp == ANSWER and session.state is CallState.RINGING
    agent.receive_data(bytes(prack.response(200)), 0.2)
    # The 200 to the INVITE carries no SDP: the answer of the 183 stands.
    agent.receive_data(bytes(invite.response(200, to_tag="gw1", headers=[("Contact", "<sip:gw@192.0.2.9>")])), 0.3)
    [ack] = sent(agent)
    assert ack.method == "ACK" and ack.cseq.seq == 1
    [confirmed] = events(agent, CallConfirmed)
    assert confirmed.sdp == ANSWER and session.is_established


def test_retransmitted_and_out_of_order_rseq_are_not_pracked_nor_passed_up():
    agent = ua()
    _, invite = place_call(agent)
    agent.receive_data(reliable(invite, 183, "gw1", "7"), 0.1)
    assert [p.header("RAck") for p in sent(agent)] == ["7 1 INVITE"]
    assert len(events(agent, CallProgress)) == 1
    agent.receive_data(reliable(invite, 183, "gw1", "7"), 0.6)  # retransmission
    agent.receive_data(reliable(invite, 180, "gw1", "9", sdp=None), 0.7)  # 8 is missing: out of order
    agent.receive_data(reliable(invite, 183, "gw1", "6"), 0.8)  # older still
    assert sent(agent) == [] and events(agent, CallProgress) == []
    agent.receive_data(reliable(invite, 180, "gw1", "8", sdp=None), 0.9)  # the next one
    [prack] = sent(agent)
    assert prack.header("RAck") == "8 1 INVITE" and prack.cseq.seq == 3
    assert [e.response.status_code for e in events(agent, CallProgress)] == [180]


def test_each_fork_has_its_own_rseq_space():
    agent = ua()
    _, invite = place_call(agent)
    agent.receive_data(reliable(invite, 183, "fork-a", "100"), 0.1)
    agent.receive_data(reliable(invite, 183, "fork-b", "5000"), 0.1)
    agent.receive_data(reliable(invite, 183, "fork-a", "101", sdp=None), 0.2)
    pracks = sent(agent)
    assert [(p.to.tag, p.header("RAck"), p.cseq.seq) for p in pracks] == [
        ("fork-a", "100 1 INVITE", 2), ("fork-b", "5000 1 INVITE", 2), ("fork-a", "101 1 INVITE", 3)]


def test_a_1xx_that_does_not_ask_for_prack_gets_none():
    agent = ua()
    _, invite = place_call(agent)
    agent.receive_data(reliable(invite, 183, "gw1", None), 0.1)  # Require: 100rel but no RSeq
    agent.receive_data(reliable(invite, 183, "gw2", "3", require=False), 0.1)  # RSeq without Require
    agent.receive_data(reliable(invite, 100, None, "4", sdp=None), 0.1)  # a 100 is never reliable
    assert sent(agent) == []
    assert [e.sdp for e in events(agent, CallProgress)] == [ANSWER, ANSWER]


@pytest.mark.parametrize("rseq", ["abc", "-1", "2147483648", "9" * 5000, "1, 2", ""])
def test_a_garbled_rseq_is_refused_without_a_crash(rseq):
    agent = ua()
    session, invite = place_call(agent)
    data = reliable(invite, 183, "gw1", "1").replace(b"RSeq: 1", b"RSeq: " + rseq.encode())
    agent.receive_data(data, 0.1)
    assert [m for m in sent(agent) if getattr(m, "method", None) == "PRACK"] == []
    assert events(agent, MessageRefused) or agent.events() == []
    assert session.state is CallState.CALLING


def test_a_challenged_prack_is_sent_again_with_credentials():
    agent = ua()
    _, invite = place_call(agent)
    agent.receive_data(reliable(invite, 183, "gw1", "1"), 0.1)
    [prack] = sent(agent)
    challenge = prack.response(407, headers=[("Proxy-Authenticate", 'Digest realm="webvoice.test", nonce="n", qop="auth"')])
    agent.receive_data(bytes(challenge), 0.2)
    [again] = sent(agent)
    assert again.method == "PRACK" and again.header("RAck") == "1 1 INVITE" and again.cseq.seq == 3
    assert "Digest" in str(again.header("Proxy-Authorization"))
    for nonce in ("n2", "n3", "n4"):  # challenged again and again: given up, never a loop
        agent.receive_data(bytes(again.response(407, headers=[
            ("Proxy-Authenticate", f'Digest realm="webvoice.test", nonce="{nonce}", qop="auth"')])), 0.3)
        more = sent(agent)
        if not more:
            break
        [again] = more
    assert again.cseq.seq <= 4 and sent(agent) == []  # two retries at most, as for any in-dialog request


def test_a_481_to_the_prack_leaves_the_call_to_the_invite():
    agent = ua()
    session, invite = place_call(agent)
    agent.receive_data(reliable(invite, 183, "gw1", "1"), 0.1)
    [prack] = sent(agent)
    agent.receive_data(bytes(prack.response(481)), 0.2)
    assert session.state is CallState.RINGING and events(agent, CallFailed) == []


# --- as UAS: sending reliable 1xx ------------------------------------------------------------------------

INVITE = ("INVITE sip:bob@webvoice.test SIP/2.0\r\nVia: SIP/2.0/WS gw.invalid;branch=z9hG4bKinv1\r\n"
          "Max-Forwards: 70\r\nFrom: <sip:+15550100@webvoice.test>;tag=gwtag\r\nTo: <sip:bob@webvoice.test>\r\n"
          "Call-ID: prack-1\r\nCSeq: 10 INVITE\r\nContact: <sip:gw@gw.invalid;transport=ws>\r\n{extra}")


def invite_bytes(extra: str = "", sdp: str | None = OFFER) -> bytes:
    body = (sdp or "").encode()
    head = INVITE.format(extra=extra) + ("Content-Type: application/sdp\r\n" if sdp else "")
    return head.encode() + b"Content-Length: %d\r\n\r\n" % len(body) + body


def incoming(extra: str, sdp: str | None = OFFER):
    agent = ua("bob", 2)
    agent.receive_data(invite_bytes(extra, sdp), 0.0)
    [call] = events(agent, IncomingCall)
    return agent, call.session, [m for m in sent(agent) if m.status_code != 100]


def prack_bytes(to_tag: str, rack: str | None, cseq: int = 11, branch: str = "pr1", body: str = "") -> bytes:
    rack_line = f"RAck: {rack}\r\n" if rack is not None else ""
    ctype = "Content-Type: application/sdp\r\n" if body else ""
    return (f"PRACK sip:bob@webvoice.test SIP/2.0\r\nVia: SIP/2.0/WS gw.invalid;branch=z9hG4bK{branch}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:+15550100@webvoice.test>;tag=gwtag\r\n"
            f"To: <sip:bob@webvoice.test>;tag={to_tag}\r\nCall-ID: prack-1\r\nCSeq: {cseq} PRACK\r\n{rack_line}"
            f"{ctype}Content-Length: {len(body)}\r\n\r\n{body}").encode()


def test_an_invite_requiring_100rel_is_accepted_and_its_180_is_reliable():
    agent, session, out = incoming("Require: 100rel\r\nSupported: timer\r\n")
    assert [m.status_code for m in out] == [180]
    [ringing] = out
    assert "100rel" in ringing.header_all("Require") and isinstance(ringing.header("RSeq"), int)
    assert 1 <= ringing.header("RSeq") <= 2**31 - 1 - 2**16
    assert session.state is CallState.INCOMING


def test_only_supported_gets_a_plain_180():
    """Phones send 180 unreliably unless the caller requires 100rel; so do we."""
    _, _, [ringing] = incoming("Supported: 100rel\r\n")
    assert ringing.status_code == 180 and ringing.header("RSeq") is None and not ringing.header_all("Require")


def test_a_reliable_1xx_is_resent_at_t1_doubling_then_the_invite_is_refused_after_64_t1():
    agent, session, [ringing] = incoming("Require: 100rel\r\n")
    times = []
    now = 0.0
    while now < 64 * T1 + 1:
        deadline = agent.get_timer()
        assert deadline is not None
        now = deadline
        agent.handle_timer(now)
        out = sent(agent)
        if any(m.status_code == 500 for m in out):
            break
        assert out == [ringing], out
        times.append(now)
    assert times == [T1 * k for k in (1, 3, 7, 15, 31, 63)]  # T1, then 2, 4, 8, 16, 32 T1 apart
    assert now == 64 * T1
    [failed] = events(agent, CallFailed)
    assert failed.status_code == 500 and session.is_ended


def test_a_prack_is_answered_200_and_stops_the_retransmissions():
    agent, session, [ringing] = incoming("Require: 100rel\r\n")
    rseq = ringing.header("RSeq")
    agent.receive_data(prack_bytes(ringing.to.tag, f"{rseq} 10 INVITE"), 0.2)
    [ok] = sent(agent)
    assert ok.status_code == 200 and ok.cseq.method == "PRACK"
    assert agent.get_timer() is None or agent.get_timer() >= 60  # the no-answer timer only
    agent.handle_timer(5.0)
    assert sent(agent) == []
    # The same RSeq again (a new PRACK, not a retransmission) matches nothing now.
    agent.receive_data(prack_bytes(ringing.to.tag, f"{rseq} 10 INVITE", cseq=12, branch="pr2"), 0.3)
    assert [m.status_code for m in sent(agent)] == [481]


@pytest.mark.parametrize("rack", ["{rseq_plus} 10 INVITE", "{rseq} 9 INVITE", "{rseq} 10 BYE"])
def test_a_prack_that_matches_nothing_gets_481(rack):
    agent, session, [ringing] = incoming("Require: 100rel\r\n")
    rseq = ringing.header("RSeq")
    agent.receive_data(prack_bytes(ringing.to.tag, rack.format(rseq=rseq, rseq_plus=rseq + 1)), 0.2)
    assert [m.status_code for m in sent(agent)] == [481]
    agent.handle_timer(T1)
    assert [m.status_code for m in sent(agent)] == [180]  # still waiting for its PRACK


def test_a_prack_without_rack_gets_400_and_one_in_no_dialog_481():
    agent, session, [ringing] = incoming("Require: 100rel\r\n")
    agent.receive_data(prack_bytes(ringing.to.tag, None), 0.2)
    assert [m.status_code for m in sent(agent)] == [400]
    agent.receive_data(prack_bytes("not-ours", "1 10 INVITE", branch="pr3"), 0.2)
    assert [m.status_code for m in sent(agent)] == [481]


@pytest.mark.parametrize("rack", ["1", "x 10 INVITE", "1 10", f"1 {'9' * 5000} INVITE", "2147483648 1 INVITE",
                                  "1 10 INVITE extra", ""], ids=lambda r: r[:20])
def test_a_garbled_rack_never_crashes(rack):
    agent, session, [ringing] = incoming("Require: 100rel\r\n")
    agent.receive_data(prack_bytes(ringing.to.tag, rack), 0.2)
    assert [m.status_code for m in sent(agent)] in ([400], [481])
    assert session.state is CallState.INCOMING


def test_the_200_waits_for_the_prack_of_the_183_carrying_the_answer():
    agent, session, [ringing] = incoming("Supported: 100rel\r\n")
    agent.session_call(session, lambda s: s.progress(ANSWER, 0.1), 0.1)
    [early] = sent(agent)
    assert early.status_code == 183 and early.body.decode() == ANSWER and "100rel" in early.header_all("Require")
    agent.session_call(session, lambda s: s.accept("v=0 ignored\r\n", 0.2), 0.2)
    assert sent(agent) == []  # RFC 3262 3: not before the PRACK
    agent.receive_data(prack_bytes(early.to.tag, f"{early.header('RSeq')} 10 INVITE"), 0.3)
    prack_ok, ok = sent(agent)
    assert (prack_ok.status_code, prack_ok.cseq.method) == (200, "PRACK")
    assert (ok.status_code, ok.cseq.method) == (200, "INVITE") and ok.body.decode() == ANSWER  # the same SDP


def test_a_cancel_while_the_200_waits_for_the_prack_gets_487():
    agent, session, _ = incoming("Supported: 100rel\r\n")
    agent.session_call(session, lambda s: s.progress(ANSWER, 0.1), 0.1)
    agent.session_call(session, lambda s: s.accept(ANSWER, 0.2), 0.2)
    sent(agent)
    cancel = invite_bytes().replace(b"INVITE sip:", b"CANCEL sip:", 1).replace(b"10 INVITE", b"10 CANCEL")
    cancel = cancel.split(b"Content-Type")[0] + b"Content-Length: 0\r\n\r\n"
    agent.receive_data(cancel, 0.3)
    codes = sorted((m.status_code, m.cseq.method) for m in sent(agent))
    assert codes == [(200, "CANCEL"), (487, "INVITE")]
    assert session.is_ended


def test_a_later_reliable_1xx_waits_for_the_prack_of_the_first():
    agent, session, [ringing] = incoming("Require: 100rel\r\n")
    agent.session_call(session, lambda s: s.progress(ANSWER, 0.1), 0.1)
    assert sent(agent) == []  # the 183 is queued behind the reliable 180
    agent.receive_data(prack_bytes(ringing.to.tag, f"{ringing.header('RSeq')} 10 INVITE"), 0.2)
    prack_ok, early = sent(agent)
    assert prack_ok.status_code == 200 and early.status_code == 183
    assert early.header("RSeq") == ringing.header("RSeq") + 1


def test_early_media_offer_without_an_invite_offer_is_answered_in_the_prack():
    agent, session, _ = incoming("Supported: 100rel\r\n", sdp=None)
    agent.session_call(session, lambda s: s.progress(OFFER, 0.1), 0.1)
    [early] = sent(agent)
    agent.receive_data(prack_bytes(early.to.tag, f"{early.header('RSeq')} 10 INVITE", body=ANSWER), 0.2)
    [answer] = events(agent, RemoteAnswer)
    assert answer.sdp == ANSWER and session.remote_sdp == ANSWER


def test_early_media_without_an_offer_needs_100rel():
    agent, session, _ = incoming("", sdp=None)
    assert not session.early_media_possible
    with pytest.raises(RuntimeError, match="100rel"):
        session.progress(OFFER, 0.1)
    agent2, session2, _ = incoming("")  # with the caller's offer: an unreliable 183 does it
    assert session2.early_media_possible
    agent2.session_call(session2, lambda s: s.progress(ANSWER, 0.1), 0.1)
    assert not session2.early_media_possible
    [early] = sent(agent2)
    assert early.status_code == 183 and early.header("RSeq") is None and early.body.decode() == ANSWER
    with pytest.raises(RuntimeError, match="already"):
        session2.progress(ANSWER, 0.2)


def test_reliable_provisionals_refuse_what_is_not_a_1xx():
    request = parse_message(invite_bytes("Require: 100rel\r\n"))
    part = ReliableProvisionals(request, t1=T1, transmit=lambda r, now: None, give_up=lambda now: None,
                                rng=random.Random(3))
    assert part.supported and part.required and part.get_timer() is None
    with pytest.raises(ValueError, match="101-199"):
        part.send(request.response(200, to_tag="x"), 0.0)
    part.stop()
    with pytest.raises(RuntimeError, match="final"):
        part.send(request.response(180, to_tag="x"), 0.0)


# --- both ends webvoice ---------------------------------------------------------------------------------


def test_two_webvoice_cores_early_media_with_prack_then_answer():
    w = Wire()
    a, b = w.call()
    assert [m.header("RSeq") for m in w.sent("b", 180)] == [None]
    b.progress(ANSWER, w.now)
    w.b._pump(w.now)
    w.flush()
    [early] = w.sent("b", 183)
    [prack] = w.sent("a", "PRACK")
    assert prack.header("RAck") == f"{early.header('RSeq')} 1 INVITE"
    assert [(m.status_code, m.cseq.method) for m in w.sent("b", 200)] == [(200, "PRACK")]
    assert [e.sdp for e in w.of("a", CallProgress)][-1] == ANSWER
    w.advance(10 * T1)
    assert len(w.sent("b", 183)) == 1  # PRACKed: never resent
    b.accept(ANSWER, w.now)
    w.b._pump(w.now)
    w.flush()
    assert a.is_established and b.is_established
    assert w.of("a", CallConfirmed)[-1].sdp == ANSWER
