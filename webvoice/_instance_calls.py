"""Calls and lines as the instance offers them: placing, answering, switching.

A mixin of :class:`webvoice._instance.SipInstance` (as transfers, devices,
messages and presence are), kept apart because it is the call-centre agent's
side of the API: ``call()``, ``on_incoming_call()``, the lines, and what a
:class:`~webvoice._calls.Call` asks of its instance
(:class:`~webvoice._call_host.CallHost`). The call modules are imported on
first use (see :mod:`webvoice._preload`).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, cast

from ._config import check_extra_headers as _check_extra_headers
from ._errors import NotConnectedError
from ._handlers import call_handler
from ._instance_base import InstanceBase
from ._lines import CallLine
from ._media import MediaBackend, MediaEventHandler, MediaSession
from ._targets import check_target, normalize_target
from .sip import Uri

if TYPE_CHECKING:
    from ._calls import Call
    from .sip import CallSession, IncomingCall, ReferReceived

__all__ = ["CallMethods"]

log = logging.getLogger("webvoice")

# Media ids (and the <audio> elements named after them) are unique in the page:
# a line's number is reused once its call has ended, this serial never is.
_MEDIA_SERIALS = itertools.count(1)


class CallMethods(InstanceBase):
    """``call``, ``on_incoming_call``, the lines API and the instance side of each call
    (mixed into SipInstance, which owns the core, the connection and these attributes)."""

    _incoming_handler: Callable[..., Any] | None
    _media_backend: MediaBackend | Callable[[], MediaBackend] | None
    _media_prefix: str
    _microphone: str | None
    _speaker: str | None


    # --- the public API (calls) ---------------------------------------------------------------

    def on_incoming_call(self, handler: Callable[..., Any]) -> None:
        """``handler(incoming)`` for each new call: ``incoming.accept()``, ``.decline()``,
        ``.event.session.remote_identity``; plain or ``async def``."""
        if not callable(handler):
            raise TypeError("on_incoming_call takes a callable")
        self._incoming_handler = handler

    async def call(self, target: str, events: Mapping[str, Any] | None = None, *,
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
        from ._call_event_records import check_call_events

        check_call_events(events)
        return await self._place_call(uri, events, extra_headers=headers)

    async def _place_call(self, uri: Uri, events: Mapping[str, Any] | None,
                          extra_headers: tuple[tuple[str, str], ...] = ()) -> Call:
        check_target(uri)
        self._check_free_line()
        if not self._connected:
            await self.connect()  # NotConnectedError: nothing was made
        from ._calls import Call

        held = await self._hold_active()
        self._check_free_line()  # another call may have started meanwhile
        call = Call(self, self._lines.new_id(), "outgoing", events)
        call._target = uri
        call._extra_headers = extra_headers
        self._lines.add(call)
        self._lines.set_active(call.get_line_id())
        await self._start_on_line(call, call._place(uri), held)
        return call

    async def _start_on_line(self, call: Call, start: Coroutine[Any, Any, None], held: Call | None) -> None:
        """Run ``start`` (placing or answering ``call``), for which the active line
        ``held`` was put on hold. If the start fails, the call ends as failed (its
        line and microphone released) and ``held`` is resumed; an unexpected
        error does the same, then is raised."""
        try:
            await start
        except BaseException as exc:
            call._abandon(exc)
            if held is not None:
                self._spawn_resume(held, call)
            raise
        if call.is_ended() and held is not None:
            await self._resume_held(held, call)

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

    # --- for Call objects (see webvoice._call_host.CallHost) ---------------------------------------

    def _current_line_id(self) -> str | None:
        return self._lines.active

    def _is_current(self, call: Call) -> bool:
        return self._lines.active == call.get_line_id() and self._lines.holds(call)

    def _line_changed(self, call: Call) -> None:
        self._lines.changed(call)

    def _refer_received(self, call: Call, event: ReferReceived) -> None:
        from ._call_requests import receive_refer

        receive_refer(call, event)

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

            backend = default_media_backend()
        elif callable(backend) and not hasattr(backend, "open_session"):  # a factory: make it now
            backend = backend()
        self._media_backend = backend
        return cast(MediaBackend, backend)

    def _session_timer_headers(self) -> tuple[tuple[str, str], ...]:
        """``call_options["session_timers_expires"]``: the interval we ask for (RFC 4028 7.1)."""
        expires = self._settings.call_options.get("session_timers_expires")
        return () if expires is None else (("Session-Expires", str(expires)),)

    async def _open_media(self, line_id: str, on_event: MediaEventHandler) -> MediaSession:
        """A media session for a call on ``line_id``, named uniquely in the page (a
        line's number is reused once its call has ended)."""
        options = self._settings.call_options
        serial = next(_MEDIA_SERIALS)
        # Passed only when given, so a backend written before these options keeps working.
        extra = {key: dict(options[key]) for key in ("pc_config", "offer_constraints") if key in options}
        audio = options.get("media_constraints", {"audio": True})["audio"]
        return await self._media().open_session(
            f"{self._media_prefix}{line_id}-{serial}",
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
        await self._start_on_line(call, call._answer(offer), held)

    def _call_finished(self, call: Call) -> None:
        self._lines.remove(call)
        if call.core is not None:
            self._calls.pop(call.core, None)

    def _on_incoming(self, event: IncomingCall) -> None:
        core = event.session
        if self._incoming_handler is None and event.replaces is None:
            core.reject(480, self._now())
            return
        from ._call_event_records import ReplacesEvent
        from ._call_requests import IncomingCallRequest
        from ._calls import Call

        call = Call(self, self._lines.new_id(), "incoming")
        call.core = core
        self._calls[core] = call
        self._lines.add(call)
        request = IncomingCallRequest(call, event.offer, event.request)
        old = self._calls.get(event.replaces) if event.replaces is not None else None
        if old is not None:
            # RFC 3891: the new call takes the old one's place, without asking again.
            was_active = self._lines.active == old.get_line_id()
            old._emit("replaces", ReplacesEvent(call))
            request.accept()
            old_core = old.started_core()
            self._run_core(lambda now: old_core.replace_by(now))
            if was_active:
                self._lines.set_active(call.get_line_id())
            return
        assert self._incoming_handler is not None  # checked above: only a Replaces comes without one
        call_handler(self._incoming_handler, request, what="the incoming-call handler")
