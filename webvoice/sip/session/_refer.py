"""Call transfer for :class:`~._call.CallSession`: REFER and its NOTIFYs
(RFC 3515), and Replaces (RFC 3891).

A mixin for both sides of a transfer: we send a REFER and report the peer's
NOTIFYs (message/sipfrag, 2.4.5) as :class:`~._events.ReferProgress`; or
we take the peer's REFER, answer 202 and keep it told with NOTIFYs through the
implicit subscription (2.4.4) until a final one. Replaces names this call's
dialog so that another INVITE can take its place (3 and 6.1).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..auth._client import AuthenticationError
from ..dialog._state import DialogState
from ..syntax._causes import Cause
from ..syntax._headers import NameAddr
from ._common import CallState
from ._events import ReferProgress, ReferReceived

if TYPE_CHECKING:
    from ..syntax._message import Request, Response
    from ..transaction._transaction import ClientTransaction, ServerTransaction

__all__ = ["ReferMethods", "parse_sipfrag_status"]

# The status line a message/sipfrag NOTIFY body starts with (RFC 3420, RFC 3515
# 2.4.5). Anchored at the start and possessive: one linear pass at most.
_SIPFRAG_STATUS = re.compile(rb"[ \t\r\n]*+SIP/2\.0 ([1-6][0-9][0-9])(?: ([^\r\n]*+))?+(?:\r?\n|$)")


def parse_sipfrag_status(body: bytes) -> tuple[int, str] | None:
    """(status code, reason phrase) of a sipfrag body's status line, else None."""
    m = _SIPFRAG_STATUS.match(body)
    if m is None:
        return None
    return int(m.group(1)), (m.group(2) or b"").decode("utf-8", "replace")[:200]


class ReferMethods:
    """REFER/NOTIFY both ways and Replaces (mixed into CallSession)."""

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
        status = parse_sipfrag_status(request.body or b"")
        if status is None:
            return
        code, reason = status
        self.ctx.emit(ReferProgress(self, code, reason, final=code >= 200 or state == "terminated"))

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
