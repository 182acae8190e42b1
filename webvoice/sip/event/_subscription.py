"""Subscriptions (RFC 6665), the subscriber's side, sans-IO: one mechanism for every event package.

A :class:`Subscription` sends SUBSCRIBE for one event package (``dialog``,
``presence``, ``message-summary``...) to one resource, and keeps the
subscription alive until it is told to stop:

* the dialog is made by the 2xx to SUBSCRIBE or by a NOTIFY that overtakes
  it (RFC 6665 4.1.2.4); NOTIFYs are checked (Event, Subscription-State),
  answered and reported as :class:`SubscriptionNotified`, body and all, for
  the package's parser (``_dialog_info``, ``_pidf``, ``_mwi``) to read;
* it refreshes before expiry (in-dialog SUBSCRIBE, :func:`refresh_delay`),
  with the expiry the notifier granted (2xx ``Expires``, or the NOTIFY's
  ``Subscription-State: active;expires=``, which wins);
* it ends both ways: :meth:`Subscription.unsubscribe` (SUBSCRIBE with
  ``Expires: 0``, then the final NOTIFY), or the notifier's
  ``Subscription-State: terminated``;
* it retries by itself: 423 with the server's ``Min-Expires`` at once; 481 to
  a refresh, a NOTIFY that never comes, timeouts, a lost connection and
  ``terminated;reason=deactivated|timeout|probation`` with a new SUBSCRIBE
  after a growing wait (``Retry-After``/``retry-after`` when given); after a
  reconnect at once. Refusals that will not change (403, 404, 489,
  ``reason=rejected|noresource|invariant``) end it for good,
  :class:`SubscriptionEnded` saying why and ``will_retry=False``.

The states and their moves are the table :data:`SUBSCRIPTION_TRANSITIONS`, in
:mod:`._subscription_state` with the waits and the events.
How a NOTIFY is read is :mod:`._notify`'s, shared with REFER's implicit
subscription (:mod:`..session._refer`).
Time comes in as ``now``; the one pending deadline leaves as
:meth:`Subscription.get_timer`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..auth._client import AuthorizationField, DigestClient
from ..auth._retry import ChallengeRetry, resend_with
from ..dialog._dialog import Dialog
from ..dialog._state import DialogState
from ..syntax._header_parsers import leading_delta
from ..syntax._header_values import HeaderValue, NameAddr, Via
from ..syntax._message import Request, Response, build_request
from ..syntax._uri import Uri
from ._notify import check_notify, int_param
from ._subscription_state import (
    PASSING_STATUSES,
    RETRY_REASONS,
    RETRY_FIRST,
    RETRY_MAX,
    SUBSCRIPTION_TRANSITIONS,
    SubscriptionEnded,
    SubscriptionNotified,
    SubState,
    refresh_delay,
)

if TYPE_CHECKING:
    from ..transaction._transaction import (
        ClientTransaction,
        ServerTransaction,
        TransactionUser,
    )

__all__ = ["Subscription", "SubscriptionContext"]

class SubscriptionContext(Protocol):
    """What a subscription needs from the UA core."""

    @property
    def auth(self) -> DigestClient: ...
    @property
    def user_agent(self) -> str: ...
    @property
    def connected(self) -> bool: ...

    def new_via(self) -> Via: ...
    def new_tag(self) -> str: ...
    def new_call_id(self) -> str: ...
    def contact(self) -> NameAddr: ...
    def send_request(self, request: Request, now: float, owner: TransactionUser) -> ClientTransaction | None: ...
    def send_response(self, transaction: ServerTransaction, response: Response, now: float) -> None: ...
    def emit(self, event: object) -> None: ...


class Subscription:
    """One subscription to ``event`` at ``target``, kept alive until :meth:`unsubscribe`."""

    def __init__(self, ctx: SubscriptionContext, *, from_: NameAddr, target: Uri, event: str,
                 accept: tuple[str, ...], expires: int, t1: float = 0.5) -> None:
        self.ctx = ctx
        self.target = target
        self.event = event
        self.accept = accept
        self.expires = expires
        self.from_ = from_
        self.state = SubState.WAITING
        self.dialog: Dialog | None = None
        self.call_id = ""
        self.local_tag = ""
        self.granted: int | None = None
        self._t1 = t1
        self._request: Request | None = None  # the SUBSCRIBE in flight
        self._tx: ClientTransaction | None = None
        self._timer: float | None = None
        self._challenges = ChallengeRetry(ctx.auth)
        self._failures = 0
        self._retry_wait = RETRY_FIRST
        self._unsubscribe_sent = False

    def __repr__(self) -> str:
        return f"<Subscription {self.event} {self.target} {self.state.value}>"

    # --- the application's requests -----------------------------------------------------

    def start(self, now: float) -> None:
        """Send the first SUBSCRIBE (or wait for the connection)."""
        self._new_subscription(now)

    def unsubscribe(self, now: float) -> None:
        """End the subscription (RFC 6665 4.1.2.3: SUBSCRIBE with Expires: 0)."""
        if self.state is SubState.TERMINATED or self.state is SubState.UNSUBSCRIBING:
            return
        if self.state is SubState.WAITING or not self.ctx.connected or (self.dialog is None and self._tx is None):
            self._end("unsubscribed", None, will_retry=False)
            return
        self._move(SubState.UNSUBSCRIBING)
        self._unsubscribe_sent = False
        self._send_unsubscribe(now)  # or once the SUBSCRIBE in flight made the dialog
        # The final NOTIFY should follow; without it, stop waiting after Timer F.
        self._timer = now + 64 * self._t1

    # --- from the UA core -----------------------------------------------------------------

    @property
    def is_terminated(self) -> bool:
        return self.state is SubState.TERMINATED

    def matches(self, request: Request) -> bool:
        """Whether a NOTIFY belongs to this subscription (Call-ID and our tag, RFC 6665 4.4.1)."""
        return (bool(self.call_id) and request.call_id == self.call_id and request.to is not None
                and request.to.tag == self.local_tag)

    def get_timer(self) -> float | None:
        return self._timer

    def handle_timer(self, now: float) -> None:
        if self._timer is None or now < self._timer:
            return
        self._timer = None
        state = self.state
        if state is SubState.WAITING:
            self._new_subscription(now)
        elif state in (SubState.ACTIVE, SubState.PENDING):
            if self._tx is None:
                self._send_in_dialog(self.expires, now)  # the refresh
        elif state is SubState.SUBSCRIBING:
            # A 2xx came but no NOTIFY within Timer F (RFC 6665 4.1.2.4): try again.
            self._retry_later("no NOTIFY after the SUBSCRIBE was accepted", None, now)
        elif state is SubState.UNSUBSCRIBING:
            self._end("unsubscribed", None, will_retry=False)

    def connection_lost(self, now: float) -> None:
        """The flow is gone: NOTIFYs cannot reach us; wait for the new one."""
        if self.state in (SubState.TERMINATED,):
            return
        if self.state is SubState.UNSUBSCRIBING:
            self._end("unsubscribed", None, will_retry=False)
            return
        self._forget_dialog()
        if self.state is not SubState.WAITING:
            self._move(SubState.WAITING)
            self.ctx.emit(SubscriptionEnded(self, "connection lost", None, True))
        self._timer = None  # resumed by connection_restored

    def connection_restored(self, now: float) -> None:
        """A new flow: subscribe again at once (the old dialog routes to the old flow)."""
        if self.state is SubState.WAITING:
            self._retry_wait = RETRY_FIRST
            self._new_subscription(now)

    def receive_response(self, transaction: ClientTransaction, response: Response, now: float) -> None:
        if transaction is not self._tx or response.status_code < 200:
            return
        request, self._tx = self._request, None
        assert request is not None, "a transaction of ours carries our request"
        code = response.status_code
        if code in (401, 407) and self._answer_challenge(request, response, now):
            return
        self._challenges.reset()
        unsubscribing = self.state is SubState.UNSUBSCRIBING
        if 200 <= code < 300:
            self._failures, self._retry_wait = 0, RETRY_FIRST
            if self.dialog is None:
                self.dialog = Dialog.uac(request, response)
            else:
                self.dialog.receive_response(request, response)
            if unsubscribing:
                self._send_unsubscribe(now)  # the final NOTIFY ends it (or the timer)
                return
            expires = response.expires
            if expires is not None:
                self._granted(min(expires, self.expires) if expires else self.expires, now)
            elif self.state is not SubState.SUBSCRIBING:
                self._granted(self.granted or self.expires, now)
            if self.state is SubState.SUBSCRIBING and self._timer is None:
                self._timer = now + 64 * self._t1  # the NOTIFY must follow
            return
        if unsubscribing:
            self._end("unsubscribed", code, will_retry=False)
            return
        if code == 423:
            minimum = response.header("Min-Expires")
            if isinstance(minimum, int) and minimum > self.expires and minimum < 2**31:
                self.expires = minimum
                if self.dialog is not None:
                    self._send_in_dialog(self.expires, now)
                else:  # the same request again, next CSeq (RFC 3261 8.1.3.5)
                    self._send(self._build_initial(), now)
                return
            self._end(f"{code} {response.reason}", code, will_retry=False)
        elif code == 481 or code in PASSING_STATUSES or (code >= 500 and response.header("Retry-After")):
            after = response.header("Retry-After")
            wait = leading_delta(after) if isinstance(after, str) else None
            self._retry_later(f"{code} {response.reason}", code, now, wait=0.0 if code == 481 else wait)
        else:
            self._end(f"{code} {response.reason}", code, will_retry=False)

    def transaction_failed(self, transaction: ClientTransaction, now: float, *, timeout: bool) -> None:
        if transaction is not self._tx:
            return
        self._tx = None
        if self.state is SubState.UNSUBSCRIBING:
            self._end("unsubscribed", None, will_retry=False)
        elif timeout:
            self._retry_later("no answer to SUBSCRIBE", 408, now)
        else:
            self.connection_lost(now)

    def receive_notify(self, transaction: ServerTransaction, request: Request, now: float) -> None:
        """A NOTIFY of this subscription: answer it, follow its state, report it."""
        parsed = check_notify(request, self.event)
        if isinstance(parsed, Response):
            self.ctx.send_response(transaction, parsed, now)
            return
        if self.state is SubState.TERMINATED or (self.state is SubState.WAITING and self.dialog is None):
            self.ctx.send_response(transaction, request.response(481), now)
            return
        if self.dialog is None:
            self.dialog = self._dialog_from_notify(request)
        else:
            rejected = self.dialog.receive_request(request)
            if rejected is not None:
                if rejected.response is not None:
                    self.ctx.send_response(transaction, rejected.response, now)
                return
        self.ctx.send_response(transaction, request.response(200, headers=[("Contact", self.ctx.contact())]), now)
        state, params = parsed
        content_type = request.content_type.mime if request.content_type is not None else None
        self.ctx.emit(SubscriptionNotified(self, state, request.body, content_type, request))
        if state == "terminated":
            self._forget_dialog()
            if self.state is SubState.UNSUBSCRIBING:
                self._end("unsubscribed", None, will_retry=False)
                return
            reason = params.get("reason", "")
            if reason in RETRY_REASONS:
                retry_after = int_param(params, "retry-after")
                self._retry_later(f"terminated by the notifier ({reason or 'no reason'})", None, now,
                                  wait=retry_after if retry_after is not None else
                                  (0.0 if reason in ("deactivated", "timeout") else None))
            else:
                self._end(f"terminated by the notifier ({reason})", None, will_retry=False)
            return
        if self.state is SubState.UNSUBSCRIBING:
            self._send_unsubscribe(now)
            return
        first = self.state is SubState.SUBSCRIBING
        self._move(SubState.ACTIVE if state == "active" else SubState.PENDING)
        expires = int_param(params, "expires")
        if expires is not None:
            self._granted(min(expires, self.expires), now)
        elif first:
            self._granted(self.granted or self.expires, now)

    # --- inside ---------------------------------------------------------------------------------

    def _move(self, new: SubState) -> None:
        if new is not self.state and new not in SUBSCRIPTION_TRANSITIONS[self.state] and new is not SubState.TERMINATED:
            raise AssertionError(f"subscription move {self.state.value} -> {new.value} is not in the table")
        self.state = new

    def _granted(self, expires: int, now: float) -> None:
        self.granted = expires
        if self.state in (SubState.ACTIVE, SubState.PENDING):
            self._timer = now + refresh_delay(expires) if expires > 0 else None

    def _new_subscription(self, now: float) -> None:
        """A fresh SUBSCRIBE out of any dialog (a new Call-ID and tag)."""
        self._forget_dialog()
        if not self.ctx.connected:
            self._move(SubState.WAITING)
            self._timer = None  # connection_restored resumes
            return
        self._move(SubState.SUBSCRIBING)
        self._timer = None
        self.call_id, self.local_tag = self.ctx.new_call_id(), self.ctx.new_tag()
        self._send(self._build_initial(), now)

    def _build_initial(self) -> Request:
        last = self._request
        cseq = last.cseq.seq + 1 if last is not None and last.cseq is not None and last.call_id == self.call_id else 1
        return build_request(
            "SUBSCRIBE", self.target, from_=self.from_.with_tag(self.local_tag), to=NameAddr(self.target),
            call_id=self.call_id, cseq=cseq, via=self.ctx.new_via(), contact=self.ctx.contact(),
            headers=self._headers(self.expires))

    def _headers(self, expires: int, auth: tuple[AuthorizationField, ...] = ()) -> list[tuple[str, HeaderValue]]:
        return [("Event", self.event), ("Expires", expires),
                *(("Accept", a) for a in self.accept),
                ("User-Agent", self.ctx.user_agent), *((f.name, f.value) for f in auth)]

    def _send_unsubscribe(self, now: float) -> None:
        if not self._unsubscribe_sent and self._tx is None and self.dialog is not None:
            self._unsubscribe_sent = True
            self._send_in_dialog(0, now)

    def _send_in_dialog(self, expires: int, now: float, auth: tuple[AuthorizationField, ...] = ()) -> None:
        if self.dialog is None or self.dialog.state is DialogState.TERMINATED:
            return
        request = self.dialog.create_request("SUBSCRIBE", via=self.ctx.new_via(), headers=self._headers(expires, auth))
        self._send(request, now)

    def _send(self, request: Request, now: float) -> None:
        self._request = request
        self._tx = self.ctx.send_request(request, now, self)
        if self._tx is None:
            self.connection_lost(now)

    def _answer_challenge(self, request: Request, response: Response, now: float) -> bool:
        fields = self._challenges.answer(request, response)
        if fields is None:
            return False
        if self.dialog is not None:  # the dialog numbers it
            self._send_in_dialog(request.expires if request.expires is not None else self.expires, now, fields)
        else:
            self._send(resend_with(request, fields, self.ctx.new_via()), now)
        return True

    def _dialog_from_notify(self, notify: Request) -> Dialog:
        """The dialog a NOTIFY makes when it overtakes the 2xx (RFC 6665 4.1.2.4):
        the route set from its Record-Route, as a UAS would take it."""
        subscribe = self._request
        contact = notify.contact
        return Dialog(
            call_id=self.call_id, local_uri=self.from_, local_tag=self.local_tag,
            remote_uri=subscribe.to if subscribe is not None and subscribe.to is not None else NameAddr(self.target),
            remote_tag=notify.from_.tag if notify.from_ is not None else None,
            remote_target=contact.uri if contact is not None else self.target,
            route_set=[rr.uri for rr in notify.record_route],
            local_target=self.ctx.contact(),
            local_cseq=subscribe.cseq.seq if subscribe is not None and subscribe.cseq is not None else 1,
            remote_cseq=notify.cseq.seq if notify.cseq is not None else None,
            is_uac=True, state=DialogState.CONFIRMED,
        )

    def _forget_dialog(self) -> None:
        if self.dialog is not None:
            self.dialog.terminate()
        self.dialog = None
        self._tx = None

    def _retry_later(self, reason: str, status: int | None, now: float, *, wait: float | None = None) -> None:
        self._forget_dialog()
        self._move(SubState.WAITING)
        self._failures += 1
        if wait is None or (wait == 0 and self._failures > 1):  # no tight loop of immediate retries
            wait = self._retry_wait
            self._retry_wait = min(RETRY_MAX, self._retry_wait * 2)
        self._timer = now + wait if self.ctx.connected else None
        self.ctx.emit(SubscriptionEnded(self, reason, status, True))

    def _end(self, reason: str, status: int | None, *, will_retry: bool) -> None:
        self._forget_dialog()
        self._timer = None
        self.state = SubState.TERMINATED
        self.ctx.emit(SubscriptionEnded(self, reason, status, will_retry))
