"""The transaction layer (RFC 3261 17, RFC 6026, reliable transport): flows, matching,
CANCEL, timers, transport errors. Fake clock, exact deadlines.

The flows follow RFC 3665's basic call (Alice at atlanta calls Bob at biloxi),
over a fake connection that sends every message through its wire form.
"""

from __future__ import annotations

import pathlib
import random

import pytest

from webvoice.sip import NameAddr, Request, Response, Via, build_request, parse_message
from webvoice.sip.transaction._events import (
    AckReceived,
    CancelReceived,
    MessageDropped,
    RequestReceived,
    ResponseReceived,
    StrayResponse,
    TransactionTerminated,
    TransactionTimeout,
    TransportFailed,
)
from webvoice.sip.transaction._layer import (
    MAGIC_COOKIE,
    TransactionLayer,
    is_rfc3261_branch,
)
from webvoice.sip.transaction._tables import TransactionState as S
from webvoice.sip.transaction._timers import TimerConfig
from webvoice.sip.transaction._transaction import (
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    TransactionStateError,
    build_ack,
    build_cancel,
)

RFC4475 = pathlib.Path(__file__).resolve().parents[1] / "data" / "rfc4475"
TICK = 0.01
T = 32.0  # 64*T1 with the default T1 of 500 ms: Timers B, F, H, L, M

ALICE = NameAddr("sip:alice@atlanta.example.com", "Alice", {"tag": "9fxced76sl"})
BOB = NameAddr("sip:bob@biloxi.example.com", "Bob")
CALL_ID = "3848276298220188511@atlanta.example.com"
ROUTE = NameAddr("sip:proxy.atlanta.example.com;lr")
SDP = b"v=0\r\no=alice 2890844526 2890844526 IN IP4 192.0.2.101\r\ns=-\r\n"


def make_request(layer: TransactionLayer, method: str = "INVITE", cseq: int = 1, **kw) -> Request:
    """A request from Alice as in RFC 3665 3.1, with a fresh branch from ``layer``."""
    kw.setdefault("route", [ROUTE])
    kw.setdefault("via", Via("WSS", "df7jal23ls0d.invalid", params={"branch": layer.new_branch()}))
    if method == "INVITE":
        kw.setdefault("body", SDP)
        kw.setdefault("content_type", "application/sdp")
    return build_request(
        method, "sip:bob@biloxi.example.com", from_=ALICE, to=BOB, call_id=CALL_ID, cseq=cseq,
        contact=NameAddr("sip:alice@df7jal23ls0d.invalid;transport=ws"), **kw,
    )


def wire(message: Request | Response) -> Request | Response:
    """The message as the peer reads it."""
    return parse_message(bytes(message))


def drain(layer: TransactionLayer) -> list:
    return list(layer.events())


def kinds(events: list) -> list[type]:
    return [type(e) for e in events]


def codes(messages: list) -> list:
    return [m.status_code if isinstance(m, Response) else m.method for m in messages]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def tick(self, dt: float = TICK) -> float:
        self.now += dt
        return self.now


class Pair:
    """A UAC layer (Alice) and a UAS layer (Bob) joined by a fake connection."""

    def __init__(self, **bob_options) -> None:
        self.clock = Clock()
        self.alice = TransactionLayer(rng=random.Random(1))
        self.bob = TransactionLayer(rng=random.Random(2), **bob_options)

    @property
    def now(self) -> float:
        return self.clock.now

    def to_bob(self) -> list:
        """Carry Alice's queued messages to Bob, a tick later; returns them."""
        return self._carry(self.alice, self.bob)

    def to_alice(self) -> list:
        return self._carry(self.bob, self.alice)

    def _carry(self, src: TransactionLayer, dst: TransactionLayer) -> list:
        messages = src.messages_to_send()
        self.clock.tick()
        for message in messages:
            dst.receive(wire(message), self.now)
        return messages


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def layer() -> TransactionLayer:
    return TransactionLayer(rng=random.Random(7))


# --- timers and identifiers --------------------------------------------------------------------


def test_timer_config_defaults_for_a_reliable_transport():
    c = TimerConfig()
    assert (c.t1, c.t2, c.t4) == (0.5, 4.0, 5.0)
    assert [c.duration(x) for x in "BFHLM"] == [32.0] * 5
    assert [c.duration(x) for x in "DIJK"] == [0.0] * 4
    assert TimerConfig(t1=0.25).timer_b == 16.0
    for bad in (0, -1, True, "0.5"):
        with pytest.raises(ValueError):
            TimerConfig(t1=bad)


def test_new_branch_has_the_magic_cookie_and_is_reproducible():
    a, b = TransactionLayer(rng=random.Random(3)), TransactionLayer(rng=random.Random(3))
    branches = [a.new_branch() for _ in range(50)]
    assert branches == [b.new_branch() for _ in range(50)]
    assert len(set(branches)) == 50
    assert all(x.startswith(MAGIC_COOKIE) and is_rfc3261_branch(x) for x in branches)
    assert TransactionLayer().new_branch() != TransactionLayer().new_branch()  # system randomness
    assert not is_rfc3261_branch("z9hG4bK") and not is_rfc3261_branch("1234") and not is_rfc3261_branch(None)


