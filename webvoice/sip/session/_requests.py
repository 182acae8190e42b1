"""The in-dialog requests of :class:`~._call.CallSession` that carry no offer.

A mixin for what the other parts of a call share once a dialog exists: BYE,
and the INFO and NOTIFY requests tracked until their final response
(``_requests``); digest answers to a 401/407 in the dialog (RFC 3261 22.2,
also used for re-offers); and the rule of RFC 3261 12.2.1.2 that a 481 or 408
to an in-dialog request ends the call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..auth._client import AuthenticationError
from ..dialog._state import DialogState
from ..syntax._causes import Cause, cause_for_status
from ._common import MAX_AUTH_RETRIES, CallState
from ._events import ReofferFailed

if TYPE_CHECKING:
    from ..syntax._message import Request, Response
    from ..transaction._transaction import ClientTransaction

__all__ = ["DialogRequestMethods"]


class DialogRequestMethods:
    """Tracked in-dialog requests, BYE, in-dialog digest retries (mixed into CallSession)."""

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
