"""The four transaction state machines of RFC 3261 section 17, as tables.

For a reliable transport (SIP over WebSocket), with the RFC 6026 corrections
(the Accepted states, Timers L and M). Each table maps ``(state, input)`` to
``(new state, actions)``; the machines in :mod:`._transaction` only look
things up here. A second table per kind names the timer a state runs:

- entering a state starts its timer, unless the previous state ran the same
  timer, which then keeps running (Timer F across Trying and Proceeding);
- leaving a state stops its timer; staying in a state (a self-loop) keeps it;
- a timer due at ``now`` fires before the call that started it returns, so the
  zero timers D, I, J, K of a reliable transport end the transaction at once.

One timer is not tied to a state: the INVITE client transaction restarts
Timer B when the CANCEL for it is sent (RFC 3261 9.1: with no final response
64*T1 later, the INVITE transaction is considered cancelled and destroyed).

Missing entries: every (live state, network or timer input) pair a machine can
meet is listed, so an unlisted network input cannot happen; an unlisted input
from the TU (a response it asks to send) is local misuse and raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

# The tables themselves are reached as ``InviteClientTransaction.TABLE`` and so on.
__all__ = ["TransactionAction", "TransactionInput", "TransactionState", "format_table"]


class TransactionState(Enum):
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    ACCEPTED = "Accepted"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    TERMINATED = "Terminated"


class TransactionInput(Enum):
    # Responses received by a client transaction.
    RECV_1XX = "1xx received"
    RECV_2XX = "2xx received"
    RECV_3XX_6XX = "300-699 received"
    # Requests received by a server transaction (the one that created it is not an input).
    REQUEST = "request retransmission"
    ACK = "ACK received"
    # Responses the TU hands to a server transaction.
    SEND_1XX = "1xx from TU"
    SEND_2XX = "2xx from TU"
    SEND_3XX_6XX = "300-699 from TU"
    # The connection carrying the transaction was lost.
    TRANSPORT_ERROR = "transport error"
    # Timers.
    TIMER_B = "Timer B"
    TIMER_D = "Timer D"
    TIMER_F = "Timer F"
    TIMER_H = "Timer H"
    TIMER_I = "Timer I"
    TIMER_J = "Timer J"
    TIMER_K = "Timer K"
    TIMER_L = "Timer L"
    TIMER_M = "Timer M"

    @property
    def timer_letter(self) -> str | None:
        return self.value[-1] if self.name.startswith("TIMER_") else None

    @property
    def from_tu(self) -> bool:
        return self.name.startswith("SEND_")


class TransactionAction(Enum):
    PASS_TO_TU = "pass to TU"                    # the response (client) or ACK (server)
    SEND_ACK = "send ACK"                        # ACK for a non-2xx final (17.1.1.3)
    SEND_RESPONSE = "send response"              # the TU's response
    RESEND_RESPONSE = "resend last response"     # for a retransmitted request
    REPORT_TIMEOUT = "report timeout to TU"
    REPORT_TRANSPORT_ERROR = "report transport error to TU"


S, I, A = TransactionState, TransactionInput, TransactionAction
Table = Mapping[tuple[TransactionState, TransactionInput], tuple[TransactionState, tuple[TransactionAction, ...]]]

_PASS = (A.PASS_TO_TU,)
_ACK_PASS = (A.SEND_ACK, A.PASS_TO_TU)
_SEND = (A.SEND_RESPONSE,)
_RESEND = (A.RESEND_RESPONSE,)
_TIMEOUT = (A.REPORT_TIMEOUT,)
_FAILED = (A.REPORT_TRANSPORT_ERROR,)
_NONE: tuple[TransactionAction, ...] = ()

#: INVITE client transaction: RFC 3261 17.1.1.2, figure 5 as amended by RFC 6026 figure 5.
INVITE_CLIENT: Table = {
    (S.CALLING, I.RECV_1XX): (S.PROCEEDING, _PASS),
    (S.CALLING, I.RECV_2XX): (S.ACCEPTED, _PASS),
    (S.CALLING, I.RECV_3XX_6XX): (S.COMPLETED, _ACK_PASS),
    (S.CALLING, I.TIMER_B): (S.TERMINATED, _TIMEOUT),
    (S.CALLING, I.TRANSPORT_ERROR): (S.TERMINATED, _FAILED),
    (S.PROCEEDING, I.RECV_1XX): (S.PROCEEDING, _PASS),
    (S.PROCEEDING, I.RECV_2XX): (S.ACCEPTED, _PASS),
    (S.PROCEEDING, I.RECV_3XX_6XX): (S.COMPLETED, _ACK_PASS),
    (S.PROCEEDING, I.TIMER_B): (S.TERMINATED, _TIMEOUT),  # only runs once a CANCEL was sent (9.1)
    (S.PROCEEDING, I.TRANSPORT_ERROR): (S.TERMINATED, _FAILED),
    (S.ACCEPTED, I.RECV_1XX): (S.ACCEPTED, _NONE),
    (S.ACCEPTED, I.RECV_2XX): (S.ACCEPTED, _PASS),  # retransmitted or forked 2xx: the TU ACKs it
    (S.ACCEPTED, I.RECV_3XX_6XX): (S.ACCEPTED, _NONE),
    (S.ACCEPTED, I.TIMER_M): (S.TERMINATED, _NONE),
    (S.ACCEPTED, I.TRANSPORT_ERROR): (S.TERMINATED, _NONE),
    (S.COMPLETED, I.RECV_1XX): (S.COMPLETED, _NONE),
    (S.COMPLETED, I.RECV_2XX): (S.COMPLETED, _NONE),
    (S.COMPLETED, I.RECV_3XX_6XX): (S.COMPLETED, (A.SEND_ACK,)),
    (S.COMPLETED, I.TIMER_D): (S.TERMINATED, _NONE),
    (S.COMPLETED, I.TRANSPORT_ERROR): (S.TERMINATED, _NONE),
}
INVITE_CLIENT_TIMERS = {S.CALLING: I.TIMER_B, S.ACCEPTED: I.TIMER_M, S.COMPLETED: I.TIMER_D}

#: Non-INVITE client transaction: RFC 3261 17.1.2.2, figure 6.
NON_INVITE_CLIENT: Table = {
    **{
        (state, inp): entry
        for state in (S.TRYING, S.PROCEEDING)
        for inp, entry in (
            (I.RECV_1XX, (S.PROCEEDING, _PASS)),
            (I.RECV_2XX, (S.COMPLETED, _PASS)),
            (I.RECV_3XX_6XX, (S.COMPLETED, _PASS)),
            (I.TIMER_F, (S.TERMINATED, _TIMEOUT)),
            (I.TRANSPORT_ERROR, (S.TERMINATED, _FAILED)),
        )
    },
    (S.COMPLETED, I.RECV_1XX): (S.COMPLETED, _NONE),
    (S.COMPLETED, I.RECV_2XX): (S.COMPLETED, _NONE),
    (S.COMPLETED, I.RECV_3XX_6XX): (S.COMPLETED, _NONE),
    (S.COMPLETED, I.TIMER_K): (S.TERMINATED, _NONE),
    (S.COMPLETED, I.TRANSPORT_ERROR): (S.TERMINATED, _NONE),
}
NON_INVITE_CLIENT_TIMERS = {S.TRYING: I.TIMER_F, S.PROCEEDING: I.TIMER_F, S.COMPLETED: I.TIMER_K}

#: INVITE server transaction: RFC 3261 17.2.1, figure 7 as amended by RFC 6026 figure 7.
INVITE_SERVER: Table = {
    (S.PROCEEDING, I.REQUEST): (S.PROCEEDING, _RESEND),
    (S.PROCEEDING, I.ACK): (S.PROCEEDING, _NONE),  # an ACK before any final response: ignored
    (S.PROCEEDING, I.SEND_1XX): (S.PROCEEDING, _SEND),
    (S.PROCEEDING, I.SEND_2XX): (S.ACCEPTED, _SEND),
    (S.PROCEEDING, I.SEND_3XX_6XX): (S.COMPLETED, _SEND),
    (S.PROCEEDING, I.TRANSPORT_ERROR): (S.TERMINATED, _FAILED),
    (S.ACCEPTED, I.REQUEST): (S.ACCEPTED, _NONE),
    (S.ACCEPTED, I.ACK): (S.ACCEPTED, _PASS),  # an ACK for the 2xx reusing the branch
    (S.ACCEPTED, I.SEND_2XX): (S.ACCEPTED, _SEND),  # the TU's 2xx retransmissions
    (S.ACCEPTED, I.TIMER_L): (S.TERMINATED, _NONE),
    (S.ACCEPTED, I.TRANSPORT_ERROR): (S.TERMINATED, _NONE),
    (S.COMPLETED, I.REQUEST): (S.COMPLETED, _RESEND),
    (S.COMPLETED, I.ACK): (S.CONFIRMED, _NONE),
    (S.COMPLETED, I.TIMER_H): (S.TERMINATED, _TIMEOUT),
    (S.COMPLETED, I.TRANSPORT_ERROR): (S.TERMINATED, _FAILED),
    (S.CONFIRMED, I.REQUEST): (S.CONFIRMED, _NONE),
    (S.CONFIRMED, I.ACK): (S.CONFIRMED, _NONE),
    (S.CONFIRMED, I.TIMER_I): (S.TERMINATED, _NONE),
    (S.CONFIRMED, I.TRANSPORT_ERROR): (S.TERMINATED, _NONE),
}
INVITE_SERVER_TIMERS = {S.ACCEPTED: I.TIMER_L, S.COMPLETED: I.TIMER_H, S.CONFIRMED: I.TIMER_I}

#: Non-INVITE server transaction: RFC 3261 17.2.2, figure 8.
NON_INVITE_SERVER: Table = {
    (S.TRYING, I.REQUEST): (S.TRYING, _NONE),  # the TU has not answered yet: absorbed
    (S.TRYING, I.SEND_1XX): (S.PROCEEDING, _SEND),
    (S.TRYING, I.SEND_2XX): (S.COMPLETED, _SEND),
    (S.TRYING, I.SEND_3XX_6XX): (S.COMPLETED, _SEND),
    (S.TRYING, I.TRANSPORT_ERROR): (S.TERMINATED, _FAILED),
    (S.PROCEEDING, I.REQUEST): (S.PROCEEDING, _RESEND),
    (S.PROCEEDING, I.SEND_1XX): (S.PROCEEDING, _SEND),
    (S.PROCEEDING, I.SEND_2XX): (S.COMPLETED, _SEND),
    (S.PROCEEDING, I.SEND_3XX_6XX): (S.COMPLETED, _SEND),
    (S.PROCEEDING, I.TRANSPORT_ERROR): (S.TERMINATED, _FAILED),
    (S.COMPLETED, I.REQUEST): (S.COMPLETED, _RESEND),
    (S.COMPLETED, I.TIMER_J): (S.TERMINATED, _NONE),
    (S.COMPLETED, I.TRANSPORT_ERROR): (S.TERMINATED, _NONE),
}
NON_INVITE_SERVER_TIMERS = {S.COMPLETED: I.TIMER_J}

del S, I, A


def format_table(table: Table) -> str:
    """The table as aligned text, one ``state | input | new state | actions`` row per
    entry, in table order: for documentation (and the tests read it back)."""
    rows = [
        (state.value, inp.value, new.value, ", ".join(a.value for a in actions))
        for (state, inp), (new, actions) in table.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(
        " | ".join([*(cell.ljust(w) for cell, w in zip(row[:3], widths)), row[3]]).rstrip()
        for row in rows
    )