# --- INVITE client -------------------------------------------------------------------------------


def test_invite_rejected_486_generates_the_ack(layer, clock):
    """RFC 3665 3.3 shape: INVITE, 100, 180, 486, ACK from the transaction."""
    invite = make_request(layer)
    tx = layer.send_request(invite, clock.now)
    assert isinstance(tx, InviteClientTransaction) and tx.state is S.CALLING
    assert layer.messages_to_send() == [invite]
    assert layer.get_timer() == T and tx.timer == "B"

    layer.receive(wire(invite.response(100)), clock.tick())
    assert tx.state is S.PROCEEDING and tx.got_provisional
    assert layer.get_timer() is None  # Timer B only runs in Calling
    layer.receive(wire(invite.response(180, to_tag="8321234356")), clock.tick())
    assert [e.response.status_code for e in drain(layer)] == [100, 180]

    busy = wire(invite.response(486, to_tag="8321234356"))
    layer.receive(busy, clock.tick())
    events = drain(layer)
    assert kinds(events) == [ResponseReceived, TransactionTerminated]
    assert events[0].response.status_code == 486 and tx.final_response is events[0].response
    assert tx.state is S.TERMINATED and layer.transactions == () and layer.get_timer() is None  # D = 0

    [ack] = layer.messages_to_send()
    assert ack == build_ack(invite, busy)
    assert ack.method == "ACK" and ack.uri == invite.uri
    assert ack.call_id == invite.call_id and ack.from_ == invite.from_
    assert (ack.cseq.seq, ack.cseq.method) == (1, "ACK")
    assert ack.to == busy.to and ack.to.tag == "8321234356"
    assert ack.via == [invite.top_via]
    assert ack.route == [ROUTE]
    assert ack.body == b""


def test_invite_accepted_state_passes_every_2xx_until_timer_m(layer, clock):
    """RFC 6026: after a 2xx the transaction waits 64*T1 in Accepted, passing up
    retransmitted and forked 2xx (the TU ACKs them), absorbing everything else."""
    invite = make_request(layer)
    tx = layer.send_request(invite, clock.now)
    layer.messages_to_send()
    ok = wire(invite.response(200, to_tag="a"))
    accepted_at = clock.tick(1.0)
    layer.receive(ok, accepted_at)
    assert tx.state is S.ACCEPTED and tx.timer == "M" and layer.get_timer() == accepted_at + T
    assert kinds(drain(layer)) == [ResponseReceived]

    layer.receive(ok, clock.tick())  # retransmission
    layer.receive(wire(invite.response(200, to_tag="b")), clock.tick())  # a fork
    layer.receive(wire(invite.response(180, to_tag="c")), clock.tick())  # absorbed
    layer.receive(wire(invite.response(486, to_tag="c")), clock.tick())  # absorbed
    events = drain(layer)
    assert [(e.response.status_code, e.response.to.tag) for e in events] == [(200, "a"), (200, "b")]
    assert layer.messages_to_send() == []  # never an ACK for a 2xx
    assert layer.get_timer() == accepted_at + T  # self-loops keep Timer M

    layer.handle_timer(accepted_at + T - TICK)
    assert tx.state is S.ACCEPTED
    layer.handle_timer(accepted_at + T)
    assert kinds(drain(layer)) == [TransactionTerminated] and layer.get_timer() is None

    # Later 2xx match no transaction: passed up as stray for the dialog to ACK; others dropped.
    layer.receive(ok, clock.tick(40))
    layer.receive(wire(invite.response(486, to_tag="c")), clock.tick())
    events = drain(layer)
    assert kinds(events) == [StrayResponse, MessageDropped]
    assert events[0].response == ok


def test_timer_b_times_out_an_unanswered_invite(layer, clock):
    tx = layer.send_request(make_request(layer), clock.now)
    layer.handle_timer(T - TICK)
    assert drain(layer) == []
    layer.handle_timer(T)
    assert kinds(drain(layer)) == [TransactionTimeout, TransactionTerminated]
    assert tx.state is S.TERMINATED and codes(layer.messages_to_send()) == ["INVITE"]  # nothing more


def test_an_invite_in_proceeding_waits_without_a_timer(layer, clock):
    """Only the TU ends a ringing call (no answer: it cancels)."""
    invite = make_request(layer)
    tx = layer.send_request(invite, clock.now)
    layer.receive(wire(invite.response(180, to_tag="x")), clock.tick())
    layer.handle_timer(1000.0)
    assert tx.state is S.PROCEEDING and layer.get_timer() is None


# --- non-INVITE client ------------------------------------------------------------------------


