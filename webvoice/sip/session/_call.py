"""One call, either direction: the INVITE session of RFC 3261 13-15, sans-IO.

A :class:`CallSession` sends and answers through a :class:`CallContext` (the
UA core, which owns the transactions and the dialog store) and reports what
happens as the events of :mod:`._events`. It implements:

* placing a call: INVITE with our offer, digest answers to 401/407, early
  media on 18x, forking (first 2xx wins), ACK, CANCEL (9.1), failure causes;
* taking a call: 180 Ringing at once, ``accept(sdp)`` with 2xx retransmission
  until the ACK (13.3.1.4), ``reject``, the caller's CANCEL, a no-answer timer;
* the established call: re-INVITE/UPDATE both ways (hold, ICE restart), glare
  (491, retried after the random wait of 14.1), INFO (DTMF relay), OPTIONS,
  BYE both ways, and session timers (RFC 4028) when the peer asks for them.

This module holds the session's state, its creation, the entry points the UA
core calls (responses, requests, ACK, CANCEL, timers) and the ending of a call;
the rest comes from mixins, one module per concern, so that each stays small:

* :mod:`._outgoing`: the outcome of our INVITE (auth, forks, ACK);
* :mod:`._reoffer`: re-INVITE/UPDATE both ways and glare;
* :mod:`._info`: INFO and DTMF relay;
* :mod:`._refer`: transfer (REFER/NOTIFY, RFC 3515) and Replaces (RFC 3891);
* :mod:`._timer`: session timers (RFC 4028);
* :mod:`._requests`: BYE and the other tracked in-dialog requests;
* :mod:`._common`: :class:`CallState` and the SDP helpers they share.
"""

from __future__ import annotations

from typing import Protocol

from ..auth._client import DigestClient
from ..dialog._dialog import Dialog
from ..dialog._forking import InviteDialogs
from ..dialog._store import DialogStore
from ..syntax._causes import Cause, cause_for_status
from ..syntax._headers import HeaderValue, NameAddr, Via
from ..syntax._message import Request, Response, build_request
from ..syntax._uri import Uri
from ..transaction._transaction import (
    ClientTransaction,
    InviteClientTransaction,
    ServerTransaction,
)
from ._common import SDP, CallState, _sdp_of
from ._events import (
    CallConfirmed,
    CallEnded,
    CallFailed,
    IncomingCall,
    ReferProgress,
    RemoteAnswer,
    ReofferFailed,
)
from ._info import InfoMethods
from ._outgoing import OutgoingInviteMethods
from ._refer import ReferMethods
from ._reoffer import ReofferMethods
from ._requests import DialogRequestMethods
from ._timer import SessionTimerMethods

__all__ = ["SDP", "CallContext", "CallSession", "CallState"]


class CallContext(Protocol):
    """What a call needs from the UA core."""

    auth: DigestClient
    dialogs: DialogStore
    t1: float
    t2: float
    user_agent: str
    allow: str
    supported: str
    session_timers: bool
    min_se: int

    def new_via(self) -> Via: ...
    def new_tag(self) -> str: ...
    def new_call_id(self) -> str: ...
    def contact(self) -> NameAddr: ...
    def send_request(self, request: Request, now: float, owner: "CallSession") -> ClientTransaction | None: ...
    def send_response(self, transaction: ServerTransaction, response: Response, now: float) -> None: ...
    def send_stateless(self, message: Request | Response) -> None: ...
    def cancel(self, transaction: InviteClientTransaction, now: float) -> None: ...
    def emit(self, event: object) -> None: ...
    def forget(self, session: "CallSession") -> None: ...


