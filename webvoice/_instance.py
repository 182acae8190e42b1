"""The SIP instance an application holds: the sans-IO core driven by asyncio.

It owns the core, the clock (the event loop's), registration and the
application's callbacks; the connection (the transport, reconnection and the
connection events) is its part :mod:`webvoice._connection`, and
calls, transfers, devices, messages and presence are its other parts (see
:mod:`webvoice._instance_base`). It makes no SIP decisions: those are the
core's (:class:`webvoice.sip.UserAgent`). Every entry point runs the core, then
:meth:`_pump` sends what it produced, delivers its events and re-arms its
timer; so nothing waits on a poll loop.

The call machinery (:mod:`webvoice._calls`, the core's call session, SDP and
forking modules) is imported on first use, and in the background once
registered (:func:`webvoice._preload.preload_call_modules`): in Pyodide every
module imported counts in the page's start-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._audio_devices import AudioDeviceMethods
from ._config import InstanceSettings
from ._connection import (
    ConnectionMethods,
    ExpiringEvent,
    RegisteredEvent,
    RegistrationFailedEvent,
    UnregisteredEvent,
    redacted,
)
from ._errors import NotConnectedError, RegistrationError, UnregisterError
from ._instance_calls import CallMethods
from ._lines import LineRegistry
from ._media import MediaBackend
from ._messaging import MessagingMethods
from ._preload import preload_call_modules
from ._presence import PresenceMethods
from ._transfer import TransferMethods
from ._transport import Transport, TransportFactory, TransportLink
from .sip import (
    Backoff,
    Cause,
    FlowFailed,
    MessageRefused,
    Registered,
    RegistrationExpiring,
    RegistrationFailed,
    SipUri,
    UaConfig,
    Unregistered,
    UnregisterFailed,
    UserAgent,
    loaded_export,
)

if TYPE_CHECKING:
    from ._call_event_records import Identity
    from ._calls import Call
    from .sip import CallSession

__all__ = ["SipInstance"]

#: How long close() waits for calls that cannot end at once (see SipInstance.close).
CLOSE_CALLS_WAIT_S = 2.0

log = logging.getLogger("webvoice")

class SipInstance(ConnectionMethods, CallMethods, TransferMethods, AudioDeviceMethods, MessagingMethods,
                  PresenceMethods):
    """A SIP account in a page: connection, registration, calls, lines and devices."""

    _serial = 0

    def __init__(self, settings: InstanceSettings, transport_factory: TransportFactory,
                 media_backend: MediaBackend | Callable[[], MediaBackend] | None = None) -> None:
        self._settings = settings
        self._transport_factory = transport_factory
        self._media_backend = media_backend
        ua = settings.ua
        self._ua = UserAgent(UaConfig(
            user=settings.user,
            domain=settings.domain,
            password=settings.password,
            display_name=ua.get("display_name"),
            auth_user=ua.get("authorization_user"),
            register_expires=ua.get("register_expires", 600),
            user_agent=ua.get("user_agent", "webvoice"),
            keep_alive_interval=ua.get("keep_alive_interval", 30.0),
            max_calls=settings.max_lines,
            no_answer_timeout=ua.get("no_answer_timeout", 60),
            session_timers=ua.get("session_timers", True),
            timers=settings.timers,
            **({"instance_id": ua["instance_id"]} if "instance_id" in ua else {}),
        ))
        self._handlers: dict[str, list[Callable[..., Any]]] = {}
        self._transport: Transport | None = None
        # What the transport reports to: kept off the public surface, where a user
        # would take on_open / on_data / on_close for subscriptions.
        self._link = TransportLink(self._transport_opened, self._data_received, self._transport_closed,
                                   self._page_hidden)
        self._ever_opened = False  # for ConnectingEvent.reconnecting
        self._connected = False
        self._want_connection = False
        #: ua_config["register"]: register whenever connected, until unregister() is asked.
        self._auto_register = bool(settings.ua.get("register", False))
        self._backoff = Backoff(settings.reconnect)
        self._reconnect_handle: asyncio.TimerHandle | None = None
        self._timer_handle: asyncio.TimerHandle | None = None
        self._timer_deadline: float | None = None  # what _timer_handle is armed for
        self._open_waiters: list[asyncio.Future[None]] = []
        self._register_waiters: list[asyncio.Future[RegisteredEvent]] = []
        self._unregister_waiters: list[asyncio.Future[None]] = []
        self._loop_ref: asyncio.AbstractEventLoop | None = None
        self._incoming_handler: Callable[..., Any] | None = None
        self._calls: dict[CallSession, Call] = {}
        self._lines = LineRegistry(settings.line_events)
        # Media ids (and the <audio> elements named after them) are unique in the
        # page even with several instances, whose line ids both start at "1".
        SipInstance._serial += 1
        self._media_prefix = f"i{SipInstance._serial}-"
        self._microphone: str | None = None
        self._speaker: str | None = None
        self._device_handler: Callable[..., Any] | None = None
        self._watching_devices = False
        self._message_handlers: list[Callable[..., Any]] = []  # see MessagingMethods
        self._message_waiters: dict[object, asyncio.Future[int]] = {}
        self._watches = {}  # see PresenceMethods
        self._publish_waiters = []
        if settings.debug:
            _enable_debug_logging()

    def __repr__(self) -> str:
        state = "registered" if self.is_registered() else "connected" if self.is_connected() else "idle"
        return f"<SipInstance {self._settings.user}@{self._settings.domain} via {self._settings.ws_url} {state}>"

    # --- the public API (registration) ------------------------------------------------------

    def is_registered(self) -> bool:
        return self._ua.registration.is_registered

    def get_local_identity(self) -> Identity:
        """Who this instance is: ``Identity(uri="sip:user@domain", display_name)``."""
        from ._call_event_records import Identity

        return Identity(str(self._ua.config.aor), self._ua.config.display_name)

    @property
    def instance_id(self) -> str:
        return self._ua.config.instance_id

    async def register(self) -> RegisteredEvent:
        """Register with the server; resolves on 200 OK with the granted expiry.

        Raises :class:`RegistrationError` on a final failure (wrong password
        after the challenge, 403, 404, no answer, connection refused).
        """
        try:
            await self.connect()
        except NotConnectedError as exc:
            raise RegistrationError(str(exc), status_code=None, cause=Cause.CONNECTION_ERROR) from None
        waiter: asyncio.Future[RegisteredEvent] = self._loop.create_future()
        self._register_waiters.append(waiter)
        self._ua.register(self._now())
        self._pump()
        return await waiter

    async def unregister(self) -> None:
        """Remove this instance's binding from the server (others stay); the
        connection stays open. Stops refreshing at once. Our published
        presence, if any, is withdrawn first (watchers see us closed), and
        so are our calls' states (``publish_dialogs``).

        Returns only when the registrar confirmed (2xx). Otherwise raises
        :class:`UnregisterError`: refused (``status_code``), no answer within
        the transaction timeout (64*T1, 32 s by default; cause "Request
        Timeout"), or the connection down or dropped (cause "Connection
        Error"). ``is_registered()`` then says what is known: True while a
        refused or unanswered binding runs to its expiry, False once the
        connection that carried it is gone.
        """
        self._auto_register = False
        await self._withdraw_publications()  # signing out: watchers see us closed and idle
        waiter = self._loop.create_future()
        self._unregister_waiters.append(waiter)
        self._ua.unregister(self._now())
        self._pump()
        await waiter

    async def close(self) -> None:
        """Hang up every call, stop every watch, unregister if registered, then close
        the connection for good.

        Each call ends as :meth:`Call.terminate` ends it (BYE once answered,
        CANCEL before, 486 for one still ringing here), at once: its media is
        released, and the peer and the server see it end. Closed without that,
        the peer would talk to no one until its media timed out, and a proxy
        that follows dialogs would keep the call for hours (a busy lamp
        showing the line in a call). Each watch (``watch_line``,
        ``watch_presence``, ``watch_voicemail``) is stopped as ``stop()`` stops
        it, so the server drops its subscription now, and ``active`` says
        False. The unregistration that follows travels
        behind the calls' requests on the same connection. A call that cannot
        end at once (an outgoing one still ringing ends when its CANCEL's 487
        comes) is waited for at most ``CLOSE_CALLS_WAIT_S``; once the connection
        is closed, whatever is left ends here.
        """
        calls = self._hang_up_everything()
        deadline = self._loop.time() + CLOSE_CALLS_WAIT_S
        while self._transport is not None and not all(call.is_ended() for call in calls):
            if self._loop.time() >= deadline:
                break
            await asyncio.sleep(0.02)
        if self.is_registered():
            try:
                await asyncio.wait_for(self.unregister(), 5.0)
            except (TimeoutError, RegistrationError, NotConnectedError):
                pass
        self._want_connection = False
        if self._reconnect_handle is not None:
            self._reconnect_handle.cancel()
            self._reconnect_handle = None
        if self._transport is not None:
            self._transport.close()
        for call in calls:
            if not call.is_ended():
                call._end_here()

    def _hang_up_everything(self) -> list[Call]:
        """Hang up every call and stop every watch (ended politely, Expires: 0, not
        left to expire); the calls, for what waits on their ends."""
        calls = list(dict.fromkeys([*self._lines.calls(), *self._calls.values()]))
        for call in calls:
            if not call.is_ended():
                call.terminate()
        for watch in list(self._watches.values()):
            watch.stop()
        return calls

    def _page_hidden(self) -> None:
        """The page is going away (``pagehide``: a tab closed, a navigation), its
        connection with it. What close() would do, done now and synchronously,
        while the socket can still carry it (no answer will be read): the calls
        hung up (else the peer talks to no one and the server keeps the call),
        the watches stopped, the registration removed."""
        self._hang_up_everything()
        if self.is_registered():
            self._auto_register = False
            self._run_core(lambda now: self._ua.unregister(now))

    def _aor(self) -> SipUri:
        return self._ua.config.aor

    def _display_name(self) -> str | None:
        return self._ua.config.display_name

    def _run_core(self, action: Callable[[float], object]) -> None:
        """Run an action on the core now, then send and deliver what it produced."""
        action(self._now())
        self._pump()

    # --- inside ----------------------------------------------------------------------------------

    @property
    def _loop(self) -> asyncio.AbstractEventLoop:
        if self._loop_ref is None:
            try:
                self._loop_ref = asyncio.get_running_loop()
            except RuntimeError:
                self._loop_ref = asyncio.get_event_loop()
        return self._loop_ref

    def _now(self) -> float:
        return self._loop.time()

    def _pump(self) -> None:
        """Send what the core produced, deliver its events, re-arm its timer."""
        transport = self._transport
        for item in self._ua.outgoing():
            data = item if isinstance(item, bytes) else bytes(item)
            if self._settings.debug and not isinstance(item, bytes):
                log.debug("sending to %s:\n%s", self._settings.ws_url, redacted(str(item)))
            if transport is None or not self._connected:
                continue
            try:
                transport.send(data)
            except ConnectionError:
                break  # the close event follows and fails what was pending
        for event in self._ua.events():
            self._deliver(event)
        self._arm_timer()
        self._publish_own_dialogs()  # ua_config publish_dialogs (PresenceMethods)

    def _arm_timer(self) -> None:
        # Re-armed only when the core's deadline moved: every pump (each message in
        # or out) would otherwise make a browser timer, and in Pyodide a cancelled
        # one still fires, into Python, to find itself cancelled.
        deadline = self._ua.get_timer()
        if self._timer_handle is not None:
            if deadline == self._timer_deadline:
                return
            self._timer_handle.cancel()
            self._timer_handle = None
        self._timer_deadline = deadline
        if deadline is not None:
            self._timer_handle = self._loop.call_later(max(0.0, deadline - self._now()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer_handle = None
        self._ua.handle_timer(self._now())
        self._pump()

    def _deliver(self, event: object) -> None:
        if isinstance(event, Registered):
            public = RegisteredEvent(event.expires, str(event.contact.uri))
            for waiter in self._take(self._register_waiters):
                waiter.set_result(public)
            self._emit("registered", public)
            preload_call_modules(self._loop)
        elif isinstance(event, RegistrationFailed):
            error = RegistrationError(
                f"registration failed: {event.reason or event.cause}", status_code=event.status_code, cause=event.cause)
            for registering in self._take(self._register_waiters):
                registering.set_exception(error)
            for unregistering in self._take(self._unregister_waiters):
                unregistering.set_exception(error)
            self._emit("registration_failed", RegistrationFailedEvent(
                event.status_code, event.cause, event.reason, event.retrying))
        elif isinstance(event, UnregisterFailed):
            error = UnregisterError(
                f"unregister not confirmed: {event.reason or event.cause}", status_code=event.status_code,
                cause=event.cause, still_registered=event.still_registered)
            for unregistering in self._take(self._unregister_waiters):
                unregistering.set_exception(error)
        elif isinstance(event, Unregistered):
            for unregistering in self._take(self._unregister_waiters):
                if event.cause is None:  # the registrar confirmed
                    unregistering.set_result(None)
                else:
                    unregistering.set_exception(UnregisterError(
                        f"registration lost: {event.cause}", status_code=None, cause=event.cause,
                        still_registered=False))
            for waiter in self._take(self._register_waiters):
                waiter.set_exception(RegistrationError(
                    "registration lost", status_code=None, cause=event.cause or Cause.TERMINATED))
            self._emit("unregistered", UnregisteredEvent(event.cause))
        elif isinstance(event, FlowFailed):  # after this pump: closing runs the core again
            self._loop.call_soon(self._flow_failed, self._transport, event.reason)
        elif isinstance(event, RegistrationExpiring):
            self._emit("registration_expiring", ExpiringEvent(max(0.0, event.expires_at - self._now())))
        elif isinstance(event, MessageRefused):
            log.warning("webvoice: refused a message from the server: %s", event.reason)
        elif self._deliver_message_event(event) or self._deliver_subscription_event(event):
            pass
        elif (call := self._calls.get(_session_of(event))) is not None:
            call._on_core_event(event)
        else:
            incoming_call = loaded_export("IncomingCall")  # loaded: a session made this event
            if incoming_call is not None and isinstance(event, incoming_call):
                self._on_incoming(event)

def _session_of(event: object) -> Any:
    """The call session a core event is about (a call event's ``session``), else None."""
    return getattr(event, "session", None)


def _enable_debug_logging() -> None:
    """``debug=True``: log SIP traffic at DEBUG on logger ``webvoice``, with a handler
    if the application configured none (in a browser, stderr is the console)."""
    log.setLevel(logging.DEBUG)
    if not any(not isinstance(h, logging.NullHandler) for h in log.handlers) and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        log.addHandler(handler)
