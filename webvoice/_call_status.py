"""What a call says of itself: its handlers and events, its status, its parties and times.

The part of :class:`~webvoice._calls.Call` that reads, and raises events: the
handlers an application added and :meth:`CallStatus._emit`; the status, read
from the core's :class:`~webvoice.sip.CallState` (the call keeps no status
machine of its own); hold and mute as the application sees them; the times,
the parties, the line and the stats. And ``call.session``
(:class:`SessionView`), the JS SDK's session object.

A base class of :class:`~webvoice._calls.Call` that also names, once, the
state the call's parts share (as :mod:`webvoice._instance_base` does for the
instance), for readers and for the type checker; the call sets it.
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Callable, Mapping
from typing import Any

from ._call_event_records import HoldState, Identity, MuteState, check_call_events, event_name, handlers_of
from ._call_host import CallHost
from ._handlers import call_handler
from ._media import MediaSession
from ._media_health import MEDIA_EVENTS
from ._media_recovery import MediaRecovery
from ._offer_answer import OfferAnswer
from .sip import CallSession, CallState, Uri

__all__ = ["CallStatus", "SessionView"]

#: A live call's status, read from the core's state (JsSIP's session statuses).
_STATUS_OF_STATE = {
    CallState.CALLING: "connecting",
    CallState.RINGING: "progress",
    CallState.INCOMING: "ringing",
    CallState.ANSWERED: "ringing",  # 200 sent, the ACK not yet here
    CallState.ESTABLISHED: "confirmed",
}

class CallStatus:
    """A call's events and what it says of itself (see the module doc)."""

    _instance: CallHost[Any]
    _line_id: str
    _direction: str
    _handlers: dict[str, list[Callable[..., Any]]]
    session: SessionView
    core: CallSession | None
    media: MediaSession | None
    _start: datetime.datetime | None
    _end: datetime.datetime | None
    _muted: bool
    _local_hold: bool
    #: "ended" or "failed" once the call is over; until then the status is the core's.
    _outcome: str | None
    _target: Uri | None
    _recovery: MediaRecovery
    _sdp: OfferAnswer

    # --- events ---------------------------------------------------------------------------------

    def add_handlers(self, events: Mapping[str, Any]) -> None:
        """Add handlers: a dict of event name to a handler (or a list of handlers)."""
        check_call_events(events)  # all or nothing
        for name, handler in events.items():
            for one in handlers_of(handler):
                self.on(name, one)

    def _handler_lists(self) -> dict[str, list[Callable[..., Any]]]:
        """A copy of this call's handlers, for a call that takes over from it (a transfer)."""
        return {name: list(handlers) for name, handlers in self._handlers.items()}

    def on(self, name: str, handler: Callable[..., Any]) -> None:
        """Add a handler for a call event (Python or JS name: ``new_dtmf``/``newDTMF``)."""
        name = event_name(name)
        if not callable(handler):
            raise TypeError(f"the handler for {name!r} must be callable")
        self._handlers.setdefault(name, []).append(handler)

    def _emit(self, name: str, event: object) -> list[asyncio.Future[Any]]:
        """Call the handlers of ``name`` with ``event``; returns the tasks of ``async def`` ones."""
        if name in ("progress", "confirmed", "held", "unheld") or name in MEDIA_EVENTS:
            self._instance._line_changed(self)
        if name in ("held", "unheld"):
            self._recovery.hold_changed()
        tasks: list[asyncio.Future[Any]] = []
        for handler in list(self._handlers.get(name, ())):
            task = call_handler(handler, event, what=f"the {name!r} handler of the call on line {self._line_id}")
            if task is not None:
                tasks.append(task)
        return tasks

    # --- state ----------------------------------------------------------------------------------

    def is_on_hold(self) -> HoldState:
        return HoldState(self._local_hold, self.core is not None and self.core.remote_held)

    def is_muted(self) -> MuteState:
        return MuteState(self._muted)

    def is_established(self) -> bool:
        return self.core is not None and self.core.is_established and not self._ended

    def is_ended(self) -> bool:
        return self._outcome is not None

    @property
    def _ended(self) -> bool:
        return self._outcome is not None

    def is_in_progress(self) -> bool:
        return not self._ended and not self.is_established()

    def started_core(self) -> CallSession:
        """The core's call session; RuntimeError before the INVITE went or came."""
        if self.core is None:
            raise RuntimeError(f"the call on line {self._line_id} has not started")
        return self.core

    def _started_media(self) -> MediaSession:
        """The call's media session; RuntimeError before the microphone was opened."""
        if self.media is None:
            raise RuntimeError(f"the call on line {self._line_id} has no media yet")
        return self.media

    def is_ready_to_reoffer(self) -> bool:
        return (self.core is not None and self.core.is_ready_to_reoffer and self.media is not None
                and not self._sdp.reoffering)

    def get_start_time(self) -> datetime.datetime | None:
        return self._start

    def get_end_time(self) -> datetime.datetime | None:
        return self._end

    def get_direction(self) -> str:
        return self._direction

    def get_status(self) -> str:
        """"connecting", "progress" (outgoing, 18x received), "ringing" (incoming),
        "confirmed", then "ended" or "failed": the core's state, in JsSIP's words."""
        if self._outcome is not None:
            return self._outcome
        core = self.core
        if core is None:  # getting the microphone and the offer
            return "connecting" if self._direction == "outgoing" else "ringing"
        if core.state is CallState.TERMINATED:  # its event is on the way
            return "ended" if self._start is not None else "failed"
        return _STATUS_OF_STATE[core.state]

    def get_media_state(self) -> str:
        """Beyond the JS SDK: "new" (media not connected yet), "connected",
        "interrupted" (was connected, now down) or "failed"."""
        return self._recovery.state

    def get_remote_identity(self) -> Identity | None:
        """The other party: the core's (once it has a call), else whom we called."""
        if self.core is not None:
            return Identity.of(self.core.remote_identity)
        return None if self._target is None else Identity(str(self._target))

    def get_local_identity(self) -> Identity | None:
        """Us, as the call's From (outgoing) or To (incoming) says."""
        if self.core is not None:
            return Identity.of(self.core.local_identity)
        return Identity(str(self._instance._aor()), self._instance._display_name())

    def get_connection(self) -> Any:
        return None if self.media is None else self.media.connection()

    def get_line_id(self) -> str:
        return self._line_id

    def is_current_line(self) -> bool:
        return self._instance._is_current(self)

    async def get_stats(self) -> dict[str, Any]:
        """Inbound and outbound RTP figures and the round-trip time, as a plain dict."""
        if self.media is None:
            stats: dict[str, Any] = {"inbound": {}, "outbound": {}, "round_trip_time": None}
        else:
            stats = await self.media.get_stats()
        stats["media"] = self._recovery.health.snapshot()
        return stats


class SessionView:
    """``call.session``: the JS SDK's session object (identities and ``on``)."""

    def __init__(self, call: CallStatus) -> None:
        self._call = call

    @property
    def remote_identity(self) -> Identity | None:
        return self._call.get_remote_identity()

    @property
    def local_identity(self) -> Identity | None:
        return self._call.get_local_identity()

    @property
    def direction(self) -> str:
        return self._call.get_direction()

    def on(self, name: str, handler: Callable[..., Any]) -> None:
        self._call.on(name, handler)

    def connection(self) -> Any:
        return self._call.get_connection()

