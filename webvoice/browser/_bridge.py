"""The bridged media backend: Python in a Web Worker drives WebRTC on the page by messages.

In a Web Worker (a JupyterLite kernel, a PyScript ``<script type="py" worker>``)
there is WebSocket, so SIP works unchanged, but no DOM and no
``RTCPeerConnection``. The page runs a small agent instead (``agent.js``,
shipped in this package) that owns the peer connections, ``getUserMedia`` and
the ``<audio>`` elements, and :class:`BridgedMediaBackend` drives it over a
``BroadcastChannel``: a same-origin worker and page can both open one by name,
without either holding the other's handle. The page needs, once:

* ``<script type="module" src="…/agent.js?start"></script>`` (or
  ``?channel=<name>`` for a channel other than ``"webvoice-media"``), with
  ``agent.js`` copied from the wheel (``webvoice/browser/agent.js``) to the
  site; or ``import {startAgent} from "…/agent.js"; startAgent({channelName})``;
* or, where the worker can run JavaScript on the page (a notebook's
  ``display(Javascript(...))``), :func:`agent_loader_js`, which starts the
  agent from the source embedded in the wheel (:func:`agent_source`), no URL
  needed.

Messages (the agent's header comment has the full protocol): requests
``{wv: 1, kind: "request", bridge, agent, id, op, line_id, args}``, answered by
``{…, kind: "response", id, ok: true, result}`` or ``{…, ok: false, error:
{type, name, message}}``; events ``{…, kind: "event", bridge, event, line_id,
name, data}``. ``bridge`` is this backend's random id, so several workers (or
several backends in one worker) share a channel without crossing wires; a
``"hello"`` finds the agents (a channel spans every tab of the origin, so
several may answer: a visible page wins) and ``"attach"`` binds to one.
Everything crosses as JSON-shaped plain objects (``JSON.parse`` on the way
out, ``JSON.stringify`` on the way in): no proxies per message, and nothing a
structured clone refuses.

The worker holds a Web Lock (``webvoice-bridge-<id>``) while the backend is
open; the agent waits on it, so when the worker dies (a kernel restart,
``worker.terminate()``) the agent closes that worker's sessions: the
microphone is released and the audio elements go.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import create_proxy

from .._media import (
    AudioDevice,
    DeviceNotFoundError,
    MediaError,
    MediaEventHandler,
    MediaPermissionError,
    NotSupportedError,
)
from ._media import rtc_configuration
from ._stats import empty_stats, summarize

__all__ = ["DEFAULT_CHANNEL", "PROTOCOL", "BridgedMediaBackend", "BridgedMediaSession", "agent_loader_js",
           "agent_source"]

log = logging.getLogger("webvoice")

#: The BroadcastChannel name the agent and the backend use unless told otherwise.
DEFAULT_CHANNEL = "webvoice-media"
#: The message protocol's version (``wv`` in every message; agent.js ``PROTOCOL``).
PROTOCOL = 1

# How often "hello" is repeated while no agent has answered: a message posted
# before the agent opened the channel is lost, not queued.
_HELLO_REPEAT = 0.25
# After a hidden page's agent answers first, how long a visible one may take.
_PREFER_VISIBLE = 0.1
# Operations that may show the browser's permission prompt: no time limit.
_UNBOUNDED = frozenset({"open_session", "list_devices", "replace_microphone", "reset_local_media"})
_DTMF_TONES = frozenset("0123456789ABCDabcd#*,")

_ERRORS: dict[str, type[Exception]] = {
    cls.__name__: cls
    for cls in (MediaError, MediaPermissionError, DeviceNotFoundError, NotSupportedError, ValueError, TypeError)
}


def agent_source() -> str:
    """The text of ``agent.js`` (an ES module exporting ``startAgent``), from the wheel."""
    from importlib import resources  # here: not preloaded in Pyodide, and only worker pages need it

    return resources.files(__package__).joinpath("agent.js").read_text(encoding="utf-8")


def agent_loader_js(channel_name: str = DEFAULT_CHANNEL) -> str:
    """A classic-script snippet that starts the agent on the page that runs it.

    It imports :func:`agent_source` from a ``blob:`` URL, so it needs no file on
    the site (a page whose Content-Security-Policy forbids ``blob:`` scripts
    must serve ``agent.js`` instead). For a notebook::

        from IPython.display import Javascript, display
        display(Javascript(agent_loader_js()))
    """
    # "<\/" keeps the snippet whole inside an HTML <script> element too.
    source = json.dumps(agent_source()).replace("</", "<\\/")
    channel = json.dumps(channel_name).replace("</", "<\\/")
    return ("(() => { const url = URL.createObjectURL(new Blob([" + source + "], {type: 'text/javascript'}));\n"
            "  return import(url).then((m) => { URL.revokeObjectURL(url);\n"
            "    return (globalThis.webvoiceAgent = m.startAgent({channelName: " + channel + "})).id; }); })()")


def _to_js(value: Any) -> Any:
    return js.JSON.parse(json.dumps(value))


def _error(error: dict[str, Any]) -> Exception:
    cls = _ERRORS.get(str(error.get("type")), MediaError)
    return cls(str(error.get("message") or error.get("name") or "the media agent failed"))


class BridgedMediaSession:
    """A :class:`~webvoice._media.MediaSession` whose WebRTC runs in the page's agent.

    ``set_hold`` and ``set_muted`` are synchronous in the protocol: they
    post their message and return; the channel keeps the order, so the next
    offer sees them.
    """

    def __init__(self, backend: BridgedMediaBackend, line_id: str, on_event: MediaEventHandler,
                 element_id: str | None) -> None:
        self.line_id = line_id
        self._backend = backend
        self._on_event = on_event
        self._element_id = element_id
        self._held = False
        self._muted = False
        self._closed = False

    async def _call(self, op: str, timeout: float | None | bool = True, **args: Any) -> Any:
        self._check_open()
        return await self._backend._request(op, args, line_id=self.line_id, timeout=timeout)

    async def create_offer(self, *, ice_restart: bool = False) -> str:
        return await self._call("create_offer", ice_restart=bool(ice_restart))

    async def create_answer(self, remote_offer: str) -> str:
        return await self._call("create_answer", sdp=remote_offer)

    async def apply_answer(self, sdp: str, *, provisional: bool = False) -> None:
        await self._call("apply_answer", sdp=sdp, provisional=bool(provisional))

    async def rollback(self) -> None:
        if self._closed:
            return
        result = await self._call("rollback")
        self._held = bool(result["held"])  # the refused offer's hold (or resume) did not happen

    @property
    def held(self) -> bool:
        return self._held

    @property
    def muted(self) -> bool:
        return self._muted

    def set_hold(self, held: bool) -> None:
        self._held = bool(held)
        if not self._closed:
            self._backend._notify("set_hold", {"held": self._held}, self.line_id)

    def set_muted(self, muted: bool) -> None:
        self._muted = bool(muted)
        if not self._closed:
            self._backend._notify("set_muted", {"muted": self._muted}, self.line_id)

    async def send_dtmf(self, tones: str, duration: int, inter_tone_gap: int) -> None:
        self._check_open()
        if not isinstance(tones, str) or not tones or not set(tones) <= _DTMF_TONES:
            raise ValueError(f"DTMF tones are 0-9, A-D, *, # and ',' (got {tones!r})")
        # The agent waits at most the tones' length plus a second (as the direct backend).
        playing = tones.count(",") * 2.0 + len(tones) * (min(max(duration, 40), 6000) + max(inter_tone_gap, 30)) / 1000
        await self._call("send_dtmf", timeout=self._backend.op_timeout + playing, tones=tones,
                         duration=int(duration), inter_tone_gap=int(inter_tone_gap))

    async def get_stats(self) -> dict[str, Any]:
        if self._closed:
            return empty_stats()
        return summarize(await self._call("get_stats"))

    async def replace_microphone(self, device_id: str | None) -> None:
        await self._call("replace_microphone", device_id=device_id)

    async def set_speaker(self, device_id: str | None) -> None:
        await self._call("set_speaker", device_id=device_id)

    async def reset_local_media(self) -> None:
        await self._call("reset_local_media")

    def connection(self) -> None:
        """None: the RTCPeerConnection lives on the page's main thread."""
        return None

    @property
    def element_id(self) -> str | None:
        """The id of the page's ``<audio>`` element for this line."""
        return self._element_id

    @property
    def closed(self) -> bool:
        return self._closed

    def _emit(self, name: str, data: dict) -> None:
        if self._closed:
            return
        try:
            self._on_event(name, data)
        except Exception:
            log.exception("line %s: the media event handler raised on %r", self.line_id, name)

    def _check_open(self) -> None:
        if self._closed:
            raise MediaError(f"the media session of line {self.line_id!r} is closed")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._backend._forget(self, notify=True)

    def _lost(self, reason: str) -> None:
        """The agent went away: the media is gone without a close from us."""
        if not self._closed:
            self._emit("ended", {"reason": reason})
            self._closed = True
            self._backend._forget(self, notify=False)


