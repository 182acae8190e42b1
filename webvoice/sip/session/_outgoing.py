"""Placing a call for :class:`~._call.CallSession`: the INVITE client side
(RFC 3261 13.2) until a dialog is confirmed or the call fails.

A mixin for what follows our INVITE: digest answers to 401/407 (22.2, a new
INVITE with the next CSeq), provisional responses and early media, forking
(the events of :mod:`..dialog._forking`: the first 2xx wins, later forks get ACK and
BYE, 13.2.2.4), the ACK, a 2xx that crosses our CANCEL (9.1), and the cause
of a failure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..auth._client import AuthenticationError
from ..dialog._forking import (
    DialogConfirmed,
    ForkDiscarded,
    InviteDialogs,
    InviteFailed,
    ProvisionalReceived,
    Retransmitted2xx,
)
from ..syntax._causes import Cause, cause_for_status
from ..syntax._headers import NameAddr
from ._common import MAX_AUTH_RETRIES, CallState, _sdp_of
from ._events import CallConfirmed, CallProgress
from ._interval import with_session_interval

if TYPE_CHECKING:
    from ..syntax._message import Request, Response

__all__ = ["OutgoingInviteMethods"]


class OutgoingInviteMethods:
    """The INVITE client transaction's outcome, forks included (mixed into CallSession)."""

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
        if code == 422 and not self._canceling and self._retry_invite_with_interval(response, now):
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

    def _retry_invite_with_interval(self, response: Response, now: float) -> bool:
        """RFC 4028 7.3: a 422 to our INVITE names the Min-SE it needs; send the
        INVITE again (next CSeq) asking for that interval, with that Min-SE."""
        request = self._forks.invite
        interval = self._interval_after_422(request, response)
        if interval is None:
            return False
        headers = request.headers
        for name in ("Authorization", "Proxy-Authorization", "Via", "Min-SE"):
            headers = headers.remove(name)
        headers = headers.set("Session-Expires", with_session_interval(request.header("Session-Expires"), interval))
        headers = headers.set("CSeq", f"{request.cseq.seq + 1} INVITE").prepend("Via", self.ctx.new_via())
        headers = headers.add("Min-SE", str(interval))
        # The credentials of the 422'd INVITE, signed again for this one (the same scopes).
        for f in self.ctx.auth.preauthorize(method="INVITE", uri=str(request.uri), body=request.body):
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
            to = event.response.to
            self.remote_identity = NameAddr(self.remote_identity.uri, to.without_tag().display_name,
                                            {"tag": to.tag}) if to else self.remote_identity
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
