"""Audio devices as the instance offers them: listing, choosing the microphone
and the speaker for every line, and falling back when a device disappears.

A mixin of :class:`webvoice._instance.SipInstance`; the browser work is the
media backend's (``replaceTrack``, ``setSinkId``, ``devicechange``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._handlers import call_handler
from ._instance_base import InstanceBase
from ._media import AudioDevice, DeviceNotFoundError, MediaSession, NotSupportedError
from .sip import record

if TYPE_CHECKING:
    from ._calls import Call

__all__ = ["AudioDeviceMethods", "DeviceChangeEvent"]


@record
class DeviceChangeEvent:
    """What ``on_device_change`` handlers get: the devices now, and which chosen
    devices (kind, id) disappeared so that the default is used instead."""

    devices: tuple[AudioDevice, ...]
    fallback: tuple[tuple[str, str], ...]


class AudioDeviceMethods(InstanceBase):
    """``get_audio_devices``, ``set_microphone``, ``set_speaker`` and friends."""

    _microphone: str | None
    _speaker: str | None
    _device_handler: Callable[..., Any] | None
    _watching_devices: bool

    async def get_audio_devices(self) -> list[AudioDevice]:
        """Microphones and speakers (asking for permission first when labels are hidden)."""
        self._watch_devices()
        return await self._media().list_devices()

    def get_current_microphone(self) -> str | None:
        """The chosen microphone's device id (None: the browser's default)."""
        return self._microphone

    def get_current_speaker(self) -> str | None:
        return self._speaker

    def supports_speaker_selection(self) -> bool:
        """Whether this browser can play calls on a chosen output (``setSinkId``)."""
        return self._media().supports_speaker_selection()

    async def set_microphone(self, device_id: str | None) -> None:
        """Use this microphone on every live line (``replaceTrack``) and for new
        calls; None goes back to the browser's default."""
        if device_id is not None:
            await self._check_device(device_id, "audioinput")
        for call, media in self._live_media():
            await media.replace_microphone(device_id)
            if call.is_muted():
                media.set_muted(True)
        self._microphone = device_id

    async def set_speaker(self, device_id: str | None) -> None:
        """Play every line, and new ones, on this output (``setSinkId``); None goes
        back to the default output."""
        if not self._media().supports_speaker_selection():
            raise NotSupportedError("this browser cannot choose the speaker (no setSinkId)")
        if device_id is not None:
            await self._check_device(device_id, "audiooutput")
        for _, media in self._live_media():
            await media.set_speaker(device_id)
        self._speaker = device_id

    def on_device_change(self, handler: Callable[..., Any]) -> None:
        """``handler(event)`` when devices come or go; ``event.fallback`` names what
        fell back to the default because its device disappeared."""
        if not callable(handler):
            raise TypeError("on_device_change takes a callable")
        self._device_handler = handler
        self._watch_devices()

    async def _check_device(self, device_id: str, kind: str) -> None:
        if not isinstance(device_id, str) or not device_id:
            raise ValueError(f"a device id is a non-empty str, not {device_id!r}")
        self._watch_devices()
        devices = await self._media().list_devices()
        if not any(d.device_id == device_id and d.kind == kind for d in devices):
            known = ", ".join(f"{d.device_id!r} ({d.label})" for d in devices if d.kind == kind) or "none"
            raise DeviceNotFoundError(f"no {kind} with id {device_id!r}; available: {known}")

    def _live_media(self) -> list[tuple[Call, MediaSession]]:
        return [(c, c.media) for c in self._lines.calls() if c.media is not None and not c.is_ended()]

    def _watch_devices(self) -> None:
        if not self._watching_devices:
            self._watching_devices = True

            def changed() -> None:
                asyncio.ensure_future(self._devices_changed())

            self._media().on_devices_changed(changed)

    async def _devices_changed(self) -> None:
        """A device was plugged or unplugged: fall back to the default for a chosen
        device that is gone, on every live line, and tell the application."""
        devices = await self._media().list_devices()
        present = {(d.kind, d.device_id) for d in devices}
        fallback = []
        if self._microphone is not None and ("audioinput", self._microphone) not in present:
            fallback.append(("microphone", self._microphone))
            self._microphone = None
            for call, media in self._live_media():
                await media.replace_microphone(None)
                if call.is_muted():
                    media.set_muted(True)
        if self._speaker is not None and ("audiooutput", self._speaker) not in present:
            fallback.append(("speaker", self._speaker))
            self._speaker = None
            for _, media in self._live_media():
                await media.set_speaker(None)
        if self._device_handler is not None:
            call_handler(self._device_handler, DeviceChangeEvent(tuple(devices), tuple(fallback)),
                         what="the device-change handler")
