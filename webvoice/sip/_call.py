"""One call, either direction: the INVITE session of RFC 3261 13-15, sans-IO.

A :class:`CallSession` sends and answers through a :class:`CallContext` (the
UA core, which owns the transactions and the dialog store) and reports what
happens as the events of :mod:`._call_events`. It implements:

* placing a call: INVITE with our offer, digest answers to 401/407, early
  media on 18x, forking (first 2xx wins), ACK, CANCEL (9.1), failure causes;
* taking a call: 180 Ringing at once, ``accept(sdp)`` with 2xx retransmission
  until the ACK (13.3.1.4), ``reject``, the caller's CANCEL, a no-answer timer;
* the established call: re-INVITE/UPDATE both ways (hold, ICE restart), glare
  (491, retried after the random wait of 14.1), INFO (DTMF relay), OPTIONS,
  BYE both ways, and session timers (RFC 4028) when the peer asks for them.
"""

from __future__ import annotations

import enum
import random
import re
from typing import Protocol

from ._auth import AuthenticationError, DigestClient
from ._call_events import (
    CallConfirmed,
    CallEnded,
    CallFailed,
    CallProgress,
    DtmfReceived,
    IncomingCall,
    InfoReceived,
    ReofferAnswered,
    ReofferFailed,
    RemoteAnswer,
    ReferProgress,
    ReferReceived,
    RemoteHold,
    RemoteOffer,
)
from ._causes import Cause, cause_for_status
from ._dialog import Dialog
from ._dialog_state import DialogState
from ._dialog_store import DialogStore
from ._forking import DialogConfirmed, ForkDiscarded, InviteDialogs, InviteFailed, ProvisionalReceived, Retransmitted2xx
from ._headers import HeaderValue, NameAddr, Via
from ._message import Request, Response, build_request
from ._sdp import SdpParseError, parse_sdp, remote_hold_state
from ._transaction import ClientTransaction, InviteClientTransaction, ServerTransaction
from ._uri import Uri

__all__ = ["CallSession", "CallState", "CallContext", "SDP"]

SDP = "application/sdp"
MAX_AUTH_RETRIES = 2


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


class CallState(enum.Enum):
    CALLING = "calling"  # INVITE sent, nothing back but 100
    RINGING = "ringing"  # outgoing: 18x received
    INCOMING = "incoming"  # incoming: 180 sent, the application decides
    ANSWERED = "answered"  # incoming: 200 sent, waiting for the ACK
    ESTABLISHED = "established"
    TERMINATED = "terminated"


_DTMF_SIGNAL = re.compile(r"(?im)^\s*signal\s*=\s*([0-9A-D*#])\s*$")
_DTMF_DURATION = re.compile(r"(?im)^\s*duration\s*=\s*([0-9]{1,6})\s*$")