def test_timer_f_times_out_a_non_invite_at_exactly_64_t1(layer, clock):
    clock.tick(3.0)
    tx = layer.send_request(make_request(layer, "OPTIONS"), clock.now)
    assert isinstance(tx, NonInviteClientTransaction) and tx.state is S.TRYING
    assert layer.get_timer() == 3.0 + T
    layer.handle_timer(3.0 + T - 0.001)
    assert drain(layer) == [] and tx.state is S.TRYING
    layer.handle_timer(3.0 + T)
    events = drain(layer)
    assert kinds(events) == [TransactionTimeout, TransactionTerminated]
    assert events[0].transaction is tx and layer.get_timer() is None


def test_timer_f_keeps_running_through_proceeding(layer, clock):
    options = make_request(layer, "OPTIONS")
    tx = layer.send_request(options, clock.now)
    layer.receive(wire(options.response(100)), clock.tick(10))
    assert tx.state is S.PROCEEDING and tx.timer == "F" and layer.get_timer() == T
    layer.handle_timer(T)
    assert kinds(drain(layer)) == [ResponseReceived, TransactionTimeout, TransactionTerminated]


def test_non_invite_final_response_completes_at_once(layer, clock):
    """Timer K is zero over a reliable transport: Completed ends immediately."""
    bye = make_request(layer, "BYE", cseq=2)
    tx = layer.send_request(bye, clock.now)
    layer.receive(wire(bye.response(200)), clock.tick())
    events = drain(layer)
    assert kinds(events) == [ResponseReceived, TransactionTerminated]
    assert tx.final_response == events[0].response and tx.state is S.TERMINATED
    assert layer.get_timer() is None and layer.transactions == ()
    layer.receive(wire(bye.response(200)), clock.tick())  # a late copy matches nothing
    assert kinds(drain(layer)) == [MessageDropped]


# --- INVITE server -------------------------------------------------------------------------------


def test_invite_server_486_then_ack_confirms_and_terminates(clock):
    uas = TransactionLayer(rng=random.Random(5))
    invite = wire(make_request(uas))
    uas.receive(invite, clock.now)
    [event] = drain(uas)
    assert isinstance(event, RequestReceived) and event.request == invite
    tx = event.transaction
    assert isinstance(tx, InviteServerTransaction) and tx.state is S.PROCEEDING
    [trying] = uas.messages_to_send()  # 17.2.1: 100 Trying at once
    assert trying.status_code == 100 and trying.to.tag is None and trying.cseq == invite.cseq
    assert uas.get_timer() is None

    uas.send_response(tx, invite.response(180, to_tag="314159"), clock.tick())
    sent_at = clock.tick()
    busy = invite.response(486, to_tag="314159")
    uas.send_response(tx, busy, sent_at)
    assert codes(uas.messages_to_send()) == [180, 486]
    assert tx.state is S.COMPLETED and tx.timer == "H" and uas.get_timer() == sent_at + T
    assert tx.to_tag == "314159"

    ack = wire(build_ack(invite, busy))
    uas.receive(ack, clock.tick())
    assert tx.state is S.TERMINATED  # Confirmed, then Timer I = 0
    assert kinds(drain(uas)) == [TransactionTerminated]  # the ACK is absorbed
    assert uas.messages_to_send() == [] and uas.get_timer() is None


def test_invite_server_without_ack_times_out_with_timer_h(clock):
    uas = TransactionLayer(rng=random.Random(5))
    invite = wire(make_request(uas))
    uas.receive(invite, clock.now)
    tx = drain(uas)[0].transaction
    sent_at = clock.tick(2.0)
    uas.send_response(tx, invite.response(603, to_tag="t"), sent_at)
    uas.handle_timer(sent_at + T - TICK)
    assert tx.state is S.COMPLETED
    uas.handle_timer(sent_at + T)
    events = drain(uas)
    assert kinds(events) == [TransactionTimeout, TransactionTerminated] and events[0].transaction is tx


def test_invite_server_2xx_accepted_state_and_timer_l(clock):
    uas = TransactionLayer(rng=random.Random(5), send_trying=False)
    invite = wire(make_request(uas))
    uas.receive(invite, clock.now)
    tx = drain(uas)[0].transaction
    ok = invite.response(200, to_tag="314159", body=SDP, content_type="application/sdp")
    sent_at = clock.tick()
    uas.send_response(tx, ok, sent_at)
    assert tx.state is S.ACCEPTED and tx.timer == "L" and uas.get_timer() == sent_at + T
    assert uas.messages_to_send() == [ok]

    uas.receive(invite, clock.tick())  # retransmitted INVITE: absorbed (the TU resends 2xx)
    uas.send_response(tx, ok, clock.tick())  # the TU's 2xx retransmission goes out
    assert uas.messages_to_send() == [ok]
    with pytest.raises(TransactionStateError):
        uas.send_response(tx, invite.response(486, to_tag="314159"), clock.now)
    with pytest.raises(TransactionStateError):
        uas.send_response(tx, invite.response(180, to_tag="314159"), clock.now)

    # The ACK for a 2xx is a transaction of its own (new branch): handed to the TU.
    ack = build_request("ACK", invite.uri, from_=ALICE, to=ok.to, call_id=CALL_ID, cseq=1,
                        via=Via("WSS", "df7jal23ls0d.invalid", params={"branch": "z9hG4bKack2xx"}))
    uas.receive(wire(ack), clock.tick())
    events = drain(uas)
    assert kinds(events) == [AckReceived] and events[0].transaction is None
    # An ACK that reuses the INVITE's branch matches the Accepted transaction: also to the TU.
    uas.receive(wire(ack.replace(headers=ack.headers.set("Via", invite.top_via))), clock.tick())
    events = drain(uas)
    assert kinds(events) == [AckReceived] and events[0].transaction is tx
    assert tx.state is S.ACCEPTED

    uas.handle_timer(sent_at + T)
    assert kinds(drain(uas)) == [TransactionTerminated] and uas.get_timer() is None


