"""The local ringback tone: what a caller hears while the other side rings.

A SIP 180 Ringing without SDP brings no early media, so the caller's page
makes the tone itself (as a phone network would): WebAudio, an
``OscillatorNode`` through a ``GainNode`` whose gain is switched on and off
by scheduled ``setValueAtTime`` events, so the cadence runs in the browser's
audio thread with no message per beep.

The tone is the European one (CEPT / ETSI TR 101 041, ITU-T E.180): 425 Hz,
1 s on, 4 s off. Cycles are scheduled a minute at a time; a Python task adds
the next minute while the call still rings.
"""

from __future__ import annotations

import asyncio
import logging

from .._media import MediaError
from ._realm import Realm, Ref

__all__ = ["RINGBACK_FREQUENCY", "RINGBACK_ON", "RINGBACK_OFF", "RINGBACK_LEVEL", "Ringback"]

log = logging.getLogger("webvoice")

#: Hz.
RINGBACK_FREQUENCY = 425.0
#: Seconds of tone, then of silence, in each cycle.
RINGBACK_ON = 1.0
RINGBACK_OFF = 4.0
#: Gain of the tone (about -16 dBFS): audible, not loud.
RINGBACK_LEVEL = 0.15
_CYCLES_AHEAD = 12  # one minute


def _quiet(error: MediaError) -> None:
    """The context may be closed already."""


class Ringback:
    """Starts and stops the tone of one line (idempotent both ways)."""

    def __init__(self, realm: Realm) -> None:
        self._realm = realm
        self._context: Ref | None = None
        self._refs: list[Ref] = []
        self._task: asyncio.Task | None = None
        self._scheduled_until = 0.0  # in the AudioContext's time

    @property
    def playing(self) -> bool:
        return self._context is not None

    def start(self) -> None:
        if self._context is not None:
            return
        realm = self._realm
        try:
            context = realm.new("AudioContext", doing="AudioContext")
        except MediaError as exc:
            log.info("webvoice: no ringback tone: %s", exc)
            return
        self._context = context
        realm.on_lost(context, "close")
        # The AudioContext's clock starts at 0 when it is made: the first cycle starts now.
        self._scheduled_until = 0.0
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        realm, context = self._realm, self._context
        try:
            oscillator = await realm.invoke(context, "createOscillator", doing="createOscillator")
            gain = await realm.invoke(context, "createGain", doing="createGain")
            self._refs = [oscillator, gain]
            realm.set(oscillator, "frequency.value", RINGBACK_FREQUENCY)
            realm.set(gain, "gain.value", 0)
            realm.fire(oscillator, "connect", gain, doing="connect")
            destination = realm.ref(context, "destination")
            realm.fire(gain, "connect", destination, doing="connect")
            realm.release(destination)
            realm.fire(oscillator, "start", doing="start")
            # A page that has not been clicked yet may start it suspended; resume() asks.
            realm.fire(context, "resume", doing="resume", on_error=_quiet)
            level = realm.ref(gain, "gain")
            self._refs.append(level)
            while self._context is context:
                self._schedule(level)
                await realm.sync()
                await asyncio.sleep(_CYCLES_AHEAD * (RINGBACK_ON + RINGBACK_OFF) - 10)
        except MediaError as exc:
            if self._context is context:
                log.warning("webvoice: the ringback tone failed: %s", exc)

    def _schedule(self, level: Ref) -> None:
        start = self._scheduled_until
        cycle = RINGBACK_ON + RINGBACK_OFF
        for k in range(_CYCLES_AHEAD):
            at = start + k * cycle
            self._realm.fire(level, "setValueAtTime", RINGBACK_LEVEL, at, doing="setValueAtTime")
            self._realm.fire(level, "setValueAtTime", 0, at + RINGBACK_ON, doing="setValueAtTime")
        self._scheduled_until = start + _CYCLES_AHEAD * cycle

    def stop(self) -> None:
        context, self._context = self._context, None
        if context is None:
            return
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._realm.fire(context, "close", doing="close", on_error=_quiet)
        self._realm.release(context, *self._refs)
        self._refs = []

    def lost(self) -> None:
        """The page went away: nothing left to close there."""
        self._context = None
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._refs = []