class CallSession:
    """An INVITE session and its dialog."""

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
        self._remote_offer_tx: ServerTransaction | None = None
        self._remote_offer_request: Request | None = None
        self._pending_ack_answer = False  # our 200 to a re-INVITE carried an offer
        # session timers (RFC 4028)
        self._session_interval: int | None = None
        self._we_refresh = False
        self._refresh_at: float | None = None
        self._expire_at: float | None = None
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

    @property
    def is_ready_to_reoffer(self) -> bool:
        return (
            self.state is CallState.ESTABLISHED and self._reoffer is None and self._remote_offer_tx is None
            and not self._pending_ack_answer and self._glare_retry_at is None
        )

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

    def reoffer(self, sdp: str | None, now: float, *, use_update: bool = False, refresh: bool = False) -> None:
        """Send a re-INVITE (or UPDATE) carrying ``sdp`` (hold, unhold, renegotiate)."""
        if not self.is_ready_to_reoffer:
            raise RuntimeError(f"cannot re-offer now: the call is {self.state.value}"
                               + (" and an offer is already pending" if self.state is CallState.ESTABLISHED else ""))
        self._reoffer = ("UPDATE" if use_update else "INVITE", sdp, refresh)
        self._send_reoffer(now)

    def refresh_target(self, now: float) -> bool:
        """Tell the peer where we are now (a target refresh by UPDATE without SDP,
        RFC 3311), e.g. after a reconnection gave us a new flow through the proxy.
        Returns False when an offer exchange is pending (retry later)."""
        if not self.is_ready_to_reoffer:
            return False
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

    def reject_offer(self, status_code: int, now: float) -> None:
        if self._remote_offer_tx is None:
            raise RuntimeError("there is no offer from the other side to reject")
        request, tx = self._remote_offer_request, self._remote_offer_tx
        self._remote_offer_tx = self._remote_offer_request = None
        self.ctx.send_response(tx, request.response(status_code), now)

    def send_info(self, content_type: str, body: bytes, now: float) -> None:
        """An INFO in the dialog (DTMF relay)."""
        if self.state is not CallState.ESTABLISHED:
            raise RuntimeError(f"INFO needs an established call; this one is {self.state.value}")
        request = self.dialog.create_request("INFO", via=self.ctx.new_via(), body=body, content_type=content_type)
        self._send_tracked(request, now)

    def refer(self, refer_to: NameAddr, now: float) -> None:
        """Ask the peer to call ``refer_to`` (RFC 3515); progress comes as ReferProgress."""
        if self.state is not CallState.ESTABLISHED:
            raise RuntimeError(f"REFER needs an established call; this one is {self.state.value}")
        if self._refer_tx is not None or self._refer_subscription:
            raise RuntimeError("a transfer is already in progress on this call")
        request = self.dialog.create_request(
            "REFER", via=self.ctx.new_via(), contact=self.ctx.contact(),
            headers=[("Refer-To", refer_to), ("Referred-By", NameAddr(self.local_identity.uri))])
        self._refer_tx = self.ctx.send_request(request, now, self)
        if self._refer_tx is None:
            self.ctx.emit(ReferProgress(self, 503, "not connected", True, refused=True))

    def accept_refer(self, now: float) -> None:
        """Take the peer's REFER: 202 Accepted, then NOTIFY 100 Trying (RFC 3515 2.4.4)."""
        tx, request = self._take_refer()
        self.ctx.send_response(tx, request.response(202), now)
        self._refer_subscription = True
        self.notify_refer(100, "Trying", now, final=False)

    def reject_refer(self, status_code: int, now: float) -> None:
        tx, request = self._take_refer()
        self.ctx.send_response(tx, request.response(status_code), now)

    def notify_refer(self, status_code: int, reason: str, now: float, *, final: bool) -> None:
        """Tell the peer how the call it asked for is going (message/sipfrag)."""
        if not self._refer_subscription or self.dialog is None or self.dialog.state is DialogState.TERMINATED:
            return
        state = "terminated;reason=noresource" if final else "active;expires=60"
        body = f"SIP/2.0 {status_code} {reason}\r\n".encode()
        notify = self.dialog.create_request(
            "NOTIFY", via=self.ctx.new_via(), body=body, content_type="message/sipfrag;version=2.0",
            headers=[("Event", "refer"), ("Subscription-State", state)], contact=self.ctx.contact())
        self._send_tracked(notify, now)
        if final:
            self._refer_subscription = False

    def _take_refer(self) -> tuple[ServerTransaction, Request]:
        if self._refer_request is None:
            raise RuntimeError("there is no REFER from the other side to answer")
        pending, self._refer_request = self._refer_request, None
        return pending

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
                             self._refresh_at, self._expire_at) if t is not None]
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

    # --- outgoing INVITE ------------------------------------------------------------------------------------

    def _start_invite(self, invite: Request, now: float) -> None:
        tx = self.ctx.send_request(invite, now, self)
        if tx is None:
            self._finish_failed(Cause.CONNECTION_ERROR, None, "not connected to the SIP server", originator="local")
            return
        self._invite_tx = tx
        self._forks = InviteDialogs(tx.request, via=self.ctx.new_via, store=self.ctx.dialogs)

    def _on_invite_response(self, response: Response, now: float) -> None:
        code = response.status_code
        if code in (401, 407) and not self._canceling:
            if self._retry_invite_with_credentials(response, now):
                return
        if code >= 200:
            self._invite_tx = None if code >= 300 else self._invite_tx
        self._on_fork_event(self._forks.receive_response(response), now)

    def _retry_invite_with_credentials(self, response: Response, now: float) -> bool:
        request = self._forks.invite
        if self._auth_retries >= MAX_AUTH_RETRIES:
            return False
        try:
            fields = self.ctx.auth.respond(
                method="INVITE", uri=str(request.uri), body=request.body,
                www_authenticate=response.header_all("WWW-Authenticate"),
                proxy_authenticate=response.header_all("Proxy-Authenticate"),
                authorization=request.header_all("Authorization"),
                proxy_authorization=request.header_all("Proxy-Authorization"),
            )
        except AuthenticationError:
            return False
        self._auth_retries += 1
        headers = request.headers.remove("Authorization").remove("Proxy-Authorization").remove("Via")
        headers = headers.set("CSeq", f"{request.cseq.seq + 1} INVITE").prepend("Via", self.ctx.new_via())
        for f in fields:
            headers = headers.add(f.name, f.value)
        self._start_invite(request.replace(headers=headers), now)
        return True

    def _on_fork_event(self, event, now: float) -> None:
        if isinstance(event, ProvisionalReceived):
            code = event.response.status_code
            if code > 100 and self.state in (CallState.CALLING, CallState.RINGING):
                self.state = CallState.RINGING
                sdp = _sdp_of(event.response)
                if sdp is not None:
                    self.remote_sdp = sdp
                self.ctx.emit(CallProgress(self, event.response, sdp))
        elif isinstance(event, DialogConfirmed):
            self.dialog = event.dialog
            ack = self._forks.create_ack()
            self.ctx.send_stateless(ack)
            sdp = _sdp_of(event.response)
            if self._canceling:  # answered while we were cancelling: hang up (9.1)
                self._send_bye(now)
                self._finish_failed(Cause.CANCELED, None, "", originator="local")
                return
            self.state = CallState.ESTABLISHED
            self.remote_identity = NameAddr(self.remote_identity.uri, event.response.to.display_name,
                                            {"tag": event.response.to.tag}) if event.response.to else self.remote_identity
            if sdp is not None:
                self.remote_sdp = sdp
            self._start_session_timer(self._forks.invite, event.response, now, uas=False)
            self.ctx.emit(CallConfirmed(self, sdp if sdp is not None else self.remote_sdp))
        elif isinstance(event, ForkDiscarded):
            self.ctx.send_stateless(event.ack)
            if event.bye is not None:
                self._send_tracked(event.bye, now)
        elif isinstance(event, Retransmitted2xx):
            if event.ack is not None:
                self.ctx.send_stateless(event.ack)
        elif isinstance(event, InviteFailed):
            response = event.response
            if self.state in (CallState.CALLING, CallState.RINGING):
                if response is None:
                    self._finish_failed(Cause.REQUEST_TIMEOUT, 408, "")
                elif self._canceling or response.status_code == 487:
                    self._finish_failed(Cause.CANCELED, response.status_code, response.reason or "",
                                        originator="local" if self._canceling else "remote")
                else:
                    self._finish_failed(cause_for_status(response.status_code), response.status_code,
                                        response.reason or "")

    # --- re-offers -------------------------------------------------------------------------------------------

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
        elif code == 491:
            # RFC 3261 14.1: the owner of the Call-ID waits 2.1-4 s, the other 0-2 s.
            owner = self.direction == "outgoing"
            self._glare_retry_at = now + (random.uniform(2.1, 4.0) if owner else random.uniform(0.0, 2.0))
        else:
            self._reoffer = None
            if code in (408, 481):
                self._end_after_failure(code, now)
            else:
                self.ctx.emit(ReofferFailed(self, code, cause_for_status(code)))

    def _on_remote_offer(self, tx: ServerTransaction, request: Request, now: float) -> None:
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
        self._restart_session_timer(request, None, now)
        sdp = _sdp_of(request)
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

    # --- other in-dialog requests ------------------------------------------------------------------------------

    def _on_info(self, tx: ServerTransaction, request: Request, now: float) -> None:
        content_type = request.content_type.mime if request.content_type else None
        text = request.body.decode("utf-8", "replace")
        if content_type == "application/dtmf-relay":
            signal, duration = _DTMF_SIGNAL.search(text), _DTMF_DURATION.search(text)
            if signal is None:
                self.ctx.send_response(tx, request.response(400, "Missing Signal"), now)
                return
            self.ctx.send_response(tx, request.response(200), now)
            self.ctx.emit(DtmfReceived(self, signal.group(1).upper(), int(duration.group(1)) if duration else 100))
        elif content_type == "application/dtmf" and re.fullmatch(r"\s*[0-9A-Da-d*#]\s*", text):
            self.ctx.send_response(tx, request.response(200), now)
            self.ctx.emit(DtmfReceived(self, text.strip().upper(), 100))
        else:
            self.ctx.send_response(tx, request.response(200), now)
            self.ctx.emit(InfoReceived(self, content_type, request.body))

    def _on_refer(self, tx: ServerTransaction, request: Request, now: float) -> None:
        refer_to = request.header("Refer-To")
        if self.state is not CallState.ESTABLISHED or self._refer_request is not None:
            self.ctx.send_response(tx, request.response(491 if self._refer_request else 481), now)
            return
        if not isinstance(refer_to, NameAddr) or refer_to.uri.scheme not in ("sip", "sips", "tel"):
            self.ctx.send_response(tx, request.response(400, "Bad Refer-To"), now)
            return
        self._refer_request = (tx, request)
        self.ctx.emit(ReferReceived(self, refer_to, request.header("Referred-By"), request))

    def _on_notify(self, tx: ServerTransaction, request: Request, now: float) -> None:
        event = (request.header("Event") or "").split(";")[0].strip().lower()
        if event != "refer":
            self.ctx.send_response(tx, request.response(489), now)
            return
        self.ctx.send_response(tx, request.response(200), now)
        state = (request.header("Subscription-State") or "").split(";")[0].strip().lower()
        m = re.match(rb"\s*SIP/2\.0 ([1-6][0-9][0-9]) ?([^\r\n]*)", request.body or b"")
        if m is None:
            return
        code = int(m.group(1))
        self.ctx.emit(ReferProgress(self, code, m.group(2).decode("utf-8", "replace"),
                                    final=code >= 200 or state == "terminated"))

    def _on_refer_response(self, tx: ClientTransaction, response: Response, now: float) -> None:
        code = response.status_code
        if code < 200:
            return
        self._refer_tx = None
        if code in (401, 407) and self._retry_refer_with_credentials(tx.request, response, now):
            return
        if code >= 300:
            self.ctx.emit(ReferProgress(self, code, response.reason or "", True, refused=True))

    def _retry_refer_with_credentials(self, request: Request, response: Response, now: float) -> bool:
        try:
            fields = self.ctx.auth.respond(
                method="REFER", uri=str(request.uri), www_authenticate=response.header_all("WWW-Authenticate"),
                proxy_authenticate=response.header_all("Proxy-Authenticate"),
                authorization=request.header_all("Authorization"),
                proxy_authorization=request.header_all("Proxy-Authorization"))
        except AuthenticationError:
            return False
        retry = self.dialog.create_request(
            "REFER", via=self.ctx.new_via(), contact=self.ctx.contact(),
            headers=[("Refer-To", request.header("Refer-To")), ("Referred-By", request.header("Referred-By")),
                     *((f.name, f.value) for f in fields)])
        self._refer_tx = self.ctx.send_request(retry, now, self)
        return self._refer_tx is not None

    def replace_by(self, now: float) -> None:
        """Another dialog replaces this call (RFC 3891): hang up with BYE."""
        if self.state is CallState.ESTABLISHED:
            self._send_bye(now)
            self._finish_ended(Cause.TERMINATED, "remote")
        elif self.state in (CallState.CALLING, CallState.RINGING, CallState.INCOMING):
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

    def _send_tracked(self, request: Request, now: float, retries: int = 0) -> None:
        tx = self.ctx.send_request(request, now, self)
        if tx is not None:
            self._requests[tx] = (request, retries)

    def _on_other_response(self, tx: ClientTransaction, response: Response, now: float) -> None:
        if response.status_code < 200:
            return
        request, retries = self._requests.pop(tx)
        code = response.status_code
        if code in (401, 407) and retries < MAX_AUTH_RETRIES:
            self._retry_with_credentials_in_dialog(tx.request, response, now, reoffer=False, retries=retries)
            return
        if request.method == "BYE":
            self._forget_dialog()
        elif code in (408, 481) and self.state is CallState.ESTABLISHED:
            self._end_after_failure(code, now)

    def _retry_with_credentials_in_dialog(self, request: Request, response: Response, now: float, *,
                                          reoffer: bool, retries: int = 0) -> bool:
        try:
            fields = self.ctx.auth.respond(
                method=request.method, uri=str(request.uri), body=request.body,
                www_authenticate=response.header_all("WWW-Authenticate"),
                proxy_authenticate=response.header_all("Proxy-Authenticate"),
                authorization=request.header_all("Authorization"),
                proxy_authorization=request.header_all("Proxy-Authorization"),
            )
        except AuthenticationError:
            if reoffer:
                self._reoffer = None
                self.ctx.emit(ReofferFailed(self, response.status_code, Cause.AUTHENTICATION_ERROR))
            elif request.method == "BYE":
                self._forget_dialog()
            return False
        kwargs = {"body": request.body, "content_type": request.content_type} if request.body else {}
        retry = self.dialog.create_request(
            request.method, via=self.ctx.new_via(), headers=[(f.name, f.value) for f in fields],
            contact=request.contact, **kwargs)
        if reoffer:
            self._reoffer_tx = self.ctx.send_request(retry, now, self)
        else:
            self._send_tracked(retry, now, retries + 1)
        return True

    def _send_bye(self, now: float) -> None:
        if self.dialog is None or self.dialog.state is DialogState.TERMINATED:
            return
        self._send_tracked(self.dialog.create_request("BYE", via=self.ctx.new_via()), now)

    def _end_after_failure(self, status: int, now: float) -> None:
        """RFC 3261 12.2.1.2: 481 or 408 to an in-dialog request ends the call."""
        if self.state is CallState.ESTABLISHED:
            if status == 408:
                self._send_bye(now)
            self._finish_ended(cause_for_status(status), "remote", status)

    # --- session timers (RFC 4028) ------------------------------------------------------------------------------

    def _session_timer_offer(self) -> list[tuple[str, HeaderValue]]:
        """Session-Expires for a re-INVITE/UPDATE we send (we are its UAC)."""
        if self._session_interval is None:
            return []
        return [("Session-Expires", f"{self._session_interval};refresher={'uac' if self._we_refresh else 'uas'}")]

    def _session_timer_answer(self, request: Request) -> list[tuple[str, HeaderValue]]:
        if not self.ctx.session_timers:
            return []
        interval, refresher = _session_expires(request)
        if interval is None:
            return []
        if refresher is None:
            refresher = "uac" if "timer" in _option_tags(request, "Supported") else "uas"
        out: list[tuple[str, HeaderValue]] = [("Session-Expires", f"{interval};refresher={refresher}")]
        if "timer" in _option_tags(request, "Supported"):
            out.append(("Require", "timer"))
        return out

    def _start_session_timer(self, request: Request, response: Response | None, now: float, *, uas: bool) -> None:
        if not self.ctx.session_timers:
            return
        interval, refresher = _session_expires(response) if response is not None else (None, None)
        if interval is None:
            interval, refresher = _session_expires(request)
            if interval is None:
                return
        self._session_interval = interval
        # We refresh when the refresher role named is ours in this transaction.
        we_are = "uas" if uas else "uac"
        self._we_refresh = (refresher or "uac") == we_are
        self._arm_session_timer(now)

    def _restart_session_timer(self, request: Request, response: Response | None, now: float) -> None:
        if self._session_interval is not None:
            self._arm_session_timer(now)

    def _arm_session_timer(self, now: float) -> None:
        interval = self._session_interval
        if self._we_refresh:
            self._refresh_at, self._expire_at = now + interval / 2, None
        else:
            self._refresh_at, self._expire_at = None, now + interval - min(32, interval / 3)

    def _peer_allow(self) -> set[str]:
        message = self._invite if self.direction == "incoming" else None
        allow = set(message.header_all("Allow")) if message is not None else set()
        return allow or {"UPDATE"}

    # --- ending --------------------------------------------------------------------------------------------------

    def _require(self, state: CallState, what: str) -> None:
        if self.state is not state:
            raise RuntimeError(f"cannot {what}: the call is {self.state.value}")

    def _clear_timers(self) -> None:
        self._ok_resend_at = self._ack_deadline = self._no_answer_at = None
        self._glare_retry_at = self._refresh_at = self._expire_at = None

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


def _sdp_of(message: Request | Response) -> str | None:
    content_type = message.content_type
    if not message.body or content_type is None or content_type.mime != SDP:
        return None
    return message.body.decode("utf-8", "replace")


def _holds(sdp: str) -> bool:
    """Whether the peer's offer puts us on hold; an SDP we cannot read does not."""
    try:
        return remote_hold_state(parse_sdp(sdp))
    except SdpParseError:
        return False


def _session_expires(message: Request | Response) -> tuple[int | None, str | None]:
    value = message.header("Session-Expires")
    if not isinstance(value, str):
        return None, None
    m = re.match(r"\s*([0-9]{1,9})\s*(.*)$", value)
    if m is None:
        return None, None
    refresher = re.search(r"refresher\s*=\s*(uac|uas)", m.group(2), re.I)
    return int(m.group(1)), (refresher.group(1).lower() if refresher else None)


def _option_tags(message: Request | Response, name: str) -> set[str]:
    return {t.lower() for t in message.header_all(name) if t}
