"""A small phone for webvoice in a notebook: an anywidget that also runs webvoice's media agent.

In a JupyterLite kernel Python runs in a Web Worker, which has WebSocket (so
SIP works) but no WebRTC. webvoice then uses its bridged media backend, which
needs webvoice's media agent (``agent.js``) running on the page's main thread.
This widget's front end runs there: it starts the agent from the source in the
webvoice wheel (:func:`webvoice.browser.agent_source`, imported from a
``blob:`` URL) and shows the phone::

    import webvoice
    from webvoice_widget import Phone

    sip = webvoice.create_sip_instance(sip_login="alice", sip_password="...",
                                       ws_url="ws://127.0.0.1:5066", realm="webvoice.test")
    phone = Phone(sip, target="bob")
    phone                       # show it: registration, Call / Hang up, status, quality
    await sip.register()
    call = await sip.call("bob")    # or the Call button; the phone follows either way

The phone follows the instance by looking at it every ``interval`` seconds
(registration, the current line, ``await call.get_stats()``), so calls placed
from code and from its buttons show alike; ``phone.samples`` keeps the
quality figures of the current (or last) call, and :func:`quality_svg` draws
them. Incoming calls ring on the phone (Answer / Decline) unless
``incoming=False``, which leaves ``sip.on_incoming_call`` to you.

Button clicks reach Python as widget messages; a notebook kernel handles them
between cells, so a click made while a cell runs takes effect when it ends.
"""

from __future__ import annotations

import asyncio
import logging
import pathlib
import time
from typing import Any

import anywidget
import traitlets

from webvoice.browser import agent_source

from ._chart import quality_svg

try:  # the channel the bridged backend uses unless told otherwise
    from webvoice.browser._bridge import DEFAULT_CHANNEL
except ImportError:  # pragma: no cover
    DEFAULT_CHANNEL = "webvoice-media"

__all__ = ["Phone", "quality_svg"]
__version__ = "0.1.0"

log = logging.getLogger("webvoice_widget")
_HERE = pathlib.Path(__file__).parent
# How many quality samples the phone keeps (one per interval).
MAX_SAMPLES = 600
# How often the phone looks at the instance's registration and lines (seconds).
_FOLLOW_EVERY = 0.25


