"""The transaction state tables against RFC 3261 17 / RFC 6026 figures (restated here
by hand, for a reliable transport), their consistency, and the engine that runs them."""

from __future__ import annotations

import pytest

from webvoice.sip import NameAddr, Request, Response, Via, build_request
from webvoice.sip.transaction._events import (
    AckReceived,
    ResponseReceived,
    TransactionTerminated,
    TransactionTimeout,
    TransportFailed,
)
from webvoice.sip.transaction._tables import (
    INVITE_CLIENT,
    INVITE_CLIENT_TIMERS,
    INVITE_SERVER,
    INVITE_SERVER_TIMERS,
    NON_INVITE_CLIENT,
    NON_INVITE_CLIENT_TIMERS,
    NON_INVITE_SERVER,
    NON_INVITE_SERVER_TIMERS,
    TransactionAction,
    TransactionInput,
    TransactionState,
    format_table,
)
from webvoice.sip.transaction._timers import TimerConfig
from webvoice.sip.transaction._transaction import (
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    TransactionStateError,
)

A, I, S = TransactionAction, TransactionInput, TransactionState

# state | input | new state | actions   (one row per arrow of the RFC figures)
EXPECTED = {
    "INVITE client": """
        Calling    | 1xx received      | Proceeding | pass to TU
        Calling    | 2xx received      | Accepted   | pass to TU
        Calling    | 300-699 received  | Completed  | send ACK, pass to TU
        Calling    | Timer B           | Terminated | report timeout to TU
        Calling    | transport error   | Terminated | report transport error to TU
        Proceeding | 1xx received      | Proceeding | pass to TU
        Proceeding | 2xx received      | Accepted   | pass to TU
        Proceeding | 300-699 received  | Completed  | send ACK, pass to TU
        Proceeding | Timer B           | Terminated | report timeout to TU
        Proceeding | transport error   | Terminated | report transport error to TU
        Accepted   | 1xx received      | Accepted   |
        Accepted   | 2xx received      | Accepted   | pass to TU
        Accepted   | 300-699 received  | Accepted   |
        Accepted   | Timer M           | Terminated |
        Accepted   | transport error   | Terminated |
        Completed  | 1xx received      | Completed  |
        Completed  | 2xx received      | Completed  |
        Completed  | 300-699 received  | Completed  | send ACK
        Completed  | Timer D           | Terminated |
        Completed  | transport error   | Terminated |
    """,
    "non-INVITE client": """
        Trying     | 1xx received      | Proceeding | pass to TU
        Trying     | 2xx received      | Completed  | pass to TU
        Trying     | 300-699 received  | Completed  | pass to TU
        Trying     | Timer F           | Terminated | report timeout to TU
        Trying     | transport error   | Terminated | report transport error to TU
        Proceeding | 1xx received      | Proceeding | pass to TU
        Proceeding | 2xx received      | Completed  | pass to TU
        Proceeding | 300-699 received  | Completed  | pass to TU
        Proceeding | Timer F           | Terminated | report timeout to TU
        Proceeding | transport error   | Terminated | report transport error to TU
        Completed  | 1xx received      | Completed  |
        Completed  | 2xx received      | Completed  |
        Completed  | 300-699 received  | Completed  |
        Completed  | Timer K           | Terminated |
        Completed  | transport error   | Terminated |
    """,
    "INVITE server": """
        Proceeding | request retransmission | Proceeding | resend last response
        Proceeding | ACK received           | Proceeding |
        Proceeding | 1xx from TU            | Proceeding | send response
        Proceeding | 2xx from TU            | Accepted   | send response
        Proceeding | 300-699 from TU        | Completed  | send response
        Proceeding | transport error        | Terminated | report transport error to TU
        Accepted   | request retransmission | Accepted   |
        Accepted   | ACK received           | Accepted   | pass to TU
        Accepted   | 2xx from TU            | Accepted   | send response
        Accepted   | Timer L                | Terminated |
        Accepted   | transport error        | Terminated |
        Completed  | request retransmission | Completed  | resend last response
        Completed  | ACK received           | Confirmed  |
        Completed  | Timer H                | Terminated | report timeout to TU
        Completed  | transport error        | Terminated | report transport error to TU
        Confirmed  | request retransmission | Confirmed  |
        Confirmed  | ACK received           | Confirmed  |
        Confirmed  | Timer I                | Terminated |
        Confirmed  | transport error        | Terminated |
    """,
    "non-INVITE server": """
        Trying     | request retransmission | Trying     |
        Trying     | 1xx from TU            | Proceeding | send response
        Trying     | 2xx from TU            | Completed  | send response
        Trying     | 300-699 from TU        | Completed  | send response
        Trying     | transport error        | Terminated | report transport error to TU
        Proceeding | request retransmission | Proceeding | resend last response
        Proceeding | 1xx from TU            | Proceeding | send response
        Proceeding | 2xx from TU            | Completed  | send response
        Proceeding | 300-699 from TU        | Completed  | send response
        Proceeding | transport error        | Terminated | report transport error to TU
        Completed  | request retransmission | Completed  | resend last response
        Completed  | Timer J                | Terminated |
        Completed  | transport error        | Terminated |
    """,
}

