"""The SIP instance an application holds: the sans-IO core driven by asyncio.

It owns the connection (through a :class:`~webvoice._transport.Transport`, a
browser WebSocket in Pyodide), the clock (the event loop's), the reconnection
schedule and the application's callbacks. It makes no SIP decisions: those are
the core's (:class:`webvoice.sip.ua._ua.UserAgent`). Every entry point runs the
core, then :meth:`_pump` sends what it produced, delivers its events and
re-arms its timer; so nothing waits on a poll loop.

The call machinery (:mod:`webvoice._calls`, the core's call session, SDP and
forking modules) is imported on first use, and in the background once
registered (:func:`webvoice._preload.preload_call_modules`): in Pyodide every
module imported counts in the page's start-up.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ._audio_devices import AudioDeviceMethods
from ._config import InstanceSettings
from ._config import check_extra_headers as _check_extra_headers
from ._errors import NotConnectedError, RegistrationError, UnregisterError
from ._handlers import call_handler
from ._lines import CallLine, LineRegistry
from ._media import (
    MediaBackend,
    MediaEventHandler,
    MediaSession,
)
from ._messaging import MessagingMethods
from ._preload import preload_call_modules
from ._presence import PresenceMethods
from ._targets import check_target, normalize_target
from ._transfer import TransferMethods
from ._transport import Transport, TransportFactory
from .sip.auth._client import redact_authorization
from .sip.util._backoff import Backoff
from .sip.syntax._causes import Cause
from .sip.util._record import record
from .sip.ua._registration import (
    Registered,
    RegistrationExpiring,
    RegistrationFailed,
    Unregistered,
    UnregisterFailed,
)
from .sip.ua._ua import MessageRefused, UaConfig, UserAgent
from .sip.syntax._uri import SipUri, Uri

if TYPE_CHECKING:
    from ._calls import Call
    from .sip.session._call import CallSession
    from .sip.session._events import IncomingCall

__all__ = [
    "SipInstance", "CONNECTION_EVENTS", "ConnectingEvent", "ConnectedEvent", "RegisteredEvent", "DisconnectedEvent",
    "ExpiringEvent", "RegistrationFailedEvent", "UnregisteredEvent",
]

log = logging.getLogger("webvoice")

CONNECTION_EVENTS = (
    "connecting", "connected", "disconnected", "registered", "registration_expiring",
    "registration_failed", "unregistered",
)


# Every connection event passes one of these records (see webvoice._handlers:
# a handler may also take no argument).


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


def _redacted(text: str) -> str:
    """A message's text for the log: digest answers replaced, nothing else."""
    lines = text.split("\r\n")
    for i, line in enumerate(lines):
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() in ("authorization", "proxy-authorization"):
            lines[i] = f"{name}: {redact_authorization(value.strip())}"
    return "\r\n".join(lines)