def test_retransmitted_invite_gets_the_last_response_again(clock):
    uas = TransactionLayer(rng=random.Random(5))
    invite = wire(make_request(uas))
    uas.receive(invite, clock.now)
    tx = drain(uas)[0].transaction
    assert codes(uas.messages_to_send()) == [100]
    uas.receive(invite, clock.tick())
    assert codes(uas.messages_to_send()) == [100] and drain(uas) == []
    ringing = invite.response(180, to_tag="x")
    uas.send_response(tx, ringing, clock.tick())
    uas.messages_to_send()
    uas.receive(invite, clock.tick())
    assert uas.messages_to_send() == [ringing] and drain(uas) == []
    uas.send_response(tx, invite.response(480, to_tag="x"), clock.tick())
    uas.messages_to_send()
    uas.receive(invite, clock.tick())
    assert codes(uas.messages_to_send()) == [480]  # Completed resends the final response too


def test_retransmitted_request_before_any_answer_is_absorbed(clock):
    uas = TransactionLayer(rng=random.Random(5), send_trying=False)
    invite = wire(make_request(uas))
    uas.receive(invite, clock.now)
    uas.receive(invite, clock.tick())
    assert kinds(drain(uas)) == [RequestReceived] and uas.messages_to_send() == []
    assert len(uas.transactions) == 1


def test_trying_copies_the_timestamp(clock):
    uas = TransactionLayer(rng=random.Random(5))
    invite = make_request(uas, headers=[("Timestamp", "54")])
    uas.receive(wire(invite), clock.now)
    [trying] = uas.messages_to_send()
    assert trying.header("Timestamp") == "54"


# --- non-INVITE server --------------------------------------------------------------------------


def test_non_invite_server(clock):
    uas = TransactionLayer(rng=random.Random(5))
    options = wire(make_request(uas, "OPTIONS"))
    uas.receive(options, clock.now)
    tx = drain(uas)[0].transaction
    assert isinstance(tx, NonInviteServerTransaction) and tx.state is S.TRYING
    assert uas.messages_to_send() == [] and uas.get_timer() is None  # no automatic 100
    uas.receive(options, clock.tick())  # Trying: absorbed
    assert uas.messages_to_send() == [] and drain(uas) == []
    uas.send_response(tx, options.response(100), clock.tick())
    uas.receive(options, clock.tick())  # Proceeding: the 100 again
    assert codes(uas.messages_to_send()) == [100, 100]
    uas.send_response(tx, options.response(200, to_tag="z"), clock.tick())
    assert codes(uas.messages_to_send()) == [200]
    assert kinds(drain(uas)) == [TransactionTerminated] and tx.state is S.TERMINATED  # Timer J = 0
    with pytest.raises(TransactionStateError):
        uas.send_response(tx, options.response(200, to_tag="z"), clock.now)


def test_responses_must_belong_to_the_transaction(clock):
    uas = TransactionLayer(rng=random.Random(5), send_trying=False)
    invite = wire(make_request(uas))
    uas.receive(invite, clock.now)
    tx = drain(uas)[0].transaction
    other = make_request(uas, cseq=2)
    with pytest.raises(ValueError, match="CSeq"):
        uas.send_response(tx, invite.response(180).with_header_set("CSeq", "2 INVITE"), clock.now)
    with pytest.raises(ValueError, match="top Via"):
        uas.send_response(tx, other.response(180).with_header_set("CSeq", "1 INVITE"), clock.now)
    with pytest.raises(ValueError, match="Call-ID"):
        uas.send_response(tx, invite.response(180).with_header_set("Call-ID", "x@y"), clock.now)
    with pytest.raises(TypeError):
        uas.send_response(tx, invite, clock.now)
    assert tx.state is S.PROCEEDING and uas.messages_to_send() == []


# --- a call over the fake connection -----------------------------------------------------------


