"""Acknowledging the reliable provisional responses to our INVITE (RFC 3262 4).

A part of :class:`~._call.CallSession` (``session.pracks``, outgoing calls
only). A PSTN gateway typically answers our INVITE with a reliable 183 carrying the
SDP answer (early media: announcements, the far end's ringback). Such a 1xx
has ``Require: 100rel`` and an ``RSeq``; it is retransmitted until we send a
PRACK naming it in ``RAck: <RSeq> <CSeq-num> INVITE``, in the early dialog it
created (with forking, each early dialog has its own RSeq space).

:class:`PrackSender` is a part a call session owns, with its own state: the
last RSeq acknowledged per early dialog and the PRACK client transactions in
flight (each answered 401/407 once or twice with credentials, as any other
in-dialog request). It decides, per 1xx, whether the session sees it:

* the first reliable 1xx of an early dialog, or the next one (RSeq one
  higher): PRACK it, and pass it up (its SDP is the answer to our offer);
* a retransmission (RSeq not higher) or one out of order (more than one
  higher): ignore it (RFC 3262 4: no PRACK, not passed up; the peer sends
  the missing one again);
* a 1xx without ``Require: 100rel``, or that names it without an RSeq (a
  malformed one; a garbled or out-of-range RSeq is refused by the parser
  before it gets here): an ordinary, unreliable 1xx.

It needs no timer: the PRACK's own non-INVITE transaction retransmits it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..auth._retry import ChallengeRetry

if TYPE_CHECKING:
    from ..dialog._dialog import Dialog
    from ..syntax._header_values import HeaderValue
    from ..syntax._message import Request, Response
    from ..transaction._transaction import ClientTransaction
    from ._call import CallSession

__all__ = ["PrackSender", "is_reliable"]


def _tags(message: Request | Response, name: str) -> set[str]:
    return {tag.lower() for tag in message.header_texts(name)}


def is_reliable(response: Response) -> bool:
    """Whether a 1xx asks to be acknowledged (RFC 3262 4: Require: 100rel and an RSeq)."""
    return (101 <= response.status_code <= 199 and "100rel" in _tags(response, "Require")
            and isinstance(response.header("RSeq"), int))


class PrackSender:
    """The PRACKs of one outgoing call (see the module doc); the responses to
    them come back through the session that owns this part."""

    __slots__ = ("_session", "_ctx", "_acked", "_pending")

    def __init__(self, session: CallSession) -> None:
        self._session = session
        self._ctx = session.ctx
        #: early dialog (remote tag) -> (INVITE CSeq number, last RSeq acknowledged)
        self._acked: dict[str | None, tuple[int, int]] = {}
        #: PRACK transaction -> (request, its dialog, the digest answers of it and its retries)
        self._pending: dict[ClientTransaction, tuple[Request, Dialog, ChallengeRetry]] = {}

    def on_provisional(self, response: Response, dialog: Dialog | None, now: float) -> bool:
        """A 1xx to our INVITE; returns whether the session should act on it."""
        if dialog is None or not is_reliable(response):
            return True
        rseq = response.header("RSeq")
        assert isinstance(rseq, int) and response.cseq is not None, "is_reliable checked the RSeq; parsed, so a CSeq"
        cseq = response.cseq.seq
        last = self._acked.get(dialog.remote_tag)
        if last is not None and last[0] == cseq and rseq != last[1] + 1:
            return False  # a retransmission, or out of order: RFC 3262 4
        self._acked[dialog.remote_tag] = (cseq, rseq)
        self._send(dialog, [("RAck", f"{rseq} {cseq} INVITE")], now, ChallengeRetry(self._ctx.auth))
        return True

    def owns(self, transaction: ClientTransaction) -> bool:
        return transaction in self._pending

    def receive_response(self, transaction: ClientTransaction, response: Response, now: float) -> None:
        """A response to one of our PRACKs. Only a challenge needs anything: a
        481 means that early dialog is gone, and the INVITE's own final
        response decides the call."""
        if response.status_code < 200:
            return
        request, dialog, challenges = self._pending.pop(transaction)
        fields = challenges.answer(request, response)
        if fields is None:
            return
        rack = request.header_text("RAck")
        assert rack is not None, "we sent it"
        headers: list[tuple[str, HeaderValue]] = [("RAck", rack), *((f.name, f.value) for f in fields)]
        self._send(dialog, headers, now, challenges)  # the dialog numbers it

    def transaction_failed(self, transaction: ClientTransaction) -> None:
        self._pending.pop(transaction, None)

    def _send(self, dialog: Dialog, headers: list[tuple[str, HeaderValue]], now: float,
              challenges: ChallengeRetry) -> None:
        try:
            prack = dialog.create_request("PRACK", via=self._ctx.new_via(), headers=headers)
        except ValueError:  # the early dialog ended meanwhile (another fork won, CSeq exhausted)
            return
        tx = self._ctx.send_request(prack, now, self._session)
        if tx is not None:
            self._pending[tx] = (prack, dialog, challenges)

    def __repr__(self) -> str:
        return f"<PrackSender acked={self._acked} in flight={len(self._pending)}>"
