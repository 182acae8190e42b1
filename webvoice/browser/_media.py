"""The direct media backend: Python on the page's main thread drives WebRTC itself.

One :class:`DirectMediaSession` per line: an ``RTCPeerConnection`` with the
microphone's track (added with ``addTrack``, so a remote offer reuses its
transceiver), a hidden ``<audio autoplay id="webvoice-audio-<line>">`` in
``document.body`` playing the remote track, and the listeners that report to
the call driver. Every ``create_proxy`` made for a session is kept in its
:class:`_Listeners` and destroyed by ``close()``: nothing leaks per call.

ICE for SIP carries no trickle, so ``create_offer``/``create_answer`` set the
local description, then wait for candidates before returning it:

* without ICE servers, until gathering completes or ``HOST_GRACE`` (30 ms)
  after the first host candidate, whichever comes first: the UDP host
  candidates arrive together within a few milliseconds, while gathering only
  completes with the TCP ones about 120 ms later, which a call does not need;
* with STUN/TURN servers, until gathering completes, at most ``GATHER_LIMIT``
  (1.5 s) in all (an unreachable STUN server costs 1.5 s, not Chrome's ~10 s).

Hold (RFC 3264 section 8.4, as JSEP directions): while held, our offers say
``sendonly`` (``inactive`` when the peer already holds us) and our answers are
``sendonly``/``inactive`` (the browser intersects our ``sendonly`` with the
offer). The microphone is silenced while held, as JsSIP does, so the held
party hears nothing; ``muted`` and ``held`` are independent flags and the
track is enabled only when neither is set.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import JsException, create_proxy, jsnull

from .._media import AudioDevice, MediaError, MediaEventHandler, NotSupportedError
from ._devices import (
    DeviceWatcher,
    call_js,
    enumerate_audio_devices,
    get_user_media,
    js_object,
    media_error,
    require_webrtc,
    set_sink_id,
    stop_stream,
    supports_sink_id,
)
from ._stats import empty_stats, summarize

__all__ = ["GATHER_LIMIT", "HOST_GRACE", "DirectMediaBackend", "DirectMediaSession", "rtc_configuration"]

log = logging.getLogger("webvoice")

#: Seconds to wait for more candidates after the first host one (no ICE servers).
HOST_GRACE = 0.03
#: Seconds an offer or answer may wait for ICE gathering, in all.
GATHER_LIMIT = 1.5

_ICE_SCHEMES = ("stun", "stuns", "turn", "turns")
_DTMF_TONES = frozenset("0123456789ABCDabcd#*,")
# Chrome's limits for RTCDTMFSender.insertDTMF (it clamps to them).
_DTMF_DURATION = (40, 6000)
_DTMF_MIN_GAP = 30
_DTMF_COMMA_S = 2.0

# Lines with an open session in this page, across backends: each owns the
# audio element "webvoice-audio-<line>", so a line id can be open only once.
_open_lines: dict[str, DirectMediaSession] = {}


def rtc_configuration(ice_servers: list[str]) -> dict[str, Any]:
    """``RTCConfiguration`` for a list of ``stun:``/``stuns:``/``turn:``/``turns:`` URLs.

    A TURN URL may carry its credentials as ``turn:user:password@host:port``
    (percent-encoded); they become ``username``/``credential``.
    """
    servers: list[dict[str, str]] = []
    for url in ice_servers:
        if not isinstance(url, str):
            raise TypeError(f"ICE server URLs are strings, not {type(url).__name__}")
        scheme, colon, rest = url.partition(":")
        if scheme.lower() not in _ICE_SCHEMES or not colon or not rest:
            raise ValueError(f"not a STUN/TURN URL: {url!r} (expected stun:, stuns:, turn: or turns:)")
        if scheme.lower().startswith("turn") and "@" in rest:
            from urllib.parse import unquote  # here: importing urllib costs ~100 ms of start-up in Pyodide

            userinfo, _, host = rest.rpartition("@")
            username, _, credential = userinfo.partition(":")
            servers.append({"urls": f"{scheme}:{host}", "username": unquote(username),
                            "credential": unquote(credential)})
        else:
            servers.append({"urls": url})
    return {"iceServers": servers}


def _has_candidates(sdp: str) -> bool:
    return "\na=candidate:" in sdp


def _same_sdp(a: str | None, b: str) -> bool:
    if a is None:
        return False
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()


class _Listeners:
    """``addEventListener`` with proxies this object owns and destroys."""

    def __init__(self) -> None:
        self._entries: list[tuple[Any, str, Any]] = []

    def add(self, target: Any, name: str, handler: Callable[..., None]) -> Any:
        proxy = create_proxy(handler)
        try:
            target.addEventListener(name, proxy)
        except BaseException:
            proxy.destroy()
            raise
        self._entries.append((target, name, proxy))
        return proxy

    def remove(self, proxy: Any) -> None:
        for i, (target, name, own) in enumerate(self._entries):
            if own is proxy:
                del self._entries[i]
                target.removeEventListener(name, proxy)
                proxy.destroy()
                return

    def clear(self) -> None:
        entries, self._entries = self._entries, []
        for target, name, proxy in entries:
            try:
                target.removeEventListener(name, proxy)
            except JsException:
                pass
            proxy.destroy()

    def __len__(self) -> int:
        return len(self._entries)


class DirectMediaSession:
    """The media of one line, driven from Python on the main thread (see the module doc)."""

    def __init__(self, line_id: str, *, ice_servers: list[str], constraints: dict[str, Any],
                 microphone: str | None, stream: Any, on_event: MediaEventHandler) -> None:
        self.line_id = line_id
        self._ice_servers = list(ice_servers)
        self._constraints = dict(constraints or {})
        self._microphone = microphone
        self._on_event = on_event
        self._listeners = _Listeners()
        self._closed = False
        self._muted = False
        self._held = False
        self._negotiated_hold = False  # the hold of the last completed offer/answer
        self._remote_answer: str | None = None
        self._lock = asyncio.Lock()  # one offer/answer step at a time
        self._ice_progress = asyncio.Event()
        self._first_host_at: float | None = None
        self._dtmf_waiters: list[asyncio.Future] = []
        self._tonechange: Any = None
        self._tasks: set[asyncio.Task] = set()
        self._stream = stream
        self._track = stream.getAudioTracks()[0]
        self._track_ended: Any = None
        self._pc: Any = None
        self._audio: Any = None
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> None:
        try:
            self._pc = js.RTCPeerConnection.new(js_object(rtc_configuration(self._ice_servers)))
        except JsException as exc:
            raise media_error(exc, "RTCPeerConnection") from exc
        pc = self._pc
        self._listeners.add(pc, "icecandidate", self._on_icecandidate)
        self._listeners.add(pc, "icegatheringstatechange", self._on_gathering_change)
        self._listeners.add(pc, "track", self._on_track)
        self._listeners.add(pc, "connectionstatechange", self._on_connection_state)
        self._sender = pc.addTrack(self._track, self._stream)
        self._transceiver = pc.getTransceivers()[0]
        self._watch_track()
        self._remote_stream = js.MediaStream.new()
        self._audio = _audio_element(self.line_id)

    # --- offer/answer -------------------------------------------------------------

    async def create_offer(self, *, ice_restart: bool = False) -> str:
        async with self._lock:
            self._check_open()
            self._set_direction(offer=True)
            offer = await call_js(self._pc, "createOffer", js_object({"iceRestart": bool(ice_restart)}))
            self._check_open()
            self._first_host_at = None
            await call_js(self._pc, "setLocalDescription", offer)
            return await self._gathered_sdp()

    async def create_answer(self, remote_offer: str) -> str:
        async with self._lock:
            self._check_open()
            remote = js_object({"type": "offer", "sdp": remote_offer})
            await call_js(self._pc, "setRemoteDescription", remote, doing="setRemoteDescription(offer)")
            self._check_open()
            self._set_direction(offer=False)
            answer = await call_js(self._pc, "createAnswer")
            self._check_open()
            self._first_host_at = None
            await call_js(self._pc, "setLocalDescription", answer)
            self._negotiated_hold = self._held
            self._remote_answer = None
            return await self._gathered_sdp()

    async def apply_answer(self, sdp: str, *, provisional: bool = False) -> None:
        async with self._lock:
            self._check_open()
            state = self._pc.signalingState
            if state == "stable" and (provisional or _same_sdp(self._remote_answer, sdp)):
                # A retransmitted 200, or a late 18x after it: already applied.
                return
            if state == "have-remote-pranswer" and provisional and _same_sdp(self._remote_answer, sdp):
                return
            kind = "pranswer" if provisional else "answer"
            remote = js_object({"type": kind, "sdp": sdp})
            await call_js(self._pc, "setRemoteDescription", remote, doing=f"setRemoteDescription({kind})")
            self._remote_answer = sdp
            if not provisional:
                self._negotiated_hold = self._held

    async def rollback(self) -> None:
        async with self._lock:
            if self._closed:
                return
            state = self._pc.signalingState
            if state == "stable":
                return
            if state not in ("have-local-offer", "have-remote-offer"):
                raise MediaError(f"cannot roll back in signaling state {state} (after a provisional answer)")
            await call_js(self._pc, "setLocalDescription", js_object({"type": "rollback"}), doing="rollback")
            # The refused offer's hold (or resume) did not happen.
            self.set_hold(self._negotiated_hold)

    def _set_direction(self, *, offer: bool) -> None:
        if not self._held:
            direction = "sendrecv"
        elif offer and self._transceiver.currentDirection in ("recvonly", "inactive"):
            direction = "inactive"  # the peer holds us already (RFC 3264 section 8.4)
        else:
            direction = "sendonly"
        if self._transceiver.direction != direction:
            self._transceiver.direction = direction

    async def _gathered_sdp(self) -> str:
        """Our local description once it holds candidates (see the module doc)."""
        deadline = time.monotonic() + GATHER_LIMIT  # WebLoop's clock too
        while not self._closed:
            if self._pc.iceGatheringState == "complete" and _has_candidates(self._local_sdp()):
                break
            wake = deadline
            if not self._ice_servers and self._first_host_at is not None:
                wake = min(wake, self._first_host_at + HOST_GRACE)
            timeout = wake - time.monotonic()
            if timeout <= 0:
                break
            self._ice_progress.clear()
            try:
                await asyncio.wait_for(self._ice_progress.wait(), timeout)
            except TimeoutError:
                pass
        self._check_open()
        sdp = self._local_sdp()
        if not _has_candidates(sdp):
            log.warning("line %s: no ICE candidate gathered in %.1f s", self.line_id, GATHER_LIMIT)
        return sdp

    def _local_sdp(self) -> str:
        description = self._pc.localDescription
        return str(description.sdp) if description else ""

    # --- hold, mute, DTMF -----------------------------------------------------------

    @property
    def held(self) -> bool:
        return self._held

    @property
    def muted(self) -> bool:
        return self._muted

    def set_hold(self, held: bool) -> None:
        """Hold: the next offer is sendonly (RFC 3264 8.4) and the microphone is
        taken off the sender, so no RTP at all reaches the held party (a disabled
        track would still send silence packets). Resume puts it back."""
        changed = bool(held) != self._held
        self._held = bool(held)
        self._apply_enabled()
        if changed and not self._closed:
            track = None if self._held else self._track
            task = asyncio.ensure_future(call_js(self._sender, "replaceTrack", track, doing="hold"))
            task.add_done_callback(_log_failure)

    def set_muted(self, muted: bool) -> None:
        self._muted = bool(muted)
        self._apply_enabled()

    def _apply_enabled(self) -> None:
        if not self._closed:
            self._track.enabled = not (self._muted or self._held)

    async def send_dtmf(self, tones: str, duration: int, inter_tone_gap: int) -> None:
        self._check_open()
        if not tones or not set(tones) <= _DTMF_TONES:
            raise ValueError(f"DTMF tones are 0-9, A-D, *, # and ',' (got {tones!r})")
        dtmf = self._sender.dtmf
        if not dtmf or not dtmf.canInsertDTMF:
            raise NotSupportedError("this call cannot send DTMF now (no telephone-event negotiated, "
                                    "or the line does not send)")
        if self._tonechange is None:
            self._tonechange = self._listeners.add(dtmf, "tonechange", self._on_tonechange)
        waiter = asyncio.get_running_loop().create_future()
        self._dtmf_waiters.append(waiter)
        try:
            try:
                dtmf.insertDTMF(tones, duration, inter_tone_gap)
            except JsException as exc:
                raise media_error(exc, "insertDTMF") from exc
            tone_s = min(max(duration, _DTMF_DURATION[0]), _DTMF_DURATION[1]) / 1000
            gap_s = max(inter_tone_gap, _DTMF_MIN_GAP) / 1000
            limit = tones.count(",") * _DTMF_COMMA_S + len(tones) * (tone_s + gap_s) + 1.0
            try:
                await asyncio.wait_for(waiter, limit)
            except TimeoutError:
                log.warning("line %s: DTMF %r not reported played after %.1f s", self.line_id, tones, limit)
        finally:
            if waiter in self._dtmf_waiters:
                self._dtmf_waiters.remove(waiter)

    def _on_tonechange(self, event: Any) -> None:
        if event.tone == "":  # the buffer is empty: every tone has been played
            self._wake_dtmf()

    def _wake_dtmf(self) -> None:
        waiters, self._dtmf_waiters = self._dtmf_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # --- stats, devices ----------------------------------------------------------------

    async def get_stats(self) -> dict[str, Any]:
        if self._closed:
            return empty_stats()
        report = await call_js(self._pc, "getStats")
        return summarize(json.loads(js.JSON.stringify(js.Array.from_(report.values()))))

    async def replace_microphone(self, device_id: str | None) -> None:
        self._check_open()
        stream = await get_user_media(self._constraints, device_id)
        if self._closed:
            stop_stream(stream)
            self._check_open()
        track = stream.getAudioTracks()[0]
        track.enabled = not (self._muted or self._held)
        try:
            if not self._held:  # while held the sender stays empty; resume attaches it
                await call_js(self._sender, "replaceTrack", track)
        except MediaError:
            stop_stream(stream)
            raise
        if self._closed:
            stop_stream(stream)
            self._check_open()
        old_stream = self._stream
        self._unwatch_track()
        self._stream, self._track, self._microphone = stream, track, device_id
        self._watch_track()
        stop_stream(old_stream)

    async def set_speaker(self, device_id: str | None) -> None:
        self._check_open()
        await set_sink_id(self._audio, device_id)

    async def reset_local_media(self) -> None:
        await self.replace_microphone(self._microphone)

    def connection(self) -> Any:
        return self._pc

    @property
    def audio_element(self) -> Any:
        """The ``<audio>`` element playing this line (None once closed)."""
        return self._audio

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def live_proxies(self) -> int:
        """How many proxies this session holds (0 once closed; for leak tests)."""
        return len(self._listeners)

    # --- browser events ------------------------------------------------------------------

    def _emit(self, name: str, data: dict) -> None:
        if self._closed:
            return
        try:
            self._on_event(name, data)
        except Exception:
            log.exception("line %s: the media event handler raised on %r", self.line_id, name)

    def _on_icecandidate(self, event: Any) -> None:
        candidate = event.candidate
        self._ice_progress.set()
        if not candidate or not candidate.candidate:
            return  # end of candidates (null, or "" for one generation)
        if self._first_host_at is None and candidate.type == "host":
            self._first_host_at = time.monotonic()
        sdp_mid = candidate.sdpMid
        self._emit("icecandidate", {"candidate": str(candidate.candidate), "sdp_mid": str(sdp_mid) if sdp_mid else None})

    def _on_gathering_change(self, event: Any) -> None:
        self._ice_progress.set()

    def _on_track(self, event: Any) -> None:
        track = event.track
        if track.kind != "audio" or self._audio is None:
            return
        for old in self._remote_stream.getAudioTracks():
            if old.id != track.id:
                self._remote_stream.removeTrack(old)
        if not self._remote_stream.getTrackById(track.id):
            self._remote_stream.addTrack(track)
        self._audio.srcObject = self._remote_stream
        task = asyncio.ensure_future(self._play())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._emit("track", {})

    async def _play(self) -> None:
        audio = self._audio
        if audio is None:
            return
        try:
            await call_js(audio, "play")
        except MediaError as exc:
            if not self._closed:
                log.warning("line %s: the remote audio does not play (%s); the page may need a user "
                            "gesture first", self.line_id, exc)

    def _on_connection_state(self, event: Any) -> None:
        self._emit("connectionstatechange", {"state": str(self._pc.connectionState)})

    def _on_track_ended(self, event: Any) -> None:
        # Only the browser ends a track on its own (unplugged, revoked); stop() does not fire it.
        self._emit("ended", {"reason": "microphone"})

    def _watch_track(self) -> None:
        self._track_ended = self._listeners.add(self._track, "ended", self._on_track_ended)

    def _unwatch_track(self) -> None:
        if self._track_ended is not None:
            self._listeners.remove(self._track_ended)
            self._track_ended = None

    # --- the end ----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise MediaError(f"the media session of line {self.line_id!r} is closed")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if _open_lines.get(self.line_id) is self:
            del _open_lines[self.line_id]
        self._ice_progress.set()
        self._wake_dtmf()
        self._listeners.clear()
        self._track_ended = self._tonechange = None
        stop_stream(self._stream)
        if self._pc is not None:
            self._pc.close()
        audio, self._audio = self._audio, None
        if audio is not None:
            audio.pause()
            audio.srcObject = jsnull
            audio.remove()


def _audio_element(line_id: str) -> Any:
    """A new hidden ``<audio autoplay>`` for the line, in ``document.body``."""
    document = js.document
    element_id = f"webvoice-audio-{line_id}"
    stale = document.getElementById(element_id)
    if stale:  # left by a session that was never closed (a page reload keeps none)
        stale.remove()
    audio = document.createElement("audio")
    audio.id = element_id
    audio.autoplay = True
    audio.hidden = True
    audio.setAttribute("data-webvoice-line", line_id)
    (document.body or document.documentElement).appendChild(audio)
    return audio


class DirectMediaBackend:
    """:class:`~webvoice._media.MediaBackend` on the page's main thread."""

    def __init__(self) -> None:
        self._watcher = DeviceWatcher()
        self._sessions: list[DirectMediaSession] = []

    async def open_session(
        self,
        line_id: str,
        *,
        ice_servers: list[str],
        constraints: dict[str, Any],
        microphone: str | None,
        speaker: str | None,
        on_event: MediaEventHandler,
    ) -> DirectMediaSession:
        line_id = str(line_id)
        if line_id in _open_lines:
            raise ValueError(f"line {line_id!r} already has an open media session in this page")
        rtc_configuration(ice_servers)  # bad URLs raise before the microphone is asked for
        require_webrtc()  # so does a browser without WebRTC
        stream = await get_user_media(constraints, microphone)
        if line_id in _open_lines:  # opened meanwhile
            stop_stream(stream)
            raise ValueError(f"line {line_id!r} already has an open media session in this page")
        try:
            session = DirectMediaSession(line_id, ice_servers=ice_servers, constraints=constraints,
                                         microphone=microphone, stream=stream, on_event=on_event)
        except BaseException:
            stop_stream(stream)
            raise
        _open_lines[line_id] = session
        self._sessions = [s for s in self._sessions if not s.closed] + [session]
        if speaker:
            try:
                await session.set_speaker(speaker)
            except NotSupportedError:
                log.info("line %s: speaker %r ignored: this browser cannot choose the speaker", line_id, speaker)
            except MediaError as exc:
                log.warning("line %s: playing on the default speaker: %s", line_id, exc)
        return session

    async def list_devices(self) -> list[AudioDevice]:
        return await enumerate_audio_devices()

    def supports_speaker_selection(self) -> bool:
        return supports_sink_id()

    def on_devices_changed(self, handler: Callable[[], None] | None) -> None:
        """Call ``handler()`` when devices come or go; a new handler replaces the
        previous one, None removes it (and releases the listener's proxy)."""
        self._watcher.set_handler(handler)

    def close(self) -> None:
        """Close every session this backend opened and stop watching devices."""
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self._watcher.close()

    @property
    def live_proxies(self) -> int:
        """Proxies held by this backend and its sessions (0 once all are closed; for leak tests)."""
        return self._watcher.live_proxies + sum(s.live_proxies for s in self._sessions)


def _log_failure(task: "asyncio.Future") -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("webvoice: media operation failed: %s", task.exception())
