"""Calls as applications see them: the JS SDK's session API in Python.

A :class:`Call` joins a core :class:`~webvoice.sip.CallSession` (SIP) to a
:class:`~webvoice._media.MediaSession` (the browser's WebRTC) and to the
application's event handlers. Methods that need the browser (hold, DTMF,
renegotiation) start the work at once and return an ``asyncio.Task``: await it
to know the outcome, or ignore it as JavaScript code ignores the promise.

The call keeps no status machine of its own: :meth:`Call.get_status` reads the
core's :class:`~webvoice.sip.CallState` (and, once ended, how it ended). Its
parts: the events and records (:mod:`webvoice._call_event_records`), media
recovery (:mod:`webvoice._media_recovery`), the instance it runs on
(:class:`~webvoice._call_host.CallHost`); what the peer asks of the application
(an incoming call, a REFER) is in :mod:`webvoice._call_requests`, above this.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable, Coroutine, Mapping
from functools import partial
from typing import Any, TypeVar

from ._call_event_records import (
    CALL_EVENTS,
    CallConnectingEvent,
    ConfirmedEvent,
    DtmfEvent,
    EndEvent,
    HoldEvent,
    HoldState,
    IceCandidateEvent,
    Identity,
    MuteEvent,
    MuteState,
    ProgressEvent,
    ReplacesEvent,
    SdpEvent,
    check_call_events,
    event_name,
    handlers_of,
)
from ._call_host import CallHost
from ._errors import NotConnectedError, TransferError
from ._handlers import call_handler
from ._media import (
    DTMF_TIMING,
    DTMF_TONES,
    MediaError,
    MediaPermissionError,
    MediaSession,
)
from ._media_health import MEDIA_EVENTS
from ._media_recovery import MediaRecovery
from ._offer_answer import OfferAnswer
from ._targets import check_target, normalize_target
from .sip import (
    CallConfirmed,
    CallEnded,
    CallFailed,
    CallProgress,
    CallSession,
    CallState,
    Cause,
    DtmfReceived,
    InfoReceived,
    NameAddr,
    ReferProgress,
    ReferReceived,
    RemoteAnswer,
    RemoteHold,
    RemoteOffer,
    ReofferAnswered,
    ReofferFailed,
    SipUri,
    TelUri,
    Uri,
)

__all__ = [
    "Call", "CALL_EVENTS", "Identity", "EndEvent", "DtmfEvent", "CallConnectingEvent", "ProgressEvent",
    "ConfirmedEvent", "HoldEvent", "HoldState", "MuteEvent", "MuteState", "ReplacesEvent", "IceCandidateEvent",
    "SdpEvent", "SessionView", "check_call_events",
]

log = logging.getLogger("webvoice")

T = TypeVar("T")

#: A live call's status, read from the core's state (JsSIP's session statuses).
_STATUS_OF_STATE = {
    CallState.CALLING: "connecting",
    CallState.RINGING: "progress",
    CallState.INCOMING: "ringing",
    CallState.ANSWERED: "ringing",  # 200 sent, the ACK not yet here
    CallState.ESTABLISHED: "confirmed",
}


class Call:
    """One call (the JS SDK's RTCSession wrapper)."""

    def __init__(self, instance: CallHost[Call], line_id: str, direction: str,
                 events: Mapping[str, Any] | None = None) -> None:
        self._instance = instance
        self._line_id = line_id
        self._direction = direction
        self._handlers: dict[str, list[Callable[..., Any]]] = {}
        self.session = SessionView(self)
        self.core: CallSession | None = None
        self.media: MediaSession | None = None
        self._start: datetime.datetime | None = None
        self._end: datetime.datetime | None = None
        self._muted = False
        self._local_hold = False
        self._remote_hold = False
        #: "ended" or "failed" once the call is over; until then the status is the core's.
        self._outcome: str | None = None
        self._early_media: asyncio.Task[bool] | None = None  # incoming: our 183 with SDP (progress())
        self._tasks: set[asyncio.Task[Any]] = set()
        self._remote: Identity | None = None
        self._local: Identity | None = None
        self._refer_waiter: asyncio.Future[ReferProgress] | None = None
        self._extra_headers: tuple[tuple[str, str], ...] = ()  # e.g. Replaces, when following a transfer
        self._end_cause: str | None = None  # set when webvoice itself hangs up for a reason
        self._recovery = MediaRecovery(
            line_id=line_id, direction=direction, options=instance._settings.ua, emit=self._emit,
            restart_ice=lambda: self._reoffer(use_update=False, ice_restart=True),
            hang_up=self._hang_up, media=lambda: self.media, spawn=self._spawn,
            input_expected=self._input_expected)
        self._sdp = OfferAnswer(
            line_id=line_id, media=self._started_media, core=self.started_core, run_core=instance._run_core,
            emit=self._emit, ended=self.is_ended, terminate=self.terminate, spawn=self._spawn)
        if events:
            self.add_handlers(events)

    def __repr__(self) -> str:
        return f"<Call line={self._line_id} {self._direction} {self.get_status()} remote={self._remote}>"

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
        tasks: list[asyncio.Future[Any]] = []
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
        stats["media"] = self._recovery.health.snapshot()
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

    def hold(self) -> asyncio.Task[Any]:
        """Put the call on hold by re-INVITE with ``a=sendonly``; resolves to True when held."""
        return self._spawn(self._set_hold(True, use_update=False))

    def unhold(self) -> asyncio.Task[Any]:
        return self._spawn(self._set_hold(False, use_update=False))

    def hold_with_options(self, options: Mapping[str, Any] | None = None, done: Callable[..., Any] | None = None) -> asyncio.Task[Any]:
        """JS ``holdWithOptions({useUpdate}, done)``: ``{"use_update": True}`` holds by UPDATE."""
        return self._spawn(self._set_hold(True, use_update=_use_update(options)), done)

    def unhold_with_options(self, options: Mapping[str, Any] | None = None, done: Callable[..., Any] | None = None) -> asyncio.Task[Any]:
        return self._spawn(self._set_hold(False, use_update=_use_update(options)), done)

    def renegotiate(self, *, ice_restart: bool = False, use_update: bool = False) -> asyncio.Task[Any]:
        """Send a fresh offer (e.g. after a network change); resolves to True when answered."""
        return self._spawn(self._reoffer(use_update=use_update, ice_restart=ice_restart))

    def reset_local_media(self) -> asyncio.Task[Any]:
        """Capture the microphone again (same constraints) and send from it."""
        return self._spawn(self._reset_local_media())

    async def send_message(self, text: str, content_type: str = "text/plain") -> int:
        """An instant message in this call (RFC 3428; beyond the JS SDK). The peer's
        come as the ``message`` event; errors as for ``SipInstance.send_message``."""
        return await self._instance._send_message_in_call(self, text, content_type)

    def send_dtmf(self, tones: str, duration: int = 100, inter_tone_gap: int = 70,
                  transport_type: str = "RFC2833") -> asyncio.Task[Any]:
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
            raise RuntimeError(f"DTMF needs an established call; this one is {self.get_status()}")
        return self._spawn(self._send_dtmf(tones.upper(), duration, inter_tone_gap, transport_type))

    def refer(self, target: str | Uri) -> asyncio.Task[Any]:
        """Ask the other party to call ``target`` (REFER, RFC 3515). The task resolves
        to the final status the new call reached, or raises TransferError."""
        if isinstance(target, (SipUri, TelUri)):
            uri = check_target(target)
        elif isinstance(target, str):
            uri = normalize_target(target, self._instance._settings.domain)
        else:
            raise TypeError(f"a transfer target is a string or a sip:/tel: URI, not {target!r}")
        if not self.is_established():
            raise RuntimeError(f"a transfer needs an established call; this one is {self.get_status()}")
        return self._spawn(self._refer(NameAddr(uri)))

    async def _refer(self, refer_to: NameAddr) -> int:
        if self._refer_waiter is not None:
            raise RuntimeError("a transfer is already in progress on this call")
        self._refer_waiter = asyncio.get_running_loop().create_future()
        waiter = self._refer_waiter
        try:
            self._instance._run_core(lambda now: self.started_core().refer(refer_to, now))
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
        self._instance._run_core(lambda now: self.started_core().terminate(now))

    # --- outgoing -------------------------------------------------------------------------------------

    async def _place(self, target: Uri) -> None:
        self._local = Identity(str(self._instance._aor()), self._instance._display_name())
        self._emit("connecting", CallConnectingEvent())
        if not await self._open_media():
            return
        try:
            offer = await self._started_media().create_offer()
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
                self._instance._run_core(lambda now: self.started_core().terminate(now))
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

    async def _progress(self, offer: str | None) -> bool:
        """Early media on an incoming call: our SDP in a 183 before the answer
        (reliable, with PRACK, when the caller supports 100rel). True once sent."""
        if not await self._open_media():
            if not self.started_core().is_ended:
                self._instance._run_core(lambda now: self.started_core().reject(
                    488 if self._outcome == "failed" else 480, now, cause=Cause.USER_DENIED_MEDIA_ACCESS))
            return False
        try:
            if offer is not None:
                self._emit("sdp", SdpEvent("remote", "offer", offer))
                sdp = await self._started_media().create_answer(offer)
            else:
                sdp = await self._started_media().create_offer()
        except MediaError as exc:
            self._instance._run_core(lambda now: self.started_core().reject(488, now, cause=Cause.WEBRTC_ERROR))
            self._finish("failed", EndEvent(Cause.WEBRTC_ERROR, "local", 488, str(exc)))
            return False
        if self.started_core().state is not CallState.INCOMING:  # cancelled meanwhile
            return False
        self._emit("sdp", SdpEvent("local", "answer" if offer is not None else "offer", sdp))
        self._sdp.remote_answer_pending = offer is None  # the answer comes in the PRACK (RemoteAnswer)
        self._instance._run_core(lambda now: self.started_core().progress(sdp, now))
        return True

    async def _answer(self, offer: str | None) -> None:
        if self._early_media is not None:  # the media and our SDP are those of the 183
            if await self._early_media and self.started_core().state is CallState.INCOMING:
                # the core's 200 repeats the 183's SDP (whatever we pass)
                early_sdp = self.started_core().local_sdp
                assert early_sdp is not None, "progress() set it"
                self._instance._run_core(lambda now: self.started_core().accept(early_sdp, now))
            return
        if not await self._open_media():
            if not self.started_core().is_ended:
                self._instance._run_core(lambda now: self.started_core().reject(
                    488 if self._outcome == "failed" else 480, now, cause=Cause.USER_DENIED_MEDIA_ACCESS))
            return
        try:
            if offer is not None:
                self._emit("sdp", SdpEvent("remote", "offer", offer))
                sdp = await self._started_media().create_answer(offer)
                kind = "answer"
            else:
                sdp = await self._started_media().create_offer()
                kind = "offer"
        except MediaError as exc:
            self._instance._run_core(lambda now: self.started_core().reject(488, now, cause=Cause.WEBRTC_ERROR))
            self._finish("failed", EndEvent(Cause.WEBRTC_ERROR, "local", 488, str(exc)))
            return
        if self.started_core().state is not CallState.INCOMING:  # cancelled meanwhile
            return
        self._emit("sdp", SdpEvent("local", kind, sdp))
        self._sdp.remote_answer_pending = offer is None
        self._instance._run_core(lambda now: self.started_core().accept(sdp, now))

    # --- from the core ----------------------------------------------------------------------------------

    def _on_core_event(self, event: object) -> None:
        if isinstance(event, CallProgress):
            self._emit("progress", ProgressEvent("remote", event.response.status_code, event.response.reason or "",
                                                 event.sdp is not None, event.response))
            if self.media is not None and self._direction == "outgoing" and (
                    event.sdp is not None or event.response.status_code == 180):
                self._ringback(event.sdp is None)  # a 183 without SDP changes nothing
            if event.sdp is not None and self.media is not None:
                self._sdp.provisional_answer(event.sdp)
        elif isinstance(event, CallConfirmed):
            if self.media is not None:
                self._ringback(False)
            self._start = datetime.datetime.now(datetime.UTC)
            if self.media is not None:
                self._sdp.call_answered(event.sdp, outgoing=self._direction == "outgoing")
            self._remote = Identity.of(self.started_core().remote_identity) or self._remote
            self._emit("confirmed", ConfirmedEvent("remote" if self._direction == "outgoing" else "local"))
            self._recovery.answered()
        elif isinstance(event, CallFailed):
            self._finish("failed", EndEvent(event.cause, event.originator, event.status_code, event.reason))
        elif isinstance(event, CallEnded):
            cause = self._end_cause if self._end_cause and event.originator == "local" else event.cause
            self._finish("ended", EndEvent(cause, event.originator, event.status_code))
        elif isinstance(event, RemoteHold):
            self._remote_hold = event.held
            self._emit("held" if event.held else "unheld", HoldEvent("remote"))
        elif isinstance(event, RemoteOffer):
            self._spawn(self._sdp.answer_remote_offer(event.sdp))
        elif isinstance(event, RemoteAnswer):
            self._spawn(self._sdp.apply_answer(event.sdp))
        elif isinstance(event, (ReofferAnswered, ReofferFailed)):
            self._sdp.reoffer_settled(event)
        elif isinstance(event, DtmfReceived):
            self._emit("new_dtmf", DtmfEvent(event.tone, event.duration))
        elif isinstance(event, ReferProgress):
            if event.final and self._refer_waiter is not None and not self._refer_waiter.done():
                self._refer_waiter.set_result(event)
        elif isinstance(event, ReferReceived):
            self._instance._refer_received(self, event)
        elif isinstance(event, InfoReceived):
            log.debug("webvoice: INFO %s on line %s", event.content_type, self._line_id)

    def _ringback(self, ringing: bool) -> None:
        """The local ringback tone: on while the peer rings without early media (180 with
        no SDP), off on early media or an answer (closing the media ends it too);
        ``ua_config["ringback"] = False`` turns it off."""
        if ringing and self._instance._settings.ua.get("ringback", True):
            self._started_media().start_ringback()
        else:
            self._started_media().stop_ringback()

    def _on_media_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "icecandidate":
            self._emit("icecandidate", IceCandidateEvent(str(data.get("candidate", "")), data.get("sdp_mid")))
        elif name == "connectionstatechange":
            self._recovery.connection_state(data.get("state"), data.get("ice"))

    # --- media health (beyond the JS SDK: see webvoice._media_recovery) -----------------------------

    def _input_expected(self) -> bool:
        """Whether the microphone should be heard: not muted by the application, not on hold."""
        return not (self._muted or self._local_hold or self._remote_hold)

    def _connection_restored(self) -> None:
        """The WebSocket is back: interrupted media of an established call restarts ICE."""
        if not self._ended and self.is_established():
            self._recovery.connection_restored()

    def _hang_up(self, cause: str) -> None:
        """End the call for a reason of webvoice's own (``cause`` in the ``ended`` event)."""
        if not self._ended:
            self._end_cause = cause
            self.terminate()

    # --- the work that needs the browser ------------------------------------------------------------------

    async def _set_hold(self, held: bool, *, use_update: bool) -> bool:
        if self._local_hold == held or not self.is_established():
            return False
        self._started_media().set_hold(held)
        ok = await self._reoffer(use_update=use_update)
        if ok:
            self._local_hold = held
            self._emit("held" if held else "unheld", HoldEvent("local"))
        else:
            self._started_media().set_hold(not held)
        return ok

    async def _reoffer(self, *, use_update: bool, ice_restart: bool = False) -> bool:
        return await self._sdp.reoffer(self.is_ready_to_reoffer, use_update=use_update, ice_restart=ice_restart)

    async def _send_dtmf(self, tones: str, duration: int, gap: int, transport_type: str) -> bool:
        if transport_type == "RFC2833":
            await self._started_media().send_dtmf(tones, duration, gap)
            return True
        for tone in tones:
            if self._ended:
                return False
            if tone == ",":
                await asyncio.sleep(2.0)
                continue
            core, body = self.started_core(), f"Signal={tone}\r\nDuration={duration}\r\n".encode()
            self._instance._run_core(partial(core.send_info, "application/dtmf-relay", body))
            await asyncio.sleep((duration + gap) / 1000)
        return True

    async def _reset_local_media(self) -> bool:
        await self._started_media().reset_local_media()
        if self._muted:
            self._started_media().set_muted(True)
        return True

    # --- inside -------------------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, T], done: Callable[..., Any] | None = None) -> asyncio.Task[T]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def finished(t: asyncio.Task[T]) -> None:
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
        self._outcome = status
        self._recovery.stop()
        self._end = datetime.datetime.now(datetime.UTC)
        if self.media is not None:
            self.media.close()
        self._sdp.call_ended(self.core, event.cause)
        self._instance._call_finished(self)
        self._emit(status, event)


def _use_update(options: Mapping[str, Any] | None) -> bool:
    if options is None:
        return False
    if not isinstance(options, Mapping):
        raise TypeError("options must be a dict such as {'use_update': True}")
    return bool(options.get("use_update", options.get("useUpdate", False)))


class SessionView:
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

    def on(self, name: str, handler: Callable[..., Any]) -> None:
        self._call.on(name, handler)

    def connection(self) -> Any:
        return self._call.get_connection()