KINDS = {
    "INVITE client": (InviteClientTransaction, INVITE_CLIENT, INVITE_CLIENT_TIMERS),
    "non-INVITE client": (NonInviteClientTransaction, NON_INVITE_CLIENT, NON_INVITE_CLIENT_TIMERS),
    "INVITE server": (InviteServerTransaction, INVITE_SERVER, INVITE_SERVER_TIMERS),
    "non-INVITE server": (NonInviteServerTransaction, NON_INVITE_SERVER, NON_INVITE_SERVER_TIMERS),
}
NETWORK_INPUTS = {
    "INVITE client": {I.RECV_1XX, I.RECV_2XX, I.RECV_3XX_6XX, I.TRANSPORT_ERROR},
    "non-INVITE client": {I.RECV_1XX, I.RECV_2XX, I.RECV_3XX_6XX, I.TRANSPORT_ERROR},
    "INVITE server": {I.REQUEST, I.ACK, I.TRANSPORT_ERROR},
    "non-INVITE server": {I.REQUEST, I.TRANSPORT_ERROR},
}


def parse_table(text: str) -> dict:
    table = {}
    for line in text.strip().splitlines():
        state, inp, new, actions = (part.strip() for part in line.split("|"))
        table[(S(state), I(inp))] = (S(new), tuple(A(a.strip()) for a in actions.split(",") if a.strip()))
    return table


@pytest.mark.parametrize("kind", KINDS)
def test_table_is_the_rfc_figure(kind):
    table = KINDS[kind][1]
    assert dict(table) == parse_table(EXPECTED[kind])
    assert parse_table(format_table(table)) == dict(table)


def test_format_table_for_the_docs():
    text = format_table(NON_INVITE_SERVER)
    assert text.splitlines()[0] == "Trying     | request retransmission | Trying     |"
    assert text.splitlines()[1] == "Trying     | 1xx from TU            | Proceeding | send response"


@pytest.mark.parametrize("kind", KINDS)
def test_table_is_complete_and_consistent(kind):
    cls, table, timers = KINDS[kind]
    live = {state for state, _ in table}
    assert S.TERMINATED not in live and cls.INITIAL in live
    # Every live state takes every network input: nothing from the wire is unforeseen.
    for state in live:
        for inp in NETWORK_INPUTS[kind]:
            assert (state, inp) in table, (state, inp)
    # A timer appears exactly where it can run, and always ends the transaction.
    extra = {(S.PROCEEDING, I.TIMER_B)} if kind == "INVITE client" else set()  # the CANCEL wait
    timer_rows = {(state, inp) for state, inp in table if inp.timer_letter}
    assert timer_rows == {(state, timer) for state, timer in timers.items()} | extra
    assert all(table[row][0] is S.TERMINATED for row in timer_rows)
    # Only server transactions take responses from the TU.
    assert any(inp.from_tu for _, inp in table) == (not cls.is_client)
    # Every live state is reachable from the initial one.
    reached, frontier = {cls.INITIAL}, [cls.INITIAL]
    while frontier:
        state = frontier.pop()
        for (src, _), (dst, _) in table.items():
            if src is state and dst not in reached:
                reached.add(dst)
                frontier.append(dst)
    assert reached == live | {S.TERMINATED}


# --- the engine runs the table -----------------------------------------------------------------

