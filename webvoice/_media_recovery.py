"""A call's media recovery (beyond the JS SDK): the watchdog, stalls, ICE restarts, quality warnings.

A part owned by each :class:`~webvoice._calls.Call`, with its own state: the
media health (:class:`~webvoice._media_health.MediaHealth`), the watchdog that
fails media never connected, the stats sampling that notices media stalled
while the browser still says connected (and feeds quality warnings), and the
loop of ICE restarts that brings interrupted media back. It knows the call
only through the few functions it is given (emit an event, re-offer, hang up,
the media session, start a task), so it reads and tests on its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from ._media import MediaError, MediaSession
from ._media_health import FlowWatch, MediaHealth, MediaStateEvent, received_total
from ._quality import QualityMonitor
from .sip import Cause

__all__ = ["MediaRecovery", "MEDIA_TIMEOUT", "ICE_RESTART_ATTEMPTS", "ICE_RESTART_FIRST_DELAY",
           "ICE_RESTART_MAX_DELAY", "ICE_RESTART_SETTLE", "MEDIA_STALL_TIMEOUT", "QUALITY_INTERVAL",
           "STALL_INTERVAL"]

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
#: Seconds connected media may receive nothing at all (no RTP, RTCP or consent answer)
#: before it counts as interrupted (``ua_config["media_stall_timeout"]``). Above the
#: ~5 s between consent checks and RTCP reports, below a person's patience.
MEDIA_STALL_TIMEOUT = 8.0
#: Seconds between the stats samples of quality warnings (``ua_config["quality_warnings"]``).
QUALITY_INTERVAL = 1.0
#: Seconds between samples when only stalls are watched: one cheap probe per call
#: every 2 s (``MediaSession.arrival_mark``; a getStats() report only when the probe
#: saw nothing arrive) is the price of noticing what the browser does not.
STALL_INTERVAL = 2.0
#: Seconds a restart's answered offer gets to bring media back before the next try.
ICE_RESTART_SETTLE = 3.0

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


class MediaRecovery:
    """Media health of one call and what webvoice does about it (see the module doc).

    ``options`` is the instance's ``ua_config``; ``emit(name, event)`` raises a
    call event; ``restart_ice()`` re-offers with new ICE credentials (True when
    answered); ``hang_up(cause)`` ends the call; ``media()`` is the call's media
    session (None before it has one); ``spawn(coro)`` runs a task of the call;
    ``input_expected()``: the microphone should be heard (not muted, not held);
    ``arrivals_expected()``: the far end should be heard (not held either way).
    """

    def __init__(self, *, line_id: str, direction: str, options: Mapping[str, Any],
                 emit: Callable[[str, object], object], restart_ice: Callable[[], Awaitable[bool]],
                 hang_up: Callable[[str], None], media: Callable[[], MediaSession | None],
                 spawn: Spawn, input_expected: Callable[[], bool] = lambda: True,
                 arrivals_expected: Callable[[], bool] = lambda: True) -> None:
        self._line_id = line_id
        self._direction = direction
        self._options = options
        self._emit = emit
        self._restart_ice_once = restart_ice
        self._hang_up = hang_up
        self._media = media
        self._spawn = spawn
        self._input_expected = input_expected
        self._arrivals_expected = arrivals_expected
        self.health = MediaHealth()
        self._stopped = False
        self._watchdog: asyncio.TimerHandle | None = None
        self._restarting: asyncio.Task[Any] | None = None
        self._restart_now = False  # the WebSocket came back: skip the current backoff wait
        self._sampling: asyncio.Task[Any] | None = None
        self._hold_changed = asyncio.Event()  # a held call's sampling sleeps on it, not on a timer

    @property
    def state(self) -> str:
        """"new", "connected", "interrupted" or "failed" (see MediaHealth)."""
        return self.health.state

    def connection_state(self, state: Any, ice: Any) -> None:
        """The peer connection's ``connectionState`` / ``iceConnectionState`` changed."""
        self._changed(self.health.update(state, ice))

    def answered(self) -> None:
        """The call is up: media must connect within ``ua_config["media_timeout"]`` seconds."""
        timeout = self._options.get("media_timeout", MEDIA_TIMEOUT)
        if timeout and self._watchdog is None and self.health.state == "new" and not self._stopped:
            self._watchdog = asyncio.get_running_loop().call_later(timeout, self._watchdog_fired, timeout)

    def connection_restored(self) -> None:
        """The WebSocket is back (often a new network): interrupted media restarts ICE
        at once, with a fresh count of attempts. Connected media is left alone."""
        if self._stopped or self.health.state != "interrupted":
            return
        if self._restarting is not None:  # never cancelled mid-offer: told to try now
            self._restart_now = True
        self._start_ice_restarts(at_once=True)

    def hold_changed(self) -> None:
        """Either side held or resumed the call: sampling paused for the hold goes on."""
        self._hold_changed.set()

    def stop(self) -> None:
        """The call ended: no watchdog, restart or sampling outlives it."""
        self._stopped = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        for task in (self._restarting, self._sampling):
            if task is not None:
                task.cancel()

    # --- inside ----------------------------------------------------------------------------------

    def _changed(self, change: tuple[str, MediaStateEvent] | None) -> None:
        if change is None or self._stopped:
            return
        name, event = change
        if name == "media_failed" or name == "media_interrupted":
            log.warning("webvoice: media of line %s: %s (%s stalled; connection %s, ICE %s)", self._line_id,
                        name, event.cause, event.connection, event.ice)
        self._emit(name, event)
        if name == "media_failed":
            # By default nobody sits in a silent call: BYE, ended with the JS SDK's
            # "WebRTC Error" (ua_config["media_failure_ends_call"] = False keeps it up).
            if self._options.get("media_failure_ends_call", True) and not self._stopped:
                self._hang_up(Cause.WEBRTC_ERROR)
        elif name == "media_interrupted":
            self._start_ice_restarts()
        elif name == "media_connected":
            self._start_sampling()

    def _watchdog_fired(self, timeout: float) -> None:
        self._watchdog = None
        if not self._stopped and self.health.state == "new":
            self._changed(self.health.give_up(f"media not connected {timeout:g} s after the answer"))

    def _start_ice_restarts(self, *, at_once: bool = False) -> None:
        if self._restarting is None and self._options.get("ice_restart_attempts", ICE_RESTART_ATTEMPTS):
            self._restarting = self._spawn(self._restart_ice(at_once=at_once))

    async def _restart_ice(self, *, at_once: bool = False) -> None:
        """Re-offer with new ICE credentials until media is back, with backoff, a
        bounded number of times; then media_failed."""
        attempts: int = self._options.get("ice_restart_attempts", ICE_RESTART_ATTEMPTS)
        first = ICE_RESTART_FIRST_DELAY.get(self._direction, 1.0)
        delay = 0.0 if at_once else first
        try:
            for attempt in range(1, attempts + 1):
                if await self._media_back_within(delay, kickable=True):
                    return
                delay = min(max(delay * 2, first), ICE_RESTART_MAX_DELAY)
                log.info("webvoice: line %s: ICE restart %d of %d", self._line_id, attempt, attempts)
                try:
                    answered = await self._restart_ice_once()
                except MediaError as exc:
                    log.warning("webvoice: line %s: ICE restart failed: %s", self._line_id, exc)
                    answered = False
                if answered and await self._media_back_within(ICE_RESTART_SETTLE):
                    return
            if not self._stopped:
                self._changed(self.health.give_up(f"media not back after {attempts} ICE restarts"))
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
            if self.health.state == "connected":
                return True
            if self._stopped:
                raise asyncio.CancelledError
            await asyncio.sleep(0.1)
        return self.health.state == "connected"

    def _start_sampling(self) -> None:
        quality = self._options.get("quality_warnings", False)
        stall = self._options.get("media_stall_timeout", MEDIA_STALL_TIMEOUT)
        if (quality or stall) and self._sampling is None:
            monitor = QualityMonitor(quality if isinstance(quality, dict) else None) if quality else None
            watch = FlowWatch(stall) if stall else None
            interval = QUALITY_INTERVAL if quality else STALL_INTERVAL
            self._sampling = self._spawn(self._sample(monitor, watch, interval))

    async def _sample(self, monitor: QualityMonitor | None, watch: FlowWatch | None, interval: float) -> None:
        """One stats sample every ``interval`` seconds while media is connected (or
        interrupted, when stalls are watched): stalls and their end as the flow watch
        says, warnings as the quality monitor says (see :mod:`webvoice._quality`)."""
        loop = asyncio.get_running_loop()
        while not self._stopped:
            await asyncio.sleep(interval)
            media = self._media()
            state = self.health.state
            if state == "failed":
                return  # final: nothing left to notice (media_failure_ends_call False keeps the call)
            watched = state == "connected" or (state == "interrupted" and watch is not None)
            if self._stopped or media is None or not watched:
                continue
            # Expected both before and after the sample: a mute or hold in between
            # makes the sample's silence no evidence of anything.
            speaking, hearing = self._input_expected(), self._arrivals_expected()
            if monitor is None and watch is not None and state == "connected" and not hearing:
                # Held: nothing to judge, so no stats and no timer until the hold ends
                # (eight lines, seven of them held, wake up once every interval, not eight times).
                self._hold_changed.clear()
                await self._hold_changed.wait()
                watch.pause(loop.time())
                continue
            if monitor is None and watch is not None and state == "connected":
                # Only stalls are watched: the peer's audio arriving since the last probe
                # says all there is to say, without a stats report (see FlowWatch.probed).
                try:
                    mark = await media.arrival_mark()
                except MediaError:
                    mark = None
                if self._stopped:
                    return
                if watch.probed(mark, loop.time()) and self._arrivals_expected():
                    continue
            try:
                stats = await media.get_stats()
            except MediaError as exc:
                log.debug("webvoice: line %s: no stats sample: %s", self._line_id, exc)
                continue
            if self._stopped:
                return
            if watch is not None:
                judged = hearing and self._arrivals_expected() and self.health.state == "connected"
                verdict = watch.sample(received_total(stats), loop.time(), judged=judged)
                if verdict == "stalled":
                    self._changed(self.health.stalled(watch.timeout))
                elif verdict == "flowing":
                    self._changed(self.health.flowing())
            if monitor is not None and state == "connected" and self.health.state == "connected":
                for name, warning in monitor.sample(stats, input_expected=speaking and self._input_expected()):
                    if not self._stopped:
                        self._emit(name, warning)
