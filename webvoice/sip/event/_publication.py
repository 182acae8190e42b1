"""Publishing our own event state (PUBLISH, RFC 3903), sans-IO: used for presence.

A :class:`Publication` holds one piece of state at the server (an *event
publication*, named by the ``SIP-ETag`` the server gives): the first
PUBLISH carries the body; refreshes before expiry carry only
``SIP-If-Match`` (RFC 3903 4.3); a new body replaces the old one under the
same tag (4.4); ``Expires: 0`` removes it (4.5). A 412 (the server forgot
the tag, e.g. after a restart) starts over with the body; a 423 retries
with ``Min-Expires``; 401/407 are answered. One PUBLISH is in flight at a
time: a change asked for meanwhile is sent after the answer, the latest
one only. Outcomes come as :class:`PublicationDone` / :class:`PublicationFailed`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..auth._retry import ChallengeRetry
from ..syntax._header_values import HeaderValue, NameAddr
from ..syntax._message import Request, Response, build_request
from ..util._record import record
from ._subscription_state import refresh_delay

if TYPE_CHECKING:
    from ..transaction._transaction import ClientTransaction
    from ._subscription import SubscriptionContext

__all__ = ["Publication", "PublicationDone", "PublicationFailed"]

@record
class PublicationDone:
    """The server took our PUBLISH (``removed``: it was the removal)."""

    publication: "Publication"
    status_code: int
    removed: bool


@record
class PublicationFailed:
    publication: "Publication"
    status_code: int | None
    reason: str | None


class Publication:
    """Our state for one event package at our own address of record."""

    def __init__(self, ctx: SubscriptionContext, *, aor: NameAddr, event: str, content_type: str,
                 expires: int = 600) -> None:
        self.ctx = ctx
        self.aor = aor
        self.event = event
        self.content_type = content_type
        self.expires = expires
        self.etag: str | None = None
        self.body: bytes | None = None  # what the server should hold (None: nothing)
        self._tx: ClientTransaction | None = None
        self._request: Request | None = None
        self._wanted: tuple[str, bytes | None] | None = None  # ("publish", body) | ("remove", None)
        self._timer: float | None = None
        self._challenges = ChallengeRetry(ctx.auth)

    def __repr__(self) -> str:
        return f"<Publication {self.event} etag={self.etag}>"

    @property
    def idle(self) -> bool:
        return self._tx is None and self._wanted is None

    # --- the application's requests -------------------------------------------------------

    def publish(self, body: bytes, now: float) -> None:
        self._wanted = ("publish", body)
        self._next(now)

    def remove(self, now: float) -> None:
        self._wanted = ("remove", None)
        self._next(now)

    # --- from the UA core ------------------------------------------------------------------

    def get_timer(self) -> float | None:
        return self._timer

    def handle_timer(self, now: float) -> None:
        if self._timer is not None and now >= self._timer:
            self._timer = None
            if self.etag is not None and self._tx is None and self.body is not None:
                self._send(self.expires, None, now)  # the refresh: tag only, no body

    def connection_restored(self, now: float) -> None:
        """Publish our state again at once: a refresh may have been missed meanwhile."""
        if self.body is not None and self._tx is None and self._wanted is None:
            self.etag = None
            self._wanted = ("publish", self.body)
            self._next(now)

    def receive_response(self, transaction: ClientTransaction, response: Response, now: float) -> None:
        if transaction is not self._tx or response.status_code < 200:
            return
        request, self._tx = self._request, None
        assert request is not None, "a transaction of ours carries our request"
        code = response.status_code
        removing = request.expires == 0
        if code in (401, 407) and (retry := self._challenges.retry(request, response, self.ctx.new_via)) is not None:
            self._request = retry
            self._tx = self.ctx.send_request(retry, now, self)
            return
        self._challenges.reset()
        if 200 <= code < 300:
            if removing:
                self.etag, self.body, self._timer = None, None, None
            else:
                self.etag = response.header_text("SIP-ETag") or self.etag
                if request.body:
                    self.body = request.body
                granted = response.expires if response.expires else self.expires
                self._timer = now + refresh_delay(granted)
            self.ctx.emit(PublicationDone(self, code, removing))
        elif code == 412 and not removing and self.body is not None:
            # The server lost our tag: publish the whole state again (RFC 3903 4.3).
            self.etag = None
            if self._wanted is None:
                self._wanted = ("publish", request.body or self.body)
        elif code == 423 and isinstance(minimum := response.header("Min-Expires"), int) and \
                self.expires < minimum < 2**31:
            self.expires = minimum
            if self._wanted is None:
                self._wanted = ("remove", None) if removing else ("publish", request.body or self.body)
        else:
            if removing:
                self.etag, self.body = None, None
            self.ctx.emit(PublicationFailed(self, code, response.reason))
        self._next(now)

    def transaction_failed(self, transaction: ClientTransaction, now: float, *, timeout: bool) -> None:
        if transaction is not self._tx:
            return
        self._tx = None
        self.ctx.emit(PublicationFailed(self, 408 if timeout else None, "no answer" if timeout else "connection lost"))
        self._next(now)

    # --- inside -------------------------------------------------------------------------------

    def _next(self, now: float) -> None:
        if self._tx is not None or self._wanted is None:
            return
        action, body = self._wanted
        self._wanted = None
        if action == "remove":
            if self.etag is None:
                self.body = None
                self.ctx.emit(PublicationDone(self, 200, True))  # nothing at the server to remove
                return
            self._send(0, None, now)
        else:
            self._send(self.expires, body, now)

    def _send(self, expires: int, body: bytes | None, now: float) -> None:
        headers: list[tuple[str, HeaderValue]] = [("Event", self.event), ("Expires", expires)]
        if self.etag is not None:
            headers.append(("SIP-If-Match", self.etag))
        headers.append(("User-Agent", self.ctx.user_agent))
        request = build_request(
            "PUBLISH", self.aor.uri, from_=self.aor.with_tag(self.ctx.new_tag()), to=NameAddr(self.aor.uri),
            call_id=self.ctx.new_call_id(), cseq=1, via=self.ctx.new_via(), headers=headers,
            body=body or b"", content_type=self.content_type if body else None)
        self._request = request
        self._tx = self.ctx.send_request(request, now, self)
        if self._tx is None:
            self.ctx.emit(PublicationFailed(self, None, "not connected to the SIP server"))
