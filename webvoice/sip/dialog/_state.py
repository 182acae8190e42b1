"""The values of dialogs: their id, their states and the table that moves them.

Kept apart from :class:`~webvoice.sip.dialog._dialog.Dialog` so that the dialog's life
can be read (and drawn) from one table, as h11 does with its connection states:
only the responses to the request that created the dialog, and ``terminate()``,
change a dialog's state::

    EARLY --1xx--> EARLY --2xx--> CONFIRMED --2xx (again)--> CONFIRMED
    EARLY --3xx-6xx--> TERMINATED
    EARLY, CONFIRMED, TERMINATED --terminate()--> TERMINATED

A remote event the table lacks (a 1xx after the 2xx, a 2xx for a terminated
early dialog) changes nothing; ``_forking.py`` handles a late 2xx.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

from ..syntax._header_values import CSeq, NameAddr
from ..syntax._message import Request, Response, not_an_answer
from ..util._record import record

__all__ = ["DIALOG_TRANSITIONS", "TARGET_REFRESH_METHODS", "DialogId", "DialogState", "RequestRejected"]

#: Requests that replace the remote target with their Contact (RFC 3261 12.2,
#: RFC 3311 UPDATE, RFC 6665 4.1 SUBSCRIBE and NOTIFY). The dialog also puts its
#: own Contact into these when it builds them.
TARGET_REFRESH_METHODS = frozenset({"INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY"})


@record
class DialogId:
    """Call-ID, local tag and remote tag (RFC 3261 12).

    ``remote_tag`` is ``None`` for a peer that sent no tag (an RFC 2543 UA,
    12.1.1 and 12.1.2: the tag "is considered null"). Tags compare exactly.
    """

    call_id: str
    local_tag: str
    remote_tag: str | None

    def __post_init__(self) -> None:
        if not isinstance(self.call_id, str) or not self.call_id:
            raise ValueError(f"a dialog's Call-ID is a non-empty str, not {self.call_id!r}")
        if not isinstance(self.local_tag, str) or not self.local_tag:
            raise ValueError(f"a dialog's local tag is a non-empty str, not {self.local_tag!r}")
        if self.remote_tag is not None and not isinstance(self.remote_tag, str):
            raise ValueError(f"a dialog's remote tag is a str or None, not {self.remote_tag!r}")

    @classmethod
    def of_received_request(cls, request: Request) -> DialogId | None:
        """The id of the dialog a request we received claims (To tag = ours).

        ``None`` when the request has no To tag: it is not sent within a dialog.
        """
        to, from_ = request.to, request.from_
        if to is None or not to.tag or not request.call_id:
            return None
        return cls(request.call_id, to.tag, from_.tag if from_ is not None else None)

    @classmethod
    def of_received_response(cls, response: Response) -> DialogId | None:
        """The id of the dialog a response we received belongs to (From tag = ours)."""
        to, from_ = response.to, response.from_
        if from_ is None or not from_.tag or not response.call_id:
            return None
        return cls(response.call_id, from_.tag, to.tag if to is not None else None)


class DialogState(Enum):
    EARLY = "early"
    CONFIRMED = "confirmed"
    TERMINATED = "terminated"


class _Input(Enum):
    PROVISIONAL = "a 1xx to the request that created the dialog"
    SUCCESS = "a 2xx to the request that created the dialog"
    FAILURE = "a 3xx-6xx to the request that created the dialog"
    TERMINATE = "terminate()"


_E, _C, _T = DialogState.EARLY, DialogState.CONFIRMED, DialogState.TERMINATED

#: (state, input) -> new state. Pairs not listed are remote events that change nothing.
DIALOG_TRANSITIONS: dict[tuple[DialogState, _Input], DialogState] = {
    (_E, _Input.PROVISIONAL): _E,
    (_E, _Input.SUCCESS): _C,
    (_E, _Input.FAILURE): _T,
    (_E, _Input.TERMINATE): _T,
    (_C, _Input.SUCCESS): _C,  # a retransmitted 2xx
    (_C, _Input.TERMINATE): _T,
    (_T, _Input.TERMINATE): _T,
}


@record
class RequestRejected:
    """A request received that 12.2.2 refuses: answer it with ``response``.

    ``response`` is ``None`` for an ACK, which is never answered (drop it).
    ``reason`` says why, for the log.
    """

    request: Request
    response: Response | None
    reason: str


def _reject(request: Request, status: int, reason: str) -> RequestRejected:
    return RequestRejected(request, None if request.method == "ACK" else request.response(status), reason)


class _Core(NamedTuple):
    call_id: str
    from_: NameAddr
    to: NameAddr
    cseq: CSeq


def _core(message: Request | Response) -> _Core:
    """The headers every dialog step needs; messages read off the wire always have them."""
    call_id, from_, to, cseq = message.call_id, message.from_, message.to, message.cseq
    if call_id is None or from_ is None or to is None or cseq is None:
        kind = "request" if isinstance(message, Request) else "response"
        raise ValueError(f"the {kind} lacks one of Call-ID, From, To, CSeq")
    return _Core(call_id, from_, to, cseq)


def _same_transaction(request: Request, response: Response) -> bool:
    return not_an_answer(request, response) is None