def test_basic_call_rfc3665_3_1():
    """INVITE / 100 / 180 / 200 / ACK, then BYE / 200, over the wire form."""
    p = Pair()
    invite = make_request(p.alice)
    call = p.alice.send_request(invite, p.now)
    p.to_bob()
    incoming = drain(p.bob)[0].transaction
    assert codes(p.to_alice()) == [100]
    p.bob.send_response(incoming, incoming.request.response(180, to_tag="8321234356"), p.now)
    ok = incoming.request.response(200, to_tag="8321234356", body=SDP, content_type="application/sdp")
    p.bob.send_response(incoming, ok, p.now)
    assert codes(p.to_alice()) == [180, 200]
    events = drain(p.alice)
    assert [e.response.status_code for e in events] == [100, 180, 200]
    assert all(e.transaction is call for e in events) and call.state is S.ACCEPTED

    # The TU (dialog) builds the ACK for the 2xx and sends it outside any transaction.
    ack = build_request("ACK", "sip:bob@client.biloxi.example.com", from_=ALICE, to=events[-1].response.to,
                        call_id=CALL_ID, cseq=1, via=Via("WSS", "df7jal23ls0d.invalid",
                                                         params={"branch": p.alice.new_branch()}))
    p.alice.send_stateless(ack)
    p.to_bob()
    [ack_event] = drain(p.bob)
    assert isinstance(ack_event, AckReceived) and ack_event.transaction is None
    assert ack_event.request.cseq.method == "ACK"

    bye = make_request(p.alice, "BYE", cseq=2)
    hangup = p.alice.send_request(bye, p.now)
    p.to_bob()
    [req] = drain(p.bob)
    assert isinstance(req, RequestReceived) and req.request.method == "BYE"
    p.bob.send_response(req.transaction, req.request.response(200), p.now)
    p.to_alice()
    assert kinds(drain(p.alice)) == [ResponseReceived, TransactionTerminated]
    assert hangup.state is S.TERMINATED
    assert [type(tx) for tx in p.alice.transactions] == [InviteClientTransaction]  # Timer M runs
    assert [type(tx) for tx in p.bob.transactions] == [InviteServerTransaction]  # Timer L runs
    p.alice.handle_timer(p.alice.get_timer())
    p.bob.handle_timer(p.bob.get_timer())
    assert p.alice.transactions == p.bob.transactions == ()


# --- CANCEL ------------------------------------------------------------------------------------


def test_build_cancel_copies_the_invite():
    layer = TransactionLayer(rng=random.Random(1))
    invite = make_request(layer)
    cancel = build_cancel(invite, headers=[("Reason", 'SIP;cause=487;text="Cancelled"')])
    assert cancel.method == "CANCEL" and cancel.uri == invite.uri
    assert (cancel.cseq.seq, cancel.cseq.method) == (1, "CANCEL")
    assert cancel.call_id == invite.call_id and cancel.from_ == invite.from_
    assert cancel.to == invite.to and cancel.to.tag is None
    assert cancel.via == [invite.top_via] and cancel.top_via.branch == invite.top_via.branch
    assert cancel.route == [ROUTE] and cancel.body == b""
    assert cancel.header("Reason") == 'SIP;cause=487;text="Cancelled"'
    with pytest.raises(ValueError):
        build_cancel(make_request(layer, "OPTIONS"))


def test_cancel_waits_for_a_provisional_response_rfc3665_3_8():
    """The TU cancels before any 1xx: the CANCEL goes out with the first one (9.1);
    Bob's layer answers the CANCEL 200, Bob's TU the INVITE 487; Alice's INVITE
    transaction ACKs the 487."""
    p = Pair(send_trying=False)
    invite = make_request(p.alice)
    call = p.alice.send_request(invite, p.now)
    p.to_bob()
    incoming = drain(p.bob)[0].transaction

    assert p.alice.cancel(call, p.now) is None
    assert call.cancel_pending and not call.got_provisional
    assert p.alice.messages_to_send() == []  # 9.1: not before a provisional response

    p.bob.send_response(incoming, incoming.request.response(180, to_tag="bob1"), p.now)
    p.to_alice()
    assert kinds(drain(p.alice)) == [ResponseReceived]
    cancel_tx = call.cancel_transaction
    assert isinstance(cancel_tx, NonInviteClientTransaction) and not call.cancel_pending
    assert p.alice.cancel(call, p.now) is cancel_tx  # asking again changes nothing
    assert call.timer == "B" and call.deadline == p.now + T  # 9.1: give up 64*T1 after the CANCEL

    [cancel] = p.to_bob()
    assert cancel is cancel_tx.request and cancel == build_cancel(invite)
    [event] = drain(p.bob)
    assert isinstance(event, CancelReceived) and event.transaction is incoming and incoming.cancelled
    assert event.request.method == "CANCEL"
    p.bob.send_response(incoming, incoming.request.response(487, to_tag=incoming.to_tag), p.now)
    answers = p.to_alice()
    assert codes(answers) == [200, 487]
    assert answers[0].cseq.method == "CANCEL" and answers[0].to.tag == "bob1"  # 9.2: same tag
    events = drain(p.alice)
    assert [(type(e), e.transaction.method) for e in events] == [
        (ResponseReceived, "CANCEL"), (TransactionTerminated, "CANCEL"),
        (ResponseReceived, "INVITE"), (TransactionTerminated, "INVITE"),
    ]
    assert call.final_response.status_code == 487
    [ack] = p.to_bob()
    assert ack.method == "ACK" and ack.to.tag == "bob1"
    assert kinds(drain(p.bob)) == [TransactionTerminated]
    assert p.alice.transactions == p.bob.transactions == ()


