"""Sounds of the softphone, made with WebAudio oscillators (no audio files).

* the ring tone of an incoming call (the European 425 Hz cadence: one second
  on, four off; the first burst starts at once);
* a short key tone for each dial-pad press (the two DTMF frequencies).

Browsers start an ``AudioContext`` only after the user touched the page:
``unlock()`` is called from a click (signing in), and until then the tones
are silently skipped; the ringing banner still shows.
"""

from __future__ import annotations

import asyncio

import js

RING_HZ = (425,)
RING_ON_S, RING_OFF_S = 1.0, 4.0
RING_GAIN = 0.12
KEY_GAIN = 0.08
KEY_S = 0.12

# Row and column frequencies of the keypad (ITU-T Q.23).
DTMF_HZ = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633),
}


class Tones:
    def __init__(self) -> None:
        self._context = None
        self._ringing: asyncio.Task | None = None

    def unlock(self) -> None:
        """Create (or resume) the audio context; call it from a user gesture."""
        if self._context is None:
            context_class = getattr(js, "AudioContext", None) or getattr(js, "webkitAudioContext", None)
            if context_class is None:
                return
            self._context = context_class.new()
        if self._context.state == "suspended":
            self._context.resume()

    # --- ring tone -------------------------------------------------------------------

    @property
    def ringing(self) -> bool:
        return self._ringing is not None

    def start_ring(self) -> None:
        if self._ringing is None:
            self._ringing = asyncio.ensure_future(self._ring())

    def stop_ring(self) -> None:
        if self._ringing is not None:
            self._ringing.cancel()
            self._ringing = None

    async def _ring(self) -> None:
        while True:
            self._play(RING_HZ, RING_ON_S, RING_GAIN)
            await asyncio.sleep(RING_ON_S + RING_OFF_S)

    # --- key tones -----------------------------------------------------------------------

    def key(self, digit: str) -> None:
        frequencies = DTMF_HZ.get(digit.upper())
        if frequencies:
            self._play(frequencies, KEY_S, KEY_GAIN)

    # --- inside -----------------------------------------------------------------------------

    def _play(self, frequencies: tuple[int, ...], seconds: float, gain: float) -> None:
        """Play the frequencies together for ``seconds``, with short fades (no clicks)."""
        context = self._context
        if context is None or context.state != "running":
            return
        start = context.currentTime
        end = start + seconds
        envelope = context.createGain()
        envelope.gain.setValueAtTime(0, start)
        envelope.gain.linearRampToValueAtTime(gain, start + 0.01)
        envelope.gain.setValueAtTime(gain, end - 0.02)
        envelope.gain.linearRampToValueAtTime(0, end)
        envelope.connect(context.destination)
        for frequency in frequencies:
            oscillator = context.createOscillator()
            oscillator.frequency.value = frequency
            oscillator.connect(envelope)
            oscillator.start(start)
            oscillator.stop(end)
