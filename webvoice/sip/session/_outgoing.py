"""Placing a call: the INVITE client side (RFC 3261 13.2), a part of :class:`~._call.CallSession`.

It owns our INVITE until a dialog is confirmed or the call fails: digest
answers to 401/407 (22.2, a new INVITE with the next CSeq), the retry a 422
asks for (RFC 4028 7.3), provisional responses and early media, forking (the
events of :mod:`..dialog._forking`: the first 2xx wins, later forks get ACK
and BYE, 13.2.2.4), the ACK, CANCEL and a 2xx that crosses it (9.1), and the
cause of a failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..auth._retry import ChallengeRetry, resend_with
from ..dialog._forking import (
    DialogConfirmed,
    ForkDiscarded,
    InviteDialogs,
    InviteEvent,
    InviteFailed,
    ProvisionalReceived,
    Retransmitted2xx,
)
from ..syntax._causes import Cause, cause_for_status
from ..syntax._header_values import NameAddr
from ..syntax._message import Request, Response
from ..syntax._uri import Params
from ..transaction._transaction import ClientTransaction, InviteClientTransaction
from ._common import sdp_of
from ._events import CallConfirmed, CallProgress
from ._interval import with_session_interval
from ._state import CallInput, CallState

if TYPE_CHECKING:
    from ._call import CallSession

__all__ = ["OutgoingInvite"]


class OutgoingInvite:
    """Our INVITE, its retries and its forks, until the call is up or has failed."""

    def __init__(self, session: CallSession) -> None:
        self._session = session
        self._ctx = session.ctx
        self._tx: InviteClientTransaction | None = None
        self._forks: InviteDialogs | None = None
        self._challenges = ChallengeRetry(session.ctx.auth)
        #: Whether the application hung up before an answer (a CANCEL is on its way).
        self.canceling = False

    def owns(self, transaction: ClientTransaction) -> bool:
        return transaction is self._tx

    def start(self, invite: Request, now: float) -> None:
        """Send ``invite`` (the first, or a retry with the next CSeq)."""
        tx = self._ctx.send_request(invite, now, self._session)
        if tx is None:
            self._session.fail(Cause.CONNECTION_ERROR, None, "not connected to the SIP server", originator="local")
            return
        assert isinstance(tx, InviteClientTransaction), "an INVITE makes an INVITE client transaction"
        self._tx = tx
        if self._forks is not None:
            self._forks.abandon()  # a retry: the first INVITE's early dialogs end with it
        self._forks = InviteDialogs(tx.request, via=self._ctx.new_via, store=self._ctx.dialogs)

    def cancel(self, now: float) -> None:
        """Hang up before an answer: CANCEL (9.1), or fail at once when nothing was sent."""
        self.canceling = True
        if self._tx is not None:
            self._ctx.cancel(self._tx, now)
        else:
            self._session.fail(Cause.CANCELED, None, "", originator="local")

    def receive_response(self, response: Response, now: float) -> None:
        code = response.status_code
        if code in (401, 407) and not self.canceling and self._retry_with_credentials(response, now):
            return
        if code == 422 and not self.canceling and self._retry_with_interval(response, now):
            return
        if code >= 300:
            self._tx = None
        assert self._forks is not None
        self._on_fork_event(self._forks.receive_response(response), now)

    def stray_2xx(self, response: Response, now: float) -> None:
        """A 2xx after our INVITE's transaction ended: ACK it again (or ACK+BYE)."""
        if self._forks is not None:
            self._on_fork_event(self._forks.receive_response(response), now)

    def transaction_failed(self, now: float, *, timeout: bool) -> None:
        self._tx = None
        if self._forks is not None:
            self._forks.receive_timeout()
        if self._session.state in (CallState.CALLING, CallState.RINGING):
            cause = Cause.REQUEST_TIMEOUT if timeout else Cause.CONNECTION_ERROR
            self._session.fail(Cause.CANCELED if self.canceling else cause, 408 if timeout else 503, "",
                               originator="local" if self.canceling else "remote")

    # --- retries -------------------------------------------------------------------------------------

    def _retry_with_credentials(self, response: Response, now: float) -> bool:
        assert self._forks is not None
        retry = self._challenges.retry(self._forks.invite, response, self._ctx.new_via)
        if retry is None:
            return False
        self.start(retry, now)
        return True

    def _retry_with_interval(self, response: Response, now: float) -> bool:
        """RFC 4028 7.3: a 422 to our INVITE names the Min-SE it needs; send the
        INVITE again (next CSeq) asking for that interval, with that Min-SE."""
        assert self._forks is not None
        request = self._forks.invite
        interval = self._session.timer.interval_after_422(request, response)
        if interval is None or request.cseq is None:
            return False
        value = request.header("Session-Expires")
        assert isinstance(value, str)  # interval_after_422 read it
        headers = request.headers.set("Session-Expires", with_session_interval(value, interval)).remove("Min-SE")
        asking = request.replace(headers=headers.add("Min-SE", str(interval)))
        # The credentials of the 422'd INVITE, signed again for this one (the same scopes).
        fields = self._ctx.auth.preauthorize(method="INVITE", uri=str(request.uri), body=request.body)
        self.start(resend_with(asking, fields, self._ctx.new_via()), now)
        return True

    # --- what the forks say -----------------------------------------------------------------------------

    def _on_fork_event(self, event: InviteEvent, now: float) -> None:
        session = self._session
        if isinstance(event, ProvisionalReceived):
            pracks = session.pracks
            if pracks is not None and not pracks.on_provisional(event.response, event.dialog, now):
                return  # a reliable 1xx seen before, or out of order (RFC 3262 4)
            if event.response.status_code > 100 and session.move(CallInput.PROVISIONAL):
                sdp = sdp_of(event.response)
                if sdp is not None:
                    session.remote_sdp = sdp
                self._ctx.emit(CallProgress(session, event.response, sdp))
        elif isinstance(event, DialogConfirmed):
            self._confirmed(event, now)
        elif isinstance(event, ForkDiscarded):
            self._ctx.send_stateless(event.ack)
            if event.bye is not None:
                session.requests.send(event.bye, now)
        elif isinstance(event, Retransmitted2xx):
            if event.ack is not None:
                self._ctx.send_stateless(event.ack)
        elif isinstance(event, InviteFailed):
            response = event.response
            if session.state in (CallState.CALLING, CallState.RINGING):
                if response is None:
                    session.fail(Cause.REQUEST_TIMEOUT, 408, "")
                elif self.canceling or response.status_code == 487:
                    session.fail(Cause.CANCELED, response.status_code, response.reason or "",
                                 originator="local" if self.canceling else "remote")
                else:
                    session.fail(cause_for_status(response.status_code), response.status_code,
                                 response.reason or "")

    def _confirmed(self, event: DialogConfirmed, now: float) -> None:
        """The first 2xx: ACK it; the call is up (or, if we were cancelling, over: 9.1)."""
        session = self._session
        assert self._forks is not None
        session.dialog = event.dialog
        self._ctx.send_stateless(self._forks.create_ack())
        sdp = sdp_of(event.response)
        if self.canceling or not session.move(CallInput.CONFIRMED):
            # Answered while we were cancelling: hang up (9.1).
            session.requests.send_bye(now)
            session.fail(Cause.CANCELED, None, "", originator="local")
            return
        to = event.response.to
        remote = session.remote_identity
        if to is not None and remote is not None:
            session.remote_identity = NameAddr(remote.uri, to.without_tag().display_name, Params([("tag", to.tag)]))
        if sdp is not None:
            session.remote_sdp = sdp
        session.timer.start(self._forks.invite, event.response, now, uas=False)
        self._ctx.emit(CallConfirmed(session, sdp if sdp is not None else session.remote_sdp))
