"""Re-offers in an established call for :class:`~._call.CallSession`: re-INVITE
and UPDATE both ways (RFC 3261 14, RFC 3311), and glare.

A mixin for the offer/answer exchanges after the call is set up: hold and
unhold, ICE restarts, target refreshes (UPDATE without SDP, RFC 3311 5.1) and
session refreshes (RFC 4028). Only one offer may be pending in a dialog; a
request that crosses ours gets 491, and a 491 to ours is retried after the
random wait of RFC 3261 14.1 (2.1-4 s for the owner of the Call-ID, 0-2 s
for the other side).
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from ..syntax._causes import Cause, cause_for_status
from ._common import SDP, CallState, _holds, _sdp_of
from ._events import RemoteHold, RemoteOffer, ReofferAnswered, ReofferFailed

if TYPE_CHECKING:
    from ..syntax._message import Request, Response
    from ..transaction._transaction import ClientTransaction, ServerTransaction

__all__ = ["ReofferMethods"]

#: Answers to a target refresh that mean "not there yet" rather than "no such
#: dialog": the proxy has no registration for the peer (404, 480) or could not
#: reach it (500, 503, 504).
_PEER_NOT_YET_REACHABLE = frozenset({404, 480, 500, 503, 504})
#: Tries after the first (waits of 1, 2, 4, 8 and 16 s: about half a minute).
_TARGET_REFRESH_TRIES = 5


class ReofferMethods:
    """re-INVITE/UPDATE both ways and glare (mixed into CallSession)."""

    @property
    def is_ready_to_reoffer(self) -> bool:
        return (
            self.state is CallState.ESTABLISHED and self._reoffer is None and self._remote_offer_tx is None
            and not self._pending_ack_answer and self._glare_retry_at is None
        )

    def reoffer(self, sdp: str | None, now: float, *, use_update: bool = False, refresh: bool = False) -> None:
        """Send a re-INVITE (or UPDATE) carrying ``sdp`` (hold, unhold, renegotiate)."""
        if not self.is_ready_to_reoffer:
            raise RuntimeError(f"cannot re-offer now: the call is {self.state.value}"
                               + (" and an offer is already pending" if self.state is CallState.ESTABLISHED else ""))
        self._reoffer = ("UPDATE" if use_update else "INVITE", sdp, refresh)
        self._send_reoffer(now)

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
        if not self.is_ready_to_reoffer:
            self._target_refresh_at = now + 1.0
            return False
        self._target_refresh_at = None
        self._refreshing_target = True
        self.reoffer(None, now, use_update=True, refresh=True)
        return True

    def answer_offer(self, sdp: str, now: float) -> None:
        """Answer the peer's re-offer (:class:`RemoteOffer`) with ``sdp``."""
        if self._remote_offer_tx is None:
            raise RuntimeError("there is no offer from the other side to answer")
        request, tx = self._remote_offer_request, self._remote_offer_tx
        self._remote_offer_tx = self._remote_offer_request = None
        self._pending_ack_answer = request.method == "INVITE" and _sdp_of(request) is None
        self.local_sdp = sdp
        ok = request.response(200, body=sdp.encode(), content_type=SDP,
                              headers=[("Contact", self.ctx.contact()), *self._session_timer_answer(request)])
        self.ctx.send_response(tx, self.dialog.send_response(request, ok), now)
        self._restart_session_timer(request, None, now)  # the refresh succeeded: its interval holds

    def reject_offer(self, status_code: int, now: float) -> None:
        if self._remote_offer_tx is None:
            raise RuntimeError("there is no offer from the other side to reject")
        request, tx = self._remote_offer_request, self._remote_offer_tx
        self._remote_offer_tx = self._remote_offer_request = None
        self.ctx.send_response(tx, request.response(status_code), now)

    def _send_reoffer(self, now: float) -> None:
        method, sdp, _ = self._reoffer
        kwargs = {"body": sdp.encode(), "content_type": SDP} if sdp is not None else {}
        request = self.dialog.create_request(method, via=self.ctx.new_via(), contact=self.ctx.contact(),
                                             headers=self._session_timer_offer(), **kwargs)
        if sdp is not None and not self._reoffer[2]:
            self.local_sdp = sdp
        self._reoffer_tx = self.ctx.send_request(request, now, self)
        if self._reoffer_tx is None:
            self._reoffer = None
            self.ctx.emit(ReofferFailed(self, None, Cause.CONNECTION_ERROR))

    def _on_reoffer_response(self, tx: ClientTransaction, response: Response, now: float) -> None:
        code = response.status_code
        if code < 200:
            return
        method, sdp, refresh = self._reoffer
        self._reoffer_tx = None
        if 200 <= code < 300:
            self._refreshing_target = False
            self.dialog.receive_response(tx.request, response)
            if method == "INVITE":
                self.ctx.send_stateless(self.dialog.create_ack(tx.request, via=self.ctx.new_via()))
            self._reoffer = None
            answer = _sdp_of(response)
            if answer is not None and not refresh:
                self.remote_sdp = answer
            self._restart_session_timer(tx.request, response, now)
            self.ctx.emit(ReofferAnswered(self, answer, refresh))
        elif code in (401, 407) and self._retry_with_credentials_in_dialog(tx.request, response, now, reoffer=True):
            return
        elif code == 422 and (interval := self._interval_after_422(tx.request, response)) is not None:
            self._session_interval = interval  # RFC 4028 7.3: ask again for what the peer needs
            self._send_reoffer(now)
        elif code == 491:
            # RFC 3261 14.1: the owner of the Call-ID waits 2.1-4 s, the other 0-2 s.
            owner = self.direction == "outgoing"
            self._glare_retry_at = now + (random.uniform(2.1, 4.0) if owner else random.uniform(0.0, 2.0))
        else:
            self._reoffer = None
            was_target_refresh, self._refreshing_target = self._refreshing_target, False
            if was_target_refresh and code in _PEER_NOT_YET_REACHABLE \
                    and self._target_refresh_tries < _TARGET_REFRESH_TRIES:
                self._target_refresh_tries += 1
                self._target_refresh_at = now + 2.0 ** (self._target_refresh_tries - 1)
                return
            if code in (408, 481):
                self._end_after_failure(code, now)
            else:
                self.ctx.emit(ReofferFailed(self, code, cause_for_status(code)))

    def _on_remote_offer(self, tx: ServerTransaction, request: Request, now: float) -> None:
        refusal = self._session_interval_refusal(request)
        if refusal is not None:  # RFC 4028 9: Session-Expires below the floor
            self.ctx.send_response(tx, refusal, now)
            return
        if self.state is not CallState.ESTABLISHED:
            if request.method == "UPDATE" and self.state in (CallState.RINGING, CallState.INCOMING):
                self.ctx.send_response(tx, request.response(
                    488 if _sdp_of(request) else 200, headers=self._session_timer_answer(request)), now)
                return
            self.ctx.send_response(tx, request.response(491 if self.state is CallState.ANSWERED else 500), now)
            return
        if self._reoffer is not None and self._reoffer[1] is not None and self._glare_retry_at is None \
                or self._remote_offer_tx is not None or self._pending_ack_answer:
            self.ctx.send_response(tx, request.response(491), now)  # glare (14.2)
            return
        sdp = _sdp_of(request)
        answered_now = request.method == "UPDATE" and sdp is None or sdp is not None and sdp == self.remote_sdp
        # Renegotiated now when answered now; else once the application answers.
        self._restart_session_timer(request, None, now, renegotiate=answered_now)
        if request.method == "UPDATE" and sdp is None:
            # A session refresh (RFC 4028) or a target refresh only.
            self.ctx.send_response(tx, self.dialog.send_response(request, request.response(
                200, headers=[("Contact", self.ctx.contact()), *self._session_timer_answer(request)])), now)
            return
        if sdp is not None and sdp == self.remote_sdp:
            # The same description again (a session refresh by re-INVITE): answer as before.
            self.ctx.send_response(tx, self.dialog.send_response(request, request.response(
                200, body=(self.local_sdp or "").encode(), content_type=SDP,
                headers=[("Contact", self.ctx.contact()), *self._session_timer_answer(request)])), now)
            return
        self._remote_offer_tx, self._remote_offer_request = tx, request
        if sdp is not None:
            self.remote_sdp = sdp
            held = _holds(sdp)
            if held != self.remote_held:
                self.remote_held = held
                self.ctx.emit(RemoteHold(self, held))
        self.ctx.emit(RemoteOffer(self, sdp, request.method))