class CallSession(OutgoingInviteMethods, ReofferMethods, InfoMethods, ReferMethods, SessionTimerMethods,
                  DialogRequestMethods):
    """An INVITE session and its dialog.

    The methods for each concern come from the mixins named above (one module
    each); the state they share is set up here, in ``__init__``."""

    def __init__(self, ctx: CallContext, *, direction: str, call_id: str, local_tag: str) -> None:
        self.ctx = ctx
        self.direction = direction  # "outgoing" | "incoming"
        self.call_id = call_id
        self.local_tag = local_tag
        self.state = CallState.CALLING if direction == "outgoing" else CallState.INCOMING
        self.dialog: Dialog | None = None
        self.remote_identity: NameAddr | None = None
        self.local_identity: NameAddr | None = None
        self.local_sdp: str | None = None
        self.remote_sdp: str | None = None
        self.remote_held = False
        self.local_held = False
        # outgoing INVITE
        self._invite_tx: InviteClientTransaction | None = None
        self._forks: InviteDialogs | None = None
        self._auth_retries = 0
        self._canceling = False
        # incoming INVITE
        self._server_tx: ServerTransaction | None = None
        self._invite: Request | None = None
        self._ok: Response | None = None
        self._ok_resend_at: float | None = None
        self._ok_interval = 0.0
        self._ack_deadline: float | None = None
        self._no_answer_at: float | None = None
        self._offer_in_ok = False
        # re-offers
        self._reoffer_tx: ClientTransaction | None = None
        self._reoffer: tuple[str, str | None, bool] | None = None  # (method, sdp, refresh)
        self._glare_retry_at: float | None = None
        # target refresh after a reconnection (RFC 3311), retried while the peer
        # is not reachable yet (it may still be registering again itself)
        self._refreshing_target = False
        self._target_refresh_at: float | None = None
        self._target_refresh_tries = 0
        self._remote_offer_tx: ServerTransaction | None = None
        self._remote_offer_request: Request | None = None
        self._pending_ack_answer = False  # our 200 to a re-INVITE carried an offer
        # session timers (RFC 4028)
        self._session_interval: int | None = None
        self._we_refresh = False
        self._refresh_at: float | None = None
        self._expire_at: float | None = None
        self._peer_min_se = 0  # the largest Min-SE a 422 asked of us
        self._interval_retries = 0  # 422s answered for the request in flight
        self._extra: tuple[tuple[str, HeaderValue], ...] = ()
        # transfer (RFC 3515): our REFER and its implicit subscription, and theirs
        self._refer_tx: ClientTransaction | None = None
        self._refer_request: tuple[ServerTransaction, Request] | None = None
        self._refer_subscription = False
        # other in-dialog client transactions: tx -> (request, auth retries)
        self._requests: dict[ClientTransaction, tuple[Request, int]] = {}

    def __repr__(self) -> str:
        return f"<CallSession {self.direction} {self.state.value} call-id={self.call_id}>"

    # --- creation ----------------------------------------------------------------------------

    @classmethod
    def outgoing(
        cls,
        ctx: CallContext,
        *,
        from_: NameAddr,
        target: Uri,
        offer: str,
        now: float,
        headers: tuple[tuple[str, HeaderValue], ...] = (),
    ) -> "CallSession":
        """Place a call: send the INVITE carrying ``offer``."""
        session = cls(ctx, direction="outgoing", call_id=ctx.new_call_id(), local_tag=ctx.new_tag())
        session.local_identity = from_.with_tag(session.local_tag)
        session.remote_identity = NameAddr(target)
        session.local_sdp = offer
        session._extra = headers
        invite = build_request(
            "INVITE", target, from_=session.local_identity, to=NameAddr(target), call_id=session.call_id,
            cseq=1, via=ctx.new_via(), contact=ctx.contact(),
            headers=[("Allow", ctx.allow), ("Supported", ctx.supported), ("User-Agent", ctx.user_agent), *headers],
            body=offer.encode(), content_type=SDP,
        )
        session._start_invite(invite, now)
        return session

    @classmethod
    def incoming(cls, ctx: CallContext, transaction: ServerTransaction, invite: Request, now: float,
                 no_answer_timeout: float, replaces: "CallSession | None" = None) -> "CallSession":
        """Take an INVITE that matched no dialog: ring, and tell the application."""
        session = cls(ctx, direction="incoming", call_id=invite.call_id, local_tag=transaction.to_tag or ctx.new_tag())
        session._server_tx = transaction
        session._invite = invite
        session.remote_identity = invite.from_
        session.local_identity = invite.to.with_tag(session.local_tag)
        offer = _sdp_of(invite)
        session.remote_sdp = offer
        session._offer_in_ok = offer is None
        ringing = invite.response(180, to_tag=session.local_tag, headers=[("Contact", ctx.contact())])
        session.dialog = Dialog.uas(invite, ringing)
        ctx.dialogs.add(session.dialog)
        ctx.send_response(transaction, session.dialog.send_response(invite, ringing), now)
        session._no_answer_at = now + no_answer_timeout
        ctx.emit(IncomingCall(session, invite, offer, replaces))
        return session

    # --- what the application does -------------------------------------------------------------

    @property
    def is_established(self) -> bool:
        return self.state is CallState.ESTABLISHED

    @property
    def is_ended(self) -> bool:
        return self.state is CallState.TERMINATED

    def accept(self, sdp: str, now: float) -> None:
        """Answer an incoming call with ``sdp`` (an answer, or our offer when the
        INVITE had none)."""
        self._require(CallState.INCOMING, "accept")
        self.local_sdp = sdp
        ok = self._invite.response(
            200, to_tag=self.local_tag, body=sdp.encode(), content_type=SDP,
            headers=[("Contact", self.ctx.contact()), ("Allow", self.ctx.allow), ("Supported", self.ctx.supported),
                     *self._session_timer_answer(self._invite)],
        )
        self._ok = self.dialog.send_response(self._invite, ok)
        self.ctx.send_response(self._server_tx, self._ok, now)
        self.state = CallState.ANSWERED
        self._no_answer_at = None
        self._ok_interval = self.ctx.t1
        self._ok_resend_at = now + self._ok_interval
        self._ack_deadline = now + 64 * self.ctx.t1

    def reject(self, status_code: int, now: float, *, cause: str | None = None) -> None:
        """Refuse an incoming call (486 Busy Here for ``decline()``)."""
        self._require(CallState.INCOMING, "reject")
        if not 300 <= status_code <= 699:
            raise ValueError(f"a call is rejected with a 3xx-6xx status, not {status_code}")
        self.ctx.send_response(self._server_tx, self._invite.response(status_code, to_tag=self.local_tag), now)
        self._finish_failed(cause or cause_for_status(status_code), status_code, "", originator="local")

    def terminate(self, now: float) -> None:
        """Hang up: CANCEL before an answer, BYE after, 486 for an unanswered incoming call."""
        state = self.state
        if state is CallState.TERMINATED:
            return
        if state is CallState.INCOMING:
            self.reject(486, now, cause=Cause.REJECTED)
        elif state in (CallState.CALLING, CallState.RINGING):
            self._canceling = True
            if self._invite_tx is not None:
                self.ctx.cancel(self._invite_tx, now)
            else:
                self._finish_failed(Cause.CANCELED, None, "", originator="local")
        else:  # answered or established: BYE
            self._send_bye(now)
            self._finish_ended(Cause.TERMINATED, "local")

    # --- what the network says --------------------------------------------------------------------

    def receive_response(self, transaction: ClientTransaction, response: Response, now: float) -> None:
        if transaction is self._invite_tx:
            self._on_invite_response(response, now)
        elif transaction is self._reoffer_tx:
            self._on_reoffer_response(transaction, response, now)
        elif transaction is self._refer_tx:
            self._on_refer_response(transaction, response, now)
        elif transaction in self._requests:
            self._on_other_response(transaction, response, now)

    def stray_2xx(self, response: Response, now: float) -> None:
        """A 2xx to our INVITE after its transaction ended: ACK it again (or ACK+BYE)."""
        if self._forks is not None:
            self._on_fork_event(self._forks.receive_response(response), now)

    def transaction_failed(self, transaction: ClientTransaction, now: float, *, timeout: bool) -> None:
        status = 408 if timeout else 503
        if transaction is self._invite_tx:
            self._invite_tx = None
            if self._forks is not None:
                self._forks.receive_timeout()
            if self.state in (CallState.CALLING, CallState.RINGING):
                cause = Cause.REQUEST_TIMEOUT if timeout else Cause.CONNECTION_ERROR
                self._finish_failed(Cause.CANCELED if self._canceling else cause, status, "",
                                    originator="local" if self._canceling else "remote")
        elif transaction is self._reoffer_tx and self.state is CallState.TERMINATED:
            self._reoffer_tx = self._reoffer = None
        elif transaction is self._reoffer_tx:
            # No answer to our re-offer: the peer is gone (12.2.1.2 treats it as 408).
            self._reoffer_tx = self._reoffer = None
            self.ctx.emit(ReofferFailed(self, status, Cause.REQUEST_TIMEOUT if timeout else Cause.CONNECTION_ERROR))
            if timeout:
                self._send_bye(now)
                self._finish_ended(Cause.REQUEST_TIMEOUT, "local", 408)
        elif transaction is self._refer_tx:
            self._refer_tx = None
            self.ctx.emit(ReferProgress(self, status, "no answer to REFER", True, refused=True))
        elif transaction in self._requests:
            request, _ = self._requests.pop(transaction)
            if request.method == "BYE":
                self._forget_dialog()

    def receive_request(self, transaction: ServerTransaction, request: Request, now: float) -> None:
        """An in-dialog request (the dialog store found this session)."""
        method = request.method
        if method == "BYE":
            self.ctx.send_response(transaction, request.response(200), now)
            if self.state in (CallState.INCOMING,):
                self.ctx.send_response(self._server_tx, self._invite.response(487, to_tag=self.local_tag), now)
                self._finish_failed(Cause.CANCELED, None, "", originator="remote")
            else:
                self._finish_ended(Cause.BYE, "remote")
        elif method in ("INVITE", "UPDATE"):
            self._on_remote_offer(transaction, request, now)
        elif method == "INFO":
            self._on_info(transaction, request, now)
        elif method == "OPTIONS":
            self.ctx.send_response(transaction, request.response(200, headers=[("Allow", self.ctx.allow)]), now)
        elif method == "REFER":
            self._on_refer(transaction, request, now)
        elif method == "NOTIFY":
            self._on_notify(transaction, request, now)
        else:
            self.ctx.send_response(transaction, request.response(
                501 if method == "PRACK" else 405, headers=[("Allow", self.ctx.allow)]), now)

    def ack_received(self, ack: Request, now: float) -> None:
        sdp = _sdp_of(ack)
        if self.state is CallState.ANSWERED:
            self._ok_resend_at = self._ack_deadline = None
            self.state = CallState.ESTABLISHED
            self._start_session_timer(self._invite, self._ok, now, uas=True)
            if sdp is not None:
                self.remote_sdp = sdp
            self.ctx.emit(CallConfirmed(self, sdp))
            if sdp is not None and self._offer_in_ok:
                self._offer_in_ok = False
        elif self._pending_ack_answer:
            self._pending_ack_answer = False
            if sdp is not None:
                self.remote_sdp = sdp
                self.ctx.emit(RemoteAnswer(self, sdp))

    def cancel_received(self, now: float) -> None:
        """The caller cancelled (the layer answered the CANCEL; we answer the INVITE)."""
        if self.state is CallState.INCOMING:
            self.ctx.send_response(self._server_tx, self._invite.response(487, to_tag=self.local_tag), now)
            self._finish_failed(Cause.CANCELED, 487, "", originator="remote")

    def server_transaction_failed(self, now: float) -> None:
        """Our INVITE's server transaction died with the connection before the
        call was answered (or before the ACK): nobody can hear our answer now."""
        if self.state is CallState.INCOMING:
            self._finish_failed(Cause.CONNECTION_ERROR, None, "connection lost", originator="local")

    # --- timers -----------------------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        times = [t for t in (self._ok_resend_at, self._ack_deadline, self._no_answer_at, self._glare_retry_at,
                             self._refresh_at, self._expire_at, self._target_refresh_at) if t is not None]
        return min(times) if times else None

    def handle_timer(self, now: float) -> None:
        if self._ack_deadline is not None and now >= self._ack_deadline:
            self._ok_resend_at = self._ack_deadline = None
            self._send_bye(now)
            self._finish_ended("No ACK", "local")
            return
        if self._ok_resend_at is not None and now >= self._ok_resend_at:
            self.ctx.send_response(self._server_tx, self._ok, now)
            self._ok_interval = min(self._ok_interval * 2, self.ctx.t2)
            self._ok_resend_at = now + self._ok_interval
        if self._no_answer_at is not None and now >= self._no_answer_at:
            self._no_answer_at = None
            if self.state is CallState.INCOMING:
                self.ctx.send_response(self._server_tx, self._invite.response(480, to_tag=self.local_tag), now)
                self._finish_failed(Cause.NO_ANSWER, 480, "", originator="local")
        if self._glare_retry_at is not None and now >= self._glare_retry_at:
            self._glare_retry_at = None
            if self.state is CallState.ESTABLISHED and self._reoffer is not None:
                self._send_reoffer(now)
        if self._target_refresh_at is not None and now >= self._target_refresh_at:
            self._target_refresh_at = None
            if self.state is CallState.ESTABLISHED:
                self.refresh_target(now, retry=True)
        if self._refresh_at is not None and now >= self._refresh_at:
            self._refresh_at = None
            if self.is_ready_to_reoffer:
                use_update = "UPDATE" in self._peer_allow()
                self.reoffer(None if use_update else self.local_sdp, now, use_update=use_update, refresh=True)
        if self._expire_at is not None and now >= self._expire_at:
            self._expire_at = None
            if self.state is CallState.ESTABLISHED:
                self._send_bye(now)
                self._finish_ended(Cause.REQUEST_TIMEOUT, "local", 408)

    # --- ending --------------------------------------------------------------------------------------------------

    def _require(self, state: CallState, what: str) -> None:
        if self.state is not state:
            raise RuntimeError(f"cannot {what}: the call is {self.state.value}")

    def _clear_timers(self) -> None:
        self._ok_resend_at = self._ack_deadline = self._no_answer_at = None
        self._glare_retry_at = self._refresh_at = self._expire_at = self._target_refresh_at = None

    def _finish_failed(self, cause: str, status: int | None, reason: str, *, originator: str = "remote") -> None:
        if self.state is CallState.TERMINATED:
            return
        self.state = CallState.TERMINATED
        self._clear_timers()
        if not any(r.method == "BYE" for r, _ in self._requests.values()):
            self._forget_dialog()
        self.ctx.emit(CallFailed(self, cause, status, reason, originator))

    def _finish_ended(self, cause: str, originator: str, status: int | None = None) -> None:
        if self.state is CallState.TERMINATED:
            return
        self.state = CallState.TERMINATED
        self._clear_timers()
        if not any(r.method == "BYE" for r, _ in self._requests.values()):
            self._forget_dialog()
        self.ctx.emit(CallEnded(self, cause, originator, status))

    def _forget_dialog(self) -> None:
        if self.dialog is not None:
            self.dialog.terminate()
            self.ctx.dialogs.discard(self.dialog)
        if self.state is CallState.TERMINATED and not self._requests:
            self.ctx.forget(self)

