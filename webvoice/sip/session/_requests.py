"""The in-dialog requests of a call that carry no offer: BYE, INFO, NOTIFY.

A part of :class:`~._call.CallSession`. It owns the client transactions of
these requests until their final response (so that a BYE in flight keeps the
session known to the UA until it is answered), answers a 401/407 to them
with credentials (RFC 3261 22.2, counted by :class:`~..auth._retry.ChallengeRetry`), and applies RFC 3261 12.2.1.2 to them: a 481 or 408 ends the call.
Its digest helpers are also what the offer/answer part uses for a
challenged re-INVITE or UPDATE.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..auth._client import AuthorizationField
from ..auth._retry import ChallengeRetry
from ..dialog._state import DialogState
from ..syntax._message import Request, Response

if TYPE_CHECKING:
    from ..transaction._transaction import ClientTransaction
    from ._call import CallSession

__all__ = ["DialogRequests"]


class DialogRequests:
    """BYE and the other tracked in-dialog requests of one call."""

    def __init__(self, session: CallSession) -> None:
        self._session = session
        #: client transaction -> (its request, the digest answers of it and its retries)
        self._sent: dict[ClientTransaction, tuple[Request, ChallengeRetry]] = {}

    @property
    def idle(self) -> bool:
        """No request of ours waits for its final response."""
        return not self._sent

    @property
    def bye_pending(self) -> bool:
        return any(request.method == "BYE" for request, _ in self._sent.values())

    def owns(self, transaction: ClientTransaction) -> bool:
        return transaction in self._sent

    def send(self, request: Request, now: float, challenges: ChallengeRetry | None = None) -> None:
        """Send ``request`` (a retry: with the ``challenges`` of the first) and follow
        it to its final response."""
        ctx = self._session.ctx
        tx = ctx.send_request(request, now, self._session)
        if tx is not None:
            self._sent[tx] = (request, challenges if challenges is not None else ChallengeRetry(ctx.auth))

    def send_bye(self, now: float) -> None:
        """BYE, unless the dialog is already gone."""
        dialog = self._session.dialog
        if dialog is None or dialog.state is DialogState.TERMINATED:
            return
        self.send(dialog.create_request("BYE", via=self._session.ctx.new_via()), now)

    def receive_response(self, transaction: ClientTransaction, response: Response, now: float) -> None:
        if response.status_code < 200:
            return
        request, challenges = self._sent.pop(transaction)
        code = response.status_code
        if code in (401, 407):
            fields = challenges.answer(transaction.request, response)
            if fields is not None:
                self.send(self.with_credentials(transaction.request, fields), now, challenges)
            elif self._ends_the_call(request):
                self._session.forget_dialog()
            return
        if request.method == "BYE":
            if self._ends_the_call(request):
                self._session.forget_dialog()
        elif code in (408, 481):
            self._session.end_after_failure(code, now)

    def transaction_failed(self, transaction: ClientTransaction) -> None:
        request, _ = self._sent.pop(transaction)
        if self._ends_the_call(request):
            self._session.forget_dialog()

    def _ends_the_call(self, request: Request) -> bool:
        """Whether ``request`` is a BYE in the call's own dialog: not one to a fork
        that answered second (RFC 3261 13.2.2.4), whose answer or timeout leaves
        the call's dialog as it is."""
        dialog = self._session.dialog
        return (request.method == "BYE" and dialog is not None and request.to is not None
                and request.to.tag == dialog.remote_tag)

    # --- a challenged request again in the dialog (also for the offer/answer part) ------------

    def with_credentials(self, request: Request, fields: tuple[AuthorizationField, ...]) -> Request:
        """``request`` again in the dialog (next CSeq), carrying ``fields``."""
        dialog = self._session.dialog
        assert dialog is not None, "an in-dialog request has a dialog"
        headers = [(f.name, f.value) for f in fields]
        via = self._session.ctx.new_via()
        if request.body:
            return dialog.create_request(request.method, via=via, headers=headers, contact=request.contact,
                                         body=request.body, content_type=request.content_type)
        return dialog.create_request(request.method, via=via, headers=headers, contact=request.contact)
