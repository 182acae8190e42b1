"""One call, either direction: the INVITE session of RFC 3261 13-15, sans-IO.

A :class:`CallSession` sends and answers through a :class:`CallContext` (the
UA core, which owns the transactions and the dialog store) and reports what
happens as the events of :mod:`._events`. It implements:

* placing a call: INVITE with our offer, digest answers to 401/407, early
  media on 18x, forking (first 2xx wins), ACK, CANCEL (9.1), failure causes;
* taking a call: 180 Ringing at once, early media (``progress(sdp)``, a 183),
  ``accept(sdp)`` with 2xx retransmission
  until the ACK (13.3.1.4), ``reject``, the caller's CANCEL, a no-answer timer;
* the established call: re-INVITE/UPDATE both ways (hold, ICE restart), glare
  (491, retried after the random wait of 14.1), INFO (DTMF relay), OPTIONS,
  BYE both ways, and session timers (RFC 4028) when the peer asks for them.

The session is made of parts, each an object with its own state, and, when it
has deadlines, its own ``get_timer``/``handle_timer`` (as JsSIP's RTCSession
owns its DTMF, Info, ReferSubscriber and ReferNotifier):

============================  ================================================
``session.outgoing``          :class:`~._outgoing.OutgoingInvite`: our INVITE, its retries, forks, ACK, CANCEL
``session.incoming``          :class:`~._incoming.IncomingInvite`: the INVITE we answer, 2xx resends, no-answer
``session.offers``            :class:`~._reoffer.OfferAnswer`: re-INVITE/UPDATE both ways, glare, target refresh
``session.timer``             :class:`~._timer.SessionTimer`: RFC 4028, its refresh and expiry deadlines
``session.requests``          :class:`~._requests.DialogRequests`: BYE, INFO, NOTIFY to their final response
``session.info``              :class:`~._info.Info`: INFO and DTMF relay
``session.refer_subscriber``  :class:`~._refer.ReferSubscriber`: our REFER and the peer's NOTIFYs
``session.refer_notifier``    :class:`~._refer.ReferNotifier`: the peer's REFER and our NOTIFYs
``session.pracks``            :class:`~._prack_uac.PrackSender`: PRACKs to the reliable 1xx to our INVITE (RFC 3262)
``session.reliable``          :class:`~._prack_uas.ReliableProvisionals`: our reliable 1xx, resent until PRACKed
============================  ================================================

This module keeps what is the session's own: its state (moved only through
the table of :mod:`._state`), its creation, the entry points the UA core calls
(responses, requests, ACK, CANCEL, timers), which it hands to the part that
owns the transaction or the method, and the ending of the call. Parts reach
each other through the session's attributes and call only each other's
public methods; the hook points a new part would join are
:meth:`CallSession.receive_response` (by transaction), :meth:`receive_request`
(by method) and :attr:`CallSession._timed` (deadlines).
"""

from __future__ import annotations

from ..dialog._dialog import Dialog
from ..syntax._causes import Cause, cause_for_status
from ..syntax._header_values import HeaderValue, NameAddr
from ..syntax._message import Request, Response, build_request
from ..syntax._uri import Uri
from ..transaction._transaction import (
    ClientTransaction,
    ServerTransaction,
)
from ._common import SDP, sdp_of
from ._context import CallContext
from ._events import CallEnded, CallFailed, IncomingCall
from ._incoming import IncomingInvite
from ._info import Info
from ._outgoing import OutgoingInvite
from ._prack_uac import PrackSender
from ._prack_uas import ReliableProvisionals
from ._refer import ReferNotifier, ReferSubscriber
from ._reoffer import OfferAnswer
from ._requests import DialogRequests
from ._state import CALL_TRANSITIONS, CallInput, CallState
from ._timer import SessionTimer

__all__ = ["SDP", "CallContext", "CallSession", "CallState"]


