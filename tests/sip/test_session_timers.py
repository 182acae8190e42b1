"""Session timers as RFC 4028 says: the Min-SE floor, 422 both ways, and
refreshes never more often than the negotiated interval allows.

Two UA cores over the fake wire of test_call.py, on its fake clock. A
"hostile" hook stands for a peer (or a proxy) that answers what the UA under
test must survive: a 2xx granting one second, a 422 asking for ever more.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.sip.test_call import ANSWER, OFFER, Wire
from webvoice.sip.session._events import CallFailed, IncomingCall
from webvoice.sip.session._interval import session_expires
from webvoice.sip.session._timer import MAX_INTERVAL_RETRIES
from webvoice.sip.syntax._uri import parse_uri
from webvoice.sip.ua._ua import UaConfig


def call(w: Wire, *headers: tuple[str, str]):
    session = w.a.call(parse_uri("sip:bob@webvoice.test"), OFFER, w.now, headers=headers)
    w.flush()
    return session


def answer(w: Wire):
    b = w.of("b", IncomingCall)[-1].session
    b.accept(ANSWER, w.now)
    w.b._pump(w.now)
    w.flush()
    return b


def invites(w: Wire, side: str = "a"):
    return [m for m in w.sent(side, "INVITE") if not m.to.tag]


def timed(w: Wire, side: str, method: str) -> list[float]:
    """Hook the wire to note when ``side`` sends ``method``; returns the live list."""
    times: list[float] = []
    previous = w.drop

    def note(sender, message):
        if sender == side and getattr(message, "method", None) == method:
            times.append(w.now)
        return previous(sender, message)

    w.drop = note
    return times


# --- the UAS: 422 below the floor ------------------------------------------------------------


@pytest.mark.parametrize(("headers", "min_se"), [
    ((("Session-Expires", "60"),), "90"),
    ((("Session-Expires", "0"),), "90"),
    ((("Session-Expires", "89;refresher=uac"),), "90"),
    ((("Session-Expires", "100"), ("Min-SE", "120")), "120"),  # below its own Min-SE
])
def test_initial_invite_below_the_floor_gets_422_with_min_se(headers, min_se) -> None:
    w = Wire()
    w.a.config = dataclasses.replace(w.a.config, session_timers=False)  # a peer that asks for it anyway
    call(w, *headers)
    [refusal] = w.sent("b", 422)
    assert refusal.header("Min-SE") == min_se and refusal.to.tag
    assert w.of("b", IncomingCall) == []  # no call, no ringing: the request was refused
    assert w.b.sessions == []


def test_a_configured_floor_is_higher_and_the_uac_retries_with_it() -> None:
    w = Wire()
    w.b.config = dataclasses.replace(w.b.config, session_min_se=300)  # only bob's floor is higher
    session = call(w, ("Session-Expires", "120;refresher=uac"))
    assert [r.header("Min-SE") for r in w.sent("b", 422)] == ["300"]
    first, retry = invites(w)
    assert retry.cseq.seq == first.cseq.seq + 1 and retry.call_id == first.call_id
    assert retry.header("Session-Expires") == "300;refresher=uac" and retry.header("Min-SE") == "300"
    b = answer(w)
    ok = [m for m in w.sent("b", 200) if m.cseq.method == "INVITE"][-1]
    assert session_expires(ok) == (300, "uac")
    assert session.is_established and b.is_established
    assert session.timer.interval == b.timer.interval == 300


def test_a_session_at_the_floor_is_accepted() -> None:
    w = Wire()
    session = call(w, ("Session-Expires", "90"))
    assert w.sent("b", 422) == []
    answer(w)
    assert session.is_established


def test_the_floor_is_validated() -> None:
    for bad in (89, 0, -5, 86401, True, 120.0):
        with pytest.raises(ValueError, match="session_min_se"):
            UaConfig(user="a", domain="example.com", password="", session_min_se=bad)


def test_in_dialog_refresh_below_the_floor_gets_422_and_changes_nothing() -> None:
    w = Wire()
    session = call(w, ("Session-Expires", "600"))
    b = answer(w)
    for method in ("UPDATE", "INVITE"):
        request = b.dialog.create_request(method, via=w.b.new_via(), contact=w.b.contact(),
                                          headers=[("Session-Expires", "30;refresher=uac")])
        w.b.transactions.send_request(request, w.now)
        w.flush()
        assert w.sent("a", 422)[-1].cseq.method == method
        assert w.sent("a", 422)[-1].header("Min-SE") == "90"
    assert session.is_established and session.timer.interval == 600


# --- the UAC: following a 422, within bounds -----------------------------------------------


def test_the_uac_retries_an_invite_after_422_once_per_larger_min_se_and_gives_up() -> None:
    """A peer asking for ever more gets MAX_INTERVAL_RETRIES retries, then the call fails."""
    w = Wire()
    asked = iter(range(100, 1000, 10))

    def hostile(sender, m):
        if sender == "a" and getattr(m, "method", None) == "INVITE":
            w.a.receive_data(bytes(m.response(422, to_tag="x", headers=[("Min-SE", str(next(asked)))])), w.now)
            return True
        return False

    w.drop = hostile
    call(w, ("Session-Expires", "90"))
    for _ in range(5):
        w.flush()
    sent = invites(w)
    assert len(sent) == 1 + MAX_INTERVAL_RETRIES
    assert [session_expires(m)[0] for m in sent] == [90, 100, 110]
    assert w.of("a", CallFailed)[-1].status_code == 422


@pytest.mark.parametrize("min_se", [None, "60", "90", "86401", "junk"])
def test_a_422_that_asks_for_nothing_usable_is_not_retried(min_se) -> None:
    w = Wire()

    def hostile(sender, m):
        if sender == "a" and getattr(m, "method", None) == "INVITE":
            headers = [("Min-SE", min_se)] if min_se else []
            w.a.receive_data(bytes(m.response(422, to_tag="x", headers=headers)), w.now)
            return True
        return False

    w.drop = hostile
    call(w, ("Session-Expires", "90"))
    w.flush()
    assert len(invites(w)) == 1
    assert w.of("a", CallFailed)[-1].status_code == 422


def test_a_refresh_answered_422_is_sent_again_with_the_larger_interval() -> None:
    w = Wire()
    session = call(w, ("Session-Expires", "90"))
    answer(w)
    refused = []

    def proxy_wants_more(sender, m):
        # A proxy on the way whose floor is 200 s refuses the first refresh.
        if sender == "a" and getattr(m, "method", None) == "UPDATE" and not refused:
            refused.append(m)
            w.a.receive_data(bytes(m.response(422, headers=[("Min-SE", "200")])), w.now)
            return True
        return False

    w.drop = proxy_wants_more
    updates = timed(w, "a", "UPDATE")
    w.advance(46)
    assert len(updates) == 2 and refused
    retry = w.sent("a", "UPDATE")[-1]
    assert retry.header("Session-Expires") == "200;refresher=uac" and retry.header("Min-SE") == "200"
    assert session.timer.interval == 200
    w.advance(99)  # the next refresh is half of 200 s after the last
    assert len(updates) == 2
    w.advance(2)
    assert len(updates) == 3 and updates[2] - updates[1] >= 100
    assert session.is_established


# --- refreshes never more often than the interval allows ------------------------------------


def test_a_2xx_granting_one_second_cannot_make_us_refresh_in_a_loop() -> None:
    w = Wire()

    def tiny_interval(sender, m):
        if sender == "b" and getattr(m, "status_code", 0) == 200 and m.cseq.method in ("INVITE", "UPDATE"):
            w.a.receive_data(bytes(m.with_header_set("Session-Expires", "1;refresher=uac")), w.now)
            return True
        return False

    session = call(w, ("Session-Expires", "90"))
    w.drop = tiny_interval
    answer(w)
    assert session.is_established and session.timer.interval == 90
    updates = timed(w, "a", "UPDATE")
    w.advance(900)
    assert session.is_established
    assert 900 / 45 - 1 <= len(updates) <= 900 / 45 + 1
    assert all(b - a >= 45 for a, b in zip(updates, updates[1:]))


def test_a_reconnect_refresh_rearms_the_timer_from_itself() -> None:
    w = Wire()
    session = call(w, ("Session-Expires", "90"))
    answer(w)
    updates = timed(w, "a", "UPDATE")
    w.advance(30)
    w.a.connection_lost(w.now)
    w.a.connection_made(w.now)  # the target refresh of a new flow: an UPDATE now
    w.flush()
    assert updates == [30.0]
    w.advance(44)  # 74 s: the timer armed at 0 s would have fired at 45 s
    assert updates == [30.0]
    w.advance(2)
    assert updates == [30.0, 75.0]
    for _ in range(5):  # a flapping connection: each new flow is announced once
        w.a.connection_lost(w.now)
        w.a.connection_made(w.now)
        w.flush()
    w.advance(300)
    assert all(b - a >= 45 for a, b in zip(updates[6:], updates[7:]))
    assert session.is_established


def test_the_peers_refresh_renegotiates_interval_and_refresher() -> None:
    """bob refreshes with a longer interval and hands the refreshing to alice
    (refresher=uas of his UPDATE): alice refreshes at half of it, no sooner."""
    w = Wire()
    session = call(w, ("Session-Expires", "90;refresher=uas"))
    b = answer(w)
    assert not session.timer.we_refresh
    update = b.dialog.create_request("UPDATE", via=w.b.new_via(), contact=w.b.contact(),
                                     headers=[("Session-Expires", "600;refresher=uas"), ("Supported", "timer")])
    w.b.transactions.send_request(update, w.now)
    w.flush()
    ok = [m for m in w.sent("a", 200) if m.cseq.method == "UPDATE"][-1]
    assert session_expires(ok) == (600, "uas")
    b.timer.restart(update, ok, w.now)  # what bob's session does with its own refresh's 2xx
    assert session.timer.interval == 600 and session.timer.we_refresh
    updates = timed(w, "a", "UPDATE")
    w.advance(299)
    assert updates == []
    w.advance(2)
    assert len(updates) == 1
    assert session.is_established


def test_session_expires_grammar() -> None:
    """Read from the header's text (whatever the parser lets through)."""
    from webvoice.sip.session._interval import _parse_session_expires

    assert _parse_session_expires("1800") == (1800, None)
    assert _parse_session_expires("1800 ; refresher = UAS") == (1800, "uas")
    assert _parse_session_expires("1800;x=refresher=uac") == (1800, None)
    assert _parse_session_expires("1800;refresher=uacx") == (1800, None)
    assert _parse_session_expires("18oo") == (None, None)
    assert _parse_session_expires("1234567890") == (None, None)


