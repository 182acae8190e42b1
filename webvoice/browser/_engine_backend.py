"""The media engine's backend: the sessions of one realm's page, and its audio devices.

:class:`EngineBackend` is :class:`~webvoice._media.MediaBackend` on a
:class:`~webvoice.browser._realm.Realm`: it checks what the page offers
(``navigator.mediaDevices``, ``setSinkId``, ``RTCPeerConnection``) once,
opens one :class:`~webvoice.browser._engine.EngineSession` per line (bad
options raise before the microphone is asked for), lists and watches the
audio devices, and ends every session when the page side goes away. The
per-call media decisions are the session's (webvoice/browser/_engine.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .._media import AudioDevice, DeviceNotFoundError, MediaError, MediaEventHandler, NotSupportedError
from ._engine import EngineSession
from ._realm import Realm, Ref, ignore
from ._ringback import RingbackContext
from ._rtc_config import offer_options, rtc_configuration

__all__ = ["EngineBackend"]

log = logging.getLogger("webvoice")

_KINDS = ("audioinput", "audiooutput")


def audio_constraints(constraints: dict[str, Any] | None, device_id: str | None) -> dict[str, Any] | bool:
    """The ``audio`` member of getUserMedia's argument: the caller's constraints,
    with ``deviceId: {exact: device_id}`` when a microphone is named, else ``true``."""
    audio = dict(constraints or {})
    if device_id:
        audio["deviceId"] = {"exact": device_id}
    else:
        audio.pop("deviceId", None)
    return audio or True


class EngineBackend:
    """:class:`~webvoice._media.MediaBackend` on a realm: makes sessions, lists devices.

    ``lines``: the line ids open on this realm's page (a line id owns its
    audio element, so it can be open once per page and realm).
    """

    def __init__(self, realm: Realm, lines: dict[str, EngineSession]) -> None:
        self.realm = realm
        self.document: Ref | None = None
        self._lines = lines
        self._sessions: list[EngineSession] = []
        self._devices_handler: Callable[[], None] | None = None
        self._devices_subscription: int | None = None
        self._devices_target: Ref | None = None  # navigator.mediaDevices, when the watch made the reference
        self._media_devices: Ref | None = None
        self._sink_id: bool | None = None
        self._webrtc = True
        #: The AudioContext the lines' ringback tones share (see webvoice.browser._ringback).
        self.ringback = RingbackContext(realm)

    async def _ready(self) -> None:
        """Once: what the page offers (``navigator.mediaDevices``, ``setSinkId``)."""
        if self._media_devices is not None:
            return
        realm = self.realm
        self.document = realm.global_ref("document")
        if not await realm.has(None, "navigator.mediaDevices"):
            raise NotSupportedError("navigator.mediaDevices is missing: the page needs a secure context "
                                    "(https:// or http://localhost)")
        self._sink_id = await realm.has(None, "HTMLMediaElement.prototype.setSinkId")
        # Feature detection, not the user agent: WebRTC can be compiled out
        # (Debian's WebKitGTK) or turned off (Firefox's media.peerconnection.enabled).
        self._webrtc = await realm.has(None, "RTCPeerConnection")
        self._media_devices = realm.global_ref("navigator.mediaDevices")

    async def _microphone_track(self, constraints: dict[str, Any] | None, device_id: str | None) -> tuple[Ref, Ref]:
        """A new microphone stream and its audio track (stopped should the realm's owner vanish)."""
        realm = self.realm
        stream = await realm.invoke(self._media_devices, "getUserMedia",
                                    {"audio": audio_constraints(constraints, device_id)},
                                    doing="getUserMedia", patient=True)
        tracks = await realm.invoke(stream, "getAudioTracks", doing="getAudioTracks")
        track = realm.ref(tracks, "0")
        realm.release(tracks)
        realm.on_lost(track, "stop")
        return stream, track

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
    ) -> EngineSession:
        line_id = str(line_id)
        taken = ValueError(f"line {line_id!r} already has an open media session in this page")
        if line_id in self._lines:
            raise taken
        # Bad values raise before the microphone is asked for.
        config = rtc_configuration(ice_servers, pc_config)
        offer = offer_options(offer_constraints)
        await self._ready()
        if not self._webrtc:  # before the microphone is asked for
            raise NotSupportedError("this browser has no WebRTC (no RTCPeerConnection): calls cannot carry audio")
        session = EngineSession(self, line_id, config=config, offer=offer, constraints=constraints,
                                microphone=microphone, on_event=on_event)
        if line_id in self._lines:  # opened meanwhile
            raise taken
        self._lines[line_id] = session
        self._sessions = [s for s in self._sessions if not s.closed] + [session]
        try:
            await session._open()
        except BaseException:
            session.close()
            raise
        if session.closed:  # the backend was closed meanwhile
            raise MediaError("this media backend is closed")
        if speaker:
            try:
                await session.set_speaker(speaker)
            except NotSupportedError:
                log.info("line %s: speaker %r ignored: this browser cannot choose the speaker", line_id, speaker)
            except MediaError as exc:
                log.warning("line %s: playing on the default speaker: %s", line_id, exc)
        return session

    def _forget(self, session: EngineSession) -> None:
        if self._lines.get(session.line_id) is session:
            del self._lines[session.line_id]

    async def list_devices(self) -> list[AudioDevice]:
        """Audio inputs and outputs, with labels.

        Browsers hide labels (and real ids) until the page has been allowed the
        microphone; then a short getUserMedia asks for that permission, its
        stream is stopped at once, and the devices are listed again. A refusal
        raises MediaPermissionError; a machine without any microphone lists what
        it has.
        """
        await self._ready()
        found = await self._enumerate()
        if found and all(device.label for device in found):
            return found
        try:
            stream, track = await self._microphone_track(None, None)
            self.realm.fire(track, "stop", doing="stop", on_error=ignore)
            self.realm.release(stream, track)
            await self.realm.sync()
        except DeviceNotFoundError:
            return found
        return await self._enumerate()

    async def _enumerate(self) -> list[AudioDevice]:
        infos = await self.realm.call(self._media_devices, "enumerateDevices", doing="enumerateDevices")
        return [AudioDevice(device_id=str(info["deviceId"]), label=str(info["label"]), kind=str(info["kind"]))
                for info in infos or [] if info.get("kind") in _KINDS]

    def supports_speaker_selection(self) -> bool:
        """Whether the page can choose the speaker (``setSinkId``). Until the page
        has been asked (nothing done yet), True; a refusal then comes as
        NotSupportedError from ``set_speaker``."""
        return True if self._sink_id is None else self._sink_id

    def on_devices_changed(self, handler: Callable[[], None] | None) -> None:
        """Call ``handler()`` when devices come or go; a new handler replaces the
        previous one, None removes it (and releases the listener)."""
        self._devices_handler = handler
        if handler is None and self._devices_subscription is not None:
            self.realm.unlisten(self._devices_subscription)
            self.realm.release(self._devices_target)  # its own reference, if it made one (below)
            self._devices_subscription = self._devices_target = None
        elif handler is not None and self._devices_subscription is None:
            target = self._media_devices
            if target is None:  # before the first call: a reference of the watch's own
                target = self._devices_target = self.realm.global_ref("navigator.mediaDevices")
            self._devices_subscription = self.realm.listen(target, "devicechange", self._devices_changed)

    def _devices_changed(self, data: dict[str, Any]) -> None:
        handler = self._devices_handler
        if handler is None:
            return
        try:
            handler()
        except Exception:
            log.exception("the devices-changed handler raised")

    def _lost(self, reason: str) -> None:
        """The page side went away: every session ends; devices are watched anew on the next page."""
        for session in list(self._sessions):
            session._lost(reason)
        self._sessions = []
        self._media_devices = None
        self._sink_id = None
        self.ringback.lost()
        if self._devices_subscription is not None:
            self._devices_subscription = self._devices_target = None  # the old page's, gone with it
            handler, self._devices_handler = self._devices_handler, None
            self.on_devices_changed(handler)

    def close(self) -> None:
        """Close every session this backend opened and stop watching devices."""
        sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()
        self.ringback.close()
        self.on_devices_changed(None)

    @property
    def live_proxies(self) -> int:
        """Proxies held by this backend and its sessions (0 once all are closed; for leak tests)."""
        own = [] if self._devices_subscription is None else [self._devices_subscription]
        return self.realm.proxies(own) + sum(s.live_proxies for s in self._sessions if not s.closed)