class Phone(anywidget.AnyWidget):
    """A phone for one :class:`webvoice.SipInstance` (see the module doc)."""

    _esm = _HERE / "phone.js"
    _css = _HERE / "phone.css"

    # The media agent: its source goes to the front end, which starts it on
    # the page and says which agent (or what went wrong).
    agent_js = traitlets.Unicode("").tag(sync=True)
    channel = traitlets.Unicode(DEFAULT_CHANNEL).tag(sync=True)
    agent_id = traitlets.Unicode("").tag(sync=True)
    agent_error = traitlets.Unicode("").tag(sync=True)

    # What the phone shows.
    user = traitlets.Unicode("").tag(sync=True)
    registration = traitlets.Unicode("offline").tag(sync=True)  # offline | connected | registered
    target = traitlets.Unicode("").tag(sync=True)  # the dial field, both ways
    call_state = traitlets.Unicode("idle").tag(sync=True)  # idle | connecting | progress | ringing | confirmed | ended | failed
    peer = traitlets.Unicode("").tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    connected_at = traitlets.Float(0.0).tag(sync=True)  # epoch seconds, 0 when not in a call
    stats = traitlets.Dict().tag(sync=True)  # the last get_stats() of the call
    history = traitlets.List().tag(sync=True)  # [[packets/s received, jitter ms], ...], recent

    def __init__(self, sip: Any, *, target: str = "", interval: float = 1.0, incoming: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(agent_js=agent_source(), target=target, **kwargs)
        self.sip = sip
        self.interval = float(interval)
        #: The quality samples of the current (or last) call: dicts with ``t``
        #: (seconds since it connected), ``packets_received``, ``packets_sent``,
        #: ``packets_lost``, ``jitter`` (s), ``round_trip_time`` (s or None).
        self.samples: list[dict[str, Any]] = []
        self.call: Any = None  # the call the phone shows
        self._incoming: Any = None
        self._tasks: set[asyncio.Task] = set()
        self._closed = False
        settings = getattr(sip, "_settings", None)
        self.user = f"{getattr(settings, 'user', '')}@{getattr(settings, 'domain', '')}".strip("@")
        self.on_msg(self._on_front_end)
        if incoming:
            sip.on_incoming_call(self._ring)
        self._ticker = asyncio.ensure_future(self._tick_forever())

    # --- from Python ---------------------------------------------------------------------

    async def dial(self, target: str | None = None, events: dict | None = None) -> Any:
        """Call ``target`` (default: the dial field) and show the call; returns the ``Call``."""
        target = (target or self.target).strip()
        if not target:
            raise ValueError("nothing to call: give a target or fill in the phone's field")
        self.target = target
        self._show_call_start(target, "connecting")
        try:
            call = await self.sip.call(target, events)
        except Exception as exc:
            self.call_state, self.status = "failed", f"Call to {target} failed: {exc}"
            raise
        self._follow(call)
        return call

    def hang_up(self) -> None:
        """Hang up the call the phone shows (or decline the one ringing)."""
        if self._incoming is not None:
            self._incoming.decline()
            self._incoming = None
        elif self.call is not None and not self.call.is_ended():
            self.call.terminate()

    def close(self) -> None:
        """Stop following the instance and close the widget (the instance stays)."""
        self._closed = True
        self._ticker.cancel()
        super().close()

    # --- from the buttons ----------------------------------------------------------------

    def _on_front_end(self, _widget: Any, content: dict, _buffers: Any) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        if action == "call":
            self._spawn(self.dial(str(content.get("target") or "")), "call")
        elif action in ("hangup", "decline"):
            self.hang_up()
        elif action == "answer" and self._incoming is not None:
            incoming, self._incoming = self._incoming, None
            self.call_state, self.status = "connecting", f"Answering {self.peer}..."
            incoming.accept()
            self._follow(incoming.call)

    def _spawn(self, coro: Any, what: str) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.warning("webvoice_widget: %s failed: %s", what, t.exception())

        task.add_done_callback(done)

    # --- following the instance ----------------------------------------------------------

    def _ring(self, incoming: Any) -> None:
        if self._incoming is not None or (self.call is not None and not self.call.is_ended()):
            incoming.decline()  # one call at a time on this phone
            return
        self._incoming = incoming
        identity = incoming.event.session.remote_identity
        who = getattr(identity, "display_name", "") or _user_of(identity)
        self._show_call_start(who, "ringing")
        self.status = f"Incoming call from {who}"
        incoming.call.on("ended", lambda event: self._rang_out(incoming))
        incoming.call.on("failed", lambda event: self._rang_out(incoming))

    def _rang_out(self, incoming: Any) -> None:
        if self._incoming is incoming:
            self._incoming = None
            self.call_state, self.status = "ended", f"Missed call from {self.peer}"

    def _show_call_start(self, peer: str, state: str) -> None:
        self.peer, self.call_state, self.connected_at = peer, state, 0.0
        self.stats, self.history, self.samples = {}, [], []

    def _follow(self, call: Any) -> None:
        if call is None or call is self.call:
            return
        self.call = call
        self.peer = _user_of(call.get_remote_identity()) or self.peer
        self.samples, self.history, self.stats = [], [], {}
        call.on("confirmed", lambda event: self._refresh_call())
        call.on("ended", lambda event: self._ended(call, "ended", event))
        call.on("failed", lambda event: self._ended(call, "failed", event))
        self._refresh_call()

    def _ended(self, call: Any, state: str, event: Any) -> None:
        if call is not self.call:
            return
        self.call_state, self.connected_at = state, 0.0
        cause = getattr(event, "cause", "") or state
        self.status = (f"Call with {self.peer} ended ({cause})" if state == "ended"
                       else f"Call to {self.peer} failed ({cause})")

    def _refresh_call(self) -> None:
        call = self.call
        if call is None or call.is_ended():
            return
        state = call.get_status()
        self.call_state = state
        if state == "confirmed":
            if not self.connected_at:
                self.connected_at = time.time()
            self.status = f"Connected with {self.peer}"
        elif state in ("connecting", "progress"):
            self.status = f"Calling {self.peer}..." if call.get_direction() == "outgoing" else f"Answering {self.peer}..."

    async def _tick_forever(self) -> None:
        next_sample = 0.0
        loop = asyncio.get_running_loop()
        while not self._closed:
            try:
                self._follow_instance()
                if loop.time() >= next_sample:
                    next_sample = loop.time() + self.interval
                    await self._sample_call()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 (keep following)
                log.debug("webvoice_widget: tick failed: %s", exc)
            await asyncio.sleep(_FOLLOW_EVERY)

    def _follow_instance(self) -> None:
        sip = self.sip
        self.registration = "registered" if sip.is_registered() else "connected" if sip.is_connected() else "offline"
        current = sip.get_current_line()
        if current is not None and (self.call is None or self.call.is_ended()
                                    or self.call.get_line_id() != current.id):
            try:
                self._follow(sip.get_line(current.id))
            except Exception:  # noqa: BLE001, S110 (the line went in between)
                pass
        self._refresh_call()

    async def _sample_call(self) -> None:
        call = self.call
        if call is not None and not call.is_ended() and call.get_status() == "confirmed":
            self._sample(await call.get_stats())

    def _sample(self, stats: dict[str, Any]) -> None:
        inbound, outbound = stats.get("inbound") or {}, stats.get("outbound") or {}
        now = time.time()
        sample = {
            "t": round(now - (self.connected_at or now), 3),
            "packets_received": int(inbound.get("packets_received") or 0),
            "packets_sent": int(outbound.get("packets_sent") or 0),
            "packets_lost": int(inbound.get("packets_lost") or 0),
            "jitter": float(inbound.get("jitter") or 0.0),
            "round_trip_time": stats.get("round_trip_time"),
        }
        previous = self.samples[-1] if self.samples else None
        self.samples = [*self.samples[-(MAX_SAMPLES - 1):], sample]
        if previous is not None and sample["t"] > previous["t"]:
            rate = (sample["packets_received"] - previous["packets_received"]) / (sample["t"] - previous["t"])
            self.history = [*self.history[-59:], [round(rate, 1), round(sample["jitter"] * 1000, 2)]]
        self.stats = {**sample, "codec": stats.get("codec") or ""}


def _user_of(identity: Any) -> str:
    """``bob`` for ``sip:bob@example.org`` (the whole URI when it has no user part)."""
    if identity is None:
        return ""
    uri = getattr(identity, "uri", identity)
    text = str(uri)
    user = getattr(uri, "user", None) or getattr(uri, "user_text", None)
    if user:
        return str(user)
    if text.startswith(("sip:", "sips:")):
        return text.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0]
    return text
