"""Call transfer: REFER and its implicit subscription (RFC 3515), and Replaces (RFC 3891).

Two parts of :class:`~._call.CallSession`, as JsSIP has them:

* :class:`ReferSubscriber`: we send a REFER and follow the peer's NOTIFYs
  (message/sipfrag, 2.4.5), reported as :class:`~._events.ReferProgress`;
* :class:`ReferNotifier`: we take the peer's REFER, answer 202 and keep it
  told with NOTIFYs through the implicit subscription (2.4.4) until a final one.

Both sides follow the RFC 6665 rules of the core's one subscription
mechanism (:mod:`..event._notify`, which :mod:`..event._subscription` uses
too): a NOTIFY is read by :func:`~..event._notify.check_notify` (Event,
Subscription-State: 489 or 400 otherwise), the notifier writes its state with
:func:`~..event._notify.subscription_state`, and the subscriber keeps
the implicit subscription active from the REFER's 2xx until a final NOTIFY,
a ``terminated`` state or the ``expires`` the notifier granted.

The :class:`~..event._subscription.Subscription` object itself does not fit,
for reasons of RFC 3515, not of code: that subscription is made by a
SUBSCRIBE in a dialog of its own, is refreshed before expiry and retried
after failures; REFER's is made by the REFER, lives in the INVITE dialog
(so it never makes or routes a dialog, and the call's end ends it), is never
refreshed (2.4.6 lets it lapse) and never retried (a transfer the peer
refused is the application's to ask again).

Replaces names this call's dialog so that another INVITE can take its place
(RFC 3891 3 and 6.1); the session keeps those helpers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..auth._retry import ChallengeRetry
from ..dialog._state import DialogState
from ..event._notify import check_notify, int_param, subscription_state
from ..syntax._header_values import HeaderValue, NameAddr
from ..syntax._message import Request, Response
from ._events import ReferProgress, ReferReceived
from ._state import CallState
from ..util._regex import compile_regex

if TYPE_CHECKING:
    from ..transaction._transaction import ClientTransaction, ServerTransaction
    from ._call import CallSession

__all__ = ["NOTIFY_EXPIRES", "ReferNotifier", "ReferSubscriber", "parse_sipfrag_status"]

# The status line a message/sipfrag NOTIFY body starts with (RFC 3420, RFC 3515
# 2.4.5). Anchored at the start and possessive: one linear pass at most.
_SIPFRAG_STATUS = compile_regex(rb"[ \t\r\n]*+SIP/2\.0 ([1-6][0-9][0-9])(?: ([^\r\n]*+))?+(?:\r?\n|$)")
#: The expiry our NOTIFYs grant the peer's implicit subscription (seconds).
NOTIFY_EXPIRES = 60


def parse_sipfrag_status(body: bytes) -> tuple[int, str] | None:
    """(status code, reason phrase) of a sipfrag body's status line, else None."""
    m = _SIPFRAG_STATUS.match(body)
    if m is None:
        return None
    return int(m.group(1)), (m.group(2) or b"").decode("utf-8", "replace")[:200]


