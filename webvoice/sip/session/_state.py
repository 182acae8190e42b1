"""The states of a call and the moves between them, as one table.

As the transactions keep theirs (:mod:`..transaction._tables`), a call keeps
its life in :data:`CALL_TRANSITIONS`, ``(state, input) -> new state``; the
session (:mod:`._call`) and its parts only look moves up here. A pair that is
not in the table is a move the call cannot make: the session ignores it when
it comes from the network (a BYE after the call ended) and refuses it with a
clear error when it comes from the application (``accept`` on a call that
is not ringing).

Both ways to the end are listed from every live state: ``FAIL`` (the call
never came up: :class:`~._events.CallFailed`) and ``END`` (it did, or the
200 was sent: :class:`~._events.CallEnded`); which one a cause takes is the
part's decision, the table only says the call is over.
"""

from __future__ import annotations

import enum

__all__ = ["CALL_TRANSITIONS", "CallInput", "CallState", "format_call_table"]


class CallState(enum.Enum):
    CALLING = "calling"  # INVITE sent, nothing back but 100
    RINGING = "ringing"  # outgoing: 18x received
    INCOMING = "incoming"  # incoming: 180 sent, the application decides
    ANSWERED = "answered"  # incoming: 200 sent, waiting for the ACK
    ESTABLISHED = "established"
    TERMINATED = "terminated"


class CallInput(enum.Enum):
    PROVISIONAL = "18x received"  # a provisional response above 100 to our INVITE
    CONFIRMED = "2xx received"  # the first 2xx to our INVITE: the dialog is confirmed
    ACCEPT = "accept()"  # the application answers an incoming call: 200 sent
    ACK = "ACK received"  # the ACK to our 200
    FAIL = "failed"  # the call never came up
    END = "ended"  # the call, answered, is over


_S, _I = CallState, CallInput
_LIVE = (_S.CALLING, _S.RINGING, _S.INCOMING, _S.ANSWERED, _S.ESTABLISHED)

#: ``(state, input) -> new state``; every other pair is a move the call cannot make.
CALL_TRANSITIONS: dict[tuple[CallState, CallInput], CallState] = {
    (_S.CALLING, _I.PROVISIONAL): _S.RINGING,
    (_S.RINGING, _I.PROVISIONAL): _S.RINGING,
    (_S.CALLING, _I.CONFIRMED): _S.ESTABLISHED,
    (_S.RINGING, _I.CONFIRMED): _S.ESTABLISHED,
    (_S.INCOMING, _I.ACCEPT): _S.ANSWERED,
    (_S.ANSWERED, _I.ACK): _S.ESTABLISHED,
    **{(state, _I.FAIL): _S.TERMINATED for state in _LIVE},
    **{(state, _I.END): _S.TERMINATED for state in _LIVE},
}


def format_call_table() -> str:
    """The table as text, one move a line, for the docs and for a reader."""
    width = max(len(state.value) for state in CallState)
    return "\n".join(f"{state.value:<{width}}  --{inp.value}-->  {new.value}"
                     for (state, inp), new in CALL_TRANSITIONS.items())