INVITE = build_request(
    "INVITE", "sip:bob@biloxi.example.com", from_=NameAddr("sip:alice@atlanta.example.com", params={"tag": "a"}),
    to=NameAddr("sip:bob@biloxi.example.com"), call_id="c@atlanta.example.com", cseq=1,
    via=Via("WSS", "alice.invalid", params={"branch": "z9hG4bKengine"}),
)
OPTIONS = build_request(
    "OPTIONS", INVITE.uri, from_=INVITE.from_, to=INVITE.to, call_id=INVITE.call_id, cseq=2, via=INVITE.top_via,
)
CODES = {"1xx": 180, "2xx": 200, "300-699": 486}


def engine_cases():
    for kind, (cls, table, _) in KINDS.items():
        for (state, inp), (new, actions) in table.items():
            yield pytest.param(cls, state, inp, new, actions, id=f"{kind}: {state.value} + {inp.value}")


@pytest.mark.parametrize("cls, state, inp, new, actions", engine_cases())
def test_engine_follows_the_table(cls, state, inp, new, actions):
    config = TimerConfig()
    request = INVITE if cls.is_invite else OPTIONS
    tx = cls(request, 10.0, config)
    tx.state = state
    timer = cls.TIMERS.get(state) or (I.TIMER_B if state is S.PROCEEDING and cls.is_invite else None)
    tx._timer = (timer, 10.0 + config.duration(timer.timer_letter)) if timer else None
    if not cls.is_client:
        tx.last_response = request.response(100)
    now = 20.0
    if inp.timer_letter:
        out = tx._handle_timer(tx.deadline)
    elif inp is I.TRANSPORT_ERROR:
        out = tx._transport_error(now)
    elif inp.from_tu:
        out = tx._send_response(request.response(CODES[inp.value.split()[0]], to_tag="b"), now)
    elif inp in (I.REQUEST, I.ACK):
        ack = build_request("ACK", request.uri, from_=request.from_, to=request.to.with_tag("b"),
                            call_id=request.call_id, cseq=1, via=request.top_via)
        out = tx._receive_request(request if inp is I.REQUEST else ack, now)
    else:
        out = tx._receive_response(request.response(CODES[inp.value.split()[0]], to_tag="b"), now)

    # The zero timers (D, I, J, K) fire before the call returns.
    zero = cls.TIMERS.get(new) is not None and config.duration(cls.TIMERS[new].timer_letter) == 0
    final = S.TERMINATED if zero else new
    assert tx.state is final
    expected = []
    for action in actions:
        expected.append({
            A.PASS_TO_TU: ResponseReceived if cls.is_client else AckReceived,
            A.SEND_ACK: Request, A.SEND_RESPONSE: Response, A.RESEND_RESPONSE: Response,
            A.REPORT_TIMEOUT: TransactionTimeout, A.REPORT_TRANSPORT_ERROR: TransportFailed,
        }[action])
    if final is S.TERMINATED:
        expected.append(TransactionTerminated)
    assert [type(o) for o in out] == expected
    if A.SEND_ACK in actions:
        assert out[0].method == "ACK"
    # Timers: the new state's own, kept when the state is kept.
    if final is S.TERMINATED:
        assert tx.deadline is None
    elif new is state:
        assert tx._timer == ((timer, 10.0 + config.duration(timer.timer_letter)) if timer else None)
    elif cls.TIMERS.get(new) is not None and cls.TIMERS.get(new) is cls.TIMERS.get(state):
        assert tx.deadline == 10.0 + config.duration(timer.timer_letter)  # Timer F carries on
    elif cls.TIMERS.get(new) is not None:
        assert tx.deadline == now + config.duration(cls.TIMERS[new].timer_letter)
    else:
        assert tx.deadline is None


@pytest.mark.parametrize("state", [S.ACCEPTED, S.COMPLETED, S.CONFIRMED, S.TERMINATED])
def test_responses_the_state_forbids_raise(state):
    tx = InviteServerTransaction(INVITE, 0.0, TimerConfig())
    tx.state = state
    for code in (180, 486) + ((200,) if state is not S.ACCEPTED else ()):
        with pytest.raises(TransactionStateError, match="final response was already sent"):
            tx._send_response(INVITE.response(code, to_tag="b"), 1.0)
    assert tx.state is state