class BridgedMediaBackend:
    """:class:`~webvoice._media.MediaBackend` for Python in a Web Worker (see the module doc).

    ``timeout``: seconds to wait for an agent's answer to "hello" before
    :class:`NotSupportedError`. ``op_timeout``: seconds any other request may
    take (not those that may show a permission prompt: opening a session,
    listing devices, changing microphone). The agent is found on first use,
    or by ``await backend.connect()``.
    """

    def __init__(self, channel_name: str = DEFAULT_CHANNEL, timeout: float = 3.0, op_timeout: float = 20.0) -> None:
        self.channel_name = channel_name
        self.timeout = timeout
        self.op_timeout = op_timeout
        self.bridge_id = os.urandom(8).hex()
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._hello_answers: list[dict[str, Any]] = []
        self._hello_ids: set[int] = set()
        self._hello_event: asyncio.Event | None = None
        self._sessions: dict[str, BridgedMediaSession] = {}
        self._agent: str | None = None
        self._sink_id: bool | None = None
        self._connecting: asyncio.Task | None = None
        self._devices_handler: Callable[[], None] | None = None
        self._devices_subscribed = False
        self._tasks: set[asyncio.Task] = set()
        self._closed = False
        self._release_lock: Any = None
        self._lock_proxies: list[Any] = []
        self._channel = js.BroadcastChannel.new(channel_name)
        self._listener = create_proxy(self._on_message)
        self._channel.addEventListener("message", self._listener)

    # --- finding the agent ----------------------------------------------------------------

    @property
    def agent_id(self) -> str | None:
        """The id of the agent this backend is attached to (None before ``connect``)."""
        return self._agent

    async def connect(self) -> str:
        """Find an agent and attach to it (once); returns its id. Raises
        :class:`NotSupportedError` when none answers within ``timeout``."""
        if self._closed:
            raise MediaError("this media backend is closed")
        if self._agent is not None:
            return self._agent
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.ensure_future(self._connect())
        return await asyncio.shield(self._connecting)

    async def _connect(self) -> str:
        lock = await self._hold_lock()
        answer = await self._hello()
        agent = answer["agent"]
        result = await self._request("attach", {"lock": lock}, agent=agent, connect=False)
        if self._closed:
            raise MediaError("this media backend is closed")
        self._agent = agent
        self._sink_id = bool(result.get("supports_sink_id"))
        if self._devices_handler is not None:
            self._devices_subscribed = False
            self._sync_devices()
        return agent

    async def _hello(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        self._hello_answers = []
        self._hello_event = asyncio.Event()
        deadline = loop.time() + self.timeout
        first_at: float | None = None
        try:
            while True:
                visible = [a for a in self._hello_answers if a.get("visible")]
                if visible:
                    return visible[0]
                now = loop.time()
                if self._hello_answers:
                    first_at = first_at if first_at is not None else now
                    if now >= first_at + _PREFER_VISIBLE:
                        return self._hello_answers[0]
                    wake = first_at + _PREFER_VISIBLE
                elif now >= deadline:
                    raise NotSupportedError(
                        f"no webvoice media agent answered on BroadcastChannel {self.channel_name!r} within "
                        f"{self.timeout:g} s. Python runs in a Web Worker, which has no WebRTC: the page must "
                        f"run the agent, e.g. <script type=\"module\" src=\".../agent.js?channel="
                        f"{self.channel_name}\"></script> (agent.js ships in the wheel as "
                        f"webvoice/browser/agent.js; webvoice.browser._bridge.agent_loader_js() starts it "
                        f"without a file)")
                else:
                    hello_id = next(self._ids)
                    self._hello_ids.add(hello_id)
                    self._post({"kind": "request", "agent": None, "id": hello_id, "op": "hello",
                                "args": {"protocol": PROTOCOL}})
                    wake = min(deadline, now + _HELLO_REPEAT)
                self._hello_event.clear()
                try:
                    await asyncio.wait_for(self._hello_event.wait(), max(0.0, wake - loop.time()))
                except TimeoutError:
                    pass
        finally:
            self._hello_ids.clear()
            self._hello_event = None

    async def _hold_lock(self) -> str | None:
        """Hold the Web Lock ``webvoice-bridge-<id>`` until :meth:`close` (or the worker's end)."""
        if self._release_lock is not None:
            return self._lock_name
        locks = getattr(js.navigator, "locks", None)
        if not locks:
            return None  # without Web Locks, a dead worker's sessions stay until the page closes
        granted = asyncio.get_running_loop().create_future()

        def executor(resolve: Any, reject: Any) -> None:
            self._release_lock = resolve

        def on_granted(lock: Any) -> Any:
            executor_proxy = create_proxy(executor)
            try:
                promise = js.Promise.new(executor_proxy)  # runs the executor at once
            finally:
                executor_proxy.destroy()
            if not granted.done():
                granted.set_result(None)
            return promise

        granted_proxy = create_proxy(on_granted)
        self._lock_proxies = [granted_proxy]
        locks.request(self._lock_name, granted_proxy)
        await granted
        return self._lock_name

    @property
    def _lock_name(self) -> str:
        return f"webvoice-bridge-{self.bridge_id}"

    # --- messages -------------------------------------------------------------------------

    def _post(self, message: dict[str, Any]) -> None:
        self._channel.postMessage(_to_js({"wv": PROTOCOL, "bridge": self.bridge_id, **message}))

    def _send(self, op: str, args: dict[str, Any], line_id: str | None, agent: str | None) -> tuple[int, asyncio.Future]:
        """Post a request now; its answer resolves the future."""
        if self._closed:
            raise MediaError("this media backend is closed")
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._post({"kind": "request", "agent": agent, "id": request_id, "op": op, "line_id": line_id,
                    "args": args})
        return request_id, future

    async def _request(self, op: str, args: dict[str, Any], *, line_id: str | None = None,
                       timeout: float | None | bool = True, agent: str | None = None, connect: bool = True) -> Any:
        if connect:
            agent = await self.connect()
        if timeout is True:
            timeout = None if op in _UNBOUNDED else self.op_timeout
        request_id, future = self._send(op, args, line_id, agent)
        try:
            if timeout is None:
                return await future
            try:
                return await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError:
                raise MediaError(f"the media agent did not answer {op!r} within {timeout:g} s") from None
        finally:
            self._pending.pop(request_id, None)

    def _notify(self, op: str, args: dict[str, Any], line_id: str | None = None) -> None:
        """Send a request without waiting for its answer (a failure is logged).

        Attached, it is posted before this returns, so it keeps its place
        before any later request (BroadcastChannel keeps one sender's order).
        """
        if self._agent is not None:
            request_id, future = self._send(op, args, line_id, self._agent)
            future.add_done_callback(lambda f: self._notified(f, request_id))
        else:
            task = asyncio.ensure_future(self._request(op, args, line_id=line_id))
            self._tasks.add(task)
            task.add_done_callback(self._notified)

    def _notified(self, done: asyncio.Future, request_id: int | None = None) -> None:
        self._tasks.discard(done)
        self._pending.pop(request_id, None)
        if not done.cancelled() and done.exception() is not None and not self._closed:
            log.warning("webvoice: the media agent refused a request: %s", done.exception())

    def _on_message(self, event: Any) -> None:
        try:
            message = json.loads(js.JSON.stringify(event.data))
        except Exception:  # not JSON-able: not ours
            return
        if not isinstance(message, dict) or message.get("wv") != PROTOCOL:
            return
        kind = message.get("kind")
        if kind == "event" and message.get("event") == "agent_gone":
            if message.get("agent") == self._agent and self._agent is not None:
                self._agent_gone()
            return
        if message.get("bridge") != self.bridge_id:
            return
        if kind == "response":
            self._on_response(message)
        elif kind == "event" and message.get("agent") == self._agent:
            self._on_event(message)

    def _on_response(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        if request_id in self._hello_ids:
            if message.get("ok") and isinstance(message.get("result"), dict):
                answer = message["result"]
                if answer.get("protocol") != PROTOCOL:
                    log.warning("webvoice: ignoring a media agent of protocol %r (this webvoice speaks %d): "
                                "update agent.js on the page", answer.get("protocol"), PROTOCOL)
                    return
                self._hello_answers.append(answer)
                if self._hello_event is not None:
                    self._hello_event.set()
            return
        future = self._pending.get(request_id)
        if future is None or future.done():
            return
        if message.get("ok"):
            future.set_result(message.get("result"))
        else:
            future.set_exception(_error(message.get("error") or {}))

    def _on_event(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event == "session":
            session = self._sessions.get(str(message.get("line_id")))
            if session is not None:
                session._emit(str(message.get("name")), message.get("data") or {})
        elif event == "devicechange":
            handler = self._devices_handler
            if handler is not None:
                try:
                    handler()
                except Exception:
                    log.exception("the devices-changed handler raised")

    def _agent_gone(self) -> None:
        """The agent's page is going away: its media is gone; a later request looks for a new agent."""
        log.warning("webvoice: the media agent's page went away; %d line(s) lost their media", len(self._sessions))
        self._agent = None
        self._fail_pending(MediaError("the media agent's page went away"))
        for session in list(self._sessions.values()):
            session._lost("agent")
        self._devices_subscribed = False

    def _fail_pending(self, error: MediaError) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)

    # --- MediaBackend ------------------------------------------------------------------------

    async def open_session(
        self,
        line_id: str,
        *,
        ice_servers: list[str],
        constraints: dict[str, Any],
        microphone: str | None,
        speaker: str | None,
        on_event: MediaEventHandler,
    ) -> BridgedMediaSession:
        line_id = str(line_id)
        if line_id in self._sessions:
            raise ValueError(f"line {line_id!r} already has an open media session in this page")
        rtc_config = rtc_configuration(ice_servers)  # bad URLs raise before the microphone is asked for
        result = await self._request("open_session", {"rtc_config": rtc_config, "constraints": dict(constraints or {}),
                                                      "microphone": microphone, "speaker": speaker},
                                     line_id=line_id)
        session = BridgedMediaSession(self, line_id, on_event, result.get("element_id"))
        if self._closed or line_id in self._sessions:
            self._post({"kind": "request", "agent": self._agent, "id": next(self._ids), "op": "close",
                        "line_id": line_id, "args": {}})
            raise MediaError("this media backend is closed") if self._closed else ValueError(
                f"line {line_id!r} already has an open media session in this page")
        self._sessions[line_id] = session
        speaker_log = result.get("speaker_log")
        if speaker_log:  # the speaker could not be chosen: the line plays on the default one
            level = logging.INFO if speaker_log.get("level") == "info" else logging.WARNING
            log.log(level, "line %s: %s", line_id, speaker_log.get("message"))
        return session

    async def list_devices(self) -> list[AudioDevice]:
        devices = await self._request("list_devices", {})
        return [AudioDevice(device_id=d["device_id"], label=d["label"], kind=d["kind"]) for d in devices]

    def supports_speaker_selection(self) -> bool:
        """Whether the page can choose the speaker. The agent says so when attached;
        before that (nothing asked of it yet) True, and a refusal comes later as
        NotSupportedError from ``set_speaker``."""
        return True if self._sink_id is None else self._sink_id

    def on_devices_changed(self, handler: Callable[[], None] | None) -> None:
        """Call ``handler()`` when the page's devices come or go; None stops it."""
        self._devices_handler = handler
        self._sync_devices()

    def _sync_devices(self) -> None:
        wanted = self._devices_handler is not None
        if wanted != self._devices_subscribed and not self._closed:
            self._devices_subscribed = wanted
            self._notify("subscribe_devices", {"on": wanted})

    def _forget(self, session: BridgedMediaSession, *, notify: bool) -> None:
        if self._sessions.get(session.line_id) is session:
            del self._sessions[session.line_id]
        if notify and self._agent is not None and not self._closed:
            self._notify("close", {}, session.line_id)

    def close(self) -> None:
        """Close every session (on the page too), detach from the agent, release the channel."""
        if self._closed:
            return
        for session in list(self._sessions.values()):
            session._closed = True
        self._sessions.clear()
        if self._agent is not None:
            # One message closes them all on the page (no answer awaited: the channel closes now).
            self._post({"kind": "request", "agent": self._agent, "id": next(self._ids), "op": "detach",
                        "args": {}})
        self._closed = True
        self._agent = None
        self._fail_pending(MediaError("this media backend is closed"))
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        self._channel.removeEventListener("message", self._listener)
        self._channel.close()
        self._listener.destroy()
        release, self._release_lock = self._release_lock, None
        if release is not None:
            release()
        # Called once, when the lock was granted (at once: the name is ours alone).
        for proxy in self._lock_proxies:
            proxy.destroy()
        self._lock_proxies = []

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def live_proxies(self) -> int:
        """Proxies this backend holds (0 once closed; for leak tests)."""
        return (0 if self._closed else 1) + len(self._lock_proxies)