def test_cancel_in_proceeding_goes_out_at_once(layer, clock):
    invite = make_request(layer)
    call = layer.send_request(invite, clock.now)
    layer.receive(wire(invite.response(100)), clock.tick())
    layer.messages_to_send()
    drain(layer)
    cancel_tx = layer.cancel(call, clock.tick(), headers=[("Reason", "SIP;cause=487")])
    assert isinstance(cancel_tx, NonInviteClientTransaction)
    [cancel] = layer.messages_to_send()
    assert cancel is cancel_tx.request and cancel.header("Reason") == "SIP;cause=487"
    assert cancel_tx.timer == "F" and call.timer == "B"
    assert layer.get_timer() == clock.now + T

    # The 200 for the CANCEL comes, the 487 never does: the INVITE is given up (9.1).
    layer.receive(wire(cancel.response(200, to_tag="x")), clock.tick())
    layer.handle_timer(layer.get_timer())
    events = drain(layer)
    assert [(type(e), e.transaction) for e in events] == [
        (ResponseReceived, cancel_tx), (TransactionTerminated, cancel_tx),
        (TransactionTimeout, call), (TransactionTerminated, call),
    ]
    assert layer.transactions == ()


def test_cancel_pointless_after_a_final_response(layer, clock):
    invite = make_request(layer)
    call = layer.send_request(invite, clock.now)
    assert layer.cancel(call, clock.now) is None and call.cancel_pending
    layer.receive(wire(invite.response(486, to_tag="x")), clock.tick())  # final before any 1xx
    assert not call.cancel_pending and call.cancel_transaction is None
    assert [m.method for m in layer.messages_to_send()] == ["INVITE", "ACK"]

    invite2 = make_request(layer, cseq=2)
    call2 = layer.send_request(invite2, clock.now)
    layer.receive(wire(invite2.response(200, to_tag="y")), clock.tick())
    assert layer.cancel(call2, clock.now) is None  # the TU ACKs and BYEs instead
    assert [m.method for m in layer.messages_to_send()] == ["INVITE"]
    with pytest.raises(TypeError):
        layer.cancel(layer.send_request(make_request(layer, "OPTIONS"), clock.now), clock.now)


def test_cancel_matching_on_the_server_side(clock):
    uas = TransactionLayer(rng=random.Random(5))
    invite = wire(make_request(uas))
    uas.receive(invite, clock.now)
    tx = drain(uas)[0].transaction
    uas.messages_to_send()

    # A CANCEL with another branch matches nothing: 481.
    stranger = build_cancel(make_request(uas))
    uas.receive(wire(stranger), clock.tick())
    [answer] = uas.messages_to_send()
    assert answer.status_code == 481 and answer.cseq.method == "CANCEL" and answer.to.tag
    assert drain(uas) == [] and not tx.cancelled

    # Same branch but another sent-by: not the same transaction either (9.2, 17.2.3).
    moved = build_cancel(invite).with_header_set(
        "Via", Via("WSS", "elsewhere.invalid", params={"branch": invite.top_via.branch}))
    uas.receive(wire(moved), clock.tick())
    assert codes(uas.messages_to_send()) == [481]

    # The right one, before any tagged response: 200 with a tag the 487 should reuse.
    cancel = wire(build_cancel(invite))
    uas.receive(cancel, clock.tick())
    [answer] = uas.messages_to_send()
    assert answer.status_code == 200 and answer.to.tag == tx.to_tag is not None
    assert kinds(drain(uas)) == [CancelReceived]
    uas.receive(cancel, clock.tick())  # again: answered again, reported once
    assert codes(uas.messages_to_send()) == [200] and drain(uas) == []

    # After the final response a CANCEL has no effect, but is still answered 200.
    uas.send_response(tx, invite.response(487, to_tag=tx.to_tag), clock.tick())
    uas.messages_to_send()
    uas.receive(cancel, clock.tick())
    assert codes(uas.messages_to_send()) == [200] and drain(uas) == []


def test_cancel_for_a_non_invite_is_answered_without_effect(clock):
    uas = TransactionLayer(rng=random.Random(5))
    options = make_request(uas, "OPTIONS")
    uas.receive(wire(options), clock.now)
    drain(uas)
    cancel = build_request("CANCEL", options.uri, from_=ALICE, to=BOB, call_id=CALL_ID, cseq=1,
                           via=options.top_via)
    uas.receive(wire(cancel), clock.tick())
    assert codes(uas.messages_to_send()) == [200] and drain(uas) == []