class CallSession:
    """An INVITE session and its dialog, made of the parts named above."""

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
        # The peer's hold, read from its offers. Our own hold is the driver's
        # (a media decision it makes and offers); the core only carries the SDP.
        self.remote_held = False
        # The parts. One of outgoing/incoming, by direction; the others always.
        self.outgoing: OutgoingInvite | None = None
        self.incoming: IncomingInvite | None = None
        self.requests = DialogRequests(self)
        self.timer = SessionTimer(self)
        self.offers = OfferAnswer(self)
        self.info = Info(self)
        self.refer_subscriber = ReferSubscriber(self)
        self.refer_notifier = ReferNotifier(self)
        # 100rel (RFC 3262): the PRACKs of an outgoing call, the reliable 1xx of an incoming one
        self.pracks: PrackSender | None = None
        self.reliable: ReliableProvisionals | None = None  # built when the incoming part rings

    def __repr__(self) -> str:
        return f"<CallSession {self.direction} {self.state.value} call-id={self.call_id}>"

    # --- creation ----------------------------------------------------------------------------

    @classmethod
    def outgoing_call(
        cls,
        ctx: CallContext,
        *,
        from_: NameAddr,
        target: Uri,
        offer: str,
        now: float,
        headers: tuple[tuple[str, HeaderValue], ...] = (),
    ) -> CallSession:
        """Place a call: send the INVITE carrying ``offer``."""
        session = cls(ctx, direction="outgoing", call_id=ctx.new_call_id(), local_tag=ctx.new_tag())
        session.local_identity = from_.with_tag(session.local_tag)
        session.remote_identity = NameAddr(target)
        session.local_sdp = offer
        invite = build_request(
            "INVITE", target, from_=session.local_identity, to=NameAddr(target), call_id=session.call_id,
            cseq=1, via=ctx.new_via(), contact=ctx.contact(),
            headers=[("Allow", ctx.allow), ("Supported", ctx.supported), ("User-Agent", ctx.user_agent), *headers],
            body=offer.encode(), content_type=SDP,
        )
        session.pracks = PrackSender(session)
        session.outgoing = OutgoingInvite(session)
        session.outgoing.start(invite, now)
        return session

    @classmethod
    def incoming_call(cls, ctx: CallContext, transaction: ServerTransaction, invite: Request, now: float,
                      no_answer_timeout: float, replaces: CallSession | None = None) -> CallSession:
        """Take an INVITE that matched no dialog: ring, and tell the application."""
        assert invite.call_id is not None and invite.from_ is not None and invite.to is not None, "parsed, so present"
        session = cls(ctx, direction="incoming", call_id=invite.call_id, local_tag=transaction.to_tag or ctx.new_tag())
        session.remote_identity = invite.from_
        session.local_identity = invite.to.with_tag(session.local_tag)
        offer = sdp_of(invite)
        session.remote_sdp = offer
        session.incoming = IncomingInvite(session, transaction, invite)
        session.incoming.ring(now, no_answer_timeout)
        ctx.emit(IncomingCall(session, invite, offer, replaces))
        return session

    # --- the state ---------------------------------------------------------------------------------

    @property
    def is_established(self) -> bool:
        return self.state is CallState.ESTABLISHED

    @property
    def is_ended(self) -> bool:
        return self.state is CallState.TERMINATED

    def move(self, inp: CallInput) -> bool:
        """Take the move ``inp`` of :data:`~._state.CALL_TRANSITIONS`; False (and no
        change) when the table has none from the present state."""
        new = CALL_TRANSITIONS.get((self.state, inp))
        if new is None:
            return False
        self.state = new
        return True

    def _require(self, state: CallState, what: str) -> None:
        if self.state is not state:
            raise RuntimeError(f"cannot {what}: the call is {self.state.value}")

    @property
    def _unanswered(self) -> bool:
        """An incoming call whose INVITE has no final response yet: ringing, or
        accepted with the 200 held for a PRACK (RFC 3262 3). Refusing it, the
        caller's CANCEL and a BYE before the answer all still apply."""
        return self.incoming is not None and (self.state is CallState.INCOMING or self.incoming.ok_held)

    # --- what the application does -------------------------------------------------------------

    def accept(self, sdp: str, now: float) -> None:
        """Answer an incoming call with ``sdp`` (an answer, or our offer when the
        INVITE had none). After early media (:meth:`progress`) the 200 repeats
        the 183's SDP, whatever ``sdp`` says: that exchange is done (RFC 3264)."""
        self._require(CallState.INCOMING, "accept")
        assert self.incoming is not None
        self.incoming.accept(sdp, now)

    def progress(self, sdp: str, now: float) -> None:
        """Early media on an incoming call: a 183 Session Progress carrying ``sdp``
        (our answer, or our offer when the INVITE had none), sent reliably
        (RFC 3262) when the caller supports 100rel. Once per call; the 200 of
        :meth:`accept` then repeats this SDP."""
        self._require(CallState.INCOMING, "send early media")
        assert self.incoming is not None
        self.incoming.progress(sdp, now)

    @property
    def early_media_possible(self) -> bool:
        """Whether :meth:`progress` can send early media now: a ringing incoming
        call, not done before, with the caller's offer or 100rel to carry ours."""
        return self.state is CallState.INCOMING and self.incoming is not None and self.incoming.early_media_possible

    def reject(self, status_code: int, now: float, *, cause: str | None = None) -> None:
        """Refuse an incoming call (486 Busy Here for ``decline()``), also one
        accepted whose 200 still waits for a PRACK (it was never sent)."""
        if not self._unanswered:
            self._require(CallState.INCOMING, "reject")
        if not 300 <= status_code <= 699:
            raise ValueError(f"a call is rejected with a 3xx-6xx status, not {status_code}")
        assert self.incoming is not None
        self.incoming.reject(status_code, now, cause)

    def terminate(self, now: float) -> None:
        """Hang up: CANCEL before an answer, BYE after, 486 for an unanswered incoming call."""
        state = self.state
        if state is CallState.TERMINATED:
            return
        if self._unanswered:
            self.reject(486, now, cause=Cause.REJECTED)
        elif state in (CallState.CALLING, CallState.RINGING):
            assert self.outgoing is not None
            self.outgoing.cancel(now)
        else:  # answered or established: BYE
            self.hang_up(now, Cause.TERMINATED, "local")

    @property
    def is_ready_to_reoffer(self) -> bool:
        return self.offers.is_ready

    def reoffer(self, sdp: str | None, now: float, *, use_update: bool = False, refresh: bool = False) -> None:
        """Send a re-INVITE (or UPDATE) carrying ``sdp`` (hold, unhold, renegotiate)."""
        self.offers.reoffer(sdp, now, use_update=use_update, refresh=refresh)

    def refresh_target(self, now: float, *, retry: bool = False) -> bool:
        """Tell the peer our new Contact (UPDATE without SDP); see :meth:`~._reoffer.OfferAnswer.refresh_target`."""
        return self.offers.refresh_target(now, retry=retry)

    def answer_offer(self, sdp: str, now: float) -> None:
        """Answer the peer's re-offer (:class:`~._events.RemoteOffer`) with ``sdp``."""
        self.offers.answer_offer(sdp, now)

    def reject_offer(self, status_code: int, now: float) -> None:
        self.offers.reject_offer(status_code, now)

    def send_info(self, content_type: str, body: bytes, now: float) -> None:
        """An INFO in the dialog (DTMF relay)."""
        self.info.send(content_type, body, now)

    def refer(self, refer_to: NameAddr, now: float) -> None:
        """Ask the peer to call ``refer_to`` (RFC 3515); progress comes as ReferProgress."""
        if self.state is not CallState.ESTABLISHED:
            raise RuntimeError(f"REFER needs an established call; this one is {self.state.value}")
        if self.refer_subscriber.in_flight or self.refer_notifier.active:
            raise RuntimeError("a transfer is already in progress on this call")
        self.refer_subscriber.refer(refer_to, now)

    def accept_refer(self, now: float) -> None:
        """Take the peer's REFER: 202 Accepted, then NOTIFY 100 Trying (RFC 3515 2.4.4)."""
        self.refer_notifier.accept(now)

    def reject_refer(self, status_code: int, now: float) -> None:
        self.refer_notifier.reject(status_code, now)

    def notify_refer(self, status_code: int, reason: str, now: float, *, final: bool) -> None:
        """Tell the peer how the call it asked for is going (message/sipfrag)."""
        self.refer_notifier.notify(status_code, reason, now, final=final)

    def replace_by(self, now: float) -> None:
        """Another dialog replaces this call (RFC 3891): hang up with BYE."""
        if self.state is CallState.ESTABLISHED:
            self.hang_up(now, Cause.TERMINATED, "remote")
        elif self.state in (CallState.CALLING, CallState.RINGING) or self._unanswered:
            self.terminate(now)

    def replaces_value(self) -> str:
        """The Replaces header value naming this call's dialog as the peer sees it
        (RFC 3891: to-tag is the peer's local tag, from-tag ours)."""
        if self.dialog is None or self.dialog.remote_tag is None:
            raise RuntimeError("the call has no confirmed dialog to replace")
        return f"{self.call_id};to-tag={self.dialog.remote_tag};from-tag={self.local_tag}"

    def matches_replaces(self, call_id: str, to_tag: str, from_tag: str) -> bool:
        """Whether a Replaces header names this call's dialog (tags taken either way
        round, as implementations differ)."""
        if self.dialog is None or call_id != self.call_id:
            return False
        local, remote = self.local_tag, self.dialog.remote_tag
        return (to_tag, from_tag) in ((local, remote), (remote, local))

    # --- what the network says: handed to the part that owns it -------------------------------------

    def receive_response(self, transaction: ClientTransaction, response: Response, now: float) -> None:
        if self.pracks is not None and self.pracks.owns(transaction):
            self.pracks.receive_response(transaction, response, now)
        elif self.outgoing is not None and self.outgoing.owns(transaction):
            self.outgoing.receive_response(response, now)
        elif self.offers.owns(transaction):
            self.offers.receive_response(transaction, response, now)
        elif self.refer_subscriber.owns(transaction):
            self.refer_subscriber.receive_response(transaction, response, now)
        elif self.requests.owns(transaction):
            self.requests.receive_response(transaction, response, now)

    def stray_2xx(self, response: Response, now: float) -> None:
        """A 2xx to our INVITE after its transaction ended: ACK it again (or ACK+BYE)."""
        if self.outgoing is not None:
            self.outgoing.stray_2xx(response, now)

    def transaction_failed(self, transaction: ClientTransaction, now: float, *, timeout: bool) -> None:
        if self.pracks is not None and self.pracks.owns(transaction):
            self.pracks.transaction_failed(transaction)
        elif self.outgoing is not None and self.outgoing.owns(transaction):
            self.outgoing.transaction_failed(now, timeout=timeout)
        elif self.offers.owns(transaction):
            self.offers.transaction_failed(now, timeout=timeout)
        elif self.refer_subscriber.owns(transaction):
            self.refer_subscriber.transaction_failed(timeout=timeout)
        elif self.requests.owns(transaction):
            self.requests.transaction_failed(transaction)

    def receive_request(self, transaction: ServerTransaction, request: Request, now: float) -> None:
        """An in-dialog request (the dialog store found this session)."""
        method = request.method
        if method == "BYE":
            self.ctx.send_response(transaction, request.response(200), now)
            if self._unanswered:
                assert self.incoming is not None
                self.incoming.canceled(now, None)
            else:
                self.end(Cause.BYE, "remote")
        elif method in ("INVITE", "UPDATE"):
            self.offers.receive_offer(transaction, request, now)
        elif method == "INFO":
            self.info.receive(transaction, request, now)
        elif method == "OPTIONS":
            self.ctx.send_response(transaction, request.response(200, headers=[("Allow", self.ctx.allow)]), now)
        elif method == "REFER":
            self.refer_notifier.receive_refer(transaction, request, now)
        elif method == "NOTIFY":
            self.refer_subscriber.receive_notify(transaction, request, now)
        elif method == "PRACK":
            if self.incoming is not None:
                self.incoming.receive_prack(transaction, request, now)
            else:  # we sent no reliable 1xx on a call we placed
                self.ctx.send_response(transaction, request.response(481, "No Matching Provisional Response"), now)
        else:
            self.ctx.send_response(transaction, request.response(405, headers=[("Allow", self.ctx.allow)]), now)

    def ack_received(self, ack: Request, now: float) -> None:
        if self.state is CallState.ANSWERED and self.incoming is not None:
            self.incoming.ack_received(ack, now)
        else:
            self.offers.ack_received(ack)

    def serves(self, transaction: ServerTransaction) -> bool:
        """Whether ``transaction`` is the INVITE this (incoming) call answers."""
        return self.incoming is not None and self.incoming.server_tx is transaction

    def cancel_received(self, now: float) -> None:
        """The caller cancelled (the layer answered the CANCEL; we answer the INVITE)."""
        if self._unanswered and self.incoming is not None:
            self.incoming.canceled(now, 487)

    def server_transaction_failed(self, now: float) -> None:
        """Our INVITE's server transaction died with the connection before the
        call was answered (or before the ACK): nobody can hear our answer now."""
        if self._unanswered:
            self.fail(Cause.CONNECTION_ERROR, None, "connection lost", originator="local")

    # --- timers: each part keeps its own -------------------------------------------------------------

    @property
    def _timed(self) -> tuple[ReliableProvisionals | IncomingInvite | OfferAnswer | SessionTimer | ReferSubscriber,
                              ...]:
        """The parts with deadlines, in the order they fire when due together
        (a 1xx never PRACKed refuses the INVITE before anything else is done)."""
        parts = (self.offers, self.timer, self.refer_subscriber)
        if self.incoming is None:
            return parts
        return (self.reliable, self.incoming, *parts) if self.reliable is not None else (self.incoming, *parts)

    def get_timer(self) -> float | None:
        best = None
        for part in self._timed:
            t = part.get_timer()
            if t is not None and (best is None or t < best):
                best = t
        return best

    def handle_timer(self, now: float) -> None:
        for part in self._timed:
            part.handle_timer(now)

    # --- ending -----------------------------------------------------------------------------------------

    def hang_up(self, now: float, cause: str, originator: str, status: int | None = None) -> None:
        """BYE, and the call is over (:class:`~._events.CallEnded`)."""
        self.requests.send_bye(now)
        self.end(cause, originator, status)

    def end_after_failure(self, status: int, now: float) -> None:
        """RFC 3261 12.2.1.2: 481 or 408 to an in-dialog request ends the call."""
        if self.state is CallState.ESTABLISHED:
            if status == 408:
                self.requests.send_bye(now)
            self.end(cause_for_status(status), "remote", status)

    def fail(self, cause: str, status: int | None, reason: str, *, originator: str = "remote") -> None:
        """The call never came up: :class:`~._events.CallFailed`."""
        if self.move(CallInput.FAIL):
            self._finish(CallFailed(self, cause, status, reason, originator))

    def end(self, cause: str, originator: str, status: int | None = None) -> None:
        """The call is over: :class:`~._events.CallEnded`."""
        if self.move(CallInput.END):
            self._finish(CallEnded(self, cause, originator, status))

    def _finish(self, event: CallFailed | CallEnded) -> None:
        for part in self._timed:
            part.clear_timers()
        if not self.requests.bye_pending:
            self.forget_dialog()
        self.ctx.emit(event)

    def forget_dialog(self) -> None:
        """The dialog is over; once the call is too and no request of ours is
        pending, the UA core forgets the session."""
        if self.dialog is not None:
            self.dialog.terminate()
            self.ctx.dialogs.discard(self.dialog)
        if self.state is CallState.TERMINATED and self.requests.idle:
            self.ctx.forget(self)
