"""The one interface between call logic and the browser's media.

Calls never touch ``js``: they ask a :class:`MediaBackend` for a
:class:`MediaSession` per line and drive offer/answer, hold, mute, DTMF, stats
and devices through it. Two backends implement it: *direct* (Python on the
page's main thread, calling RTCPeerConnection itself) and *bridged* (Python in
a Web Worker, driving a small agent on the main thread by messages). Keeping
the surface this small, and its values plain (str, dict, list), is what lets
the bridged backend exist at all: everything here must cross postMessage.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .sip import record

__all__ = ["MediaBackend", "MediaSession", "MediaError", "MediaPermissionError", "DeviceNotFoundError",
           "NotSupportedError", "AudioDevice", "MediaEventHandler", "DTMF_TONES", "DTMF_TIMING", "DtmfTiming"]

#: The tones webvoice sends as DTMF (RFC 4733 events 0-15 and ``,`` for a pause).
DTMF_TONES = frozenset("0123456789ABCDabcd#*,")


class MediaError(Exception):
    """The browser's media stack failed (the JS SDK's "WebRTC Error")."""


class MediaPermissionError(MediaError):
    """The user or the browser denied the microphone ("User Denied Media Access")."""


class DeviceNotFoundError(MediaError):
    """No audio device has the id asked for."""


class NotSupportedError(MediaError):
    """This browser cannot do it (e.g. no ``setSinkId`` to choose the speaker)."""


@record
class DtmfTiming:
    """How long tones take: the browser's ``RTCDTMFSender.insertDTMF`` limits
    (Chrome and Firefox clamp to them) and its two-second ``,`` pause."""

    min_duration_ms: int = 40
    max_duration_ms: int = 6000
    min_gap_ms: int = 30
    comma_s: float = 2.0

    def play_time(self, tones: str, duration: int, inter_tone_gap: int) -> float:
        """Seconds the sender takes to play ``tones`` (what a caller waits for)."""
        tone = min(max(duration, self.min_duration_ms), self.max_duration_ms) / 1000
        gap = max(inter_tone_gap, self.min_gap_ms) / 1000
        return tones.count(",") * self.comma_s + len(tones) * (tone + gap)


#: The one DTMF timing webvoice uses.
DTMF_TIMING = DtmfTiming()


@record
class AudioDevice:
    """An audio input or output (JS: ``{deviceId, label, kind}``)."""

    device_id: str
    label: str
    kind: str  # "audioinput" | "audiooutput"


#: ``handler(name, data)``: "icecandidate" {candidate, sdp_mid} (each gathered
#: candidate; none for the end of gathering), "track" {} (remote audio is
#: playing), "connectionstatechange" {state, ice} (the
#: peer connection's connectionState and iceConnectionState, on a change of either), "devicechange" {}, "ended"
#: {reason} (reason "microphone": the browser ended the microphone track on
#: its own, e.g. unplugged; the call goes on silent until
#: ``reset_local_media``/``replace_microphone``; any other reason: the media
#: itself is gone, e.g. "agent", the page that held it for a Web Worker went
#: away, and the call is hung up).
MediaEventHandler = Callable[[str, dict[str, Any]], None]


class MediaSession(Protocol):
    """The media of one line: a peer connection, its microphone track, its speaker.

    Descriptions go in and out as SDP strings. ``create_offer`` and
    ``create_answer`` return the *local* description once it holds usable ICE
    candidates (gathering completes, or host candidates are ready and the
    bounded wait for server-reflexive ones is over): SIP carries no trickle.
    """

    async def create_offer(self, *, ice_restart: bool = False) -> str:
        """Make and set our offer, return it once it holds candidates. An
        ``ice_restart`` that gathers no candidate raises MediaError, its offer
        undone: it could not connect, so it is not worth a re-INVITE."""

    async def create_answer(self, remote_offer: str) -> str:
        """Apply the remote offer, answer it, return our answer."""

    async def apply_answer(self, sdp: str, *, provisional: bool = False) -> None:
        """Apply the remote answer (``provisional``: early media, a pranswer)."""

    async def rollback(self) -> None:
        """Abandon our pending offer (the peer refused it), or a remote offer we
        could not answer. The hold of the last completed exchange comes back
        (``set_hold`` of the refused offer is undone). No-op when stable."""

    def set_hold(self, held: bool) -> None:
        """Make the next offer hold (``sendonly``/``inactive``) or resume.

        While held, answers to the peer's offers hold too (``sendonly``, or
        ``inactive`` to a ``sendonly`` offer) and the microphone is silenced
        (as JsSIP does); ``set_muted`` is a separate flag, kept as it is."""

    def set_muted(self, muted: bool) -> None:
        """Stop or resume sending microphone audio (the track stays)."""

    async def send_dtmf(self, tones: str, duration: int, inter_tone_gap: int) -> None:
        """RFC 4733 telephone-events through RTCDTMFSender."""

    async def get_stats(self) -> dict[str, Any]:
        """Plain figures of the audio::

            {"inbound": {"packets_received": int, "packets_lost": int,
                         "jitter": float (s), "bytes_received": int,
                         "audio_level": float 0..1 | None, "total_audio_energy": float},
             "outbound": {"packets_sent": int, "bytes_sent": int,
                          "audio_level": float 0..1 | None, "total_audio_energy": float | None,
                          "total_samples_duration": float (s) | None},  # the microphone (media-source)
             "round_trip_time": float (s) | None, "codec": "audio/opus" | ... | None,
             # summed over the ICE candidate pairs (media health's evidence of a live path):
             "transport": {"bytes_received": int | None, "bytes_sent": int | None,
                           "responses_received": int | None}}  # STUN answers (consent)

        All zeros/None before media flows, and once closed."""

    async def arrival_mark(self) -> float | None:
        """When the peer's audio last reached this line (ms, a clock of the browser's own),
        None when the browser does not say. Cheap beside ``get_stats``: media health
        probes it first, and a mark that moved since the last probe is evidence enough
        that media flows (see ``MediaRecovery``)."""

    async def replace_microphone(self, device_id: str | None) -> None:
        """Send from another microphone (``replaceTrack``); None: the default."""

    async def set_speaker(self, device_id: str | None) -> None:
        """Play this line on another output (``setSinkId``)."""

    async def reset_local_media(self) -> None:
        """Get the microphone again with the same constraints and send from it."""

    def start_ringback(self) -> None:
        """Play the local ringback tone (the peer rings, no early media) until
        ``stop_ringback``, an answer applied, or ``close``."""

    def stop_ringback(self) -> None: ...

    def connection(self) -> Any:
        """The RTCPeerConnection (direct backend) or None (bridged)."""

    def close(self) -> None:
        """Stop local tracks, close the connection, remove the audio element."""


class MediaBackend(Protocol):
    """Makes media sessions and answers for the page's audio devices."""

    async def open_session(
        self,
        line_id: str,
        *,
        ice_servers: list[str],
        constraints: dict[str, Any],
        microphone: str | None,
        speaker: str | None,
        on_event: MediaEventHandler,
        pc_config: dict[str, Any] | None = None,
        offer_constraints: dict[str, Any] | None = None,
    ) -> MediaSession:
        """A new session with the microphone captured (raises MediaPermissionError
        when denied, DeviceNotFoundError for an unknown microphone).

        ``pc_config``: RTCConfiguration members merged into the connection's
        (``iceServers`` added to the STUN servers, ``iceTransportPolicy``,
        ``bundlePolicy``, ``rtcpMuxPolicy``, ``iceCandidatePoolSize``);
        ``offer_constraints``: options of every ``createOffer``
        (``offerToReceiveAudio``, ``iceRestart``, ``voiceActivityDetection``...).
        A bad value raises ValueError before the microphone is asked for."""

    async def list_devices(self) -> list[AudioDevice]: ...

    def supports_speaker_selection(self) -> bool: ...

    def on_devices_changed(self, handler: Callable[[], None]) -> None: ...