# --- RFC 2543 matching ---------------------------------------------------------------------------


def test_badbranch_is_matched_by_rfc2543_rules(clock):
    """RFC 4475 3.2.1: a branch that is only the magic cookie identifies nothing; the
    retransmission still finds its transaction by the RFC 2543 fields."""
    data = (RFC4475 / "badbranch.dat").read_bytes()
    request = parse_message(data)
    assert request.top_via.branch == "z9hG4bK" and not is_rfc3261_branch(request.top_via.branch)
    uas = TransactionLayer(rng=random.Random(5))
    uas.receive(request, clock.now)
    [event] = drain(uas)
    tx = event.transaction
    uas.receive(parse_message(data), clock.tick())  # retransmission: absorbed
    assert drain(uas) == [] and uas.transactions == (tx,)
    uas.send_response(tx, request.response(100), clock.tick())
    uas.receive(parse_message(data), clock.tick())
    assert codes(uas.messages_to_send()) == [100, 100]
    # Another request differing in one RFC 2543 field is another transaction.
    uas.receive(request.with_header_set("CSeq", "9 OPTIONS"), clock.tick())
    assert kinds(drain(uas)) == [RequestReceived] and len(uas.transactions) == 2
    uas.send_response(tx, request.response(200, to_tag="b1"), clock.tick())
    assert tx.state is S.TERMINATED


def test_rfc2543_invite_ack_and_cancel_matching(clock):
    """RFC 4475 3.4.1 (inv2543.dat, no branch at all): the ACK for the non-2xx matches
    by the To tag of the response sent; a CANCEL by the INVITE's fields."""
    invite = parse_message((RFC4475 / "inv2543.dat").read_bytes())
    assert invite.top_via.branch is None
    uas = TransactionLayer(rng=random.Random(5))
    uas.receive(invite, clock.now)
    tx = drain(uas)[0].transaction
    uas.receive(invite, clock.tick())
    assert codes(uas.messages_to_send()) == [100, 100]

    cancel = build_request("CANCEL", invite.uri, from_=invite.from_, to=invite.to,
                           call_id=invite.call_id, cseq=56, via=invite.top_via)
    uas.receive(wire(cancel), clock.tick())
    assert codes(uas.messages_to_send()) == [200] and kinds(drain(uas)) == [CancelReceived]

    rejected = invite.response(487, to_tag=tx.to_tag)
    uas.send_response(tx, rejected, clock.tick())
    uas.messages_to_send()
    wrong = build_ack(invite, invite.response(487, to_tag="other"))
    uas.receive(wire(wrong), clock.tick())
    assert kinds(drain(uas)) == [AckReceived] and tx.state is S.COMPLETED  # not ours: passed up
    uas.receive(wire(build_ack(invite, rejected)), clock.tick())
    assert kinds(drain(uas)) == [TransactionTerminated] and uas.transactions == ()


# --- transport errors and strays -------------------------------------------------------------------


def test_transport_error_ends_every_transaction(clock):
    p = Pair()
    calling = p.alice.send_request(make_request(p.alice), p.now)
    options = make_request(p.alice, "OPTIONS", cseq=2)
    trying = p.alice.send_request(options, p.now)
    invite2 = make_request(p.alice, cseq=3)
    accepted = p.alice.send_request(invite2, p.now)
    p.alice.receive(wire(invite2.response(200, to_tag="t")), p.now)
    p.alice.messages_to_send()
    p.bob.receive(wire(make_request(p.alice)), p.now)
    incoming = drain(p.bob)[0].transaction
    drain(p.alice)
    p.alice.send_request(make_request(p.alice, "MESSAGE", cseq=4), p.now)  # queued, never sent

    p.alice.transport_error(p.clock.tick())
    events = drain(p.alice)
    assert [(type(e), e.transaction) for e in events] == [
        (TransportFailed, calling), (TransactionTerminated, calling),
        (TransportFailed, trying), (TransactionTerminated, trying),
        (TransactionTerminated, accepted),  # its outcome (the 2xx) was already passed up
        (TransportFailed, events[5].transaction), (TransactionTerminated, events[5].transaction),
    ]
    assert p.alice.messages_to_send() == [] and p.alice.transactions == () and p.alice.get_timer() is None

    p.bob.transport_error(p.now)
    assert [(type(e), e.transaction) for e in drain(p.bob)] == [
        (TransportFailed, incoming), (TransactionTerminated, incoming)]
    with pytest.raises(TransactionStateError):
        p.bob.send_response(incoming, incoming.request.response(486, to_tag="x"), p.now)
    # The layer is still usable on the next connection.
    assert p.alice.send_request(make_request(p.alice, "REGISTER", cseq=5), p.now).state is S.TRYING


