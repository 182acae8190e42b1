"""Offer/answer in an established call: a part of :class:`~._call.CallSession`.

Re-INVITE and UPDATE both ways (RFC 3261 14, RFC 3311), and glare. The
exchanges after the call is set up: hold and unhold, ICE restarts, target
refreshes (UPDATE without SDP, RFC 3311 5.1) and session refreshes (RFC 4028,
asked for by the session timer part). Only one offer may be pending in a
dialog; a request that crosses ours gets 491, and a 491 to ours is retried
after the random wait of RFC 3261 14.1 (2.1-4 s for the owner of the Call-ID,
0-2 s for the other side). The part owns that wait and the retries of a
target refresh, and fires both from its own :meth:`OfferAnswer.handle_timer`.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from ..auth._retry import ChallengeRetry
from ..dialog._state import DialogState
from ..syntax._causes import Cause, cause_for_status
from ..syntax._message import Request, Response
from ..util._deadlines import earliest
from ._common import SDP, holds, sdp_of
from ._events import (
    RemoteAnswer,
    RemoteHold,
    RemoteOffer,
    ReofferAnswered,
    ReofferFailed,
)
from ._state import CallState

if TYPE_CHECKING:
    from ..transaction._transaction import ClientTransaction, ServerTransaction
    from ._call import CallSession

__all__ = ["OfferAnswer"]

#: Answers to a target refresh that mean "not there yet" rather than "no such
#: dialog": the proxy has no registration for the peer (404, 480) or could not
#: reach it (500, 503, 504).
_PEER_NOT_YET_REACHABLE = frozenset({404, 480, 500, 503, 504})
#: Tries after the first (waits of 1, 2, 4, 8 and 16 s: about half a minute).
_TARGET_REFRESH_TRIES = 5


class OfferAnswer:
    """re-INVITE/UPDATE both ways, glare, and the target refresh of one call."""

    def __init__(self, session: CallSession) -> None:
        self._session = session
        self._ctx = session.ctx
        self._tx: ClientTransaction | None = None
        #: Our offer in flight or waiting for its glare retry: (method, sdp, refresh).
        self._pending: tuple[str, str | None, bool] | None = None
        self._glare_retry_at: float | None = None
        self._challenges = ChallengeRetry(session.ctx.auth)  # of the offer pending
        # A target refresh after a reconnection (RFC 3311), retried while the
        # peer is not reachable yet (it may still be registering again itself).
        self._refreshing_target = False
        self._target_refresh_at: float | None = None
        self._target_refresh_tries = 0
        #: The peer's offer the application has yet to answer (its transaction and request).
        self.remote_offer_tx: ServerTransaction | None = None
        self._remote_offer: Request | None = None
        self._pending_ack_answer = False  # our 200 to a re-INVITE carried an offer

    @property
    def is_ready(self) -> bool:
        """Whether an offer may be sent now: the call is up and no exchange is pending."""
        return (
            self._session.state is CallState.ESTABLISHED and self._pending is None and self.remote_offer_tx is None
            and not self._pending_ack_answer and self._glare_retry_at is None
        )

    def owns(self, transaction: ClientTransaction) -> bool:
        return transaction is self._tx

    # --- ours --------------------------------------------------------------------------------------

    def reoffer(self, sdp: str | None, now: float, *, use_update: bool = False, refresh: bool = False) -> None:
        """Send a re-INVITE (or UPDATE) carrying ``sdp`` (hold, unhold, renegotiate)."""
        if not self.is_ready:
            state = self._session.state
            raise RuntimeError(f"cannot re-offer now: the call is {state.value}"
                               + (" and an offer is already pending" if state is CallState.ESTABLISHED else ""))
        self._pending = ("UPDATE" if use_update else "INVITE", sdp, refresh)
        self._challenges.reset()
        self._send(now)

    def refresh_target(self, now: float, *, retry: bool = False) -> bool:
        """Tell the peer where we are now (a target refresh by UPDATE without SDP,
        RFC 3311), e.g. after a reconnection gave us a new flow through the proxy.

        Owed until it succeeds: while an offer exchange is pending it is tried
        again a second later, and an answer saying the peer cannot be reached
        yet (after a server restart the peer is often still registering again:
        404, 480, 5xx) brings another try after 1, 2, 4, 8 and 16 s. Returns
        False when it had to wait."""
        if not retry:
            self._target_refresh_tries = 0
        if not self.is_ready:
            self._target_refresh_at = now + 1.0
            return False
        self._target_refresh_at = None
        self._refreshing_target = True
        self.reoffer(None, now, use_update=True, refresh=True)
        return True

    def _send(self, now: float) -> None:
        session = self._session
        assert self._pending is not None and session.dialog is not None
        method, sdp, refresh = self._pending
        headers = session.timer.offer_headers()
        via, contact = self._ctx.new_via(), self._ctx.contact()
        if sdp is not None:
            request = session.dialog.create_request(method, via=via, contact=contact, headers=headers,
                                                    body=sdp.encode(), content_type=SDP)
            if not refresh:
                session.local_sdp = sdp
        else:
            request = session.dialog.create_request(method, via=via, contact=contact, headers=headers)
        self._tx = self._ctx.send_request(request, now, session)
        if self._tx is None:
            self._pending = None
            self._ctx.emit(ReofferFailed(session, None, Cause.CONNECTION_ERROR))

    def receive_response(self, transaction: ClientTransaction, response: Response, now: float) -> None:
        code = response.status_code
        if code < 200:
            return
        session = self._session
        assert self._pending is not None and session.dialog is not None
        method, _, refresh = self._pending
        self._tx = None
        if session.dialog.state is DialogState.TERMINATED:
            # The dialog ended meanwhile (the peer's BYE crossed our offer): the answer
            # is moot, and nothing can be sent in the dialog any more, no ACK, no retry.
            self._pending = None
            self._refreshing_target = False
            return
        if 200 <= code < 300:
            self._refreshing_target = False
            session.dialog.receive_response(transaction.request, response)
            if method == "INVITE":
                self._ctx.send_stateless(session.dialog.create_ack(transaction.request, via=self._ctx.new_via()))
            self._pending = None
            answer = sdp_of(response)
            if answer is not None and not refresh:
                session.remote_sdp = answer
            session.timer.restart(transaction.request, response, now)
            self._ctx.emit(ReofferAnswered(session, answer, refresh))
        elif code in (401, 407):
            fields = self._challenges.answer(transaction.request, response)
            if fields is None:
                self._pending = None
                self._ctx.emit(ReofferFailed(session, code, Cause.AUTHENTICATION_ERROR))
                return
            self._tx = self._ctx.send_request(session.requests.with_credentials(transaction.request, fields),
                                              now, session)
        elif code == 422 and (interval := session.timer.interval_after_422(transaction.request, response)) \
                is not None:
            session.timer.interval = interval  # RFC 4028 7.3: ask again for what the peer needs
            self._send(now)
        elif code == 491:
            # RFC 3261 14.1: the owner of the Call-ID waits 2.1-4 s, the other 0-2 s.
            owner = session.direction == "outgoing"
            self._glare_retry_at = now + (random.uniform(2.1, 4.0) if owner else random.uniform(0.0, 2.0))
        else:
            self._pending = None
            was_target_refresh, self._refreshing_target = self._refreshing_target, False
            if was_target_refresh and code in _PEER_NOT_YET_REACHABLE \
                    and self._target_refresh_tries < _TARGET_REFRESH_TRIES:
                self._target_refresh_tries += 1
                self._target_refresh_at = now + 2.0 ** (self._target_refresh_tries - 1)
                return
            if code in (408, 481):
                session.end_after_failure(code, now)
            else:
                self._ctx.emit(ReofferFailed(session, code, cause_for_status(code)))

    def transaction_failed(self, now: float, *, timeout: bool) -> None:
        """No answer to our re-offer: the peer is gone (12.2.1.2 treats it as 408)."""
        session = self._session
        self._tx = self._pending = None
        if session.state is CallState.TERMINATED:
            return
        status = 408 if timeout else 503
        self._ctx.emit(ReofferFailed(session, status, Cause.REQUEST_TIMEOUT if timeout else Cause.CONNECTION_ERROR))
        if timeout:
            session.hang_up(now, Cause.REQUEST_TIMEOUT, "local", 408)

    # --- theirs ---------------------------------------------------------------------------------------

    def receive_offer(self, transaction: ServerTransaction, request: Request, now: float) -> None:
        """A re-INVITE or UPDATE from the peer."""
        session, ctx = self._session, self._ctx
        refusal = session.timer.refusal(request)
        if refusal is not None:  # RFC 4028 9: Session-Expires below the floor
            ctx.send_response(transaction, refusal, now)
            return
        state = session.state
        if state is not CallState.ESTABLISHED:
            if request.method == "UPDATE" and state in (CallState.RINGING, CallState.INCOMING):
                ctx.send_response(transaction, request.response(
                    488 if sdp_of(request) else 200, headers=session.timer.answer_headers(request)), now)
                return
            ctx.send_response(transaction, request.response(491 if state is CallState.ANSWERED else 500), now)
            return
        if self._pending is not None and self._pending[1] is not None and self._glare_retry_at is None \
                or self.remote_offer_tx is not None or self._pending_ack_answer:
            ctx.send_response(transaction, request.response(491), now)  # glare (14.2)
            return
        assert session.dialog is not None
        sdp = sdp_of(request)
        answered_now = request.method == "UPDATE" and sdp is None or sdp is not None and sdp == session.remote_sdp
        # Renegotiated now when answered now; else once the application answers.
        session.timer.restart(request, None, now, renegotiate=answered_now)
        if request.method == "UPDATE" and sdp is None:
            # A session refresh (RFC 4028) or a target refresh only.
            ctx.send_response(transaction, session.dialog.send_response(request, request.response(
                200, headers=[("Contact", ctx.contact()), *session.timer.answer_headers(request)])), now)
            return
        if sdp is not None and sdp == session.remote_sdp:
            # The same description again (a session refresh by re-INVITE): answer as before.
            ctx.send_response(transaction, session.dialog.send_response(request, request.response(
                200, body=(session.local_sdp or "").encode(), content_type=SDP,
                headers=[("Contact", ctx.contact()), *session.timer.answer_headers(request)])), now)
            return
        self.remote_offer_tx, self._remote_offer = transaction, request
        if sdp is not None:
            session.remote_sdp = sdp
            held = holds(sdp)
            if held != session.remote_held:
                session.remote_held = held
                ctx.emit(RemoteHold(session, held))
        ctx.emit(RemoteOffer(session, sdp, request.method))

    def answer_offer(self, sdp: str, now: float) -> None:
        """Answer the peer's re-offer (:class:`~._events.RemoteOffer`) with ``sdp``."""
        if self.remote_offer_tx is None or self._remote_offer is None:
            raise RuntimeError("there is no offer from the other side to answer")
        session = self._session
        assert session.dialog is not None
        request, tx = self._remote_offer, self.remote_offer_tx
        self.remote_offer_tx = self._remote_offer = None
        self._pending_ack_answer = request.method == "INVITE" and sdp_of(request) is None
        session.local_sdp = sdp
        ok = request.response(200, body=sdp.encode(), content_type=SDP,
                              headers=[("Contact", self._ctx.contact()), *session.timer.answer_headers(request)])
        self._ctx.send_response(tx, session.dialog.send_response(request, ok), now)
        session.timer.restart(request, None, now)  # the refresh succeeded: its interval holds

    def reject_offer(self, status_code: int, now: float) -> None:
        if self.remote_offer_tx is None or self._remote_offer is None:
            raise RuntimeError("there is no offer from the other side to reject")
        request, tx = self._remote_offer, self.remote_offer_tx
        self.remote_offer_tx = self._remote_offer = None
        self._ctx.send_response(tx, request.response(status_code), now)

    def ack_received(self, ack: Request) -> bool:
        """The ACK to our 200 that offered: its SDP is the answer. False when we
        were waiting for no such ACK."""
        if not self._pending_ack_answer:
            return False
        self._pending_ack_answer = False
        sdp = sdp_of(ack)
        if sdp is not None:
            self._session.remote_sdp = sdp
            self._ctx.emit(RemoteAnswer(self._session, sdp))
        return True

    # --- deadlines ---------------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        return earliest(self._glare_retry_at, self._target_refresh_at)

    def handle_timer(self, now: float) -> None:
        established = self._session.state is CallState.ESTABLISHED
        if self._glare_retry_at is not None and now >= self._glare_retry_at:
            self._glare_retry_at = None
            if established and self._pending is not None:
                self._send(now)
        if self._target_refresh_at is not None and now >= self._target_refresh_at:
            self._target_refresh_at = None
            if self._session.state is CallState.ESTABLISHED:
                self.refresh_target(now, retry=True)

    def clear_timers(self) -> None:
        self._glare_retry_at = self._target_refresh_at = None
