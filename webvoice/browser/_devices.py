"""The page's audio devices: getUserMedia, device lists, speakers, and JS media errors.

Browsers report media failures as ``DOMException`` names; here they become
the exceptions of :mod:`webvoice._media`:

=====================================================  ======================
JS error name                                          raised
=====================================================  ======================
NotAllowedError, SecurityError, PermissionDeniedError  MediaPermissionError
NotFoundError, OverconstrainedError,                   DeviceNotFoundError
DevicesNotFoundError
NotSupportedError (and no ``navigator.mediaDevices``,  NotSupportedError
no ``RTCPeerConnection``)
anything else                                          MediaError
=====================================================  ======================
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import JsException, create_proxy, to_js

from .._media import (
    AudioDevice,
    DeviceNotFoundError,
    MediaError,
    MediaPermissionError,
    NotSupportedError,
)

__all__ = [
    "DeviceWatcher",
    "call_js",
    "enumerate_audio_devices",
    "get_user_media",
    "js_object",
    "media_error",
    "set_sink_id",
    "stop_stream",
    "supports_sink_id",
]

log = logging.getLogger("webvoice")

_APPLY = js.Function.prototype.apply

_PERMISSION = frozenset({"NotAllowedError", "SecurityError", "PermissionDeniedError"})
_NOT_FOUND = frozenset({"NotFoundError", "OverconstrainedError", "DevicesNotFoundError"})
_NOT_SUPPORTED = frozenset({"NotSupportedError"})

_KINDS = ("audioinput", "audiooutput")


def media_error(reason: Any, doing: str) -> MediaError:
    """The :class:`MediaError` subclass for a JS error (or rejection reason) met while ``doing`` something."""
    if isinstance(reason, str):
        name, message = "Error", reason
    else:
        name = _js_attr(reason, "name") or type(reason).__name__
        message = _js_attr(reason, "message")
    constraint = _js_attr(reason, "constraint")  # OverconstrainedError says which one
    if constraint:
        message = f"{message} (constraint {constraint})".strip()
    if name in _PERMISSION:
        cls: type[MediaError] = MediaPermissionError
    elif name in _NOT_FOUND:
        cls = DeviceNotFoundError
    elif name in _NOT_SUPPORTED:
        cls = NotSupportedError
    else:
        cls = MediaError
    return cls(f"{doing} failed: {name}: {message}" if message else f"{doing} failed: {name}")


async def call_js(target: Any, method: str, *args: Any, doing: str | None = None) -> Any:
    """``await target.method(*args)``; a rejection raises :func:`media_error` of its reason.

    Not a bare ``await``: Pyodide turns the promise a JS call returns into a
    Future whose rejection must look like an Error (``name``, ``message``,
    and a ``stack`` or the constructor DOMException), and a Future rejected
    with anything else never completes. Chromium's OverconstrainedError
    (getUserMedia with an unknown ``deviceId``) is such a reason. So the call
    happens inside JS, ``[0].map(method.apply.bind(method, target, args))``,
    keeping the promise a JS object, and ``Promise.allSettled`` (which never
    rejects) reports its outcome. ``args`` must be JS values or primitives
    (see :func:`js_object`).
    """
    doing = doing or method
    call = _APPLY.bind(getattr(target, method), target, js.Array.of(*args))
    try:
        holder = js.Array.of(0).map(call)  # [target.method(...args)]
    except JsException as exc:  # thrown before any promise
        raise media_error(exc, doing) from exc
    outcome = (await js.Promise.allSettled(holder))[0]
    if outcome.status == "fulfilled":
        return outcome.value
    raise media_error(outcome.reason, doing)


def _js_attr(obj: Any, name: str) -> str:
    try:
        value = getattr(obj, name, None)
    except (AttributeError, JsException):  # a getter that throws
        return ""
    return value if isinstance(value, str) else ""


def js_object(value: dict[str, Any]) -> Any:
    """A Python dict as a plain JS object (nested dicts and lists too)."""
    return to_js(value, dict_converter=js.Object.fromEntries)


def _media_devices() -> Any:
    devices = getattr(js.navigator, "mediaDevices", None)
    if not devices:
        raise NotSupportedError("navigator.mediaDevices is missing: the page needs a secure context "
                                "(https:// or http://localhost)")
    return devices


def audio_constraints(constraints: dict[str, Any] | None, device_id: str | None) -> dict[str, Any] | bool:
    """The ``audio`` member of getUserMedia's argument: the caller's constraints,
    with ``deviceId: {exact: device_id}`` when a microphone is named, else ``true``."""
    audio = dict(constraints or {})
    if device_id:
        audio["deviceId"] = {"exact": device_id}
    else:
        audio.pop("deviceId", None)
    return audio or True


async def get_user_media(constraints: dict[str, Any] | None, device_id: str | None) -> Any:
    """A MediaStream with one audio track (raises MediaError subclasses)."""
    devices = _media_devices()
    request = js_object({"audio": audio_constraints(constraints, device_id)})
    return await call_js(devices, "getUserMedia", request)


def stop_stream(stream: Any) -> None:
    """Stop every track of a MediaStream (releases the microphone)."""
    if not stream:
        return
    for track in stream.getTracks():
        track.stop()


async def _enumerate() -> list[AudioDevice]:
    infos = await call_js(_media_devices(), "enumerateDevices")
    return [AudioDevice(device_id=str(info.deviceId), label=str(info.label), kind=str(info.kind))
            for info in infos if info.kind in _KINDS]


async def enumerate_audio_devices() -> list[AudioDevice]:
    """Audio inputs and outputs, with labels.

    Browsers hide labels (and real ids) until the page has been allowed the
    microphone; then a short getUserMedia asks for that permission, its
    stream is stopped at once, and the devices are listed again. A refusal
    raises MediaPermissionError; a machine without any microphone lists what
    it has.
    """
    found = await _enumerate()
    if found and all(device.label for device in found):
        return found
    try:
        stream = await get_user_media(None, None)
    except DeviceNotFoundError:
        return found
    stop_stream(stream)
    return await _enumerate()


def require_webrtc() -> None:
    """Raise NotSupportedError, before the microphone is asked for, in a browser
    without ``RTCPeerConnection`` (WebRTC compiled out, as in Debian's WebKitGTK,
    or turned off, as Firefox's ``media.peerconnection.enabled`` does)."""
    if getattr(js, "RTCPeerConnection", None) is None:
        raise NotSupportedError("this browser has no WebRTC (no RTCPeerConnection): calls cannot carry audio")


def supports_sink_id() -> bool:
    """Whether audio elements can choose their output (``setSinkId``)."""
    media_element: Any = getattr(js, "HTMLMediaElement", None)
    return media_element is not None and bool(js.Reflect.has(media_element.prototype, "setSinkId"))


async def set_sink_id(element: Any, device_id: str | None) -> None:
    """Play ``element`` on the output ``device_id`` (None or "": the default)."""
    if not supports_sink_id():
        raise NotSupportedError("this browser cannot choose the speaker (no HTMLMediaElement.setSinkId)")
    await call_js(element, "setSinkId", device_id or "", doing=f"setSinkId({device_id!r})")


class DeviceWatcher:
    """Calls one handler on ``navigator.mediaDevices`` "devicechange"; one proxy, released by ``close``."""

    def __init__(self) -> None:
        self._handler: Callable[[], None] | None = None
        self._proxy: Any = None

    @property
    def live_proxies(self) -> int:
        return 0 if self._proxy is None else 1

    def set_handler(self, handler: Callable[[], None] | None) -> None:
        self._handler = handler
        if handler is None:
            self.close()
        elif self._proxy is None:
            self._proxy = create_proxy(self._on_change)
            _media_devices().addEventListener("devicechange", self._proxy)

    def _on_change(self, event: Any = None) -> None:
        handler = self._handler
        if handler is None:
            return
        try:
            handler()
        except Exception:
            log.exception("the devices-changed handler raised")

    def close(self) -> None:
        proxy, self._proxy = self._proxy, None
        if proxy is not None:
            _media_devices().removeEventListener("devicechange", proxy)
            proxy.destroy()