def test_bcast_response_is_dropped_quietly(layer, clock):
    """RFC 4475 3.3.10: a 200 the UA never asked for, with two Vias (8.1.3.3)."""
    layer.send_request(make_request(layer), clock.now)
    layer.messages_to_send()
    drain(layer)
    response = parse_message((RFC4475 / "bcast.dat").read_bytes())
    layer.receive(response, clock.tick())
    events = drain(layer)
    assert kinds(events) == [MessageDropped] and "Via" in events[0].reason
    assert layer.messages_to_send() == []
    # With one Via it still matches nothing, and its sent-by is not ours: dropped too.
    single = response.with_header_set("Via", response.top_via)
    layer.receive(single, clock.tick())
    assert kinds(drain(layer)) == [MessageDropped]


def test_a_response_from_the_wrong_sent_by_is_dropped(layer, clock):
    invite = make_request(layer)
    tx = layer.send_request(invite, clock.now)
    forged = invite.response(180).with_header_set(
        "Via", Via("WSS", "attacker.invalid", params={"branch": invite.top_via.branch}))
    layer.receive(wire(forged), clock.tick())
    assert kinds(drain(layer)) == [MessageDropped] and tx.state is S.CALLING


def test_messages_lacking_matching_headers_are_dropped(layer, clock):
    layer.receive(Response(200), clock.now)
    layer.receive(Request("OPTIONS", "sip:a@b.example"), clock.now)
    assert kinds(drain(layer)) == [MessageDropped, MessageDropped]
    with pytest.raises(TypeError):
        layer.receive(b"SIP/2.0 200 OK\r\n\r\n", clock.now)


# --- local misuse -------------------------------------------------------------------------------


def test_send_request_refuses_what_a_transaction_cannot_carry(layer, clock):
    invite = make_request(layer)
    with pytest.raises(ValueError, match="ACK"):
        layer.send_request(build_ack(invite, invite.response(486, to_tag="x")), clock.now)
    for branch in ("z9hG4bK", "1234"):
        bad = make_request(layer, via=Via("WSS", "h.invalid", params={"branch": branch}))
        with pytest.raises(ValueError, match="branch"):
            layer.send_request(bad, clock.now)
    layer.send_request(invite, clock.now)
    with pytest.raises(ValueError, match="already running"):
        layer.send_request(invite, clock.now)
    with pytest.raises(TypeError):
        layer.send_request(invite.response(200), clock.now)
    with pytest.raises(ValueError):
        layer.send_stateless(make_request(layer, "BYE"))
    with pytest.raises(ValueError):
        build_ack(invite, invite.response(200, to_tag="x"))


def test_timers_fire_in_deadline_order(layer, clock):
    first = layer.send_request(make_request(layer, "OPTIONS"), clock.now)
    second = layer.send_request(make_request(layer), clock.tick(1.0))
    later = layer.send_request(make_request(layer, "REGISTER"), clock.tick(1.0))
    assert layer.get_timer() == T
    layer.handle_timer(T + 1.5)
    events = [e for e in drain(layer) if isinstance(e, TransactionTimeout)]
    assert [e.transaction for e in events] == [first, second]
    assert layer.transactions == (later,) and layer.get_timer() == T + 2.0
    assert layer.next_event() is None


def test_the_tu_can_answer_while_draining_events(clock):
    uas = TransactionLayer(rng=random.Random(5), send_trying=False)
    uas.receive(wire(make_request(uas, "OPTIONS")), clock.now)
    seen = []
    for event in uas.events():
        seen.append(type(event))
        if isinstance(event, RequestReceived):
            uas.send_response(event.transaction, event.request.response(200, to_tag="x"), clock.now)
    assert seen == [RequestReceived, TransactionTerminated]
    assert codes(uas.messages_to_send()) == [200]


def test_send_stateless_queues_acks_and_responses(layer, clock):
    invite = make_request(layer)
    ack = build_request("ACK", invite.uri, from_=ALICE, to=BOB.with_tag("b"), call_id=CALL_ID, cseq=1,
                        via=Via("WSS", "df7jal23ls0d.invalid", params={"branch": layer.new_branch()}))
    bad_request = invite.response(400)
    layer.send_stateless(ack)
    layer.send_stateless(bad_request)
    assert layer.messages_to_send() == [ack, bad_request]
    assert layer.transactions == () and layer.get_timer() is None
    with pytest.raises(TypeError):
        layer.send_stateless(bytes(ack))


def test_transport_error_drops_a_deferred_cancel(layer, clock):
    invite = make_request(layer)
    call = layer.send_request(invite, clock.now)
    assert layer.cancel(call, clock.now) is None
    layer.transport_error(clock.tick())
    assert kinds(drain(layer)) == [TransportFailed, TransactionTerminated]
    layer.receive(wire(invite.response(180, to_tag="x")), clock.tick())  # too late: matches nothing
    assert kinds(drain(layer)) == [MessageDropped] and layer.messages_to_send() == []