class ReferSubscriber:
    """Our REFER and the implicit subscription it makes to the call it asks for."""

    def __init__(self, session: CallSession) -> None:
        self._session = session
        self._ctx = session.ctx
        self._tx: ClientTransaction | None = None
        #: Whether the implicit subscription is running (REFER accepted, no final NOTIFY yet).
        self.active = False
        self._expire_at: float | None = None
        self._challenges = ChallengeRetry(session.ctx.auth)  # of the REFER in flight

    @property
    def in_flight(self) -> bool:
        """Our REFER waits for its final response."""
        return self._tx is not None

    def owns(self, transaction: ClientTransaction) -> bool:
        return transaction is self._tx

    def refer(self, refer_to: NameAddr, now: float) -> None:
        """Ask the peer to call ``refer_to`` (RFC 3515); progress comes as ReferProgress."""
        session = self._session
        assert session.dialog is not None and session.local_identity is not None
        request = session.dialog.create_request(
            "REFER", via=self._ctx.new_via(), contact=self._ctx.contact(),
            headers=[("Refer-To", refer_to), ("Referred-By", NameAddr(session.local_identity.uri))])
        self._challenges.reset()
        self._send(request, now)

    def _send(self, request: Request, now: float) -> None:
        self._tx = self._ctx.send_request(request, now, self._session)
        if self._tx is None:
            self._ctx.emit(ReferProgress(self._session, 503, "not connected", True, refused=True))

    def receive_response(self, transaction: ClientTransaction, response: Response, now: float) -> None:
        code = response.status_code
        if code < 200:
            return
        self._tx = None
        if code in (401, 407) and self._retry_with_credentials(transaction.request, response, now):
            return
        if code >= 300:
            self._ctx.emit(ReferProgress(self._session, code, response.reason or "", True, refused=True))
        else:
            self.active = True  # RFC 3515 2.4.4: the 2xx starts the implicit subscription

    def transaction_failed(self, *, timeout: bool) -> None:
        self._tx = None
        self._ctx.emit(ReferProgress(self._session, 408 if timeout else 503, "no answer to REFER", True, refused=True))

    def _retry_with_credentials(self, request: Request, response: Response, now: float) -> bool:
        session = self._session
        fields = self._challenges.answer(request, response)
        if fields is None or session.dialog is None:
            return False
        headers: list[tuple[str, HeaderValue]] = [("Refer-To", _header(request, "Refer-To")),
                                                  ("Referred-By", _header(request, "Referred-By"))]
        retry = session.dialog.create_request(
            "REFER", via=self._ctx.new_via(), contact=self._ctx.contact(),
            headers=[*headers, *((f.name, f.value) for f in fields)])
        self._tx = self._ctx.send_request(retry, now, session)
        return self._tx is not None

    def receive_notify(self, transaction: ServerTransaction, request: Request, now: float) -> None:
        """A NOTIFY of the subscription (Event: refer): 200, then the sipfrag's status
        as ReferProgress; final with a final status or a ``terminated`` state."""
        parsed = check_notify(request, "refer")
        if isinstance(parsed, Response):
            self._ctx.send_response(transaction, parsed, now)
            return
        self._ctx.send_response(transaction, request.response(200), now)
        state, params = parsed
        final = state == "terminated"
        expires = int_param(params, "expires")
        status = parse_sipfrag_status(request.body or b"")
        if status is not None:
            final = final or status[0] >= 200
        if final:
            self.active, self._expire_at = False, None
        else:
            self.active = True
            if expires is not None:
                self._expire_at = now + expires
        if status is not None:
            code, reason = status
            self._ctx.emit(ReferProgress(self._session, code, reason, final=final))

    def get_timer(self) -> float | None:
        return self._expire_at

    def handle_timer(self, now: float) -> None:
        """The notifier let the subscription lapse (RFC 6665: a subscription that is
        not refreshed ends at its expiry; RFC 3515 2.4.6 leaves REFER's so): we
        stop counting it as running. Nothing is reported: the application
        heard the last progress there was."""
        if self._expire_at is not None and now >= self._expire_at:
            self.active, self._expire_at = False, None

    def clear_timers(self) -> None:
        self._expire_at = None


class ReferNotifier:
    """The peer's REFER: our answer to it, and our NOTIFYs of how the call it asked for goes."""

    def __init__(self, session: CallSession) -> None:
        self._session = session
        self._ctx = session.ctx
        self._pending: tuple[ServerTransaction, Request] | None = None
        #: Whether we owe the peer NOTIFYs (its REFER accepted, no final NOTIFY sent yet).
        self.active = False

    def receive_refer(self, transaction: ServerTransaction, request: Request, now: float) -> None:
        session = self._session
        refer_to = request.header("Refer-To")
        if session.state is not CallState.ESTABLISHED or self._pending is not None:
            self._ctx.send_response(transaction, request.response(491 if self._pending else 481), now)
            return
        if not isinstance(refer_to, NameAddr) or refer_to.uri.scheme not in ("sip", "sips", "tel"):
            self._ctx.send_response(transaction, request.response(400, "Bad Refer-To"), now)
            return
        self._pending = (transaction, request)
        self._ctx.emit(ReferReceived(session, refer_to, request.header("Referred-By"), request))

    def accept(self, now: float) -> None:
        """Take the peer's REFER: 202 Accepted, then NOTIFY 100 Trying (RFC 3515 2.4.4)."""
        tx, request = self._take()
        self._ctx.send_response(tx, request.response(202), now)
        self.active = True
        self.notify(100, "Trying", now, final=False)

    def reject(self, status_code: int, now: float) -> None:
        tx, request = self._take()
        self._ctx.send_response(tx, request.response(status_code), now)

    def notify(self, status_code: int, reason: str, now: float, *, final: bool) -> None:
        """Tell the peer how the call it asked for is going (message/sipfrag)."""
        dialog = self._session.dialog
        if not self.active or dialog is None or dialog.state is DialogState.TERMINATED:
            return
        state = subscription_state("terminated", reason="noresource") if final \
            else subscription_state("active", expires=NOTIFY_EXPIRES)
        body = f"SIP/2.0 {status_code} {reason}\r\n".encode()
        notify = dialog.create_request(
            "NOTIFY", via=self._ctx.new_via(), body=body, content_type="message/sipfrag;version=2.0",
            headers=[("Event", "refer"), ("Subscription-State", state)], contact=self._ctx.contact())
        self._session.requests.send(notify, now)
        if final:
            self.active = False

    def _take(self) -> tuple[ServerTransaction, Request]:
        if self._pending is None:
            raise RuntimeError("there is no REFER from the other side to answer")
        pending, self._pending = self._pending, None
        return pending


def _header(request: Request, name: str) -> HeaderValue:
    value = request.header(name)
    assert value is not None, f"our REFER carries {name}"
    return value
