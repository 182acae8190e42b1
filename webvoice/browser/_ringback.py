"""The local ringback tone: what a caller hears while the other side rings.

A SIP 180 Ringing without SDP brings no early media, so the caller's page
makes the tone itself (as a phone network would): WebAudio, an
``OscillatorNode`` through a ``GainNode`` whose gain is switched on and off
by scheduled ``setValueAtTime`` events, so the cadence runs in the browser's
audio thread with no message per beep.

The tone is the European one (CEPT / ETSI TR 101 041, ITU-T E.180): 425 Hz,
1 s on, 4 s off. Cycles are scheduled two at a time (most calls are answered
within ten seconds); a timer adds the next two while the call still rings.

Starting a tone costs no turn of the event loop where the realm answers at
once (the main thread): the set-up runs as an eagerly started task (a turn
of Pyodide's loop is a browser task or two), and what follows is a loop
timer, not a sleeping task to cancel.

The lines of a page share one ``AudioContext`` (:class:`RingbackContext`, one
per media backend): making one starts an audio rendering pipeline and closing
it tears that down, several milliseconds of the main thread each, which a
ringback per call would pay on every call. Each tone is a voice: an oscillator
and a gain node on it, made once and kept in the context when the tone stops
(its gain's schedule cancelled, the gain back to 0), so that the next call's
tone only schedules its cadence: making, connecting, starting, stopping and
disconnecting two nodes per call was about ten crossings into the browser
and its audio graph's bookkeeping. A page keeps as many voices as it has had
lines ringing at once. The context is suspended while no line rings (idle
voices cost nothing then) and closed with the backend.
"""

from __future__ import annotations

import asyncio
import logging

from .._media import MediaError
from ._realm import Realm, Ref, ignore

__all__ = ["RINGBACK_FREQUENCY", "RINGBACK_ON", "RINGBACK_OFF", "RINGBACK_LEVEL", "Ringback", "RingbackContext"]

log = logging.getLogger("webvoice")

#: Hz.
RINGBACK_FREQUENCY = 425.0
#: Seconds of tone, then of silence, in each cycle.
RINGBACK_ON = 1.0
RINGBACK_OFF = 4.0
#: Gain of the tone (about -16 dBFS): audible, not loud.
RINGBACK_LEVEL = 0.15
_CYCLES_AHEAD = 2  # ten seconds


