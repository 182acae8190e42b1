"""The connection of a :class:`~webvoice.SipInstance`: its events, the transport's life, reconnection.

The connection events and the records they pass (one each: see
webvoice._handlers; a handler may also take no argument), and
:class:`ConnectionMethods`, a mixin of :class:`webvoice._instance.SipInstance`
(see :mod:`webvoice._instance_base`) that opens the connection
(:class:`~webvoice._transport.Transport`, a browser WebSocket in Pyodide),
hears what the transport reports through the instance's private
:class:`~webvoice._transport.TransportLink` (opened, data, closed), tells the
core, reconnects on the :class:`~webvoice.sip.Backoff` schedule and raises the
events to the handlers of ``on_connection_event``. The instance keeps
registration, the pump that runs the core and the calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ._errors import NotConnectedError
from ._handlers import call_handler, check_handlers
from ._instance_base import InstanceBase
from ._transport import CurrentOnly, Transport, TransportFactory, TransportLink
from .sip import Backoff, Cause, record, redact_authorization

__all__ = [
    "CONNECTION_EVENTS", "ConnectingEvent", "ConnectedEvent", "RegisteredEvent", "DisconnectedEvent",
    "ExpiringEvent", "RegistrationFailedEvent", "UnregisteredEvent", "ConnectionMethods", "redacted",
]

log = logging.getLogger("webvoice")

T = TypeVar("T")

CONNECTION_EVENTS = (
    "connecting", "connected", "disconnected", "registered", "registration_expiring",
    "registration_failed", "unregistered",
)


@record
class ConnectingEvent:
    """What ``connecting`` handlers get: the WebSocket is being opened to ``ws_url``;
    ``reconnecting`` is True for an attempt after a lost or refused connection."""

    ws_url: str
    reconnecting: bool = False


@record
class ConnectedEvent:
    """What ``connected`` handlers get: the WebSocket to ``ws_url`` is open."""

    ws_url: str


@record
class RegisteredEvent:
    """What ``registered`` handlers get (JS: ``{expires, contact}``)."""

    expires: int
    contact: str


@record
class DisconnectedEvent:
    """What ``disconnected`` handlers get: ``cause`` is the JS SDK's string."""

    cause: str
    code: int | None = None
    reason: str = ""


@record
class ExpiringEvent:
    """What ``registration_expiring`` handlers get."""

    expires_in: float


@record
class RegistrationFailedEvent:
    """What ``registration_failed`` handlers get: the status (None for no answer or
    no connection), the JS SDK's ``cause`` string, the reason phrase, and whether
    webvoice keeps trying by itself."""

    status_code: int | None
    cause: str
    reason: str = ""
    retrying: bool = False


@record
class UnregisteredEvent:
    """What ``unregistered`` handlers get: ``cause`` is None after ``unregister()``,
    else why the binding is gone (``"Connection Error"`` when the connection was lost)."""

    cause: str | None = None


def redacted(text: str) -> str:
    """A message's text for the log: digest answers replaced, nothing else."""
    lines = text.split("\r\n")
    for i, line in enumerate(lines):
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() in ("authorization", "proxy-authorization"):
            lines[i] = f"{name}: {redact_authorization(value.strip())}"
    return "\r\n".join(lines)


