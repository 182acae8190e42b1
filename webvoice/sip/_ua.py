"""The user agent core: one sans-IO object the browser driver feeds and drains.

Bytes from the connection go in through :meth:`UserAgent.receive_data`; what
to put on the wire comes out of :meth:`outgoing` (messages, and the raw CRLF
keep-alives of RFC 5626 3.5.1); what happened comes out of :meth:`events`;
time comes in as ``now`` and leaves as :meth:`get_timer`. Malformed input never
raises out of here: it is answered (400/505) when a response can be routed,
and dropped otherwise.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Union

from ._auth import DigestClient
from ._errors import SipParseError
from ._headers import NameAddr, Via
from ._message import Message, Request, Response
from ._parser import ParserLimits, parse_message
from ._registration import Registration
from ._timers import TimerConfig
from ._transaction import ClientTransaction
from ._transaction_events import (
    CancelReceived,
    RequestReceived,
    ResponseReceived,
    TransactionTimeout,
    TransportFailed,
)
from ._transaction_layer import TransactionLayer
from ._uas import UasPolicy, check_request, response_for_parse_error
from ._uri import Params, SipUri

__all__ = ["UaConfig", "UserAgent", "MessageRefused"]

#: A CRLF keep-alive ping and the pong that answers it (RFC 5626 3.5.1).
PING = b"\r\n\r\n"
PONG = b"\r\n"

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"


def _random_token(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(length))


@dataclass(frozen=True, slots=True)
class UaConfig:
    """Who we are and how we behave on the wire. The password never shows in repr."""

    user: str
    domain: str
    password: str = field(repr=False)
    display_name: str | None = None
    auth_user: str | None = None
    register_expires: int = 600
    user_agent: str = "webvoice"
    #: RFC 5626 instance id, stable for the page's lifetime (one per instance).
    instance_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    keep_alive_interval: float = 30.0
    timers: TimerConfig = field(default_factory=TimerConfig)
    limits: ParserLimits = field(default_factory=ParserLimits)
    policy: UasPolicy = field(default_factory=UasPolicy)

    def __post_init__(self) -> None:
        SipUri(user=self.user, host=self.domain)  # raises ValueError naming a bad part
        if self.display_name is not None:
            NameAddr(SipUri(host=self.domain), self.display_name)
        if self.keep_alive_interval < 0:
            raise ValueError("keep_alive_interval must be zero (off) or positive")

    @property
    def aor(self) -> SipUri:
        return SipUri(user=self.user, host=self.domain)


@dataclass(frozen=True, slots=True)
class MessageRefused:
    """A message from the network that did not parse, and what we did about it."""

    reason: str
    answered_with: int | None


Outgoing = Union[Message, bytes]


class UserAgent:
    """A SIP UA over one WebSocket connection at a time (RFC 7118)."""

    def __init__(self, config: UaConfig, *, rng: random.Random | None = None) -> None:
        self.config = config
        self._rng = rng if rng is not None else random.SystemRandom()
        self.transactions = TransactionLayer(config.timers, rng=self._rng)
        self.via_transport = "WS"
        # RFC 7118 5.2: an invented .invalid host names us in Via and Contact.
        self.contact_host = f"{_random_token(self._rng, 12)}.invalid"
        self.contact_user = _random_token(self._rng, 8)
        self.auth = DigestClient(config.auth_user or config.user, config.password)
        self.registration = Registration(
            aor=config.aor,
            registrar=SipUri(host=config.domain),
            contact=self.contact(),
            auth=self.auth,
            call_id=_random_token(self._rng, 22),
            from_tag=self.transactions.new_tag(),
            expires=config.register_expires,
            extra_headers=(("Supported", "path, outbound"), ("User-Agent", config.user_agent)),
        )
        self.connected = False
        self._out: list[Outgoing] = []
        self._events: list[object] = []
        self._keepalive_at: float | None = None
        # REGISTER client transactions and the request Registration knows them by.
        self._register_tx: dict[ClientTransaction, Request] = {}

    # --- the contact -----------------------------------------------------------------------

    def contact(self) -> NameAddr:
        """Our Contact: the invented host, ``transport=ws``, and the RFC 5626 instance."""
        uri = SipUri(user=self.contact_user, host=self.contact_host, params=Params([("transport", "ws")]))
        return NameAddr(
            uri,
            params=[("+sip.instance", f'"<urn:uuid:{self.config.instance_id}>"'), ("reg-id", "1")],
        )

    def new_via(self) -> Via:
        return Via(self.via_transport, self.contact_host, params=[("branch", self.transactions.new_branch())])

    # --- pulling output ---------------------------------------------------------------------

    def outgoing(self) -> list[Outgoing]:
        """Messages (and keep-alive bytes) to put on the wire, oldest first."""
        self._collect()
        out, self._out = self._out, []
        return out

    def events(self) -> list[object]:
        self._collect()
        out, self._events = self._events, []
        return out

    def get_timer(self) -> float | None:
        deadlines = [
            t for t in (self.transactions.get_timer(), self.registration.get_timer(), self._keepalive_at)
            if t is not None
        ]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> None:
        self.transactions.handle_timer(now)
        self.registration.handle_timer(now)
        if self._keepalive_at is not None and now >= self._keepalive_at:
            self._out.append(PING)
            self._schedule_keepalive(now)
        self._pump(now)

    # --- the connection ------------------------------------------------------------------------

    def connection_made(self, now: float, via_transport: str = "WS") -> None:
        self.connected = True
        self.via_transport = via_transport
        self._schedule_keepalive(now)
        self.registration.connection_restored(now)
        self._pump(now)

    def connection_lost(self, now: float) -> None:
        self.connected = False
        self._keepalive_at = None
        self.transactions.transport_error(now)
        self._pump(now)
        self.registration.connection_lost(now)
        self._pump(now)

    def receive_data(self, data: bytes, now: float) -> None:
        """One frame from the connection: a SIP message or a keep-alive."""
        if not data.strip(b"\r\n"):
            if data == PING:
                self._out.append(PONG)
            return
        try:
            message = parse_message(data, limits=self.config.limits)
        except SipParseError as exc:
            answer = response_for_parse_error(exc)
            if answer is not None:
                self.transactions.send_stateless(answer)
            self._events.append(MessageRefused(exc.reason, answer.status_code if answer else None))
            return
        self.transactions.receive(message, now)
        self._pump(now)

    # --- registration ---------------------------------------------------------------------------

    def register(self, now: float) -> None:
        self.registration.register(now)
        self._pump(now)

    def unregister(self, now: float) -> None:
        self.registration.unregister(now)
        self._pump(now)

    # --- inside -------------------------------------------------------------------------------------

    def _schedule_keepalive(self, now: float) -> None:
        interval = self.config.keep_alive_interval
        self._keepalive_at = now + interval if interval and self.connected else None

    def _send_request(self, request: Request, now: float) -> ClientTransaction | None:
        request = request.replace(headers=request.headers.prepend("Via", self.new_via()))
        if not self.connected:
            return None
        return self.transactions.send_request(request, now)

    def _pump(self, now: float) -> None:
        """Move work between the parts until nothing is left to move."""
        for _ in range(100):
            moved = False
            for request in self.registration.requests_to_send():
                moved = True
                tx = self._send_request(request, now)
                if tx is None:
                    self.registration.request_failed(request, now, timeout=False)
                else:
                    self._register_tx[tx] = request
            self._events.extend(self.registration.events())
            for event in list(self.transactions.events()):
                moved = True
                self._on_transaction_event(event, now)
            if not moved:
                break
        self._collect()

    def _collect(self) -> None:
        self._out.extend(self.transactions.messages_to_send())

    def _on_transaction_event(self, event, now: float) -> None:
        if isinstance(event, ResponseReceived):
            request = self._register_tx.get(event.transaction)
            if request is not None:
                if event.response.status_code >= 200:
                    del self._register_tx[event.transaction]
                self.registration.receive_response(request, event.response, now)
        elif isinstance(event, (TransactionTimeout, TransportFailed)):
            request = self._register_tx.pop(event.transaction, None)
            if request is not None:
                self.registration.request_failed(request, now, timeout=isinstance(event, TransactionTimeout))
        elif isinstance(event, RequestReceived):
            self._on_request(event, now)
        elif isinstance(event, CancelReceived):
            invite = event.transaction.request
            self.transactions.send_response(
                event.transaction, invite.response(487, to_tag=event.transaction.to_tag), now)

    def _on_request(self, event: RequestReceived, now: float) -> None:
        request = event.request
        refusal = check_request(request, self.config.policy)
        if refusal is not None:
            self.transactions.send_response(event.transaction, refusal, now)
            return
        if request.method == "OPTIONS":
            self.transactions.send_response(event.transaction, self._options_answer(request), now)
            return
        # Requests for dialogs and calls: no dialog here yet, so none can match.
        status = 481 if request.to is not None and request.to.tag else 480
        self.transactions.send_response(event.transaction, request.response(status, to_tag=self.transactions.new_tag()), now)

    def _options_answer(self, request: Request) -> Response:
        policy = self.config.policy
        return request.response(
            200,
            to_tag=self.transactions.new_tag(),
            headers=[
                ("Allow", policy.allow_value()),
                ("Accept", ", ".join(sorted(policy.body_types))),
                ("Supported", ", ".join(sorted(policy.extensions))),
                ("User-Agent", self.config.user_agent),
            ],
        )

