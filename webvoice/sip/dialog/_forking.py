"""The dialogs of one outgoing INVITE, forks included (RFC 3261 13.2.2.4, RFC 6026).

A forking proxy may send our INVITE to several phones. Each answers with its own
To tag, so the responses may create several early dialogs, and more than one
2xx may come back. :class:`InviteDialogs` takes every response the INVITE
client transaction passes up (RFC 6026 passes up each 2xx, retransmissions
included, until Timer M) and says what happened as one event:

===================  =====================================================
ProvisionalReceived  a 1xx; with a To tag it creates or updates an early dialog
DialogConfirmed      the first 2xx: that dialog wins; the other early dialogs
                     end. Send :meth:`InviteDialogs.create_ack` (with the SDP
                     answer in it when the 2xx carried the offer).
ForkDiscarded        a 2xx from another fork: send ``ack`` then ``bye``
Retransmitted2xx     a 2xx seen before: send ``ack`` again (``None`` until the
                     UA has created it)
InviteFailed         a 3xx-6xx (or a timeout): every early dialog ends
ResponseIgnored      nothing to do (a 1xx after the final, a stranger's reply)
===================  =====================================================

A 2xx the transaction layer reports as stray (after Timer M) can be passed in
too: it is then a retransmission or a late fork like any other.

The policy is the softphone's: the first 2xx is the call; every later one is
acknowledged and hung up at once, as 13.2.2.4 prescribes for an unwanted fork.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum

from ..syntax._header_values import HeaderValue, MediaType, Via
from ..syntax._message import Request, Response
from ..util._record import record
from ._dialog import Dialog
from ._state import DialogState, _same_transaction
from ._store import DialogStore

__all__ = [
    "INVITE_TRANSITIONS", "DialogConfirmed", "ForkDiscarded", "InviteDialogs", "InviteEvent",
    "InviteFailed", "InviteState", "MAX_FORKS", "ProvisionalReceived", "ResponseIgnored", "Retransmitted2xx",
]


#: Dialogs one INVITE keeps, early or discarded forks: forking proxies fan out to a
#: few contacts, and a peer inventing a new To tag for every response must not grow
#: the UA without bound (a provisional beyond it makes no early dialog; the oldest
#: discarded fork is forgotten, a retransmission of its 2xx is then hung up again).
MAX_FORKS = 16


@record
class ProvisionalReceived:
    """A 1xx. ``dialog`` is the early dialog it belongs to (``created`` when this
    response made it), or ``None`` for a 100 or a 1xx without a To tag."""

    response: Response
    dialog: Dialog | None
    created: bool = False


@record
class DialogConfirmed:
    """The first 2xx: ``dialog`` is the call. ``terminated`` are the other
    early dialogs, ended by it. The UA must now send :meth:`InviteDialogs.create_ack`."""

    response: Response
    dialog: Dialog
    terminated: tuple[Dialog, ...] = ()


@record
class ForkDiscarded:
    """A 2xx from a fork after the call was decided: send ``ack``, then ``bye``
    (through a non-INVITE client transaction). ``dialog`` stays confirmed, so
    that a challenged BYE can be sent again through it: :meth:`Dialog.terminate`
    it when the BYE transaction ends. It is not put in the store."""

    response: Response
    dialog: Dialog
    ack: Request
    bye: Request


@record
class Retransmitted2xx:
    """A 2xx seen before (its ACK was lost): send ``ack`` again, unchanged.
    ``ack`` is ``None`` when the UA has not created the ACK of the winning 2xx yet."""

    response: Response
    dialog: Dialog
    ack: Request | None


@record
class InviteFailed:
    """A 3xx-6xx final response (``response``), or a transaction timeout
    (``response`` is ``None``): the INVITE failed; ``terminated`` are the early
    dialogs that ended with it."""

    response: Response | None
    terminated: tuple[Dialog, ...] = ()


@record
class ResponseIgnored:
    """A response that changes nothing; ``reason`` says why, for the log."""

    response: Response
    reason: str


InviteEvent = (
    ProvisionalReceived | DialogConfirmed | ForkDiscarded | Retransmitted2xx | InviteFailed | ResponseIgnored
)


def _to_tag(response: Response) -> str | None:
    return response.to.tag if response.to is not None else None


class InviteState(Enum):
    CALLING = "calling"  # no final response yet
    ACCEPTED = "accepted"  # a 2xx arrived: one dialog won
    FAILED = "failed"  # a 3xx-6xx or a timeout ended the INVITE


class _Kind(Enum):
    PROVISIONAL = "1xx"
    SUCCESS = "2xx"
    FAILURE = "3xx-6xx"
    TIMEOUT = "timeout"


_CALLING, _ACCEPTED, _FAILED = InviteState.CALLING, InviteState.ACCEPTED, InviteState.FAILED

#: (state, what arrived) -> (new state, handler). Pairs not listed are ignored.
INVITE_TRANSITIONS: dict[tuple[InviteState, _Kind], tuple[InviteState, str]] = {
    (_CALLING, _Kind.PROVISIONAL): (_CALLING, "_on_provisional"),
    (_CALLING, _Kind.SUCCESS): (_ACCEPTED, "_on_first_success"),
    (_CALLING, _Kind.FAILURE): (_FAILED, "_on_failure"),
    (_CALLING, _Kind.TIMEOUT): (_FAILED, "_on_failure"),
    (_ACCEPTED, _Kind.SUCCESS): (_ACCEPTED, "_on_later_success"),
    # A 2xx after a failure breaks the proxy rules, but it is still a dialog
    # the peer thinks is up: acknowledge it and hang it up.
    (_FAILED, _Kind.SUCCESS): (_FAILED, "_on_later_success"),
}


class InviteDialogs:
    """The dialogs created by the responses to ``invite``, an INVITE we sent.

    ``via`` makes the Via (with a fresh branch) of each ACK and BYE this object
    builds. With ``store``, each early and winning dialog is registered there
    as soon as it exists, so that requests the peer sends in it are matched.
    ``tls`` is passed to :meth:`Dialog.uac`.
    """

    __slots__ = ("invite", "_via", "_store", "_tls", "_state", "_dialogs", "_winner", "_acks")

    def __init__(
        self,
        invite: Request,
        *,
        via: Callable[[], Via],
        store: DialogStore | None = None,
        tls: bool = True,
    ) -> None:
        if not isinstance(invite, Request) or invite.method != "INVITE":
            raise ValueError("InviteDialogs follows an INVITE request")
        if invite.from_ is None or not invite.from_.tag or invite.cseq is None or not invite.call_id:
            raise ValueError("the INVITE needs Call-ID, CSeq and a From tag")
        if not callable(via):
            raise TypeError("via must be a callable returning a new Via for each ACK and BYE")
        self.invite = invite
        self._via = via
        self._store = store
        self._tls = tls
        self._state = InviteState.CALLING
        self._dialogs: dict[str | None, Dialog] = {}  # by remote (To) tag
        self._winner: Dialog | None = None
        self._acks: dict[str | None, Request] = {}  # by remote tag: the ACK to re-send

    @property
    def state(self) -> InviteState:
        return self._state

    @property
    def confirmed(self) -> Dialog | None:
        """The dialog of the first 2xx, the call."""
        return self._winner

    @property
    def ack(self) -> Request | None:
        """The ACK created for the winning 2xx."""
        return None if self._winner is None else self._acks.get(self._winner.remote_tag)

    @property
    def early(self) -> tuple[Dialog, ...]:
        return tuple(d for d in self._dialogs.values() if d.state is DialogState.EARLY)

    @property
    def dialogs(self) -> tuple[Dialog, ...]:
        """Every dialog the responses created (the latest one for each To tag)."""
        return tuple(self._dialogs.values())

    def receive_response(self, response: Response) -> InviteEvent:
        """Take a response to the INVITE; returns what happened (see the module doc)."""
        if not isinstance(response, Response):
            raise TypeError(f"receive_response takes a Response, not {type(response).__name__}")
        if not _same_transaction(self.invite, response) or response.to is None:
            return ResponseIgnored(response, "not an answer to this INVITE (Call-ID, CSeq or From tag)")
        kind = (_Kind.PROVISIONAL if response.is_provisional
                else _Kind.SUCCESS if response.is_success else _Kind.FAILURE)
        entry = INVITE_TRANSITIONS.get((self._state, kind))
        if entry is None:
            return ResponseIgnored(response, f"{response.status_code} after the INVITE {self._state.value}")
        new_state, handler = entry
        event: InviteEvent = getattr(self, handler)(response)
        self._state = new_state
        return event

    def receive_timeout(self) -> InviteFailed | None:
        """The INVITE client transaction timed out without a final response
        (Timer B): the INVITE failed. ``None`` once a final response came (then
        the end of the transaction, Timer M, needs nothing from us)."""
        entry = INVITE_TRANSITIONS.get((self._state, _Kind.TIMEOUT))
        if entry is None:
            return None
        self._state = entry[0]
        return self._on_failure(None)

    def create_ack(
        self,
        *,
        headers: Iterable[tuple[str, HeaderValue]] = (),
        body: bytes = b"",
        content_type: str | MediaType | None = None,
    ) -> Request:
        """The ACK of the winning 2xx (13.2.2.4), kept to answer its retransmissions.

        ``body`` is the SDP answer when the 2xx carried the offer. Once only.
        """
        if self._winner is None:
            raise ValueError(f"no 2xx has confirmed a dialog yet (the INVITE is {self._state.value})")
        tag = self._winner.remote_tag
        if tag in self._acks:
            raise ValueError("the ACK of this 2xx was already created; re-send InviteDialogs.ack")
        ack = self._winner.create_ack(
            self.invite, via=self._via(), headers=headers, body=body, content_type=content_type
        )
        self._acks[tag] = ack
        return ack

    # --- handlers (see INVITE_TRANSITIONS) ----------------------------------------------

    def _new_dialog(self, response: Response, *, register: bool) -> Dialog:
        dialog = Dialog.uac(self.invite, response, tls=self._tls)
        self._dialogs[dialog.remote_tag] = dialog
        if register and self._store is not None:
            self._store.add(dialog)
        return dialog

    def _on_provisional(self, response: Response) -> ProvisionalReceived:
        tag = _to_tag(response)
        if response.status_code == 100 or not tag:
            return ProvisionalReceived(response, None)
        dialog = self._dialogs.get(tag)
        if dialog is None:
            if len(self._dialogs) >= MAX_FORKS:
                return ProvisionalReceived(response, None)
            return ProvisionalReceived(response, self._new_dialog(response, register=True), True)
        dialog.receive_response(self.invite, response)
        return ProvisionalReceived(response, dialog)

    def _on_first_success(self, response: Response) -> DialogConfirmed:
        dialog = self._dialogs.get(_to_tag(response))
        if dialog is not None and dialog.state is DialogState.EARLY:
            dialog.receive_response(self.invite, response)  # confirms it, recomputes the route set
        else:
            dialog = self._new_dialog(response, register=True)
        self._winner = dialog
        return DialogConfirmed(response, dialog, self._terminate_early())

    def _on_later_success(self, response: Response) -> Retransmitted2xx | ForkDiscarded:
        tag = _to_tag(response)
        if self._winner is not None and tag == self._winner.remote_tag:
            return Retransmitted2xx(response, self._winner, self._acks.get(tag))
        if tag in self._acks:  # a fork we already hung up
            return Retransmitted2xx(response, self._dialogs[tag], self._acks[tag])
        winner = self._winner.remote_tag if self._winner is not None else None
        while len(self._dialogs) >= MAX_FORKS:
            oldest = next((t for t in self._dialogs if t != winner), None)
            if oldest is None:
                break
            del self._dialogs[oldest]
            self._acks.pop(oldest, None)
        dialog = self._new_dialog(response, register=False)
        ack = dialog.create_ack(self.invite, via=self._via())
        bye = dialog.create_request("BYE", via=self._via())
        self._acks[tag] = ack
        return ForkDiscarded(response, dialog, ack, bye)

    def abandon(self) -> tuple[Dialog, ...]:
        """The INVITE is sent again (a retry after 401, 407 or 422, with the next
        CSeq): the early dialogs its provisional answers made end, and leave the
        store, so that the retry's answers make their own. Returns them."""
        ended = self._terminate_early()
        if self._store is not None:
            for dialog in ended:
                self._store.discard(dialog)
        return ended

    def _on_failure(self, response: Response | None) -> InviteFailed:
        return InviteFailed(response, self._terminate_early())

    def _terminate_early(self) -> tuple[Dialog, ...]:
        ended = self.early
        for dialog in ended:
            dialog.terminate()
        return ended

    def __repr__(self) -> str:
        return f"<InviteDialogs {self._state.value} {self.invite.call_id} forks={len(self._dialogs)}>"
