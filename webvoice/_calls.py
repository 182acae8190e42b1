"""Calls as applications see them: the JS SDK's session API in Python.

A :class:`Call` joins a core :class:`~webvoice.sip.session._call.CallSession` (SIP) to
a :class:`~webvoice._media.MediaSession` (the browser's WebRTC) and to the
application's event handlers. Methods that need the browser (hold, DTMF,
renegotiation) start the work at once and return an ``asyncio.Task``: await it
to know the outcome, or ignore it as JavaScript code ignores the promise.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import TYPE_CHECKING, Any, Callable, Mapping

from ._call_event_records import (
    CallConnectingEvent,
    ConfirmedEvent,
    IceCandidateEvent,
    MuteEvent,
    ProgressEvent,
    ReplacesEvent,
    SdpEvent,
)
from ._errors import NotConnectedError, TransferError
from ._handlers import call_handler
from ._media_health import MEDIA_EVENTS, MediaHealth, MediaStateEvent
from ._quality import QualityMonitor
from ._media import DTMF_TIMING, DTMF_TONES, MediaError, MediaPermissionError, MediaSession
from ._refer_policy import DEFAULT_REFER_POLICY, is_number, policy_allows
from ._targets import check_target, normalize_target, refer_target
from .sip.session._call import CallSession, CallState
from .sip.session._events import (
    CallConfirmed,
    CallEnded,
    CallFailed,
    CallProgress,
    DtmfReceived,
    InfoReceived,
    ReferProgress,
    ReferReceived,
    RemoteAnswer,
    RemoteHold,
    RemoteOffer,
    ReofferAnswered,
    ReofferFailed,
)
from .sip.syntax._causes import Cause
from .sip.syntax._header_values import NameAddr
from .sip.util._record import record
from .sip.syntax._uri import SipUri, TelUri, Uri

if TYPE_CHECKING:
    from ._instance import SipInstance

__all__ = [
    "Call", "IncomingCallRequest", "ReferRequest", "CALL_EVENTS", "Identity", "EndEvent", "DtmfEvent",
    "CallConnectingEvent", "ProgressEvent", "ConfirmedEvent", "HoldEvent", "MuteEvent", "ReplacesEvent",
    "IceCandidateEvent", "SdpEvent",
]

log = logging.getLogger("webvoice")

#: Seconds media may take to connect after the answer (``ua_config["media_timeout"]``).
MEDIA_TIMEOUT = 10.0
#: ICE restarts tried after media is interrupted (``ua_config["ice_restart_attempts"]``).
ICE_RESTART_ATTEMPTS = 5
#: Seconds before each ICE restart: the first lets a brief outage heal by itself; then
#: doubling, at most ICE_RESTART_MAX_DELAY. The answering side starts later, so both
#: ends rarely re-offer at once (a 491 glare is retried as any failed attempt).
ICE_RESTART_FIRST_DELAY = {"outgoing": 1.0, "incoming": 3.0}
ICE_RESTART_MAX_DELAY = 8.0
#: Seconds between the stats samples of quality warnings (``ua_config["quality_warnings"]``).
QUALITY_INTERVAL = 1.0
#: Seconds a restart's answered offer gets to bring media back before the next try.
ICE_RESTART_SETTLE = 3.0

CALL_EVENTS = (
    "connecting", "progress", "confirmed", "ended", "failed", "muted", "unmuted", "held", "unheld",
    "new_dtmf", "refer", "replaces", "icecandidate", "sdp", "message", *MEDIA_EVENTS,
    "warning", "warning_cleared",
)
# JavaScript spellings accepted too, so code ported from the JS SDK keeps working.
_JS_NAMES = {"newDTMF": "new_dtmf"}
# How long an ``async def`` refer handler may take to accept or reject before
# refer_policy decides (the transferor's REFER transaction times out at 32 s).
REFER_DECISION_TIMEOUT = 10.0


@record
class Identity:
    """A party of a call: ``uri`` (a string, as JsSIP's ``uri.toString()``) and ``display_name``."""

    uri: str
    display_name: str | None = None

    @classmethod
    def of(cls, name_addr: NameAddr | None) -> "Identity | None":
        return None if name_addr is None else cls(str(name_addr.uri), name_addr.display_name)

    def __str__(self) -> str:
        return self.uri if not self.display_name else f'"{self.display_name}" <{self.uri}>'


@record
class EndEvent:
    """What ``ended`` and ``failed`` handlers get."""

    cause: str
    originator: str
    status_code: int | None = None
    reason: str = ""


@record
class DtmfEvent:
    """What ``new_dtmf`` handlers get (JS: ``event.dtmf.tone``, ``.duration``)."""

    tone: str
    duration: int
    originator: str = "remote"

    @property
    def dtmf(self) -> "DtmfEvent":  # JS code reads event.dtmf.tone
        return self


@record
class HoldEvent:
    """What ``held`` / ``unheld`` handlers get: who put the call on hold ("local" or "remote")."""

    originator: str


@record
class HoldState:
    """``is_on_hold()``: who holds the call; true when anyone does."""

    local: bool
    remote: bool

    def __bool__(self) -> bool:
        return self.local or self.remote


@record
class MuteState:
    """``is_muted()``: JS returns ``{audio, video}``; true when audio is muted."""

    audio: bool
    video: bool = False

    def __bool__(self) -> bool:
        return self.audio


def check_call_events(events: Mapping[str, Callable] | None) -> None:
    """Raise TypeError/ValueError for a bad ``events`` dict (name to a handler or a
    list of handlers), before a call starts."""
    if events is None:
        return
    if not isinstance(events, Mapping):
        raise TypeError("call events are a dict of event name to handler")
    for name, handler in events.items():
        if _JS_NAMES.get(name, name) not in CALL_EVENTS:
            raise ValueError(f"unknown call event {name!r}; known: {', '.join(CALL_EVENTS)}")
        for one in handler if isinstance(handler, (list, tuple)) else (handler,):
            if not callable(one):
                raise TypeError(f"the handler for {name!r} must be callable")


class Call:
    """One call (the JS SDK's RTCSession wrapper)."""

    def __init__(self, instance: "SipInstance", line_id: str, direction: str,
                 events: Mapping[str, Callable] | None = None) -> None:
        self._instance = instance
        self._line_id = line_id
        self._direction = direction
        self._handlers: dict[str, list[Callable]] = {}
        self.session = _SessionView(self)
        self.core: CallSession | None = None
        self.media: MediaSession | None = None
        self._start: datetime.datetime | None = None
        self._end: datetime.datetime | None = None
        self._muted = False
        self._local_hold = False
        self._remote_hold = False
        self._ended = False
        self._status = "connecting"
        self._reoffer_waiter: asyncio.Future | None = None
        self._remote_answer_pending = False
        self._early_applied: str | None = None
        self._tasks: set[asyncio.Task] = set()
        self._remote: Identity | None = None
        self._local: Identity | None = None
        self._refer_waiter: asyncio.Future | None = None
        self._extra_headers: tuple = ()  # e.g. Replaces, when following a transfer
        self._health = MediaHealth()
        self._watchdog: asyncio.TimerHandle | None = None
        self._end_cause: str | None = None  # set when webvoice itself hangs up for a reason
        self._restarting: asyncio.Task | None = None
        self._restart_now = False  # the WebSocket came back: skip the current backoff wait
        self._quality: asyncio.Task | None = None
        if events:
            self.add_handlers(events)

    def __repr__(self) -> str:
        return f"<Call line={self._line_id} {self._direction} {self._status} remote={self._remote}>"

    # --- events ---------------------------------------------------------------------------------

    def add_handlers(self, events: Mapping[str, Callable]) -> None:
        """Add handlers: a dict of event name to a handler (or a list of handlers)."""
        check_call_events(events)  # all or nothing
        for name, handler in events.items():
            for one in handler if isinstance(handler, (list, tuple)) else (handler,):
                self.on(name, one)

    def _handler_lists(self) -> dict[str, list[Callable]]:
        """A copy of this call's handlers, for a call that takes over from it (a transfer)."""
        return {name: list(handlers) for name, handlers in self._handlers.items()}

    def on(self, name: str, handler: Callable) -> None:
        """Add a handler for a call event (Python or JS name: ``new_dtmf``/``newDTMF``)."""
        name = _JS_NAMES.get(name, name)
        if name not in CALL_EVENTS:
            raise ValueError(f"unknown call event {name!r}; known: {', '.join(CALL_EVENTS)}")
        if not callable(handler):
            raise TypeError(f"the handler for {name!r} must be callable")
        self._handlers.setdefault(name, []).append(handler)

    def _emit(self, name: str, event: object) -> list[asyncio.Future]:
        """Call the handlers of ``name`` with ``event``; returns the tasks of ``async def`` ones."""
        if name in ("progress", "confirmed", "held", "unheld") or name in MEDIA_EVENTS:
            self._instance._line_changed(self)
        tasks = []
        for handler in list(self._handlers.get(name, ())):
            task = call_handler(handler, event, what=f"the {name!r} handler of the call on line {self._line_id}")
            if task is not None:
                tasks.append(task)
        return tasks

    # --- state ----------------------------------------------------------------------------------

    def is_on_hold(self) -> HoldState:
        return HoldState(self._local_hold, self._remote_hold)

    def is_muted(self) -> MuteState:
        return MuteState(self._muted)

    def is_established(self) -> bool:
        return self.core is not None and self.core.is_established and not self._ended

    def is_ended(self) -> bool:
        return self._ended

    def is_in_progress(self) -> bool:
        return not self._ended and not self.is_established()

    def is_ready_to_reoffer(self) -> bool:
        return (self.core is not None and self.core.is_ready_to_reoffer and self.media is not None
                and self._reoffer_waiter is None)

    def get_start_time(self) -> datetime.datetime | None:
        return self._start

    def get_end_time(self) -> datetime.datetime | None:
        return self._end

    def get_direction(self) -> str:
        return self._direction

    def get_status(self) -> str:
        return self._status

    def get_media_state(self) -> str:
        """Beyond the JS SDK: "new" (media not connected yet), "connected",
        "interrupted" (was connected, now down) or "failed"."""
        return self._health.state

    def get_remote_identity(self) -> Identity | None:
        return self._remote

    def get_local_identity(self) -> Identity | None:
        return self._local

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
        stats["media"] = self._health.snapshot()
        return stats

    # --- controls -----------------------------------------------------------------------------------

    def mute(self) -> bool:
        """Stop sending microphone audio; ``muted`` fires once (idempotent)."""
        if self._muted or self._ended:
            return False
        self._muted = True
        if self.media is not None:
            self.media.set_muted(True)
        self._emit("muted", MuteEvent())
        return True

    def unmute(self) -> bool:
        if not self._muted or self._ended:
            return False
        self._muted = False
        if self.media is not None:
            self.media.set_muted(False)
        self._emit("unmuted", MuteEvent())
        return True

    def mute_with_constraints(self, constraints: Mapping[str, Any] | None = None) -> bool:
        """JS ``muteWithConstraints({audio: true})``: audio is all webvoice carries."""
        if constraints is not None and not isinstance(constraints, Mapping):
            raise TypeError("constraints must be a dict such as {'audio': True}")
        return self.mute() if (constraints or {"audio": True}).get("audio", False) else False

    def unmute_with_constraints(self, constraints: Mapping[str, Any] | None = None) -> bool:
        if constraints is not None and not isinstance(constraints, Mapping):
            raise TypeError("constraints must be a dict such as {'audio': True}")
        return self.unmute() if (constraints or {"audio": True}).get("audio", False) else False

    def hold(self) -> asyncio.Task:
        """Put the call on hold by re-INVITE with ``a=sendonly``; resolves to True when held."""
        return self._spawn(self._set_hold(True, use_update=False))

    def unhold(self) -> asyncio.Task:
        return self._spawn(self._set_hold(False, use_update=False))

    def hold_with_options(self, options: Mapping[str, Any] | None = None, done: Callable | None = None) -> asyncio.Task:
        """JS ``holdWithOptions({useUpdate}, done)``: ``{"use_update": True}`` holds by UPDATE."""
        return self._spawn(self._set_hold(True, use_update=_use_update(options)), done)

    def unhold_with_options(self, options: Mapping[str, Any] | None = None, done: Callable | None = None) -> asyncio.Task:
        return self._spawn(self._set_hold(False, use_update=_use_update(options)), done)

    def renegotiate(self, *, ice_restart: bool = False, use_update: bool = False) -> asyncio.Task:
        """Send a fresh offer (e.g. after a network change); resolves to True when answered."""
        return self._spawn(self._reoffer(use_update=use_update, ice_restart=ice_restart))

    def reset_local_media(self) -> asyncio.Task:
        """Capture the microphone again (same constraints) and send from it."""
        return self._spawn(self._reset_local_media())

    async def send_message(self, text: str, content_type: str = "text/plain") -> int:
        """An instant message in this call (RFC 3428; beyond the JS SDK). The peer's
        come as the ``message`` event; errors as for ``SipInstance.send_message``."""
        return await self._instance._send_message_in_call(self, text, content_type)

    def send_dtmf(self, tones: str, duration: int = 100, inter_tone_gap: int = 70,
                  transport_type: str = "RFC2833") -> asyncio.Task:
        """Send DTMF: RFC 4733 events through the browser ("RFC2833") or SIP INFO ("INFO").

        ``tones`` is 0-9, A-D, * and #, with ``,`` for a two-second pause. Bad
        arguments raise ValueError at once.
        """
        if not isinstance(tones, str) or not tones or not set(tones) <= DTMF_TONES:
            raise ValueError(f"DTMF tones are 0-9, A-D, *, # and ',' only, not {tones!r}")
        limits = DTMF_TIMING
        for name, value, low, high in (("duration", duration, limits.min_duration_ms, limits.max_duration_ms),
                                       ("inter_tone_gap", inter_tone_gap, limits.min_gap_ms, limits.max_duration_ms)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer number of ms in {low}..{high}, not {value!r}")
        if transport_type not in ("RFC2833", "INFO"):
            raise ValueError(f"transport_type must be 'RFC2833' or 'INFO', not {transport_type!r}")
        if not self.is_established():
            raise RuntimeError(f"DTMF needs an established call; this one is {self._status}")
        return self._spawn(self._send_dtmf(tones.upper(), duration, inter_tone_gap, transport_type))

    def refer(self, target: str | Uri) -> asyncio.Task:
        """Ask the other party to call ``target`` (REFER, RFC 3515). The task resolves
        to the final status the new call reached, or raises TransferError."""
        uri = check_target(target) if isinstance(target, (SipUri, TelUri)) else normalize_target(
            target, self._instance._settings.domain)
        if not self.is_established():
            raise RuntimeError(f"a transfer needs an established call; this one is {self._status}")
        return self._spawn(self._refer(NameAddr(uri)))

    async def _refer(self, refer_to: NameAddr) -> int:
        if self._refer_waiter is not None:
            raise RuntimeError("a transfer is already in progress on this call")
        self._refer_waiter = asyncio.get_running_loop().create_future()
        waiter = self._refer_waiter
        try:
            self._instance._run_core(lambda now: self.core.refer(refer_to, now))
            progress: ReferProgress = await waiter
        finally:
            self._refer_waiter = None
        if progress.status_code >= 300 or progress.refused:
            raise TransferError(f"transfer failed: {progress.status_code} {progress.reason}".strip(),
                                status_code=progress.status_code, reason=progress.reason)
        return progress.status_code

    def terminate(self) -> None:
        """Hang up: CANCEL before an answer, BYE after, 486 for an unanswered incoming call."""
        if self._ended:
            return
        if self.core is None:  # still getting the microphone or the offer
            self._finish("failed", EndEvent(Cause.CANCELED, "local"))
            return
        self._instance._run_core(lambda now: self.core.terminate(now))

    # --- outgoing -------------------------------------------------------------------------------------

    async def _place(self, target: Uri) -> None:
        self._local = Identity(str(self._instance._aor()), self._instance._display_name())
        self._emit("connecting", CallConnectingEvent())
        if not await self._open_media():
            return
        try:
            offer = await self.media.create_offer()
        except MediaError as exc:
            self._finish("failed", EndEvent(Cause.WEBRTC_ERROR, "local", reason=str(exc)))
            return
        if self._ended:  # terminated while the offer was being made
            return
        self._emit("sdp", SdpEvent("local", "offer", offer))
        try:
            self._instance._start_core_call(self, target, offer)
        except NotConnectedError as exc:
            self._finish("failed", EndEvent(Cause.CONNECTION_ERROR, "local", reason=str(exc)))

    def _abandon(self, error: BaseException) -> None:
        """The start failed with an unexpected error: end the call as failed, so its
        media (the microphone) is released and its line freed, then the caller raises."""
        if self._ended:
            return
        if self.core is not None and not self.core.is_ended:
            try:
                self._instance._run_core(lambda now: self.core.terminate(now))
            except Exception:  # noqa: BLE001  (already failing; the original error is raised)
                log.exception("webvoice: could not end the call on line %s", self._line_id)
        if isinstance(error, asyncio.CancelledError):
            cause = Cause.CANCELED
        elif isinstance(error, ConnectionError):
            cause = Cause.CONNECTION_ERROR
        elif isinstance(error, MediaPermissionError):
            cause = Cause.USER_DENIED_MEDIA_ACCESS
        elif isinstance(error, MediaError):
            cause = Cause.WEBRTC_ERROR
        else:
            cause = Cause.INTERNAL_ERROR
        self._finish("failed", EndEvent(cause, "local", reason=str(error) or type(error).__name__))

    async def _open_media(self) -> bool:
        try:
            self.media = await self._instance._open_media(self._line_id, self._on_media_event)
        except MediaPermissionError as exc:
            self._finish("failed", EndEvent(Cause.USER_DENIED_MEDIA_ACCESS, "local", reason=str(exc)))
            return False
        except MediaError as exc:
            self._finish("failed", EndEvent(Cause.WEBRTC_ERROR, "local", reason=str(exc)))
            return False
        if self._ended:
            self.media.close()
            return False
        return True

    # --- incoming -------------------------------------------------------------------------------------

    async def _answer(self, offer: str | None) -> None:
        if not await self._open_media():
            if not self.core.is_ended:
                self._instance._run_core(lambda now: self.core.reject(
                    488 if self._status == "failed" else 480, now, cause=Cause.USER_DENIED_MEDIA_ACCESS))
            return
        try:
            if offer is not None:
                self._emit("sdp", SdpEvent("remote", "offer", offer))
                sdp = await self.media.create_answer(offer)
                kind = "answer"
            else:
                sdp = await self.media.create_offer()
                kind = "offer"
        except MediaError as exc:
            self._instance._run_core(lambda now: self.core.reject(488, now, cause=Cause.WEBRTC_ERROR))
            self._finish("failed", EndEvent(Cause.WEBRTC_ERROR, "local", 488, str(exc)))
            return
        if self.core.state is not CallState.INCOMING:  # cancelled meanwhile
            return
        self._emit("sdp", SdpEvent("local", kind, sdp))
        self._remote_answer_pending = offer is None
        self._instance._run_core(lambda now: self.core.accept(sdp, now))

    # --- from the core ----------------------------------------------------------------------------------

    def _on_core_event(self, event: object) -> None:
        if isinstance(event, CallProgress):
            self._status = "progress"
            self._emit("progress", ProgressEvent("remote", event.response.status_code, event.response.reason or "",
                                                 event.sdp is not None, event.response))
            if self.media is not None and self._direction == "outgoing" and (
                    event.sdp is not None or event.response.status_code == 180):
                self._ringback(event.sdp is None)  # a 183 without SDP changes nothing
            if event.sdp is not None and self.media is not None:
                self._early_applied = event.sdp
                self._emit("sdp", SdpEvent("remote", "pranswer", event.sdp))
                self._spawn(self._apply_answer(event.sdp, provisional=True))
        elif isinstance(event, CallConfirmed):
            self._status = "confirmed"
            if self.media is not None:
                self._ringback(False)
            self._start = datetime.datetime.now(datetime.timezone.utc)
            if self._direction == "outgoing" and self.media is not None:
                sdp = event.sdp or self._early_applied
                if sdp is not None:
                    self._emit("sdp", SdpEvent("remote", "answer", sdp))
                    self._spawn(self._apply_answer(sdp))
            elif self._remote_answer_pending and event.sdp is not None:
                self._remote_answer_pending = False
                self._spawn(self._apply_answer(event.sdp))
            self._remote = Identity.of(self.core.remote_identity) or self._remote
            self._emit("confirmed", ConfirmedEvent("remote" if self._direction == "outgoing" else "local"))
            self._arm_watchdog()
        elif isinstance(event, CallFailed):
            self._finish("failed", EndEvent(event.cause, event.originator, event.status_code, event.reason))
        elif isinstance(event, CallEnded):
            cause = self._end_cause if self._end_cause and event.originator == "local" else event.cause
            self._finish("ended", EndEvent(cause, event.originator, event.status_code))
        elif isinstance(event, RemoteHold):
            self._remote_hold = event.held
            self._emit("held" if event.held else "unheld", HoldEvent("remote"))
        elif isinstance(event, RemoteOffer):
            self._spawn(self._answer_remote_offer(event.sdp))
        elif isinstance(event, RemoteAnswer):
            self._spawn(self._apply_answer(event.sdp))
        elif isinstance(event, (ReofferAnswered, ReofferFailed)):
            waiter, self._reoffer_waiter = self._reoffer_waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_result(event)
        elif isinstance(event, DtmfReceived):
            self._emit("new_dtmf", DtmfEvent(event.tone, event.duration))
        elif isinstance(event, ReferProgress):
            if event.final and self._refer_waiter is not None and not self._refer_waiter.done():
                self._refer_waiter.set_result(event)
        elif isinstance(event, ReferReceived):
            self._on_refer_received(event)
        elif isinstance(event, InfoReceived):
            log.debug("webvoice: INFO %s on line %s", event.content_type, self._line_id)

    def _on_refer_received(self, event: ReferReceived) -> None:
        """The other side asks us to call someone (RFC 3515): only with consent.

        The ``refer`` handlers decide (``request.accept()`` / ``reject()``); an
        ``async def`` handler may take up to REFER_DECISION_TIMEOUT seconds.
        Without a decision, ``ua_config["refer_policy"]`` does (webvoice._refer_policy).
        """
        policy = self._instance._settings.ua.get("refer_policy", DEFAULT_REFER_POLICY)
        request = ReferRequest(self, event)
        if request.invalid is not None:  # never offered to the application, never followed
            log.warning("webvoice: refused a REFER on line %s: %s", self._line_id, request.invalid)
            request.reject(400)
            return
        if policy == "never":
            request.reject(603)
            request.refused_by_policy = True
        tasks = self._emit("refer", request)
        if request.decided:
            return
        if tasks:
            self._spawn(self._decide_refer_later(request, policy, tasks))
        else:
            self._decide_refer(request, policy)

    async def _decide_refer_later(self, request: "ReferRequest", policy: str, tasks: list) -> None:
        await asyncio.wait(tasks, timeout=REFER_DECISION_TIMEOUT)
        self._decide_refer(request, policy)

    def _decide_refer(self, request: "ReferRequest", policy: str) -> None:
        if request.decided or self._ended:
            return
        request.refused_by_policy = not policy_allows(policy, request.target, self._instance._settings.domain)
        if request.refused_by_policy:
            log.info("webvoice: declined a transfer to %s on line %s (refer_policy %r, no accept())",
                     request.target, self._line_id, policy)
            request.reject(603)
        else:
            request.accept()

    def _ringback(self, ringing: bool) -> None:
        """The local ringback tone: on while the peer rings without early media (180 with
        no SDP), off on early media or an answer (closing the media ends it too);
        ``ua_config["ringback"] = False`` turns it off."""
        if ringing and self._instance._settings.ua.get("ringback", True):
            self.media.start_ringback()
        else:
            self.media.stop_ringback()

    def _on_media_event(self, name: str, data: dict) -> None:
        if name == "icecandidate":
            self._emit("icecandidate", IceCandidateEvent(str(data.get("candidate", "")), data.get("sdp_mid")))
        elif name == "connectionstatechange":
            self._media_changed(self._health.update(data.get("state"), data.get("ice")))

    # --- media health (beyond the JS SDK) ------------------------------------------------------------

    def _media_changed(self, change: tuple[str, MediaStateEvent] | None) -> None:
        if change is None or self._ended:
            return
        name, event = change
        if name == "media_failed" or name == "media_interrupted":
            log.warning("webvoice: media of line %s: %s (%s stalled; connection %s, ICE %s)", self._line_id,
                        name, event.cause, event.connection, event.ice)
        self._emit(name, event)
        if name == "media_failed":
            self._media_failed(event)
        elif name == "media_interrupted":
            self._start_ice_restarts()
        elif name == "media_connected":
            self._start_quality_warnings()

    def _start_quality_warnings(self) -> None:
        option = self._instance._settings.ua.get("quality_warnings", False)
        if option and self._quality is None:
            self._quality = self._spawn(self._watch_quality(QualityMonitor(option if isinstance(option, dict) else None)))

    async def _watch_quality(self, monitor: QualityMonitor) -> None:
        """One stats sample a QUALITY_INTERVAL while media is connected; warnings as
        the monitor says (see :mod:`webvoice._quality`)."""
        while not self._ended:
            await asyncio.sleep(QUALITY_INTERVAL)
            if self._ended or self.media is None or self._health.state != "connected":
                continue
            speaking = self._input_expected()
            try:
                stats = await self.media.get_stats()
            except MediaError as exc:
                log.debug("webvoice: line %s: no stats for quality warnings: %s", self._line_id, exc)
                continue
            for name, warning in monitor.sample(stats, input_expected=speaking and self._input_expected()):
                if not self._ended:
                    self._emit(name, warning)

    def _input_expected(self) -> bool:
        """Whether the microphone should be heard: not muted by the application, not on hold."""
        return not (self._muted or self._local_hold or self._remote_hold)

    def _start_ice_restarts(self, *, at_once: bool = False) -> None:
        if self._restarting is None and self._instance._settings.ua.get("ice_restart_attempts", ICE_RESTART_ATTEMPTS):
            self._restarting = self._spawn(self._restart_ice(at_once=at_once))

    def _connection_restored(self) -> None:
        """The WebSocket is back (often a new network): interrupted media restarts ICE
        at once, with a fresh count of attempts. Connected media is left alone."""
        if self._ended or not self.is_established() or self._health.state != "interrupted":
            return
        if self._restarting is not None:  # never cancelled mid-offer: told to try now
            self._restart_now = True
        self._start_ice_restarts(at_once=True)

    async def _restart_ice(self, *, at_once: bool = False) -> None:
        """Media was interrupted: re-offer with new ICE credentials until it is back,
        with backoff, a bounded number of times; then media_failed."""
        attempts = self._instance._settings.ua.get("ice_restart_attempts", ICE_RESTART_ATTEMPTS)
        delay = 0.0 if at_once else ICE_RESTART_FIRST_DELAY.get(self._direction, 1.0)
        try:
            for attempt in range(1, attempts + 1):
                if await self._media_back_within(delay, kickable=True):
                    return
                delay = min(max(delay * 2, ICE_RESTART_FIRST_DELAY.get(self._direction, 1.0)), ICE_RESTART_MAX_DELAY)
                log.info("webvoice: line %s: ICE restart %d of %d", self._line_id, attempt, attempts)
                try:
                    answered = await self._reoffer(use_update=False, ice_restart=True)
                except MediaError as exc:
                    log.warning("webvoice: line %s: ICE restart failed: %s", self._line_id, exc)
                    answered = False
                if answered and await self._media_back_within(ICE_RESTART_SETTLE):
                    return
            if not self._ended:
                self._media_changed(self._health.give_up(f"media not back after {attempts} ICE restarts"))
        finally:
            self._restarting = None

    async def _media_back_within(self, seconds: float, *, kickable: bool = False) -> bool:
        """Wait up to ``seconds`` for media to be connected again (True), or the call to end;
        ``kickable``: a reconnected WebSocket cuts the wait short."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            if kickable and self._restart_now:
                self._restart_now = False
                break
            if self._health.state == "connected":
                return True
            if self._ended:
                raise asyncio.CancelledError
            await asyncio.sleep(0.1)
        return self._health.state == "connected"

    def _arm_watchdog(self) -> None:
        """Media must connect within ``ua_config["media_timeout"]`` seconds of the answer."""
        timeout = self._instance._settings.ua.get("media_timeout", MEDIA_TIMEOUT)
        if timeout and self._watchdog is None and self._health.state == "new":
            self._watchdog = asyncio.get_running_loop().call_later(timeout, self._watchdog_fired, timeout)

    def _watchdog_fired(self, timeout: float) -> None:
        self._watchdog = None
        if not self._ended and self._health.state == "new":
            self._media_changed(self._health.give_up(f"media not connected {timeout:g} s after the answer"))

    def _media_failed(self, event: MediaStateEvent) -> None:
        """By default nobody sits in a silent call: BYE, ended with the JS SDK's "WebRTC Error"
        (``ua_config["media_failure_ends_call"] = False`` keeps it up)."""
        if self._instance._settings.ua.get("media_failure_ends_call", True) and not self._ended:
            self._end_cause = Cause.WEBRTC_ERROR
            self.terminate()

    # --- the work that needs the browser ------------------------------------------------------------------

    async def _apply_answer(self, sdp: str, provisional: bool = False) -> None:
        try:
            await self.media.apply_answer(sdp, provisional=provisional)
        except MediaError as exc:
            log.warning("webvoice: the answer could not be applied on line %s: %s", self._line_id, exc)
            if not provisional and not self._ended:
                self.terminate()

    async def _answer_remote_offer(self, sdp: str | None) -> None:
        try:
            if sdp is None:
                local = await self.media.create_offer()
                self._remote_answer_pending = True
            else:
                self._emit("sdp", SdpEvent("remote", "offer", sdp))
                local = await self.media.create_answer(sdp)
        except MediaError as exc:
            log.warning("webvoice: cannot answer the re-offer on line %s: %s", self._line_id, exc)
            self._instance._run_core(lambda now: self.core.reject_offer(488, now))
            return
        if self._ended:
            return
        self._emit("sdp", SdpEvent("local", "offer" if sdp is None else "answer", local))
        self._instance._run_core(lambda now: self.core.answer_offer(local, now))

    async def _set_hold(self, held: bool, *, use_update: bool) -> bool:
        if self._local_hold == held or not self.is_established():
            return False
        self.media.set_hold(held)
        ok = await self._reoffer(use_update=use_update)
        if ok:
            self._local_hold = held
            self._emit("held" if held else "unheld", HoldEvent("local"))
        else:
            self.media.set_hold(not held)
        return ok

    async def _reoffer(self, *, use_update: bool, ice_restart: bool = False) -> bool:
        for _ in range(50):  # wait (bounded) for a pending offer exchange to finish
            if self.is_ready_to_reoffer():
                break
            if self._ended:
                return False
            await asyncio.sleep(0.1)
        else:
            return False
        try:
            offer = await self.media.create_offer(ice_restart=ice_restart)
        except MediaError as exc:
            log.warning("webvoice: cannot re-offer on line %s: %s", self._line_id, exc)
            return False
        self._emit("sdp", SdpEvent("local", "offer", offer))
        self._reoffer_waiter = asyncio.get_running_loop().create_future()
        waiter = self._reoffer_waiter
        self._instance._run_core(lambda now: self.core.reoffer(offer, now, use_update=use_update))
        result = await waiter
        if isinstance(result, ReofferAnswered) and result.sdp is not None:
            self._emit("sdp", SdpEvent("remote", "answer", result.sdp))
            await self.media.apply_answer(result.sdp)
            return True
        await self.media.rollback()
        return False

    async def _send_dtmf(self, tones: str, duration: int, gap: int, transport_type: str) -> bool:
        if transport_type == "RFC2833":
            await self.media.send_dtmf(tones, duration, gap)
            return True
        for tone in tones:
            if self._ended:
                return False
            if tone == ",":
                await asyncio.sleep(2.0)
                continue
            body = f"Signal={tone}\r\nDuration={duration}\r\n".encode()
            self._instance._run_core(lambda now: self.core.send_info("application/dtmf-relay", body, now))
            await asyncio.sleep((duration + gap) / 1000)
        return True

    async def _reset_local_media(self) -> bool:
        await self.media.reset_local_media()
        if self._muted:
            self.media.set_muted(True)
        return True

    # --- inside -------------------------------------------------------------------------------------------

    def _spawn(self, coro, done: Callable | None = None) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def finished(t: asyncio.Task) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            if t.exception() is not None:
                log.error("webvoice: call operation on line %s failed", self._line_id, exc_info=t.exception())
            elif done is not None:
                call_handler(done, t.result(), what="the done callback")

        task.add_done_callback(finished)
        return task

    def _finish(self, status: str, event: EndEvent) -> None:
        if self._ended:
            return
        self._ended = True
        self._status = status
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        for task in (self._restarting, self._quality):
            if task is not None:
                task.cancel()
        self._end = datetime.datetime.now(datetime.timezone.utc)
        if self.media is not None:
            self.media.close()
        waiter, self._reoffer_waiter = self._reoffer_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(ReofferFailed(self.core, None, event.cause))
        self._instance._call_finished(self)
        self._emit(status, event)


class ReferRequest:
    """What ``refer`` handlers get: the other side asks us to call ``refer_to``.

    ``accept(events)`` follows the transfer (the new call gets ``events``, or
    else the handlers of the call it comes from) and ``reject(status)``
    declines it. ``is_number`` says whether the target is a telephone number
    (think twice: premium-rate fraud). ``accepted`` is None until decided;
    ``new_call`` is the call placed to follow it, once placed.
    """

    def __init__(self, call: Call, event: ReferReceived) -> None:
        self.call = call
        self._event = event
        self.target: Uri = event.refer_to.uri
        self.refer_to = Identity.of(event.refer_to)
        self.referred_by = Identity.of(event.referred_by) if isinstance(event.referred_by, NameAddr) else None
        self.is_number = is_number(self.target)
        self.accepted: bool | None = None
        self.refused_by_policy = False
        self.new_call: Call | None = None
        #: Why the Refer-To cannot be followed (a URI header other than Replaces,
        #: an escaped CR/LF...), or None.
        self.invalid: str | None = None
        try:
            refer_target(event.refer_to.uri)
        except ValueError as exc:
            self.invalid = str(exc)

    @property
    def decided(self) -> bool:
        return self.accepted is not None

    def accept(self, events: Mapping[str, Callable] | None = None) -> asyncio.Task | None:
        """Follow the transfer: call the target, reporting progress to the transferor.

        Returns the task placing the new call (it resolves to the :class:`Call`,
        or None if it could not be placed). Raises RuntimeError if the request
        was already declined (by ``reject()``, by ``refer_policy`` "never", or
        after the decision timeout), ValueError if the target cannot be followed."""
        if self.accepted is False:
            why = " by refer_policy 'never'" if self.refused_by_policy else ""
            raise RuntimeError(f"this transfer to {self.target} was already declined{why}")
        if self.accepted:
            return None
        if self.invalid is not None:
            raise ValueError(f"this transfer cannot be followed: {self.invalid}")
        check_call_events(events)
        self.accepted = True
        instance = self.call._instance
        instance._run_core(lambda now: self.call.core.accept_refer(now))
        handlers = events if events is not None else self.call._handler_lists()
        return self.call._spawn(instance._follow_refer(self.call, self.target, handlers, self))

    def reject(self, status_code: int = 603) -> None:
        """Decline the transfer (603 Decline unless another 4xx-6xx status is given)."""
        if isinstance(status_code, bool) or not isinstance(status_code, int) or not 400 <= status_code <= 699:
            raise ValueError(f"a REFER is rejected with a 4xx-6xx status, not {status_code!r}")
        if self.decided:
            return
        self.accepted = False
        self.call._instance._run_core(lambda now: self.call.core.reject_refer(status_code, now))

    def __repr__(self) -> str:
        state = {None: "undecided", True: "accepted", False: "declined"}[self.accepted]
        return f"<ReferRequest to {self.target} from line {self.call.get_line_id()} {state}>"


def _use_update(options: Mapping[str, Any] | None) -> bool:
    if options is None:
        return False
    if not isinstance(options, Mapping):
        raise TypeError("options must be a dict such as {'use_update': True}")
    return bool(options.get("use_update", options.get("useUpdate", False)))


class _SessionView:
    """``call.session``: the JS SDK's session object (identities and ``on``)."""

    def __init__(self, call: Call) -> None:
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

    def on(self, name: str, handler: Callable) -> None:
        self._call.on(name, handler)

    def connection(self) -> Any:
        return self._call.get_connection()


@record
class _IncomingEvent:
    session: _SessionView
    request: Any


class IncomingCallRequest:
    """What ``on_incoming_call`` handlers get: ``accept()``, ``decline()``, ``event``, ``call``."""

    def __init__(self, call: Call, offer: str | None, request: Any) -> None:
        self.call = call
        self._offer = offer
        self.event = _IncomingEvent(call.session, request)

    @property
    def remote_identity(self) -> Identity | None:
        return self.call.get_remote_identity()

    def accept(self, events: Mapping[str, Callable] | None = None) -> asyncio.Task:
        """Answer: get the microphone, answer the offer, send 200 OK."""
        if events:
            self.call.add_handlers(events)
        if self.call.core is None or self.call.core.state is not CallState.INCOMING:
            raise RuntimeError(f"this call can no longer be accepted (it is {self.call.get_status()})")
        return self.call._spawn(self.call._instance._accept_incoming(self.call, self._offer))

    def decline(self) -> None:
        """Refuse with 486 Busy Here."""
        core = self.call.core
        if core is not None and core.state is CallState.INCOMING:
            self.call._instance._run_core(lambda now: core.reject(486, now, cause=Cause.REJECTED))
