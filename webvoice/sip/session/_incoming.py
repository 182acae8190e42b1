"""Taking a call: the INVITE server side (RFC 3261 13.3), a part of :class:`~._call.CallSession`.

180 Ringing at once, then the application decides: ``accept(sdp)`` sends the
2xx, which the UAS core (this part, not the transaction) resends with
doubling intervals up to T2 until the ACK comes (13.3.1.4) or 64*T1 passes,
when the call is ended with BYE; ``reject`` sends a final error. The caller's
CANCEL, the no-answer timer and a server transaction lost with the connection
end an unanswered call. The three deadlines (2xx resend, ACK wait, no
answer) are this part's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..dialog._dialog import Dialog
from ..syntax._causes import Cause, cause_for_status
from ..syntax._message import Request, Response
from ._common import SDP, sdp_of
from ._events import CallConfirmed
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

    def ring(self, now: float, no_answer_timeout: float) -> None:
        """Send 180 Ringing (it makes the session's early dialog) and start the no-answer timer."""
        session = self._session
        ringing = self.invite.response(180, to_tag=session.local_tag, headers=[("Contact", self._ctx.contact())])
        session.dialog = dialog = Dialog.uas(self.invite, ringing)
        self._ctx.dialogs.add(dialog)
        self._ctx.send_response(self.server_tx, dialog.send_response(self.invite, ringing), now)
        self._no_answer_at = now + no_answer_timeout

    def accept(self, sdp: str, now: float) -> None:
        """Send our 2xx with ``sdp`` and resend it until the ACK."""
        session = self._session
        assert session.dialog is not None
        ok = self.invite.response(
            200, to_tag=session.local_tag, body=sdp.encode(), content_type=SDP,
            headers=[("Contact", self._ctx.contact()), ("Allow", self._ctx.allow), ("Supported", self._ctx.supported),
                     *session.timer.answer_headers(self.invite)],
        )
        self._ok = session.dialog.send_response(self.invite, ok)
        self._ctx.send_response(self.server_tx, self._ok, now)
        session.move(CallInput.ACCEPT)
        self._no_answer_at = None
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
        times = [t for t in (self._ok_resend_at, self._ack_deadline, self._no_answer_at) if t is not None]
        return min(times) if times else None

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
        self._ok_resend_at = self._ack_deadline = self._no_answer_at = None
