"""The user agent core: one sans-IO object the browser driver feeds and drains.

Bytes from the connection go in through :meth:`UserAgent.receive_data`; what
to put on the wire comes out of :meth:`outgoing` (messages, and the raw CRLF
keep-alives of RFC 5626 3.5.1); what happened comes out of :meth:`events`;
time comes in as ``now`` and leaves as :meth:`get_timer`. Malformed input never
raises out of here: it is answered (400/505) when a response can be routed,
and dropped otherwise.

This module is the object and its plumbing: the connection, the clock, the
registration and the application's requests (calls, messages, subscriptions,
publications). The context those parts see (what they may send, the dialogs,
who owns which transaction) is :mod:`._parts`'s, and who serves a request
from the network :mod:`._incoming`'s: both load with the first part or
request, off the start-up of a page that only registers.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Callable, Union

from ..auth._client import DigestClient
from ..session._interval import session_expires_value
from ..syntax._errors import SipParseError
from ..syntax._header_values import HeaderValue, NameAddr, Via, header_params
from ..syntax._message import Message, Request, Response
from ..syntax._parser import parse_message
from ..syntax._uri import Params, SipUri, Uri
from ..transaction._events import (
    AckReceived,
    CancelReceived,
    RequestReceived,
    ResponseReceived,
    StrayResponse,
    TransactionEvent,
    TransactionTerminated,
    TransactionTimeout,
    TransportFailed,
)
from ..transaction._layer import TransactionLayer
from ..transaction._transaction import ClientTransaction
from ..util._deadlines import earliest
from ..util._record import record
from ._config import UaConfig, random_token
from ._registration import Registration
from ._uas import response_for_parse_error, without_peer_controls

if TYPE_CHECKING:
    from ..dialog._store import DialogStore
    from ..event._publication import Publication
    from ..event._subscription import Subscription
    from ..session._call import CallSession
    from ..syntax._header_values import MediaType
    from ._message_method import OutgoingMessage
    from ._parts import PartsContext

__all__ = ["UaConfig", "UserAgent", "MessageRefused", "FlowFailed", "PONG_TIMEOUT"]

#: A CRLF keep-alive ping and the pong that answers it (RFC 5626 3.5.1).
PING = b"\r\n\r\n"
PONG = b"\r\n"
#: Seconds a server that answers pings gets to answer one before the flow counts
#: as failed (RFC 5626 4.4.1).
PONG_TIMEOUT = 10.0


@record
class FlowFailed:
    """The connection looks open but is dead: a server that answers keep-alive
    pings did not answer one within PONG_TIMEOUT seconds, and nothing else came
    (RFC 5626 4.4.1). The driver closes it and connects again; a browser's
    WebSocket would otherwise stay "open" on a dead network for many minutes."""

    reason: str

@record
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
        self.contact_host = f"{random_token(self._rng, 12)}.invalid"
        self.contact_user = random_token(self._rng, 8)
        self.auth = DigestClient(config.auth_user or config.user, config.password)
        self.registration = Registration(
            aor=config.aor,
            registrar=SipUri(host=config.domain),
            contact=self.contact(),
            auth=self.auth,
            call_id=self.new_call_id(),
            from_tag=self.transactions.new_tag(),
            expires=config.register_expires,
            extra_headers=(("Supported", "path, outbound"), ("User-Agent", config.user_agent)),
        )
        self.connected = False
        self._out: list[Outgoing] = []
        self._events: list[object] = []
        self._keepalive_at: float | None = None
        self._pong_due: float | None = None  # a ping awaits its pong (or any frame) by then
        # The server answered a ping once: only then is a missing pong a dead flow
        # (a server that never answers pings is not failed for it).
        self._server_pongs = False
        # REGISTER client transactions and the request Registration knows them by.
        self._register_tx: dict[ClientTransaction, Request] = {}
        # What the parts see of us (made with the first part: see parts), and the live calls.
        self._parts: PartsContext | None = None
        self.sessions: list[CallSession] = []
        # RFC 6665 subscriptions (ours, as subscriber), loaded on first use.
        self.subscriptions: list[Subscription] = []
        # Our published state (RFC 3903), one publication per event package.
        self.publications: dict[str, Publication] = {}

    @property
    def parts(self) -> PartsContext:
        """The context calls, messages, subscriptions and publications see, made
        on first use: it loads with the first of them (and the dialogs with it),
        not with every page that only registers."""
        if self._parts is None:
            from ._parts import PartsContext

            self._parts = PartsContext(self)
        return self._parts

    @property
    def dialogs(self) -> DialogStore:
        """The dialogs of all calls (kept by :attr:`parts`)."""
        return self.parts.dialogs

    # --- the contact -----------------------------------------------------------------------

    def contact(self) -> NameAddr:
        """Our Contact: the invented host, ``transport=ws``, and the RFC 5626 instance."""
        uri = SipUri(user=self.contact_user, host=self.contact_host, params=Params([("transport", "ws")]))
        return NameAddr(
            uri,
            params=header_params([("+sip.instance", f'"<urn:uuid:{self.config.instance_id}>"'), ("reg-id", "1")]),
        )

    def new_via(self) -> Via:
        return Via(self.via_transport, self.contact_host, params=header_params([("branch", self.transactions.new_branch())]))

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
        best = earliest(self.transactions.get_timer(), self.registration.get_timer(), self._keepalive_at,
                        self._pong_due)
        for parts in (self.sessions, self.subscriptions, self.publications.values()):
            for part in parts:
                t = part.get_timer()
                if t is not None and (best is None or t < best):
                    best = t
        return best

    def handle_timer(self, now: float) -> None:
        self.transactions.handle_timer(now)
        self.registration.handle_timer(now)
        for session in list(self.sessions):
            session.handle_timer(now)
        for sub in list(self.subscriptions):
            sub.handle_timer(now)
        for pub in list(self.publications.values()):
            pub.handle_timer(now)
        if self._pong_due is not None and now >= self._pong_due:
            self._pong_due = None
            self._keepalive_at = None  # until the driver reconnects: no pings on a dead flow
            self._events.append(FlowFailed(f"no answer to a keep-alive ping in {PONG_TIMEOUT:g} s"))
        if self._keepalive_at is not None and now >= self._keepalive_at:
            self._out.append(PING)
            self._schedule_keepalive(now)
            if self._server_pongs and self._pong_due is None:
                self._pong_due = now + PONG_TIMEOUT
        self._pump(now)

    # --- the connection ------------------------------------------------------------------------

    def connection_made(self, now: float, via_transport: str = "WS") -> None:
        self.connected = True
        self._pong_due = None
        self.via_transport = via_transport
        self._schedule_keepalive(now)
        self.registration.connection_restored(now)
        # Calls outlive the connection (media does not need it), but the proxy
        # routes to our new flow only once the peer has our Contact again.
        for session in self.sessions:
            if session.is_established:
                session.refresh_target(now)
        for sub in list(self.subscriptions):
            sub.connection_restored(now)
        for pub in list(self.publications.values()):
            pub.connection_restored(now)
        self._pump(now)

    def connection_lost(self, now: float) -> None:
        self.connected = False
        self._keepalive_at = None
        self._pong_due = None
        self.transactions.transport_error(now)
        self._pump(now)
        for sub in list(self.subscriptions):
            sub.connection_lost(now)
        self.registration.connection_lost(now)
        self._pump(now)

    def receive_data(self, data: bytes, now: float) -> None:
        """One frame from the connection: a SIP message or a keep-alive."""
        self._pong_due = None  # anything at all shows the flow alive
        if not data.strip(b"\r\n"):
            if data == PING:
                self._out.append(PONG)
            elif data == PONG:
                self._server_pongs = True
            return
        try:
            message = parse_message(data, limits=self.config.limits)
        except SipParseError as exc:
            answer = response_for_parse_error(exc)
            answer = without_peer_controls(answer) if answer is not None else None
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

    # --- calls -------------------------------------------------------------------------------------

    def call(self, target: Uri, offer: str, now: float, *, headers: tuple[tuple[str, HeaderValue], ...] = ()) -> CallSession:
        """Place a call to ``target`` with our SDP ``offer``."""
        for name, value in headers:
            if name.lower() in ("session-expires", "x") and self.config.session_timers:
                interval = session_expires_value(str(value))
                if interval is None or interval < self.config.session_min_se:
                    raise ValueError(f"Session-Expires {value!r} is not a whole number of seconds of at least "
                                     f"{self.config.session_min_se} (the Min-SE floor, RFC 4028)")
        if self.config.max_calls is not None and len(self.sessions) >= self.config.max_calls:
            raise RuntimeError(f"no free line: {len(self.sessions)} of {self.config.max_calls} in use")
        from ..session._call import (
            CallSession,  # the call machinery loads on first use (see webvoice/_preload.py)
        )

        from_ = NameAddr(self.config.aor, self.config.display_name)
        session = CallSession.outgoing_call(self.parts, from_=from_, target=target, offer=offer, now=now, headers=headers)
        if not session.is_ended:
            self.sessions.append(session)
        self._pump(now)
        return session

    # --- instant messages (RFC 3428, in :mod:`._message_method`, loaded on first use) ------------

    def send_message(self, target: Uri, body: bytes, content_type: MediaType, now: float, *,
                     headers: tuple[tuple[str, HeaderValue], ...] = ()) -> OutgoingMessage:
        """Send a MESSAGE to ``target``; its outcome comes as MessageDelivered/MessageFailed."""
        from ._message_method import OutgoingMessage

        message = OutgoingMessage.out_of_dialog(
            self.parts, from_=NameAddr(self.config.aor, self.config.display_name), target=target, body=body,
            content_type=content_type, now=now, headers=headers)
        self._pump(now)
        return message

    def send_message_in_call(self, session: CallSession, body: bytes, content_type: MediaType,
                             now: float) -> OutgoingMessage:
        """Send a MESSAGE within an established call's dialog (RFC 3428 allows it)."""
        if not session.is_established or session.dialog is None:
            raise RuntimeError(f"a MESSAGE in a call needs an established call; this one is {session.state.value}")
        from ._message_method import OutgoingMessage

        message = OutgoingMessage.in_dialog(self.parts, session.dialog, body=body, content_type=content_type, now=now)
        self._pump(now)
        return message

    # --- subscriptions (RFC 6665, in :mod:`..event._subscription`, loaded on first use) ------------------

    def subscribe(self, target: Uri, event: str, accept: tuple[str, ...], now: float, *,
                  expires: int = 600) -> Subscription:
        """Subscribe to ``event`` at ``target``; kept alive until ``unsubscribe``."""
        from ..event._subscription import Subscription

        sub = Subscription(self.parts, from_=NameAddr(self.config.aor, self.config.display_name), target=target,
                           event=event, accept=accept, expires=expires, t1=self.config.timers.t1)
        self.subscriptions.append(sub)
        sub.start(now)
        self._pump(now)
        return sub

    def unsubscribe(self, sub: Subscription, now: float) -> None:
        sub.unsubscribe(now)
        self._pump(now)

    def publication(self, event: str, content_type: str) -> Publication:
        """Our publication for ``event`` (made on first use); ``publish``/``remove`` on it,
        then :meth:`pump`."""
        pub = self.publications.get(event)
        if pub is None:
            from ..event._publication import Publication

            pub = self.publications[event] = Publication(
                self.parts, aor=NameAddr(self.config.aor, self.config.display_name), event=event,
                content_type=content_type)
        return pub

    def pump(self, now: float) -> None:
        """Move what an application's request on a part (a publication) produced."""
        self._pump(now)

    def session_call(self, session: CallSession, action: Callable[[CallSession], object], now: float) -> None:
        """Run ``action(session)`` (an application's request) and move what it produced."""
        action(session)
        self._pump(now)

    def new_call_id(self) -> str:
        """A fresh Call-ID (the registration's, and each part's through :attr:`parts`)."""
        return random_token(self._rng, 22)

    def emit(self, event: object) -> None:
        """Queue ``event`` for :meth:`events` (the parts report through :attr:`parts`)."""
        self._events.append(event)

    # --- inside -------------------------------------------------------------------------------------

    def _schedule_keepalive(self, now: float) -> None:
        interval = self.config.keep_alive_interval
        self._keepalive_at = now + interval if interval and self.connected else None

    def _send_request(self, request: Request, now: float) -> ClientTransaction | None:
        if request.top_via is None:
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
        if self.subscriptions and any(sub.is_terminated for sub in self.subscriptions):
            self.subscriptions = [sub for sub in self.subscriptions if not sub.is_terminated]
        self._collect()

    def _collect(self) -> None:
        for message in self.transactions.messages_to_send():
            if isinstance(message, Response):
                # The one gate of every answer (ours, the transactions', stateless):
                # no control octet of the peer's leaves (issue 15).
                answer = without_peer_controls(message)
                if answer is not None:
                    self._out.append(answer)
                continue
            self._out.append(message)

    def _on_transaction_event(self, event: TransactionEvent, now: float) -> None:
        if isinstance(event, (RequestReceived, AckReceived, CancelReceived, StrayResponse)):
            from ._incoming import receive  # the UAS side loads with the first request

            receive(self, event, now)
            return
        if not isinstance(event, (ResponseReceived, TransactionTimeout, TransportFailed, TransactionTerminated)):
            return
        tx = event.transaction
        request = self._register_tx.get(tx) if isinstance(tx, ClientTransaction) else None
        if request is None or not isinstance(tx, ClientTransaction):
            # Not a REGISTER's: a part's (a call's, a subscription's ...), if there are parts.
            if self._parts is not None:
                self._parts.transaction_event(event, now)
        elif isinstance(event, ResponseReceived):
            if event.response.status_code >= 200:
                del self._register_tx[event.transaction]
            self.registration.receive_response(request, event.response, now)
        else:
            del self._register_tx[tx]
            if not isinstance(event, TransactionTerminated):
                self.registration.request_failed(request, now, timeout=isinstance(event, TransactionTimeout))
