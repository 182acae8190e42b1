"""Media health: what the peer connection's states mean for a call (beyond the JS SDK).

SIP says a call is ``confirmed`` whatever its media does; the browser says
whether audio can flow. :class:`MediaHealth` turns the peer connection's
``connectionState`` (the aggregate of the ICE and DTLS transports) and
``iceConnectionState`` into the call's media state, and says which call event
each change is:

==============  =============================  ==============  =================
media state     browser says                   next state      call event
==============  =============================  ==============  =================
new             connection ``connected``       connected       media_connected
new             connection ``failed``          failed          media_failed
connected       ``disconnected``/``failed``    interrupted     media_interrupted
connected       :meth:`stalled` (nothing       interrupted     media_interrupted
                arrives, see FlowWatch)
interrupted     connection ``connected``       connected       media_recovered
                (after a stall: only a change
                into connected)
interrupted     :meth:`flowing` after a        connected       media_recovered
                stall (packets again)
new/interr.     :meth:`give_up` (watchdog,     failed          media_failed
                restarts exhausted)
==============  =============================  ==============  =================

The cause of a failure says what stalled: ``"ICE"`` when no candidate pair
works, ``"DTLS"`` when ICE is connected but the connection is not (the DTLS
handshake did not complete, e.g. a fingerprint that does not match),
``"RTP"`` when the browser still says connected but nothing has arrived for
a while. That last one is real: Firefox may keep a connection ``connected``
for over 40 s after its TURN relay died, while Chromium notices in ~10 s.
Pure Python, no clock: the call arms the watchdog and samples the counters.
"""

from __future__ import annotations

from typing import Any

from .sip import record

__all__ = ["FlowWatch", "MediaHealth", "MediaStateEvent", "MEDIA_EVENTS", "received_total", "stall_cause"]

#: The call events media health raises, in the order a call may see them.
MEDIA_EVENTS = ("media_connected", "media_interrupted", "media_recovered", "media_failed")

_ICE_UP = frozenset({"connected", "completed"})


def stall_cause(connection: str, ice: str) -> str:
    """``"DTLS"`` when ICE works but the connection does not, else ``"ICE"``."""
    return "DTLS" if ice in _ICE_UP and connection != "connected" else "ICE"


@record
class MediaStateEvent:
    """What the ``media_*`` handlers get: the media ``state`` it leads to, the
    browser's ``connection`` and ``ice`` states, and for ``media_failed`` (and
    ``media_interrupted``) the ``cause`` ("ICE", "DTLS" or "RTP") and a ``reason``."""

    state: str
    connection: str
    ice: str
    cause: str | None = None
    reason: str = ""


class MediaHealth:
    """The media state of one call (see the module doc)."""

    def __init__(self) -> None:
        self.state = "new"
        self.connection = "new"
        self.ice = "new"
        # Interrupted by a stall the browser has not confirmed: its "connected" then
        # proves nothing until it changes into connected (say after an ICE restart).
        self._stalled = False

    def _up(self) -> bool:
        return self.connection == "connected" and self.ice in _ICE_UP

    def update(self, connection: str | None, ice: str | None) -> tuple[str, MediaStateEvent] | None:
        """The browser's states changed: the call event to raise, if any."""
        was_up = self._up()
        self.connection = connection or self.connection
        self.ice = ice or self.ice
        if self.state == "failed":
            return None
        if self._stalled and self.connection in ("disconnected", "failed"):
            self._stalled = False  # the browser agrees now; its own "connected" will say when it is back
        if self._stalled and not (self._up() and not was_up):
            return None
        if self.connection == "connected" and self.state in ("new", "interrupted"):
            name = "media_connected" if self.state == "new" else "media_recovered"
            self.state = "connected"
            self._stalled = False
            return name, self._event()
        if self.state == "new" and self.connection == "failed":
            return self.give_up("the connection failed before media flowed")
        if self.state == "connected" and self.connection in ("disconnected", "failed"):
            self.state = "interrupted"
            return "media_interrupted", self._event(cause=stall_cause(self.connection, self.ice))
        return None

    def stalled(self, seconds: float) -> tuple[str, MediaStateEvent] | None:
        """Nothing arrived for ``seconds`` though the browser says connected."""
        if self.state != "connected":
            return None
        self.state = "interrupted"
        self._stalled = True
        return "media_interrupted", self._event(
            cause="RTP", reason=f"nothing received for {seconds:g} s while the browser said {self.connection}")

    def flowing(self) -> tuple[str, MediaStateEvent] | None:
        """Packets arrive again after a stall."""
        if self.state != "interrupted" or not self._stalled or self.connection != "connected":
            return None
        self.state = "connected"
        self._stalled = False
        return "media_recovered", self._event()

    def give_up(self, reason: str) -> tuple[str, MediaStateEvent] | None:
        """Media did not come (the watchdog) or come back (restarts exhausted)."""
        if self.state in ("connected", "failed"):
            return None
        self.state = "failed"
        cause = "RTP" if self._stalled else stall_cause(self.connection, self.ice)
        return "media_failed", self._event(cause=cause, reason=reason)

    def _event(self, cause: str | None = None, reason: str = "") -> MediaStateEvent:
        return MediaStateEvent(self.state, self.connection, self.ice, cause, reason)

    def snapshot(self) -> dict[str, str]:
        """For ``get_stats()``: the call's media state and the browser's."""
        return {"state": self.state, "connection": self.connection, "ice": self.ice}


def received_total(stats: dict[str, Any]) -> int:
    """One number that grows whenever anything arrives on the call's path: RTP
    packets, RTCP and other payload bytes, STUN consent answers (a
    ``get_stats()`` dict). Consent answers (RFC 7675: at least every ~5 s) keep
    it growing on a live path even when the far end sends no audio."""
    transport = stats.get("transport") or {}
    inbound = stats.get("inbound") or {}
    return sum(int(value or 0) for value in (
        inbound.get("packets_received"), transport.get("bytes_received"), transport.get("responses_received")))


class FlowWatch:
    """Whether anything still arrives on connected media, from samples of
    :func:`received_total`: ``"stalled"`` once it has not grown for ``timeout``
    seconds of samples that were judged, ``"flowing"`` when it grows again.

    A sample is judged only when arrivals are expected: media connected and
    the call not on hold (a held call carries no RTP, and some peers send no
    RTCP then). Samples not judged restart the clock, so a hold or an
    interruption the browser reported never counts toward a stall."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._last: int | None = None
        self._since = 0.0  # when the total last grew, or judging (re)started
        self._mark: float | None = None  # the last probe's mark

    def probed(self, mark: float | None, now: float) -> bool:
        """A cheap probe's mark (when audio last arrived, see
        ``MediaSession.arrival_mark``): True when it moved since the last probe,
        which counts as a sample that grew; False (it did not move, the first
        probe, no mark) asks for a full sample. A probe is only ever evidence
        that media flows, never that it stalled."""
        moved = mark is not None and self._mark is not None and mark > self._mark
        self._mark = mark
        if moved:
            self._since = now
        return moved

    def pause(self, now: float) -> None:
        """A sample not taken (nothing to judge): as one not judged."""
        self._since = now

    def sample(self, received: int, now: float, *, judged: bool) -> str | None:
        grew = self._last is not None and received > self._last
        first = self._last is None
        self._last = received
        if grew:
            self._since = now
            return "flowing"
        if first or not judged:
            self._since = now
            return None
        return "stalled" if now - self._since >= self.timeout else None