class SipInstance(TransferMethods, AudioDeviceMethods, MessagingMethods, PresenceMethods):
    """A SIP account in a page: connection, registration, calls, lines and devices."""

    _serial = 0
    _media_serial = 0

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
        self._handlers: dict[str, list[Callable]] = {}
        self._transport: Transport | None = None
        self._ever_opened = False  # for ConnectingEvent.reconnecting
        self._connected = False
        self._want_connection = False
        #: ua_config["register"]: register whenever connected, until unregister() is asked.
        self._auto_register = bool(settings.ua.get("register", False))
        self._backoff = Backoff(settings.reconnect)
        self._reconnect_handle: asyncio.TimerHandle | None = None
        self._timer_handle: asyncio.TimerHandle | None = None
        self._timer_deadline: float | None = None  # what _timer_handle is armed for
        self._open_waiters: list[asyncio.Future] = []
        self._register_waiters: list[asyncio.Future] = []
        self._unregister_waiters: list[asyncio.Future] = []
        self._loop_ref: asyncio.AbstractEventLoop | None = None
        self._incoming_handler: Callable | None = None
        self._calls: dict[CallSession, Call] = {}
        self._lines = LineRegistry(settings.line_events)
        # Media ids (and the <audio> elements named after them) are unique in the
        # page even with several instances, whose line ids both start at "1".
        SipInstance._serial += 1
        self._media_prefix = f"i{SipInstance._serial}-"
        self._microphone: str | None = None
        self._speaker: str | None = None
        self._device_handler: Callable | None = None
        self._watching_devices = False
        self._message_handlers: list[Callable] = []  # see MessagingMethods
        self._message_waiters: dict[object, asyncio.Future] = {}
        self._watches: dict = {}  # see PresenceMethods
        self._publish_waiters: list[tuple[str, asyncio.Future]] = []
        if settings.debug:
            _enable_debug_logging()

    def __repr__(self) -> str:
        state = "registered" if self.is_registered() else "connected" if self.is_connected() else "idle"
        return f"<SipInstance {self._settings.user}@{self._settings.domain} via {self._settings.ws_url} {state}>"

    # --- the public API (connection and registration) ------------------------------------

    def on_connection_event(self, handlers: Mapping[str, Callable]) -> Callable[[], None]:
        """Subscribe handlers to connection events; plain functions or ``async def``.

        Each call adds its handlers to those already there (a page and a widget
        may both listen), in order of subscription. Returns a function that
        removes exactly these handlers again.
        """
        if not isinstance(handlers, Mapping):
            raise TypeError("on_connection_event takes a dict of event name to handler")
        for name, handler in handlers.items():
            if name not in CONNECTION_EVENTS:
                raise ValueError(f"unknown connection event {name!r}; known: {', '.join(CONNECTION_EVENTS)}")
            if not callable(handler):
                raise TypeError(f"the handler for {name!r} must be callable")
        added = [(name, handler) for name, handler in handlers.items()]
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

    def is_registered(self) -> bool:
        return self._ua.registration.is_registered

    def get_local_identity(self):
        """Who this instance is: ``Identity(uri="sip:user@domain", display_name)``."""
        from ._calls import Identity

        return Identity(str(self._ua.config.aor), self._ua.config.display_name)

    @property
    def instance_id(self) -> str:
        return self._ua.config.instance_id

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

    async def register(self) -> RegisteredEvent:
        """Register with the server; resolves on 200 OK with the granted expiry.

        Raises :class:`RegistrationError` on a final failure (wrong password
        after the challenge, 403, 404, no answer, connection refused).
        """
        try:
            await self.connect()
        except NotConnectedError as exc:
            raise RegistrationError(str(exc), status_code=None, cause=Cause.CONNECTION_ERROR) from None
        waiter = self._loop.create_future()
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
        """Unregister if registered, then close the connection for good."""
        if self.is_registered():
            try:
                await asyncio.wait_for(self.unregister(), 5.0)
            except (asyncio.TimeoutError, RegistrationError, NotConnectedError):
                pass
        self._want_connection = False
        if self._reconnect_handle is not None:
            self._reconnect_handle.cancel()
            self._reconnect_handle = None
        if self._transport is not None:
            self._transport.close()

    # --- the public API (calls) ---------------------------------------------------------------

    def on_incoming_call(self, handler: Callable) -> None:
        """``handler(incoming)`` for each new call: ``incoming.accept()``, ``.decline()``,
        ``.event.session.remote_identity``; plain or ``async def``."""
        if not callable(handler):
            raise TypeError("on_incoming_call takes a callable")
        self._incoming_handler = handler

    async def call(self, target: str, events: Mapping[str, Callable] | None = None, *,
                   extra_headers: list[str] | None = None) -> Call:
        """Call ``target``: a user (``iñaki``), a number (``+1 555 010 9999``, ``*21#``),
        ``user@host`` or a ``sip:``/``sips:``/``tel:`` URI (see
        :func:`webvoice._targets.normalize_target`). Returns the :class:`Call` once
        the INVITE is on its way; its events tell the rest.

        A bad target, event name or header raises before anything is sent or
        opened. If the start fails (microphone denied, media error, connection
        lost), the call ends with ``failed``, its line and microphone are
        released and the line held for it is resumed; an unexpected error does
        the same, then raises.
        """
        uri = normalize_target(target, self._settings.domain)
        headers = _check_extra_headers(extra_headers if extra_headers is not None
                                       else self._settings.call_options.get("extra_headers"))
        from ._calls import check_call_events

        check_call_events(events)
        return await self._place_call(uri, events, extra_headers=headers)

    async def _place_call(self, uri: Uri, events, extra_headers: tuple = ()) -> Call:
        check_target(uri)
        self._check_free_line()
        if not self._connected:
            await self.connect()  # NotConnectedError: nothing was made
        from ._calls import Call

        held = await self._hold_active()
        self._check_free_line()  # another call may have started meanwhile
        call = Call(self, self._lines.new_id(), "outgoing", events)
        call._remote = _identity_of_uri(uri)
        call._extra_headers = extra_headers
        self._lines.add(call)
        self._lines.set_active(call.get_line_id())
        try:
            await call._place(uri)
        except BaseException as exc:
            call._abandon(exc)
            if held is not None:
                self._spawn_resume(held, call)
            raise
        if call.is_ended() and held is not None:
            await self._resume_held(held, call)
        return call

    def _check_free_line(self) -> None:
        if not self.can_add_line():
            limit = self._settings.max_lines
            raise RuntimeError(f"no free line: all {limit} lines are in use (max_lines={limit})")

    async def _resume_held(self, held: Call, failed: Call) -> None:
        """Resume ``held``, put on hold for ``failed`` which could not start, unless the
        application has moved on (another line active, ``held`` ended or resumed)."""
        if self._lines.active not in (None, failed.get_line_id()) or not self._lines.holds(held):
            return
        if held.is_ended() or not held.is_on_hold().local:
            return
        try:
            resumed = await held.unhold()
        except Exception:  # noqa: BLE001  (the failed call's outcome stands; say why here)
            log.exception("webvoice: line %s could not be resumed", held.get_line_id())
            return
        if resumed and self._lines.active is None:
            self._lines.set_active(held.get_line_id())

    def _spawn_resume(self, held: Call, failed: Call) -> None:
        task = self._loop.create_task(self._resume_held(held, failed))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    def terminate_sessions(self) -> None:
        """Hang up every call."""
        for call in self._lines.calls():
            call.terminate()

    # --- the public API (lines) ---------------------------------------------------------------

    def get_call_lines(self) -> list[CallLine]:
        """Every line, in order of creation."""
        return self._lines.lines()

    def get_current_line(self) -> CallLine | None:
        """The active line, or None."""
        active = self._lines.active
        return None if active is None else self._lines.snapshot(self._lines.get(active))

    def get_line(self, line_id: str) -> Call:
        """The :class:`Call` on line ``line_id`` (raises LineNotFoundError)."""
        return self._lines.get(line_id)

    def find_line_by_target(self, target: str) -> CallLine | None:
        """The line talking to ``target`` (``sip:bob@x``, ``bob`` and
        ``sip:bob@x;transport=ws`` all name the same party), or None."""
        return self._lines.find(normalize_target(target, self._settings.domain))

    def can_add_line(self) -> bool:
        limit = self._settings.max_lines
        return limit is None or len(self._lines) < limit

    def terminate_line(self, line_id: str) -> None:
        self._lines.get(line_id).terminate()

    async def switch_line(self, line_id: str) -> None:
        """Hold the active line, resume ``line_id``, and only then make it the active line.
        If ``line_id`` cannot be resumed, the line held for it is resumed again
        (it stays the active line) and RuntimeError is raised."""
        call = self._lines.get(line_id)
        if call.is_ended():
            raise RuntimeError(f"line {line_id} has ended")
        if self._lines.active == call.get_line_id():
            return
        held = await self._hold_active()
        if call.is_on_hold().local:
            if not await call.unhold():
                if held is not None and self._lines.holds(held) and not held.is_ended():
                    await held.unhold()
                raise RuntimeError(f"line {line_id} could not be resumed")
        self._lines.set_active(call.get_line_id())

    async def _hold_active(self) -> Call | None:
        """Hold the active line; the call put on hold, or None."""
        active = self._lines.active
        if active is None or active not in self._lines:
            return None
        current = self._lines.get(active)
        if current.is_established() and not current.is_on_hold().local:
            if await current.hold():
                return current
        return None

    # --- for Call objects ------------------------------------------------------------------------

    def _current_line_id(self) -> str | None:
        return self._lines.active

    def _is_current(self, call: Call) -> bool:
        return self._lines.active == call.get_line_id() and self._lines.holds(call)

    def _line_changed(self, call: Call) -> None:
        self._lines.changed(call)

    def _aor(self) -> SipUri:
        return self._ua.config.aor

    def _display_name(self) -> str | None:
        return self._ua.config.display_name

    def _run_core(self, action: Callable[[float], None]) -> None:
        """Run an action on the core now, then send and deliver what it produced."""
        action(self._now())
        self._pump()

    def _start_core_call(self, call: Call, target: Uri, offer: str) -> CallSession:
        """Send the INVITE. Raises NotConnectedError when the connection is down,
        RuntimeError when the core has no free call."""
        if not self._connected:
            raise NotConnectedError(f"not connected to {self._settings.ws_url}")
        headers = (*call._extra_headers, *self._session_timer_headers())
        session = self._ua.call(target, offer, self._now(), headers=headers)
        call.core = session
        self._calls[session] = call
        self._pump()
        return session

    def _media(self) -> MediaBackend:
        backend = self._media_backend
        if backend is None:
            from .browser import default_media_backend

            backend = self._media_backend = default_media_backend()
        elif callable(backend) and not hasattr(backend, "open_session"):
            backend = self._media_backend = backend()
        return backend

    def _session_timer_headers(self) -> tuple[tuple[str, str], ...]:
        """``call_options["session_timers_expires"]``: the interval we ask for (RFC 4028 7.1)."""
        expires = self._settings.call_options.get("session_timers_expires")
        return () if expires is None else (("Session-Expires", str(expires)),)

    async def _open_media(self, line_id: str, on_event: MediaEventHandler) -> MediaSession:
        """A media session for a call on ``line_id``, named uniquely in the page (a
        line's number is reused once its call has ended)."""
        options = self._settings.call_options
        SipInstance._media_serial += 1
        # Passed only when given, so a backend written before these options keeps working.
        extra = {key: dict(options[key]) for key in ("pc_config", "offer_constraints") if key in options}
        audio = options.get("media_constraints", {"audio": True})["audio"]
        return await self._media().open_session(
            f"{self._media_prefix}{line_id}-{SipInstance._media_serial}",
            ice_servers=list(self._settings.stun_servers),
            constraints=dict(audio) if isinstance(audio, Mapping) else {},
            microphone=self._microphone, speaker=self._speaker,
            on_event=on_event, **extra,
        )

    async def _accept_incoming(self, call: Call, offer: str | None) -> None:
        """Answer ``call``; if answering fails (microphone denied, media error),
        the line held for it is resumed, as for a call we place."""
        held = None
        if self._lines.active != call.get_line_id():
            held = await self._hold_active()
            self._lines.set_active(call.get_line_id())
        try:
            await call._answer(offer)
        except BaseException as exc:
            call._abandon(exc)
            if held is not None:
                self._spawn_resume(held, call)
            raise
        if call.is_ended() and held is not None:
            await self._resume_held(held, call)

    def _call_finished(self, call: Call) -> None:
        self._lines.remove(call)
        if call.core is not None:
            self._calls.pop(call.core, None)

    # --- transport callbacks ---------------------------------------------------------------

    def on_open(self) -> None:
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

    def on_data(self, data: bytes) -> None:
        if self._settings.debug:
            log.debug("received from %s:\n%s", self._settings.ws_url, _redacted(data.decode("utf-8", "replace")))
        try:
            self._ua.receive_data(data, self._now())
        except Exception:  # the core must never take the page down; say so loudly
            log.exception("webvoice: internal error while handling a message from the server")
        self._pump()

    def on_close(self, code: int, reason: str) -> None:
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

    def _open(self) -> None:
        self._emit("connecting", ConnectingEvent(self._settings.ws_url, self._ever_opened))
        self._ever_opened = True
        self._backoff.attempt(self._now())
        self._transport = self._transport_factory(self._settings.ws_url, self)
        try:
            self._transport.open()
        except Exception as exc:  # e.g. a URL the browser refuses outright
            log.warning("webvoice: cannot open %s: %s", self._settings.ws_url, exc)
            self._transport = None
            self.on_close(1006, str(exc))

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

    def _pump(self) -> None:
        """Send what the core produced, deliver its events, re-arm its timer."""
        transport = self._transport
        for item in self._ua.outgoing():
            data = item if isinstance(item, bytes) else bytes(item)
            if self._settings.debug and not isinstance(item, bytes):
                log.debug("sending to %s:\n%s", self._settings.ws_url, _redacted(str(item)))
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
            for waiter in self._take(self._register_waiters) + self._take(self._unregister_waiters):
                waiter.set_exception(error)
            self._emit("registration_failed", RegistrationFailedEvent(
                event.status_code, event.cause, event.reason, event.retrying))
        elif isinstance(event, UnregisterFailed):
            error = UnregisterError(
                f"unregister not confirmed: {event.reason or event.cause}", status_code=event.status_code,
                cause=event.cause, still_registered=event.still_registered)
            for waiter in self._take(self._unregister_waiters):
                waiter.set_exception(error)
        elif isinstance(event, Unregistered):
            for waiter in self._take(self._unregister_waiters):
                if event.cause is None:  # the registrar confirmed
                    waiter.set_result(None)
                else:
                    waiter.set_exception(UnregisterError(
                        f"registration lost: {event.cause}", status_code=None, cause=event.cause,
                        still_registered=False))
            for waiter in self._take(self._register_waiters):
                waiter.set_exception(RegistrationError(
                    "registration lost", status_code=None, cause=event.cause or Cause.TERMINATED))
            self._emit("unregistered", UnregisteredEvent(event.cause))
        elif isinstance(event, RegistrationExpiring):
            self._emit("registration_expiring", ExpiringEvent(max(0.0, event.expires_at - self._now())))
        elif isinstance(event, MessageRefused):
            log.warning("webvoice: refused a message from the server: %s", event.reason)
        elif self._deliver_message_event(event) or self._deliver_subscription_event(event):
            pass
        elif (call := self._calls.get(getattr(event, "session", None))) is not None:
            call._on_core_event(event)
        else:
            from .sip.session._events import (
                IncomingCall,  # loaded: a session made this event
            )

            if isinstance(event, IncomingCall):
                self._on_incoming(event)

    def _on_incoming(self, event: IncomingCall) -> None:
        core = event.session
        if self._incoming_handler is None and event.replaces is None:
            core.reject(480, self._now())
            return
        from ._calls import Call, IncomingCallRequest

        call = Call(self, self._lines.new_id(), "incoming")
        call.core = core
        call._remote = _identity(core.remote_identity)
        call._local = _identity(core.local_identity)
        call._status = "ringing"
        self._calls[core] = call
        self._lines.add(call)
        request = IncomingCallRequest(call, event.offer, event.request)
        old = self._calls.get(event.replaces) if event.replaces is not None else None
        if old is not None:
            # RFC 3891: the new call takes the old one's place, without asking again.
            was_active = self._lines.active == old.get_line_id()
            from ._calls import ReplacesEvent

            old._emit("replaces", ReplacesEvent(call))
            request.accept()
            self._run_core(lambda now: old.core.replace_by(now))
            if was_active:
                self._lines.set_active(call.get_line_id())
            return
        call_handler(self._incoming_handler, request, what="the incoming-call handler")

    @staticmethod
    def _take(waiters: list[asyncio.Future]) -> list[asyncio.Future]:
        out = [w for w in waiters if not w.done()]
        waiters.clear()
        return out

    def _emit(self, name: str, event: object) -> None:
        for handler in tuple(self._handlers.get(name, ())):  # a handler may unsubscribe
            call_handler(handler, event, what=f"the {name!r} connection handler")


def _identity(name_addr):
    from ._calls import Identity

    return Identity.of(name_addr)


def _identity_of_uri(uri):
    from ._calls import Identity

    return Identity(str(uri))


def _enable_debug_logging() -> None:
    """``debug=True``: log SIP traffic at DEBUG on logger ``webvoice``, with a handler
    if the application configured none (in a browser, stderr is the console)."""
    log.setLevel(logging.DEBUG)
    if not any(not isinstance(h, logging.NullHandler) for h in log.handlers) and not logging.getLogger().handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        log.addHandler(handler)