class ConnectionMethods(InstanceBase):
    """``connect``, ``on_connection_event``, ``is_connected`` and the transport's reports."""

    _transport_factory: TransportFactory
    _transport: Transport | None
    _link: TransportLink
    _ever_opened: bool
    _want_connection: bool
    _auto_register: bool
    _backoff: Backoff
    _reconnect_handle: asyncio.TimerHandle | None
    _open_waiters: list[asyncio.Future[None]]
    _handlers: dict[str, list[Callable[..., Any]]]

    # --- the public API (the connection) ---------------------------------------------------

    def on_connection_event(self, handlers: Mapping[str, Callable[..., Any]]) -> Callable[[], None]:
        """Subscribe handlers to connection events; plain functions or ``async def``.

        Each call adds its handlers to those already there (a page and a widget
        may both listen), in order of subscription. Returns a function that
        removes exactly these handlers again.
        """
        checked = check_handlers(handlers, CONNECTION_EVENTS, what="on_connection_event takes", kind="connection")
        added = list(checked.items())
        for name, handler in added:
            self._handlers.setdefault(name, []).append(handler)

        def unsubscribe() -> None:
            for name, handler in added:
                listeners = self._handlers.get(name, [])
                for i, known in enumerate(listeners):
                    if known is handler:
                        del listeners[i]
                        break
            added.clear()

        return unsubscribe

    def is_connected(self) -> bool:
        return self._connected

    async def connect(self) -> None:
        """Open the connection to the SIP server (``register()`` does it for you).
        With ``ua_config={"register": True}`` each connection also registers
        (the ``registered`` or ``registration_failed`` event tells the outcome)."""
        self._want_connection = True
        if self._connected:
            return
        waiter = self._loop.create_future()
        self._open_waiters.append(waiter)
        if self._transport is None and self._reconnect_handle is None:
            self._open()
        elif self._reconnect_handle is not None:  # waiting to retry: retry now
            self._reconnect_handle.cancel()
            self._reconnect_handle = None
            self._open()
        await waiter

    # --- what the transport reports (through self._link) -------------------------------------

    def _transport_opened(self) -> None:
        self._connected = True
        self._backoff.connected(self._now())
        self._emit("connected", ConnectedEvent(self._settings.ws_url))
        for waiter in self._take(self._open_waiters):
            waiter.set_result(None)
        self._ua.connection_made(self._now(), self._transport.via_transport if self._transport else "WS")
        registration = self._ua.registration
        if self._auto_register and registration.pending_request is None and not registration.is_registered:
            self._ua.register(self._now())
        self._pump()
        for call in list(self._calls.values()):
            call._connection_restored()  # a new connection often means a new network

    def _data_received(self, data: bytes) -> None:
        if self._settings.debug:
            log.debug("received from %s:\n%s", self._settings.ws_url, redacted(data.decode("utf-8", "replace")))
        try:
            self._ua.receive_data(data, self._now())
        except Exception:  # the core must never take the page down; say so loudly
            log.exception("webvoice: internal error while handling a message from the server")
        self._pump()

    def _transport_closed(self, code: int, reason: str) -> None:
        was_connected = self._connected
        self._connected = False
        self._transport = None
        try:
            self._ua.connection_lost(self._now())
            self._pump()
        except Exception:  # the core must never stop us reconnecting; say so loudly
            log.exception("webvoice: internal error while handling the lost connection")
        cause = Cause.TERMINATED if (code == 1000 and not self._want_connection) else Cause.CONNECTION_ERROR
        if was_connected or not self._want_connection:
            self._emit("disconnected", DisconnectedEvent(cause, code, reason))
        error = NotConnectedError(f"could not connect to {self._settings.ws_url} (code {code})")
        for waiter in self._take(self._open_waiters):
            waiter.set_exception(error)
        if self._want_connection:
            self._schedule_reconnect()

    # --- inside ----------------------------------------------------------------------------------

    def _open(self) -> None:
        self._emit("connecting", ConnectingEvent(self._settings.ws_url, self._ever_opened))
        self._ever_opened = True
        self._backoff.attempt(self._now())
        callbacks = CurrentOnly(self._link, lambda: self._transport)
        self._transport = callbacks.transport = self._transport_factory(self._settings.ws_url, callbacks)
        try:
            self._transport.open()
        except Exception as exc:  # e.g. a URL the browser refuses outright
            log.warning("webvoice: cannot open %s: %s", self._settings.ws_url, exc)
            self._transport = None
            self._transport_closed(1006, str(exc))

    def _flow_failed(self, transport: Transport | None, reason: str) -> None:
        """The connection is open but dead (the core's FlowFailed): dropped now, as if it
        had closed, and opened again; its own close event, whenever it comes, is ignored."""
        if transport is None or transport is not self._transport:
            return
        log.warning("webvoice: the connection to %s is dead (%s); connecting again", self._settings.ws_url, reason)
        self._transport_closed(1006, reason)
        try:
            transport.close()
        except Exception:  # closing a dead socket may fail; it is dropped either way
            log.debug("webvoice: closing the dead connection failed", exc_info=True)

    def _schedule_reconnect(self) -> None:
        if self._reconnect_handle is not None:
            return
        delay = self._backoff.next_delay(self._now())
        log.info("webvoice: reconnecting to %s in %.1f s", self._settings.ws_url, delay)
        self._reconnect_handle = self._loop.call_later(delay, self._reconnect)

    def _reconnect(self) -> None:
        self._reconnect_handle = None
        if self._want_connection and self._transport is None:
            self._open()

    @staticmethod
    def _take(waiters: list[asyncio.Future[T]]) -> list[asyncio.Future[T]]:
        out = [w for w in waiters if not w.done()]
        waiters.clear()
        return out

    def _emit(self, name: str, event: object) -> None:
        for handler in tuple(self._handlers.get(name, ())):  # a handler may unsubscribe
            call_handler(handler, event, what=f"the {name!r} connection handler")

