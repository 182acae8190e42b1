"""Taking a call: the INVITE server side (RFC 3261 13.3), a part of :class:`~._call.CallSession`.

180 Ringing at once, then the application decides: ``accept(sdp)`` sends the
2xx, which the UAS core (this part, not the transaction) resends with
doubling intervals up to T2 until the ACK comes (13.3.1.4) or 64*T1 passes,
when the call is ended with BYE; ``reject`` sends a final error. The caller's
CANCEL, the no-answer timer and a server transaction lost with the connection
end an unanswered call. The three deadlines (2xx resend, ACK wait, no
answer) are this part's own.

With 100rel (RFC 3262) our 1xx can be reliable: the session's
:class:`~._prack_uas.ReliableProvisionals` part (``session.reliable``,
built here) numbers, resends and matches them with their PRACKs, and sends
through :meth:`IncomingInvite.send_in_invite`. This part decides which 1xx
are reliable (the 180 when the caller requires 100rel, the 183 of
:meth:`progress` when it supports it), holds the 200 while a 1xx carrying
SDP waits for its PRACK (3), and refuses the INVITE with a 500 when that
PRACK never comes.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from ..dialog._dialog import Dialog
from ..syntax._causes import Cause, cause_for_status
from ..syntax._message import Request, Response
from ..util._deadlines import earliest
from ._common import SDP, sdp_of
from ._events import CallConfirmed, RemoteAnswer
from ._prack_uas import ReliableProvisionals
from ._state import CallInput, CallState

if TYPE_CHECKING:
    from ..transaction._transaction import ServerTransaction
    from ._call import CallSession

__all__ = ["IncomingInvite"]


class IncomingInvite:
    """The INVITE that made an incoming call, and our answers to it."""

    def __init__(self, session: CallSession, transaction: ServerTransaction, invite: Request) -> None:
        self._session = session
        self._ctx = session.ctx
        self.server_tx = transaction
        self.invite = invite
        #: Whether we must offer in our 200 (the INVITE had no SDP).
        self.offer_in_ok = sdp_of(invite) is None
        self._ok: Response | None = None
        self._ok_resend_at: float | None = None
        self._ok_interval = 0.0
        self._ack_deadline: float | None = None
        self._no_answer_at: float | None = None
        #: Whether our 200 waits for the PRACK of a 1xx carrying SDP (RFC 3262 3):
        #: accepted, but the INVITE has no final response yet.
        self.ok_held = False
        #: The SDP of our 183 (early media); the 200 repeats it.
        self.early_sdp: str | None = None

    def ring(self, now: float, no_answer_timeout: float) -> None:
        """Send 180 Ringing (it makes the session's early dialog) and start the no-answer timer.

        The 180 is reliable only when the caller requires 100rel (RFC 3262 3
        lets us choose when it only supports it; phones send a bare 180
        then, and so do we)."""
        session = self._session
        # The first RSeq follows from our random tag: unguessable, and repeatable with a seeded UA.
        # Bound methods, not closures: a copied session sends through its own context.
        session.reliable = reliable = ReliableProvisionals(
            self.invite, t1=self._ctx.t1, transmit=self.send_in_invite, give_up=self.prack_timed_out,
            rng=random.Random(f"{session.local_tag}/{session.call_id}"))
        ringing = self.invite.response(180, to_tag=session.local_tag, headers=[("Contact", self._ctx.contact())])
        session.dialog = dialog = Dialog.uas(self.invite, ringing)
        self._ctx.dialogs.add(dialog)
        self.send_provisional(dialog.send_response(self.invite, ringing), now, reliable=reliable.required)
        self._no_answer_at = now + no_answer_timeout

    def progress(self, sdp: str, now: float) -> None:
        """Early media: a 183 Session Progress carrying ``sdp``, reliable when the
        caller supports 100rel (see :meth:`~._call.CallSession.progress`)."""
        session = self._session
        assert session.dialog is not None and session.reliable is not None, "rung"
        if self.early_sdp is not None:
            raise RuntimeError("early media was already sent on this call")
        reliable = session.reliable.supported
        if session.remote_sdp is None and not reliable:
            raise RuntimeError("early media without the caller's offer needs 100rel: the answer comes in the PRACK")
        self.early_sdp = session.local_sdp = sdp
        response = self.invite.response(183, to_tag=session.local_tag, body=sdp.encode(), content_type=SDP,
                                        headers=[("Contact", self._ctx.contact())])
        self.send_provisional(session.dialog.send_response(self.invite, response), now, reliable=reliable)

    @property
    def early_media_possible(self) -> bool:
        """Not sent before, and the caller's offer or 100rel to carry ours."""
        reliable = self._session.reliable
        return self.early_sdp is None and (self._session.remote_sdp is not None
                                           or (reliable is not None and reliable.supported))

    def send_provisional(self, response: Response, now: float, *, reliable: bool) -> None:
        if reliable:
            assert self._session.reliable is not None, "rung"
            self._session.reliable.send(response, now)
        else:
            self.send_in_invite(response, now)

    def send_in_invite(self, response: Response, now: float) -> None:
        """A response in the INVITE's server transaction."""
        self._ctx.send_response(self.server_tx, response, now)

    def receive_prack(self, transaction: ServerTransaction, request: Request, now: float) -> None:
        """RFC 3262 3: a PRACK for one of our reliable 1xx; the held 200 goes
        out once no 1xx carrying SDP waits for its PRACK."""
        session = self._session
        reliable = session.reliable
        if reliable is None:
            self._ctx.send_response(transaction, request.response(481, "No Matching Provisional Response"), now)
            return

        def answer(response: Response) -> None:
            self._ctx.send_response(transaction, response, now)

        acked = reliable.receive_prack(request, now, answer)
        if acked is None:
            return
        if acked.sdp is not None and sdp_of(acked.provisional) is not None and sdp_of(self.invite) is None:
            session.remote_sdp = acked.sdp  # the answer to the offer in our 183
            self._ctx.emit(RemoteAnswer(session, acked.sdp))
        if self.ok_held and not reliable.awaiting_prack and session.state is CallState.ANSWERED:
            self._send_ok(now)

    def prack_timed_out(self, now: float) -> None:
        """RFC 3262 3: no PRACK for 64*T1: refuse the INVITE with a 5xx."""
        session = self._session
        if session.state is CallState.INCOMING or self.ok_held:
            self._ctx.send_response(self.server_tx, self.invite.response(
                500, "Reliable Provisional Response Not Acknowledged", to_tag=session.local_tag), now)
            session.fail(Cause.REQUEST_TIMEOUT, 500, "no PRACK", originator="local")

    def accept(self, sdp: str, now: float) -> None:
        """Send our 2xx with ``sdp`` and resend it until the ACK. After early
        media (:meth:`progress`) the 200 repeats the 183's SDP, whatever ``sdp``
        says: that exchange is done (RFC 3264). While a 1xx carrying SDP waits
        for its PRACK, the 200 is held (RFC 3262 3) and sent when it comes."""
        session = self._session
        sdp = self.early_sdp if self.early_sdp is not None else sdp
        session.local_sdp = sdp
        self._ok = self.invite.response(
            200, to_tag=session.local_tag, body=sdp.encode(), content_type=SDP,
            headers=[("Contact", self._ctx.contact()), ("Allow", self._ctx.allow), ("Supported", self._ctx.supported),
                     *session.timer.answer_headers(self.invite)],
        )
        session.move(CallInput.ACCEPT)
        self._no_answer_at = None
        if session.reliable is not None and session.reliable.awaiting_prack:
            self.ok_held = True  # sent when the PRACK comes (receive_prack)
            return
        self._send_ok(now)

    def _send_ok(self, now: float) -> None:
        session = self._session
        assert session.dialog is not None and self._ok is not None
        self.ok_held = False
        if session.reliable is not None:
            session.reliable.stop()
        self._ok = session.dialog.send_response(self.invite, self._ok)
        self._ctx.send_response(self.server_tx, self._ok, now)
        self._ok_interval = self._ctx.t1
        self._ok_resend_at = now + self._ok_interval
        self._ack_deadline = now + 64 * self._ctx.t1

    def reject(self, status_code: int, now: float, cause: str | None) -> None:
        self._ctx.send_response(self.server_tx, self.invite.response(status_code, to_tag=self._session.local_tag), now)
        self._session.fail(cause or cause_for_status(status_code), status_code, "", originator="local")

    def ack_received(self, ack: Request, now: float) -> None:
        """The ACK to our 200: the call is up."""
        session = self._session
        self._ok_resend_at = self._ack_deadline = None
        session.move(CallInput.ACK)
        session.timer.start(self.invite, self._ok, now, uas=True)
        sdp = sdp_of(ack)
        if sdp is not None:
            session.remote_sdp = sdp
        self._ctx.emit(CallConfirmed(session, sdp))
        if sdp is not None and self.offer_in_ok:
            self.offer_in_ok = False

    def canceled(self, now: float, status: int | None) -> None:
        """The caller gave up (CANCEL, or a BYE before our answer): 487 to the INVITE."""
        self._ctx.send_response(self.server_tx, self.invite.response(487, to_tag=self._session.local_tag), now)
        self._session.fail(Cause.CANCELED, status, "", originator="remote")

    # --- deadlines ---------------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        return earliest(self._ok_resend_at, self._ack_deadline, self._no_answer_at)

    def handle_timer(self, now: float) -> None:
        session = self._session
        if self._ack_deadline is not None and now >= self._ack_deadline:
            self._ok_resend_at = self._ack_deadline = None
            session.hang_up(now, "No ACK", "local")
            return
        if self._ok_resend_at is not None and now >= self._ok_resend_at:
            assert self._ok is not None
            self._ctx.send_response(self.server_tx, self._ok, now)
            self._ok_interval = min(self._ok_interval * 2, self._ctx.t2)
            self._ok_resend_at = now + self._ok_interval
        if self._no_answer_at is not None and now >= self._no_answer_at:
            self._no_answer_at = None
            if session.state is CallState.INCOMING:
                self._ctx.send_response(self.server_tx, self.invite.response(480, to_tag=session.local_tag), now)
                session.fail(Cause.NO_ANSWER, 480, "", originator="local")

    def clear_timers(self) -> None:
        self.ok_held = False
        self._ok_resend_at = self._ack_deadline = self._no_answer_at = None
