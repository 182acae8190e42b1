"""The realm of a Web Worker: browser objects on the page, reached by messages to ``agent.js``.

In a Web Worker (a JupyterLite kernel, a PyScript ``<script type="py"
worker>``) there is WebSocket, so SIP works unchanged, but no DOM and no
``RTCPeerConnection``. The page runs ``agent.js``, a generic host of browser
objects that knows nothing of SIP or media: it creates objects, calls their
methods, reads and sets properties, forwards events and waits for
conditions, as :class:`RemoteRealm` asks over a ``BroadcastChannel`` (a
same-origin worker and page can both open one by name, without either
holding the other's handle). Every decision stays in the worker's Python.

What goes over the channel (the messages, the operations of a batch, the
Web Lock that tells the agent the worker died) is
:mod:`webvoice.browser._agent_protocol`'s; this module is the realm on top:
queuing operations into batches, finding an agent and attaching to it,
routing its answers and events, and closing.
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

from .._media import MediaError, NotSupportedError
from ._agent_protocol import DEFAULT_CHANNEL, PROTOCOL, WebLock, _Batch, _encode, _key
from ._realm import EventHandler, Ref, Until

__all__ = ["DEFAULT_CHANNEL", "PROTOCOL", "RemoteRealm"]

log = logging.getLogger("webvoice")

# How often "hello" is repeated while no agent has answered: a message posted
# before the agent opened the channel is lost, not queued.
_HELLO_REPEAT = 0.25
# After a hidden page's agent answers first, how long a visible one may take.
_PREFER_VISIBLE = 0.1
_WATCHDOG_S = 0.5  # how often unanswered operations are checked against their time-outs


def _chain() -> int | None:
    """The chain an operation queued now belongs to: the task running (see
    _agent_protocol's module doc), or None outside one."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no loop running: a browser callback's own operations
        return None
    return None if task is None else id(task)


class RemoteRealm:
    """:class:`~webvoice.browser._realm.Realm` for Python in a Web Worker (see the module doc).

    ``timeout``: seconds to wait for an agent's answer to "hello" before
    :class:`NotSupportedError`. ``op_timeout``: seconds a batch may take
    (plus what it waits for on purpose; no limit when it may show a
    permission prompt). ``on_gone``: called when the attached agent's page
    goes away (every object there is gone with it).
    """

    def __init__(self, channel_name: str = DEFAULT_CHANNEL, timeout: float = 3.0, op_timeout: float = 20.0,
                 on_gone: Callable[[str], None] | None = None) -> None:
        self.channel_name = channel_name
        self.timeout = timeout
        self.op_timeout = op_timeout
        self.on_gone = on_gone
        self.id = os.urandom(8).hex()
        self.messages_sent = 0  # for the bench: what a call costs across the boundary
        self.messages_received = 0
        self._ids = itertools.count(1)
        self._slots = itertools.count(1)
        self._batch: _Batch | None = None
        self._waits: dict[int, float] = {}  # waiter slot -> its time-out
        self._pending: dict[int, _Batch] = {}
        self._deadlines: dict[asyncio.Future, tuple[float, str]] = {}  # an answer awaited -> (by when, else what)
        self._watchdog: asyncio.Handle | None = None
        self._handlers: dict[int, EventHandler] = {}
        self._agent: str | None = None
        self._connecting: asyncio.Task | None = None
        self._hello_answers: list[dict[str, Any]] = []
        self._hello_event: asyncio.Event | None = None
        self._web_lock = WebLock(self.id)
        self._lock: str | None = None  # the Web Lock's name once held, sent with each batch
        self._closed = False
        self._tasks: set[asyncio.Future] = set()
        self._channel = js.BroadcastChannel.new(channel_name)
        self._listener = create_proxy(self._on_message)
        self._channel.addEventListener("message", self._listener)

    # --- the Realm operations -----------------------------------------------------------

    def _slot(self) -> Ref:
        return Ref(next(self._slots))

    def global_ref(self, path: str) -> Ref:
        ref = self._slot()
        self._queue(["ref", ref.key, None, path], f"globalThis.{path}")
        return ref

    def new(self, constructor: str, *args: Any, doing: str) -> Ref:
        ref = self._slot()
        self._queue(["new", ref.key, constructor, _encode(args)], doing)
        return ref

    def ref(self, target: Ref, path: str) -> Ref:
        ref = self._slot()
        self._queue(["ref", ref.key, target.key, path], path)
        return ref

    async def invoke(self, target: Ref, method: str, *args: Any, doing: str, keep: bool = True,
                     patient: bool = False) -> Ref | None:
        ref = self._slot() if keep else None
        self._queue(["invoke", _key(ref), target.key, method, _encode(args)], doing, patient=patient)
        return ref

    async def call(self, target: Ref, method: str, *args: Any, doing: str, patient: bool = False) -> Any:
        return await self._value(["call", target.key, method, _encode(args)], doing, patient=patient)

    async def get(self, target: Ref, path: str) -> Any:
        return await self._value(["get", target.key, path], f"reading {path}")

    async def has(self, target: Ref | None, path: str) -> bool:
        return bool(await self._value(["has", _key(target), path], f"looking for {path}"))

    def set(self, target: Ref, path: str, value: Any) -> None:
        self._queue(["set", target.key, path, _encode(value)], f"setting {path}")

    def fire(self, target: Ref, method: str, *args: Any, doing: str,
             on_error: Callable[[MediaError], None] | None = None) -> None:
        self._queue(["fire", target.key, method, _encode(args)], doing, on_error=on_error)

    def listen(self, target: Ref, event: str, handler: EventHandler, *, fields: dict[str, str] | None = None,
               refs: dict[str, str] | None = None) -> int:
        subscription = next(self._slots)
        self._handlers[subscription] = handler
        self._queue(["listen", subscription, target.key, event, fields or {}, refs or {}], f"listening to {event}")
        return subscription

    def unlisten(self, subscription: int) -> None:
        if self._handlers.pop(subscription, None) is not None and self._attached_or_queued():
            self._queue(["release", [subscription]], "unlisten")  # a listener is kept in a slot

    def arm(self, target: Ref, until: list[Until], timeout: float) -> Ref:
        ref = self._slot()
        self._queue(["arm", ref.key, target.key, [c.plain() for c in until], round(timeout * 1000)], "waiting")
        self._waits[ref.key] = timeout
        return ref

    async def settle(self, waiter: Ref, read: tuple[str, ...] = ()) -> tuple[int | str, dict[str, Any]]:
        wait = self._waits.pop(waiter.key, 0.0)
        result = await self._value(["settle", waiter.key, list(read)], "waiting", wait=wait)
        return result["reason"], result["read"]

    def on_lost(self, target: Ref, method: str) -> None:
        self._queue(["lost", target.key, method], f"on_lost {method}")

    def release(self, *refs: Ref | None) -> None:
        keys = [ref.key for ref in refs if ref is not None]
        for key in keys:
            self._waits.pop(key, None)
        if keys and self._attached_or_queued():
            self._queue(["release", keys], "release")

    def _attached_or_queued(self) -> bool:
        """Whether a clean-up message has an agent to go to (none after the agent went away)."""
        return not self._closed and (self._agent is not None or self._batch is not None)

    async def sync(self) -> None:
        await self._value(["sync"], "sync")

    def proxies(self, subscriptions: list[int]) -> int:
        return 0  # events come as messages: no proxy per subscription

    def js_object(self, ref: Ref) -> None:
        return None

    # --- batching -------------------------------------------------------------------------

    def _queue(self, op: list[Any], doing: str, *, patient: bool = False, wait: float = 0.0,
               on_error: Callable[[MediaError], None] | None = None) -> tuple[_Batch, int]:
        if self._closed:
            raise MediaError("this media backend is closed")
        if self._batch is None:
            self._batch = _Batch(next(self._ids))
            asyncio.get_event_loop().call_soon(self._flush)
        batch = self._batch
        batch.ops.append(op)
        batch.chains.append(_chain())
        batch.doing.append(doing)
        batch.patient |= patient
        batch.wait += wait
        if op[0] == "fire":
            batch.on_error[len(batch.ops) - 1] = on_error
        return batch, len(batch.ops) - 1

    async def _value(self, op: list[Any], doing: str, *, patient: bool = False, wait: float = 0.0) -> Any:
        batch, index = self._queue(op, doing, patient=patient, wait=wait)
        future = asyncio.get_event_loop().create_future()
        batch.outs.append((index, future))
        # The batch is complete once this turn ends: wait for its post, then for its answer.
        while not self._closed and (self._batch is batch or (batch.id not in self._pending and not future.done())):
            await asyncio.sleep(0)
            if self._agent is None and self._connecting is not None:
                await asyncio.wait([self._connecting])
        if batch.patient:
            return await future
        # Not asyncio.wait_for: in Pyodide each would leave a timer (and its handle) for
        # the whole time-out, ~20 s, after the answer came; one watchdog checks them all.
        timeout = self.op_timeout + batch.wait
        self._deadlines[future] = (asyncio.get_event_loop().time() + timeout,
                                   f"the media agent did not answer {doing!r} within {timeout:g} s")
        self._arm_watchdog()
        try:
            return await future
        finally:
            self._deadlines.pop(future, None)

    def _arm_watchdog(self) -> None:
        if self._watchdog is None and self._deadlines and not self._closed:
            self._watchdog = asyncio.get_event_loop().call_later(_WATCHDOG_S, self._watch)

    def _watch(self) -> None:
        """Fail what the agent has not answered in time; look again while anything waits."""
        self._watchdog = None
        now = asyncio.get_event_loop().time()
        for future, (deadline, message) in list(self._deadlines.items()):
            if now >= deadline and not future.done():
                future.set_exception(MediaError(message))
        self._arm_watchdog()

    def _flush(self) -> None:
        batch = self._batch
        if batch is None or self._closed:
            return
        if self._agent is None:
            self._connect_soon()  # flushes once attached
            return
        self._batch = None
        self._post({"kind": "batch", "agent": self._agent, "id": batch.id, "ops": batch.ops, "chains": batch.chains,
                    "lock": self._lock})
        self._pending[batch.id] = batch

    def _connect_soon(self) -> asyncio.Task:
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.ensure_future(self._connect())
            self._connecting.add_done_callback(self._connected)
        return self._connecting

    def _connected(self, task: asyncio.Task) -> None:
        if task.cancelled():
            return
        if task.exception() is None:
            self._flush()
            return
        batch, self._batch = self._batch, None  # nothing queued can run without an agent
        if batch is not None:
            error = task.exception()
            batch.fail(0, error if isinstance(error, MediaError) else MediaError(str(error)))
            for on_error in batch.on_error.values():
                if on_error is not None:
                    on_error(MediaError(str(error)))

    # --- finding the agent ----------------------------------------------------------------

    @property
    def agent_id(self) -> str | None:
        return self._agent

    async def connect(self) -> str:
        """Find an agent and attach to it (once); returns its id. Raises
        :class:`NotSupportedError` when none answers within ``timeout``."""
        if self._closed:
            raise MediaError("this media backend is closed")
        if self._agent is not None:
            return self._agent
        return await asyncio.shield(self._connect_soon())

    async def _connect(self) -> str:
        self._lock = await self._web_lock.hold()
        agent = (await self._hello())["agent"]
        if self._closed:
            raise MediaError("this media backend is closed")
        self._agent = agent  # batches go to it from now on (the first one makes it keep our objects)
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
                    self._post({"kind": "hello"})
                    wake = min(deadline, now + _HELLO_REPEAT)
                self._hello_event.clear()
                try:
                    await asyncio.wait_for(self._hello_event.wait(), max(0.0, wake - loop.time()))
                except TimeoutError:
                    pass
        finally:
            self._hello_event = None

    # --- messages -------------------------------------------------------------------------

    def _post(self, message: dict[str, Any]) -> None:
        self.messages_sent += 1
        self._channel.postMessage(js.JSON.parse(json.dumps({"wv": PROTOCOL, "bridge": self.id, **message})))

    def _on_message(self, event: Any) -> None:
        try:
            message = json.loads(js.JSON.stringify(event.data))
        except Exception:  # not JSON-able: not ours
            return
        if not isinstance(message, dict) or message.get("wv") != PROTOCOL:
            if isinstance(message, dict) and message.get("kind") == "here" and message.get("bridge") == self.id:
                log.warning("webvoice: ignoring a media agent of protocol %r (this webvoice speaks %d): "
                            "update agent.js on the page", message.get("wv"), PROTOCOL)
            return
        kind = message.get("kind")
        if kind == "gone":
            if message.get("agent") == self._agent and self._agent is not None:
                self._gone()
            return
        if message.get("bridge") != self.id:
            return
        self.messages_received += 1
        if kind == "here":
            self._hello_answers.append(message)
            if self._hello_event is not None:
                self._hello_event.set()
        elif message.get("agent") != self._agent:
            return
        elif kind == "reply":
            self._on_reply(message)
        elif kind == "failed":
            self._on_failed(message)
        elif kind == "event":
            handler = self._handlers.get(message.get("sub"))
            if handler is not None:
                data = dict(message.get("data") or {})
                data.update({name: Ref(key) for name, key in (message.get("refs") or {}).items()})
                try:
                    handler(data)
                except Exception:
                    log.exception("webvoice: an event handler raised")

    def _on_reply(self, message: dict[str, Any]) -> None:
        batch = self._pending.pop(message.get("id"), None)
        if batch is None:
            return
        failures = [(int(at), batch.error({"at": int(at), "error": error}))
                    for at, error in message.get("failures") or []]
        if not message.get("ok") and not failures:  # the batch as a whole (not one operation) failed
            failures = [(int(message.get("at") or 0), batch.error(message))]
        for error in batch.answer(message.get("results") or [], failures):  # nothing here waited on these
            log.warning("webvoice: %s", error)

    def _on_failed(self, message: dict[str, Any]) -> None:
        batch = self._pending.get(message.get("id"))
        if batch is None:
            return
        error = batch.error(message)
        on_error = batch.on_error.get(int(message.get("at") or 0))
        if on_error is not None:
            on_error(error)
        else:
            log.warning("webvoice: %s", error)

    def _gone(self) -> None:
        """The agent's page is going away: its objects are gone; a later operation looks for a new agent."""
        self._agent = None
        self._fail_pending(MediaError("the media agent's page went away"))
        self._handlers.clear()
        if self.on_gone is not None:
            self.on_gone("agent")

    def _fail_pending(self, error: MediaError) -> None:
        pending, self._pending = self._pending, {}
        for batch in pending.values():
            batch.fail(0, error)
        batch, self._batch = self._batch, None
        if batch is not None:
            batch.fail(0, error)

    def close(self) -> None:
        """Detach from the agent (it runs what is left of our ``on_lost`` calls) and release the channel."""
        if self._closed:
            return
        batch, self._batch = self._batch, None
        if self._agent is not None:
            if batch is not None and batch.ops:  # what was queued last (closing sessions) goes first,
                # without chains: every clean-up runs, whatever fails before it (its reply finds us gone)
                self._post({"kind": "batch", "agent": self._agent, "id": batch.id, "ops": batch.ops,
                            "lock": self._lock})
            self._post({"kind": "detach", "agent": self._agent})
        if batch is not None:
            batch.fail(0, MediaError("this media backend is closed"))
        self._closed = True
        self._agent = None
        self._fail_pending(MediaError("this media backend is closed"))
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        self._channel.removeEventListener("message", self._listener)
        self._channel.close()
        self._listener.destroy()
        self._web_lock.release()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def own_proxies(self) -> int:
        """Proxies this realm holds (0 once closed; for leak tests)."""
        return (0 if self._closed else 1) + self._web_lock.proxies