class RingbackContext:
    """The ``AudioContext`` the ringback tones of one backend's lines play in:
    made by the first tone, running while a tone plays, suspended otherwise."""

    def __init__(self, realm: Realm) -> None:
        self.realm = realm
        self._context: Ref | None = None
        self._tones = 0
        #: Voices made in this context and not playing: (oscillator, gain, its AudioParam).
        self._idle: list[tuple[Ref, Ref, Ref]] = []

    def acquire(self) -> Ref | None:
        """The context for one more tone (None if the browser has no WebAudio)."""
        realm = self.realm
        if self._context is None:
            try:
                self._context = realm.new("AudioContext", doing="AudioContext")
            except MediaError as exc:
                log.info("webvoice: no ringback tone: %s", exc)
                return None
            realm.on_lost(self._context, "close")
        # A page that has not been clicked yet may start it suspended; resume() asks.
        realm.fire(self._context, "resume", doing="resume", on_error=ignore)
        self._tones += 1
        return self._context

    async def voice(self, context: Ref) -> tuple[Ref, Ref, Ref]:
        """An oscillator at the ringback's frequency, through a gain at 0, into the
        speakers: an idle one of ``context``'s, or a new one."""
        if self._idle and context is self._context:
            return self._idle.pop()
        realm = self.realm
        oscillator = await realm.invoke(context, "createOscillator", doing="createOscillator")
        gain = await realm.invoke(context, "createGain", doing="createGain")
        realm.set(oscillator, "frequency.value", RINGBACK_FREQUENCY)
        realm.set(gain, "gain.value", 0)
        realm.fire(oscillator, "connect", gain, doing="connect")
        destination = realm.ref(context, "destination")
        realm.fire(gain, "connect", destination, doing="connect")
        realm.release(destination)
        realm.fire(oscillator, "start", doing="start")
        return oscillator, gain, realm.ref(gain, "gain")

    def silence(self, context: Ref, voice: tuple[Ref, Ref, Ref]) -> None:
        """A tone's voice is done: its cadence cancelled, its gain back to 0, kept for the next tone."""
        realm = self.realm
        if context is not self._context:  # closed meanwhile: the nodes went with it
            realm.release(*voice)
            return
        level = voice[2]
        realm.fire(level, "cancelScheduledValues", 0, doing="cancelScheduledValues", on_error=ignore)
        realm.set(level, "value", 0)
        self._idle.append(voice)

    def release(self) -> None:
        """One tone less: with none left, the context stops rendering."""
        self._tones = max(0, self._tones - 1)
        if self._tones == 0 and self._context is not None:
            self.realm.fire(self._context, "suspend", doing="suspend", on_error=ignore)

    def close(self) -> None:
        context, self._context = self._context, None
        self._tones = 0
        idle, self._idle = self._idle, []
        if context is not None:
            self.realm.fire(context, "close", doing="close", on_error=ignore)
            self.realm.release(context)
        for voice in idle:
            self.realm.release(*voice)

    def lost(self) -> None:
        """The page went away: nothing left to close there."""
        self._context = None
        self._tones = 0
        self._idle = []


class Ringback:
    """Starts and stops the tone of one line (idempotent both ways)."""

    def __init__(self, shared: RingbackContext) -> None:
        self._shared = shared
        self._realm = shared.realm
        self._context: Ref | None = None
        self._voice: tuple[Ref, Ref, Ref] | None = None  # the shared context's, while this tone has it
        self._task: asyncio.Task | None = None
        self._more: asyncio.TimerHandle | None = None
        self._scheduled_until = 0.0  # in the AudioContext's time

    @property
    def playing(self) -> bool:
        return self._context is not None

    def start(self) -> None:
        if self._context is not None:
            return
        context = self._shared.acquire()
        if context is None:
            return
        self._context = context
        # Eager: runs now up to its first real wait (none on the main thread), no turn spent.
        task = asyncio.Task(self._run(), loop=asyncio.get_running_loop(), eager_start=True)
        self._task = None if task.done() else task

    async def _run(self) -> None:
        realm, context = self._realm, self._context
        assert context is not None
        try:
            voice = await self._shared.voice(context)
            if self._context is not context:  # stopped meanwhile: the voice stays for the next tone
                self._shared.silence(context, voice)
                return
            self._voice = voice
            level = voice[2]
            # The shared context's clock runs from when it was made: the first cycle starts now.
            self._scheduled_until = float(await realm.get(context, "currentTime") or 0.0)
        except MediaError as exc:
            if self._context is context:
                log.warning("webvoice: the ringback tone failed: %s", exc)
            return
        finally:
            self._task = None
        if self._context is context:
            self._continue(context, level)

    def _continue(self, context: Ref, level: Ref) -> None:
        """Schedule two more cycles, and come back for more shortly before they end."""
        self._more = None
        if self._context is not context:
            return
        self._schedule(level)
        self._more = asyncio.get_running_loop().call_later(
            _CYCLES_AHEAD * (RINGBACK_ON + RINGBACK_OFF) - 2, self._continue, context, level)

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
        self._cancel()
        voice, self._voice = self._voice, None
        if voice is not None:
            self._shared.silence(context, voice)
        self._shared.release()

    def lost(self) -> None:
        """The page went away: nothing left to close there."""
        self._context = None
        self._cancel()
        self._voice = None

    def _cancel(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        more, self._more = self._more, None
        if more is not None:
            more.cancel()
