"""The conversation between a worker's realm and the page's ``agent.js``: messages, batches, the Web Lock.

:class:`~webvoice.browser._remote.RemoteRealm` drives browser objects on the
page from a Web Worker; ``agent.js`` (webvoice/browser/agent.js) carries out
what it asks. This module is what they agree on, kept apart from the realm's
queuing, connecting and routing so that the protocol reads in one place
beside its few pieces of code: the version and channel name, how arguments
are encoded (:func:`_encode`), a batch and what waits on it
(:class:`_Batch`), how a failure comes back (:meth:`_Batch.error`), and the
Web Lock the agent watches (:class:`WebLock`).

Messages are plain objects with ``wv`` (:data:`PROTOCOL`), ``bridge`` (this
realm's random id, so several workers share a channel without crossing
wires) and, from the agent, ``agent`` (its id)::

    worker -> agent  {kind: "hello"}                      who is there? (a channel spans every
                     {kind: "batch", agent, id, ops, chains, lock}     tab of the origin)
                     {kind: "detach", agent}
    agent -> worker  {kind: "here", visible}              a visible page's agent is preferred
                     {kind: "reply", id, ok, results, failures?, at?, error?}
                     {kind: "failed", id, at, error}       a "fire" call failed
                     {kind: "event", sub, data, refs}
                     {kind: "gone"}                        the page is going away

Operations queued in one turn of the event loop go in one ``batch`` and run
in order on the page; a result may be kept there in a *slot* (a number chosen
here), so later operations use it without a round trip (``{"$r": slot}`` in
arguments; target ``null`` is ``globalThis``)::

    ["new", to, constructor, args]        ["ref", to, on, path]
    ["invoke", to | null, on, method, args]                 (awaits a returned promise)
    ["call", on, method, args]*           ["get", on, path]*          ["has", on, path]*
    ["set", on, path, value]              ["fire", on, method, args]  (not awaited)
    ["listen", sub, on, event, fields, refs]                (sub: a slot; release stops it)
    ["arm", to, on, until, timeout_ms]    ["settle", on, read]*
    ["lost", on, method]                  ["release", [slots]]        ["sync"]*

Each operation belongs to a *chain* (``chains``, one per operation): the
task that queued it, or ``null`` outside a task. A failing operation ends
its chain in the batch, not the batch: the rest of that chain does not run
(except ``release``, clean-up that a ``finally`` queued behind the failure),
and the slots it would fill fail the same way; other chains go on, so one
line's failure never drops another line's operations queued in the same
turn (its hang-up, say). Outside a task each operation is on its own. Every
batch is answered, once all of it has run (``reply``: the starred
operations' values in order, ``null`` for one that did not run;
``failures``, each chain's failure as ``[index, error]``, the error's name,
message and constraint; ``at`` and ``error``, the first of them): the
worker keeps a batch (what each operation was doing, whom a failure goes
to) until then, and no longer. A failure of a ``fire`` call is reported as
``failed``, before the reply, and its chain goes on.

The worker holds a Web Lock (``webvoice-bridge-<id>``) while the realm is
open; the agent waits on it, so when the worker dies (a kernel restart,
``worker.terminate()``) the agent runs the realm's ``on_lost`` calls: the
microphone is released, connections close and audio elements go.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import create_proxy

from .._media import MediaError
from ._realm import Ref, media_error

__all__ = ["DEFAULT_CHANNEL", "PROTOCOL", "WebLock"]

#: The BroadcastChannel name the agent and the realm use unless told otherwise.
DEFAULT_CHANNEL = "webvoice-media"
#: The message protocol's version (``wv`` in every message; agent.js ``PROTOCOL``).
PROTOCOL = 3


def _encode(value: Any) -> Any:
    if isinstance(value, Ref):
        return {"$r": value.key}
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _key(target: Ref | None) -> Any:
    return None if target is None else target.key


class _Batch:
    """Operations posted together, and what waits on them here."""

    def __init__(self, batch_id: int) -> None:
        self.id = batch_id
        self.ops: list[list[Any]] = []
        self.chains: list[int | None] = []  # the task each operation came from (see the module doc)
        self.doing: list[str] = []
        self.outs: list[tuple[int, asyncio.Future]] = []  # (op index, future)
        self.on_error: dict[int, Callable[[MediaError], None] | None] = {}
        self.patient = False
        self.wait = 0.0

    def fail(self, at: int, error: MediaError) -> None:
        for index, future in self.outs:
            if index >= at and not future.done():
                future.set_exception(error)

    def answer(self, results: list[Any], failures: list[tuple[int, MediaError]]) -> list[MediaError]:
        """Settle what waits on the batch: ``results``, one per starred operation in
        order; ``failures``, (index, error) of each chain that failed: what its chain
        asked for from there on fails with its error, other chains get their values.
        Returns the failures nothing here waited on (to be told another way)."""
        stopped = {self.chains[at]: (at, error) for at, error in failures if self.chains[at] is not None}
        own = dict(failures)
        told: set[int] = set()
        values = iter(results)
        for index, future in self.outs:
            value = next(values, None)
            chain = self.chains[index]
            failure = own.get(index)
            if failure is None and chain in stopped and stopped[chain][0] < index:
                failure = stopped[chain][1]
            if failure is not None:
                told.add(id(failure))
            if future.done():
                continue
            if failure is not None:
                future.set_exception(failure)
            else:
                future.set_result(value)
        return [error for _, error in failures if id(error) not in told]

    def error(self, message: dict[str, Any]) -> MediaError:
        """The failure a ``reply`` or ``failed`` message reports, naming what the
        failing operation was doing."""
        error = message.get("error") or {}
        at = message.get("at") or 0
        doing = self.doing[at] if 0 <= at < len(self.doing) else "the media agent"
        return media_error(str(error.get("name") or "Error"), str(error.get("message") or ""),
                           str(error.get("constraint") or ""), str(error.get("doing") or doing))


class WebLock:
    """The Web Lock ``webvoice-bridge-<id>`` a worker holds while its realm is open
    (see the module doc): when the worker dies, the lock is freed, and the agent
    waiting on it cleans up after the realm."""

    def __init__(self, bridge_id: str) -> None:
        self.name = f"webvoice-bridge-{bridge_id}"
        self._release: Any = None
        self._proxies: list[Any] = []

    async def hold(self) -> str | None:
        """Hold the lock until :meth:`release` (or the worker's end); its name, or None
        where the browser has no Web Locks."""
        if self._release is not None:
            return self.name
        locks = getattr(js.navigator, "locks", None)
        if not locks:
            return None  # without Web Locks, a dead worker's objects stay until the page closes
        granted = asyncio.get_running_loop().create_future()

        def executor(resolve: Any, reject: Any) -> None:
            self._release = resolve

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
        self._proxies = [granted_proxy]
        locks.request(self.name, granted_proxy)
        await granted
        return self.name

    def release(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()
        # Called once, when the lock was granted (at once: the name is ours alone).
        for proxy in self._proxies:
            proxy.destroy()
        self._proxies = []

    @property
    def proxies(self) -> int:
        """The JS proxies held (for leak tests)."""
        return len(self._proxies)
