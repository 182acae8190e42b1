"""The realm of the page's main thread: browser objects driven directly through ``js``.

A :class:`~webvoice.browser._realm.Ref` here wraps the JS object itself; every
operation happens at once (a promise is awaited where the interface returns a
value or a Ref). Every ``create_proxy`` is owned by a subscription or a
waiter and destroyed with it: nothing leaks per call. How values cross
between Python and JS (and the JS functions every operation goes through)
is :mod:`._js_values`'s.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import JsException, create_proxy

from .._media import MediaError
from ._js_values import _error, _fns, _is_null, _is_promise, _is_proxy, _start, _to_js, _to_py, _walk
from ._realm import EventHandler, Ref, Until, ignore, media_error

__all__ = ["DirectRealm", "direct_realm"]

log = logging.getLogger("webvoice")

_realm: DirectRealm | None = None


def direct_realm() -> DirectRealm:
    """The page's one direct realm (its objects, its line ids, are the page's)."""
    global _realm
    if _realm is None:
        _realm = DirectRealm()
    return _realm


def _future() -> asyncio.Future:
    """A future of the running loop without Pyodide's bookkeeping: ``loop.create_future()``
    adds a done callback that costs a turn of the event loop (a browser task) each."""
    return asyncio.Future(loop=asyncio.get_running_loop())


class _Waiter:
    """``Realm.arm`` on the main thread: listeners, a grace timer, a time-out."""

    def __init__(self, realm: DirectRealm, target: Any, until: list[Until], timeout: float) -> None:
        self.realm = realm
        self.target = target
        self.until = until
        self.done: asyncio.Future = _future()
        self.timers = [realm._timer(timeout, self._resolve, "timeout")]
        self.proxies: list[tuple[str, Any]] = []
        self.graced: set[int] = set()  # conditions whose grace runs: it counts from the first time
        for name in {c.event for c in until}:
            proxy = create_proxy(lambda event, name=name: self._on_event(name, event))
            target.addEventListener(name, proxy)
            self.proxies.append((name, proxy))

    def _holds(self, condition: Until, event: Any) -> bool:
        if condition.field is not None and _to_py(_walk(event, condition.field)) != condition.equals:
            return False
        return self._target_holds(condition)

    def _target_holds(self, c: Until) -> bool:
        if c.prop is not None and _to_py(_walk(self.target, c.prop)) != c.equals:
            return False
        return c.text is None or c.contains in str(_to_py(_walk(self.target, c.text)) or "")

    def _on_event(self, name: str, event: Any) -> None:
        for index, condition in enumerate(self.until):
            if condition.event == name and index not in self.graced and self._holds(condition, event):
                if condition.grace > 0:
                    self.graced.add(index)
                    self.timers.append(self.realm._timer(condition.grace, self._resolve, index))
                else:
                    self._resolve(index)
                return

    def check_props(self) -> None:
        for index, condition in enumerate(self.until):
            if condition.prop is not None and self._target_holds(condition):
                self._resolve(index)
                return

    def _resolve(self, reason: int | str) -> None:
        if not self.done.done():
            self.done.set_result(reason)

    def close(self) -> None:
        self._resolve("released")
        for timer in self.timers:
            self.realm._cancel_timer(timer)
        for name, proxy in self.proxies:
            try:
                self.target.removeEventListener(name, proxy)
            except JsException:
                pass
            proxy.destroy()
        self.proxies = []


class DirectRealm:
    """:class:`~webvoice.browser._realm.Realm` on the page's main thread."""

    def __init__(self) -> None:
        self.id = "page-" + os.urandom(4).hex()
        self._subscriptions: dict[int, tuple[Any, str, Any]] = {}
        self._next = 1
        self._on_settled: Any = None  # the proxy of _settled_outcome, made on first use
        self._settling: dict[int, asyncio.Future | tuple[str, Callable[[MediaError], None] | None]] = {}
        self._on_fired: Any = None  # the proxy of _fired (without JS helpers), made on first use
        self._fired_pending: dict[int, tuple[str, Callable[[MediaError], None] | None]] = {}
        self._on_timer_proxy: Any = None  # the proxy of _on_timer, made on the first _timer()
        self._timers: dict[int, tuple[Any, Callable[..., None], tuple[Any, ...]]] = {}  # token -> (JS id, ...)
        self._tokens = itertools.count(1)

    def global_ref(self, path: str) -> Ref:
        return Ref(_walk(js.globalThis, path))

    def new(self, constructor: str, *args: Any, doing: str) -> Ref:
        cls = _walk(js.globalThis, constructor)
        if cls is None:
            raise media_error("NotSupportedError", f"this browser has no {constructor}", "", doing)
        try:
            return Ref(cls.new(*(_to_js(a) for a in args)))
        except JsException as exc:
            raise _error(exc, doing) from exc

    def ref(self, target: Ref, path: str) -> Ref:
        return Ref(_walk(target.key, path))

    async def invoke(self, target: Ref, method: str, *args: Any, doing: str, keep: bool = True,
                     patient: bool = False) -> Ref | None:
        value = await self._settled(_start(target.key, method, args, doing), doing)
        return Ref(None if _is_null(value) else value) if keep else None

    async def call(self, target: Ref, method: str, *args: Any, doing: str, patient: bool = False) -> Any:
        return _to_py(await self._settled(_start(target.key, method, args, doing), doing))

    async def get(self, target: Ref, path: str) -> Any:
        return _to_py(_walk(target.key, path))

    async def has(self, target: Ref | None, path: str) -> bool:
        head, _, last = path.rpartition(".")
        obj = js.globalThis if target is None else target.key
        if head:
            obj = _walk(obj, head)
        return _is_proxy(obj) and bool(_fns().has(obj, last))

    def set(self, target: Ref, path: str, value: Any) -> None:
        head, _, last = path.rpartition(".")
        obj = _walk(target.key, head) if head else target.key
        _fns().set(obj, last, _to_js(value))

    def fire(self, target: Ref, method: str, *args: Any, doing: str,
             on_error: Callable[[MediaError], None] | None = None) -> None:
        try:
            holder = _start(target.key, method, args, doing)
        except MediaError as exc:
            _report(exc, on_error)
            return
        if not _is_promise(holder[0]):
            return
        if on_error is ignore:  # allSettled handles the rejection in JS: nothing crosses back
            _fns().all_settled(holder)
        else:
            self._watch(holder, doing, on_error)

    # --- promises and timers ---------------------------------------------------------------

    async def _settled(self, holder: Any, doing: str) -> Any:
        """The value of a call: a promise's once it settles; any other value at once
        (no turn of the event loop: most of the engine's calls are synchronous)."""
        value = holder[0]
        if not _is_promise(value):
            return value
        future = _future()
        if self._settle_into(holder, future):
            outcome = await future  # one turn: this task's wake-up
        else:
            outcome = (await _fns().all_settled(holder))[0]
        if outcome.status == "fulfilled":
            return outcome.value
        raise _error(outcome.reason, doing)

    def _watch(self, holder: Any, doing: str, on_error: Callable[[MediaError], None] | None) -> None:
        """Report a fired promise's rejection: not an asyncio task per promise (each
        costs several turns of Pyodide's event loop, each a browser task)."""
        if not self._settle_into(holder, (doing, on_error)):
            if self._on_fired is None:
                self._on_fired = create_proxy(self._fired)
            token = next(self._tokens)
            self._fired_pending[token] = (doing, on_error)
            holder.push(token)
            _fns().all_settled(holder).then(self._on_fired)

    def _settle_into(self, holder: Any, pending: asyncio.Future | tuple[str, Callable[[MediaError], None] | None]
                     ) -> bool:
        """Have holder[0]'s outcome set ``pending`` (a future) or reported to it
        (``(doing, on_error)``) through one proxy kept for the realm's life, which
        JS calls with a token naming it. False where JS helpers cannot be made."""
        settle_into = _fns().settle_into
        if settle_into is None:
            return False
        if self._on_settled is None:
            self._on_settled = create_proxy(self._settled_outcome)
        token = next(self._tokens)
        self._settling[token] = pending
        settle_into(holder, token, self._on_settled)
        return True

    def _settled_outcome(self, token: int, outcome: Any) -> None:
        pending = self._settling.pop(token, None)
        if isinstance(pending, asyncio.Future):
            if not pending.done():
                pending.set_result(outcome)
        elif pending is not None and outcome.status == "rejected":
            _report(_error(outcome.reason, pending[0]), pending[1])

    def _fired(self, outcomes: Any) -> None:
        token = outcomes[1].value
        doing, on_error = self._fired_pending.pop(token, (None, None))
        outcome = outcomes[0]
        if doing is not None and outcome.status == "rejected":
            _report(_error(outcome.reason, doing), on_error)

    # A Python timer (``loop.call_later``) is a ``setTimeout`` into a new once-proxy,
    # run as two browser tasks, and it still fires when cancelled; a waiter's
    # timers are ``setTimeout(proxy, ms, token)`` into one proxy kept for the
    # realm's life, cleared when cancelled.

    def _timer(self, delay: float, callback: Callable[..., None], *args: Any) -> int:
        """``callback(*args)`` in ``delay`` seconds; returns the timer for :meth:`_cancel_timer`."""
        if self._on_timer_proxy is None:
            self._on_timer_proxy = create_proxy(self._on_timer)
        token = next(self._tokens)
        self._timers[token] = (js.setTimeout(self._on_timer_proxy, max(0, round(delay * 1000)), token), callback, args)
        return token

    def _cancel_timer(self, token: int) -> None:
        entry = self._timers.pop(token, None)
        if entry is not None:
            js.clearTimeout(entry[0])

    def _on_timer(self, token: int) -> None:
        entry = self._timers.pop(token, None)
        if entry is not None:
            entry[1](*entry[2])

    def listen(self, target: Ref, event: str, handler: EventHandler, *, fields: dict[str, str] | None = None,
               refs: dict[str, str] | None = None) -> int:
        fields, refs = fields or {}, refs or {}

        def on_event(js_event: Any) -> None:
            data: dict[str, Any] = {key: _to_py(_walk(js_event, path)) for key, path in fields.items()}
            data.update({key: Ref(_walk(js_event, path)) for key, path in refs.items()})
            try:
                handler(data)
            except Exception:
                log.exception("webvoice: a handler of %r raised", event)

        proxy = create_proxy(on_event)
        try:
            target.key.addEventListener(event, proxy)
        except BaseException:
            proxy.destroy()
            raise
        subscription, self._next = self._next, self._next + 1
        self._subscriptions[subscription] = (target.key, event, proxy)
        return subscription

    def unlisten(self, subscription: int) -> None:
        entry = self._subscriptions.pop(subscription, None)
        if entry is not None:
            target, event, proxy = entry
            try:
                target.removeEventListener(event, proxy)
            except JsException:
                pass
            proxy.destroy()

    def arm(self, target: Ref, until: list[Until], timeout: float) -> Ref:
        return Ref(_Waiter(self, target.key, list(until), timeout))

    async def settle(self, waiter: Ref, read: tuple[str, ...] = ()) -> tuple[int | str, dict[str, Any]]:
        w: _Waiter = waiter.key
        try:
            w.check_props()
            reason = await w.done
            return reason, {path: _to_py(_walk(w.target, path)) for path in read}
        finally:
            w.close()

    def on_lost(self, target: Ref, method: str) -> None:
        """Nothing to do: the page's main thread outlives its objects."""

    def release(self, *refs: Ref | None) -> None:
        for ref in refs:
            if ref is not None and isinstance(ref.key, _Waiter):
                ref.key.close()

    async def sync(self) -> None:
        """Nothing queued: every operation has run."""

    def proxies(self, subscriptions: list[int]) -> int:
        return sum(1 for s in subscriptions if s in self._subscriptions)

    def js_object(self, ref: Ref) -> Any:
        return ref.key


def _report(error: BaseException, on_error: Callable[[MediaError], None] | None) -> None:
    if on_error is not None and isinstance(error, MediaError):
        on_error(error)
    else:
        log.warning("webvoice: media operation failed: %s", error)
