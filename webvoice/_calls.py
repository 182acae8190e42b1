"""Calls as applications see them: the JS SDK's session API in Python.

A :class:`Call` joins a core :class:`~webvoice.sip.CallSession` (SIP) to a
:class:`~webvoice._media.MediaSession` (the browser's WebRTC) and to the
application's event handlers. This module keeps how a call starts (placing,
answering, early media), what it does with the core's events and how it ends.

The call keeps no status machine of its own: :meth:`Call.get_status` reads the
core's :class:`~webvoice.sip.CallState` (and, once ended, how it ended). Its
parts: what it says of itself, its events and status
(:mod:`webvoice._call_status`), what the application does to it, hold, mute,
DTMF, transfer (:mod:`webvoice._call_controls`), the events and records
(:mod:`webvoice._call_event_records`), media recovery
(:mod:`webvoice._media_recovery`), offer/answer with the browser
(:mod:`webvoice._offer_answer`), the instance it runs on
(:class:`~webvoice._call_host.CallHost`); what the peer asks of the application
(an incoming call, a REFER) is in :mod:`webvoice._call_requests`, above this.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from ._call_controls import CallControls
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
)
from ._call_host import CallHost
from ._call_status import SessionView
from ._errors import NotConnectedError
from ._handlers import call_handler
from ._media import MediaError, MediaPermissionError
from ._media_recovery import MediaRecovery
from ._offer_answer import OfferAnswer
from .sip import (
    CallConfirmed,
    CallEnded,
    CallFailed,
    CallProgress,
    CallState,
    Cause,
    DtmfReceived,
    InfoReceived,
    ReferProgress,
    ReferReceived,
    RemoteAnswer,
    RemoteHold,
    RemoteOffer,
    ReofferAnswered,
    ReofferFailed,
    Uri,
)

__all__ = [
    "Call", "CALL_EVENTS", "Identity", "EndEvent", "DtmfEvent", "CallConnectingEvent", "ProgressEvent",
    "ConfirmedEvent", "HoldEvent", "HoldState", "MuteEvent", "MuteState", "ReplacesEvent", "IceCandidateEvent",
    "SdpEvent", "SessionView", "check_call_events",
]

log = logging.getLogger("webvoice")

T = TypeVar("T")


class Call(CallControls):
    """One call (the JS SDK's RTCSession wrapper)."""

    def __init__(self, instance: CallHost[Call], line_id: str, direction: str,
                 events: Mapping[str, Any] | None = None) -> None:
        self._instance = instance
        self._line_id = line_id
        self._direction = direction
        self._handlers = {}
        self.session = SessionView(self)
        self.core = None
        self.media = None
        self._start = None
        self._end = None
        self._muted = False
        self._local_hold = False
        self._outcome = None
        self._progress_task: asyncio.Task[bool] | None = None  # incoming: progress() (early media) asked
        self._tasks: set[asyncio.Task[Any]] = set()
        self._target: Uri | None = None  # outgoing: whom we called, until the core knows
        self._refer_waiter = None
        self._extra_headers: tuple[tuple[str, str], ...] = ()  # e.g. Replaces, when following a transfer
        self._end_cause: str | None = None  # set when webvoice itself hangs up for a reason
        self._recovery = MediaRecovery(
            line_id=line_id, direction=direction, options=instance._settings.ua, emit=self._emit,
            restart_ice=lambda: self._reoffer(use_update=False, ice_restart=True),
            hang_up=self._hang_up, media=lambda: self.media, spawn=self._spawn,
            input_expected=self._input_expected, arrivals_expected=lambda: not self.is_on_hold())
        self._sdp = OfferAnswer(
            line_id=line_id, media=self._started_media, core=self.started_core, run_core=instance._run_core,
            emit=self._emit, ended=self.is_ended, terminate=self.terminate, spawn=self._spawn)
        if events:
            self.add_handlers(events)

    def __repr__(self) -> str:
        return f"<Call line={self._line_id} {self._direction} {self.get_status()} remote={self.get_remote_identity()}>"

    # --- outgoing -------------------------------------------------------------------------------------

    async def _place(self, target: Uri) -> None:
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
        sdp = await self._incoming_sdp(offer)
        if sdp is None:
            return False
        self._instance._run_core(lambda now: self.started_core().progress(sdp, now))
        return True

    async def _answer(self, offer: str | None) -> None:
        if self._progress_task is not None:  # progress() was asked: the media are the 183's
            await self._progress_task
            core = self.started_core()
            # The core's record of the 183: its 200 repeats that SDP (RFC 3264: that exchange is done).
            early_sdp = core.incoming.early_sdp if core.incoming is not None else None
            if early_sdp is not None and core.state is CallState.INCOMING:
                self._instance._run_core(lambda now: core.accept(early_sdp, now))
            return
        sdp = await self._incoming_sdp(offer)
        if sdp is not None:
            self._instance._run_core(lambda now: self.started_core().accept(sdp, now))

    async def _incoming_sdp(self, offer: str | None) -> str | None:
        """Our SDP for an incoming call, in the 183 or the 200: the microphone
        opened, the caller's offer answered (or, the INVITE had none, our offer
        made). None when the call cannot go on: the media refused or failed
        (the call is rejected), or the caller cancelled meanwhile."""
        if not await self._open_media():
            if not self.started_core().is_ended:
                self._instance._run_core(lambda now: self.started_core().reject(
                    488 if self._outcome == "failed" else 480, now, cause=Cause.USER_DENIED_MEDIA_ACCESS))
            return None
        try:
            if offer is not None:
                self._emit("sdp", SdpEvent("remote", "offer", offer))
                sdp = await self._started_media().create_answer(offer)
            else:
                sdp = await self._started_media().create_offer()
        except MediaError as exc:
            self._instance._run_core(lambda now: self.started_core().reject(488, now, cause=Cause.WEBRTC_ERROR))
            self._finish("failed", EndEvent(Cause.WEBRTC_ERROR, "local", 488, str(exc)))
            return None
        if self.started_core().state is not CallState.INCOMING:  # cancelled meanwhile
            return None
        self._emit("sdp", SdpEvent("local", "answer" if offer is not None else "offer", sdp))
        self._sdp.remote_answer_pending = offer is None  # the answer comes in the PRACK or the ACK
        return sdp

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
            self._emit("confirmed", ConfirmedEvent("remote" if self._direction == "outgoing" else "local"))
            self._recovery.answered()
        elif isinstance(event, CallFailed):
            self._finish("failed", EndEvent(event.cause, event.originator, event.status_code, event.reason))
        elif isinstance(event, CallEnded):
            cause = self._end_cause if self._end_cause and event.originator == "local" else event.cause
            self._finish("ended", EndEvent(cause, event.originator, event.status_code))
        elif isinstance(event, RemoteHold):
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
        elif name == "ended" and data.get("reason") != "microphone":  # the microphone alone: the call goes on
            # The media went away without us (in a Web Worker: the page that held
            # it was closed): no audio can flow again, so the call is hung up, the
            # peer told, rather than left "confirmed" with nothing behind it.
            log.warning("webvoice: line %s lost its media (%s); hanging up", self._line_id, data.get("reason"))
            self._hang_up(Cause.WEBRTC_ERROR)

    # --- media health (beyond the JS SDK: see webvoice._media_recovery) -----------------------------

    def _input_expected(self) -> bool:
        """Whether the microphone should be heard: not muted by the application, not on hold."""
        held = self.is_on_hold()
        return not (self._muted or held.local or held.remote)

    def _connection_restored(self) -> None:
        """The WebSocket is back: interrupted media of an established call restarts ICE."""
        if not self._ended and self.is_established():
            self._recovery.connection_restored()

    def _hang_up(self, cause: str) -> None:
        """End the call for a reason of webvoice's own (``cause`` in the ``ended`` event)."""
        if not self._ended:
            self._end_cause = cause
            self.terminate()

    # --- inside -------------------------------------------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, T], done: Callable[..., Any] | None = None) -> asyncio.Task[T]:
        # A Task made directly, not by loop.create_task(): Pyodide's loop adds a
        # bookkeeping done-callback to the tasks it creates, one more turn of the
        # event loop (a browser task) when each ends; a call set-up spawns several.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.get_event_loop()
        task = asyncio.Task(coro, loop=loop)
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
