"""The media engine: every media decision of webvoice, written once, for any realm.

One :class:`EngineSession` per line: an ``RTCPeerConnection`` with the
microphone's track (added with ``addTrack``, so a remote offer reuses its
transceiver), a hidden ``<audio autoplay id="webvoice-audio-<line>">`` in
``document.body`` playing the remote track, and the listeners that report to
the call driver. :class:`EngineBackend` (webvoice/browser/_engine_backend.py)
makes them and answers for the page's audio devices. Both run on a
:class:`~webvoice.browser._realm.Realm`: the main thread's (``DirectMediaBackend``) or a worker's view of the page
(``BridgedMediaBackend``); nothing here knows which.

Offers and answers (waiting for ICE candidates, the directions of hold, the
DTLS role kept) are :class:`~webvoice.browser._negotiation.Negotiation`'s,
which the session owns.

Hold (RFC 3264 section 8.4): while held, our offers and answers say
``sendonly`` or ``inactive`` (the negotiation's), and the microphone is taken
off the sender, so the held party receives no RTP at all, as JsSIP does; ``muted`` and ``held`` are independent
flags and the track is enabled only when neither is set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from .._media import (
    DTMF_TIMING,
    DTMF_TONES,
    MediaError,
    MediaEventHandler,
    NotSupportedError,
)
from ._negotiation import Negotiation
from ._realm import Realm, Ref, Until, ignore
from ._ringback import Ringback, RingbackContext
from ._stats import _number, empty_stats, summarize

__all__ = ["EngineSession", "SessionHost"]

log = logging.getLogger("webvoice")


class SessionHost(Protocol):
    """What a session needs of the backend that made it
    (webvoice/browser/_engine_backend.py's EngineBackend): its realm and page,
    the shared ringback context, a new microphone, and to be forgotten when it
    ends. A protocol, so that this module does not import the backend's."""

    realm: Realm
    document: Ref | None
    ringback: RingbackContext

    async def _microphone_track(self, constraints: dict[str, Any] | None,
                                device_id: str | None) -> tuple[Ref, Ref]: ...

    def supports_speaker_selection(self) -> bool: ...

    def _forget(self, session: EngineSession) -> None: ...


class EngineSession:
    """The media of one line (see the module doc). Made by :meth:`EngineBackend.open_session`."""

    def __init__(self, backend: SessionHost, line_id: str, *, config: dict[str, Any], offer: dict[str, Any],
                 constraints: dict[str, Any], microphone: str | None, on_event: MediaEventHandler) -> None:
        self.line_id = line_id
        self._backend = backend
        self._realm: Realm = backend.realm
        self._config = config
        self._offer_options = offer
        self._constraints = dict(constraints or {})
        self._microphone = microphone
        self._on_event = on_event
        self._closed = False
        self._muted = False
        self._held = False
        self._negotiation: Negotiation | None = None  # made once the peer connection is
        self._subscriptions: list[int] = []
        self._track_ended: int | None = None
        self._stream: Ref | None = None
        self._track: Ref | None = None
        self._pc: Ref | None = None
        self._sender: Ref | None = None
        self._transceiver: Ref | None = None
        self._receiver: Ref | None = None  # the transceiver's, made on the first arrival_mark()
        self._probe = True  # False once the browser has no getSynchronizationSources()
        self._audio: Ref | None = None
        self._remote: tuple[Ref | None, Ref | None] = (None, None)  # (stream, track) playing
        self._remote_id: str | None = None  # the id of that track
        self._element_id: str | None = None
        self._ringback = Ringback(backend.ringback)
        #: The peer connection's last reported (connectionState, iceConnectionState).
        self._states = ("new", "new")

    # --- opening -----------------------------------------------------------------------

    async def _open(self) -> None:
        realm = self._realm
        element_id = await self._choose_element_id()
        self._stream, self._track = await self._backend._microphone_track(self._constraints, self._microphone)
        self._pc = pc = realm.new("RTCPeerConnection", self._config, doing="RTCPeerConnection")
        realm.on_lost(pc, "close")
        self._listen(pc, "icecandidate", self._on_icecandidate,
                     fields={"candidate": "candidate.candidate", "type": "candidate.type", "sdp_mid": "candidate.sdpMid"})
        self._listen(pc, "track", self._on_track, fields={"kind": "track.kind", "id": "track.id"},
                     refs={"track": "track"})
        states = {"state": "target.connectionState", "ice": "target.iceConnectionState"}
        self._listen(pc, "connectionstatechange", self._on_connection_state, fields=states)
        self._listen(pc, "iceconnectionstatechange", self._on_connection_state, fields=states)
        self._sender = await realm.invoke(pc, "addTrack", self._track, self._stream, doing="addTrack")
        transceivers = await realm.invoke(pc, "getTransceivers", doing="getTransceivers")
        self._transceiver = realm.ref(transceivers, "0")
        realm.release(transceivers)
        self._negotiation = Negotiation(
            realm, pc, self._transceiver, line_id=self.line_id, ice_servers=bool(self._config["iceServers"]),
            offer_options=self._offer_options, held=lambda: self._held, check_open=self._check_open)
        self._watch_track()
        document = self._backend.document
        self._audio = audio = await realm.invoke(document, "createElement", "audio", doing="createElement")
        realm.on_lost(audio, "remove")
        self._element_id = element_id
        realm.set(audio, "id", element_id)
        realm.set(audio, "autoplay", True)
        realm.set(audio, "hidden", True)
        realm.set(audio, "dataset.webvoiceLine", self.line_id)
        realm.set(audio, "dataset.webvoiceBridge", realm.id)
        body = realm.ref(document, "body")
        realm.fire(body, "appendChild", audio, doing="appendChild")
        realm.release(body)  # in a worker, a slot on the page for each line otherwise
        await realm.sync()

    async def _choose_element_id(self) -> str:
        """``webvoice-audio-<line>``, unless another realm's live line holds it (several
        workers on one page): then ``webvoice-audio-<realm>-<line>``. One of ours
        left by a session never closed is removed."""
        realm, document = self._realm, self._backend.document
        element_id = f"webvoice-audio-{self.line_id}"
        existing = await realm.invoke(document, "getElementById", element_id, doing="getElementById")
        owner = await realm.get(existing, "dataset.webvoiceBridge")
        if owner == realm.id:
            realm.fire(existing, "remove", doing="remove", on_error=ignore)
        elif owner is not None:
            element_id = f"webvoice-audio-{realm.id}-{self.line_id}"
        realm.release(existing)
        return element_id

    def _listen(self, target: Ref, event: str, handler: Callable[[dict[str, Any]], None], **paths: Any) -> int:
        subscription = self._realm.listen(target, event, handler, **paths)
        self._subscriptions.append(subscription)
        return subscription

    # --- offer/answer -------------------------------------------------------------------

    async def create_offer(self, *, ice_restart: bool = False) -> str:
        return await self._negotiated().offer(ice_restart=ice_restart)

    async def create_answer(self, remote_offer: str) -> str:
        return await self._negotiated().answer(remote_offer)

    async def apply_answer(self, sdp: str, *, provisional: bool = False) -> None:
        if await self._negotiated().apply_answer(sdp, provisional=provisional):
            self.stop_ringback()  # early media or the answer: the peer's audio from now on

    async def rollback(self) -> None:
        if self._closed or self._negotiation is None:
            return
        if await self._negotiation.rollback():
            # The refused offer's hold (or resume) did not happen.
            self.set_hold(self._negotiation.negotiated_hold)

    def _negotiated(self) -> Negotiation:
        self._check_open()
        if self._negotiation is None:
            raise MediaError(f"the media session of line {self.line_id!r} is not open yet")
        return self._negotiation

    # --- hold, mute, DTMF -----------------------------------------------------------

    @property
    def held(self) -> bool:
        return self._held

    @property
    def muted(self) -> bool:
        return self._muted

    @property
    def closed(self) -> bool:
        return self._closed

    def set_hold(self, held: bool) -> None:
        """Hold: the next offer is sendonly (RFC 3264 8.4) and the microphone is
        taken off the sender, so no RTP at all reaches the held party (a disabled
        track would still send silence packets). Resume puts it back."""
        changed = bool(held) != self._held
        self._held = bool(held)
        self._apply_enabled()
        if changed and not self._closed:
            self._realm.fire(self._sender, "replaceTrack", None if self._held else self._track, doing="hold")

    def set_muted(self, muted: bool) -> None:
        self._muted = bool(muted)
        self._apply_enabled()

    def _apply_enabled(self) -> None:
        if not self._closed:
            self._realm.set(self._track, "enabled", not (self._muted or self._held))

    async def send_dtmf(self, tones: str, duration: int, inter_tone_gap: int) -> None:
        self._check_open()
        if not isinstance(tones, str) or not tones or not set(tones) <= DTMF_TONES:
            raise ValueError(f"DTMF tones are 0-9, A-D, *, # and ',' (got {tones!r})")
        realm = self._realm
        if not await realm.get(self._sender, "dtmf.canInsertDTMF"):
            connection, ice = self._states
            if connection not in ("new", "connected"):  # negotiated, but media is down: say so
                raise MediaError(f"this call cannot send DTMF: its media is not connected "
                                 f"(connection {connection}, ICE {ice})")
            raise NotSupportedError("this call cannot send DTMF now (no telephone-event negotiated, "
                                    "or the line does not send)")
        dtmf = realm.ref(self._sender, "dtmf")
        limit = DTMF_TIMING.play_time(tones, duration, inter_tone_gap) + 1.0
        waiter = realm.arm(dtmf, [Until("tonechange", field="tone", equals="")], limit)  # "": all played
        try:
            await realm.invoke(dtmf, "insertDTMF", tones, int(duration), int(inter_tone_gap), doing="insertDTMF",
                               keep=False)
            reason, _ = await realm.settle(waiter)
            if reason == "timeout":
                log.warning("line %s: DTMF %r not reported played after %.1f s", self.line_id, tones, limit)
        finally:
            realm.release(waiter, dtmf)

    # --- ringback -----------------------------------------------------------------------------

    def start_ringback(self) -> None:
        if not self._closed:
            self._ringback.start()

    def stop_ringback(self) -> None:
        self._ringback.stop()

    @property
    def ringback_playing(self) -> bool:
        """Whether the ringback tone is on (for applications and tests)."""
        return self._ringback.playing

    # --- stats, devices ----------------------------------------------------------------

    async def get_stats(self) -> dict[str, Any]:
        if self._closed:
            return empty_stats()
        entries = await self._realm.call(self._pc, "getStats", doing="getStats")
        return summarize(entries or [])

    async def arrival_mark(self) -> float | None:
        # RTCRtpReceiver.getSynchronizationSources(): a synchronous call answering a
        # few plain objects, where getStats() makes a report of every object the
        # connection has, through a promise. Its timestamp is when the source's last
        # packet was played out; no source yet, or no such method, is no answer.
        if self._closed or self._transceiver is None or not self._probe:
            return None
        realm = self._realm
        if self._receiver is None:
            self._receiver = realm.ref(self._transceiver, "receiver")
        try:
            sources = await realm.call(self._receiver, "getSynchronizationSources", doing="getSynchronizationSources")
        except MediaError as exc:
            log.debug("webvoice: line %s: no arrival probe: %s", self.line_id, exc)
            self._probe = False
            return None
        stamps = [_number(s, "timestamp") for s in sources if isinstance(s, dict)] if isinstance(sources, list) else []
        return max((t for t in stamps if t is not None), default=None)

    async def replace_microphone(self, device_id: str | None) -> None:
        self._check_open()
        realm = self._realm
        stream, track = await self._backend._microphone_track(self._constraints, device_id)
        try:
            realm.set(track, "enabled", not (self._muted or self._held))
            if not self._held:  # while held the sender stays empty; resume attaches it
                await realm.call(self._sender, "replaceTrack", track, doing="replaceTrack")
            else:
                await realm.sync()
            self._check_open()
        except BaseException:
            realm.fire(track, "stop", doing="stop", on_error=ignore)
            realm.release(stream, track)
            raise
        old_stream, old_track = self._stream, self._track
        self._unwatch_track()
        self._stream, self._track, self._microphone = stream, track, device_id
        self._watch_track()
        realm.fire(old_track, "stop", doing="stop", on_error=ignore)
        realm.release(old_stream, old_track)

    async def set_speaker(self, device_id: str | None) -> None:
        self._check_open()
        if not self._backend.supports_speaker_selection():
            raise NotSupportedError("this browser cannot choose the speaker (no HTMLMediaElement.setSinkId)")
        await self._realm.call(self._audio, "setSinkId", device_id or "", doing=f"setSinkId({device_id!r})")

    async def reset_local_media(self) -> None:
        await self.replace_microphone(self._microphone)

    def connection(self) -> Any:
        """The RTCPeerConnection on the main thread; None in a worker (it lives on the page)."""
        return None if self._pc is None else self._realm.js_object(self._pc)

    @property
    def audio_element(self) -> Any:
        """The ``<audio>`` element playing this line (None once closed, or in a worker)."""
        return None if self._audio is None else self._realm.js_object(self._audio)

    @property
    def element_id(self) -> str | None:
        """The id of the page's ``<audio>`` element for this line."""
        return self._element_id

    @property
    def live_proxies(self) -> int:
        """How many JS proxies this session holds (0 once closed; for leak tests)."""
        return self._realm.proxies(self._subscriptions)

    # --- browser events ------------------------------------------------------------------

    def _emit(self, name: str, data: dict) -> None:
        if self._closed:
            return
        try:
            self._on_event(name, data)
        except Exception:
            log.exception("line %s: the media event handler raised on %r", self.line_id, name)

    def _on_icecandidate(self, data: dict[str, Any]) -> None:
        if data.get("candidate"):  # not the end of candidates (null, or "" for one generation)
            self._emit("icecandidate", {"candidate": str(data["candidate"]), "sdp_mid": data.get("sdp_mid") or None})

    def _on_track(self, data: dict[str, Any]) -> None:
        realm, track = self._realm, data["track"]
        if self._closed or data.get("kind") != "audio":
            realm.release(track)
            return
        if data.get("id") and data.get("id") == self._remote_id:
            # The track playing comes back (a re-offer let the transceiver receive again:
            # a held line's re-INVITEs): the element plays it already. A new stream would
            # make the element load and play again, a few hundred microseconds of the page's.
            realm.release(track)
            self._emit("track", {})
            return
        try:
            stream = realm.new("MediaStream", [track], doing="MediaStream")
        except MediaError as exc:
            log.warning("line %s: the remote audio cannot play: %s", self.line_id, exc)
            realm.release(track)
            return
        realm.set(self._audio, "srcObject", stream)
        realm.fire(self._audio, "play", doing="play", on_error=self._not_playing)
        realm.release(*self._remote)
        self._remote, self._remote_id = (stream, track), data.get("id") or None
        self._emit("track", {})

    def _not_playing(self, error: MediaError) -> None:
        if not self._closed:
            log.warning("line %s: the remote audio does not play (%s); the page may need a user gesture first",
                        self.line_id, error)

    def _on_connection_state(self, data: dict[str, Any]) -> None:
        # Both events carry both states: ICE alone going "connected" while the
        # connection does not is what a stalled DTLS handshake looks like.
        states = (str(data.get("state") or self._states[0]), str(data.get("ice") or self._states[1]))
        if states != self._states:
            self._states = states
            self._emit("connectionstatechange", {"state": states[0], "ice": states[1]})

    def _on_track_ended(self, data: dict[str, Any]) -> None:
        # Only the browser ends a track on its own (unplugged, revoked); stop() does not fire it.
        self._emit("ended", {"reason": "microphone"})

    def _watch_track(self) -> None:
        self._track_ended = self._listen(self._track, "ended", self._on_track_ended)

    def _unwatch_track(self) -> None:
        if self._track_ended is not None:
            self._realm.unlisten(self._track_ended)
            self._subscriptions.remove(self._track_ended)
            self._track_ended = None

    # --- the end ----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise MediaError(f"the media session of line {self.line_id!r} is closed")

    def close(self) -> None:
        """Stop the microphone, close the connection, remove the audio element."""
        if self._closed:
            return
        self._closed = True
        self._backend._forget(self)
        self._ringback.stop()
        realm = self._realm
        for subscription in self._subscriptions:
            realm.unlisten(subscription)
        self._subscriptions = []
        self._track_ended = None
        for target, method in ((self._track, "stop"), (self._pc, "close"), (self._audio, "pause")):
            if target is not None:
                realm.fire(target, method, doing=method, on_error=ignore)
        if self._audio is not None:
            realm.set(self._audio, "srcObject", None)
            realm.fire(self._audio, "remove", doing="remove", on_error=ignore)
        realm.release(self._stream, self._track, self._pc, self._sender, self._transceiver, self._receiver,
                      self._audio, *self._remote)
        self._audio = None
        self._remote, self._remote_id = (None, None), None

    def _lost(self, reason: str) -> None:
        """The page side went away (its agent stopped): the media is gone without a close from us."""
        if not self._closed:
            self._emit("ended", {"reason": reason})
            self._closed = True
            self._backend._forget(self)
            self._ringback.lost()