@pytest.mark.parametrize("value", ["60", "0", "89;refresher=uac", "ninety", "-5"])
def test_asking_for_less_than_the_floor_fails_before_anything_is_sent(value) -> None:
    w = Wire()
    with pytest.raises(ValueError, match="Min-SE floor"):
        w.a.call(parse_uri("sip:bob@webvoice.test"), OFFER, w.now, headers=(("Session-Expires", value),))
    assert w.a.outgoing() == [] and w.a.sessions == []


def test_a_re_offer_the_application_rejects_changes_no_interval() -> None:
    """Only a refresh that succeeds renegotiates (RFC 4028 10): bob's re-INVITE
    asking for 1800 s with alice refreshing is rejected 488, and alice keeps
    the 90 s bob refreshes."""
    w = Wire()
    session = call(w, ("Session-Expires", "90;refresher=uas"))
    b = answer(w)
    reinvite = b.dialog.create_request(
        "INVITE", via=w.b.new_via(), contact=w.b.contact(), body=OFFER.replace("o=- 1 1", "o=- 1 7").encode(),
        content_type="application/sdp", headers=[("Session-Expires", "1800;refresher=uas")])
    w.b.transactions.send_request(reinvite, w.now)
    w.flush()
    session.reject_offer(488, w.now)
    w.a._pump(w.now)
    w.flush()
    assert session.timer.interval == 90 and not session.timer.we_refresh
    # accepted, the same request renegotiates
    reinvite = b.dialog.create_request(
        "INVITE", via=w.b.new_via(), contact=w.b.contact(), body=OFFER.replace("o=- 1 1", "o=- 1 8").encode(),
        content_type="application/sdp", headers=[("Session-Expires", "1800;refresher=uas")])
    w.b.transactions.send_request(reinvite, w.now)
    w.flush()
    session.answer_offer(ANSWER.replace("o=- 1 1", "o=- 1 8"), w.now)
    w.a._pump(w.now)
    w.flush()
    assert session.timer.interval == 1800 and session.timer.we_refresh
