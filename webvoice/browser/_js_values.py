"""Values across the FFI for the main thread's realm: Python data to JS and back, and the JS calls every operation makes.

:class:`~webvoice.browser._direct.DirectRealm` drives browser objects
directly through ``js``; a call set-up is a few hundred operations, each
reading a path, converting arguments, calling a method or reading a result.
This module is that conversion, apart from the realm's bookkeeping
(subscriptions, waiters, timers, promises): the JS functions looked up once
(:class:`_Js`), paths walked with ``Reflect.get`` (:func:`_walk`), plain data
with Refs inside turned into JS values (:func:`_to_js`) and JS values into
plain data (:func:`_to_py`), a browser error as a
:class:`~webvoice._media.MediaError` (:func:`_error`), and a method called so
that its promise stays a JS object (:func:`_start`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import js
from pyodide.ffi import JsException, JsPromise, JsProxy, jsnull, to_js

from .._media import MediaError
from ._realm import Ref, media_error

# Private to webvoice.browser: its names keep their underscore, as when they lived in _direct.py.

def _attr(obj: Any, name: str) -> str:
    try:
        value = getattr(obj, name, None)
    except (AttributeError, JsException):  # a getter that throws
        return ""
    return value if isinstance(value, str) else ""


def _error(reason: Any, doing: str) -> MediaError:
    if isinstance(reason, str):
        return media_error("Error", reason, "", doing)
    name = _attr(reason, "name") or type(reason).__name__
    return media_error(name, _attr(reason, "message"), _attr(reason, "constraint"), doing)


def _is_null(value: Any) -> bool:
    return value is None or value is jsnull


class _Js:
    """The few JS functions every operation goes through, looked up once.

    Each ``js.X.y`` is a property read across the FFI per use; a call set-up
    does a few hundred operations, so they are read once, on first use, not at
    import: a JS value held by a module is part of a Pyodide memory snapshot
    (README "Fast start"), and the snapshot is taken after the imports.
    """

    def __init__(self) -> None:
        self.get = js.Reflect.get
        self.set = js.Reflect.set
        self.has = js.Reflect.has
        self.array_of = js.Array.of
        # bind_apply(fn, target, args) is Function.prototype.apply.bind(fn, target, args);
        # map_one(f) is [0].map(f), i.e. [f()]: see _start.
        self.bind_apply = js.Function.prototype.bind.bind(js.Function.prototype.apply)
        self.map_one = js.Array.prototype.map.bind(js.Array.of(0))
        self.from_entries = js.Object.fromEntries
        self.all_settled = js.Promise.allSettled
        self.stringify = js.JSON.stringify
        self.is_array = js.Array.isArray
        # settle_into(holder, token, done) calls done(token, outcome) once holder[0] settles,
        # in JS: a promise that reaches Python is a JsPromise, whose await and .then()
        # run through Python futures (two to four turns of the event loop). A page whose
        # Content-Security-Policy forbids `new Function` gets None, and those slower paths.
        try:
            self.settle_into = js.Function.new(
                "holder", "token", "done", "Promise.allSettled(holder).then((o) => done(token, o[0]));")
        except JsException:
            self.settle_into = None


_js: _Js | None = None


def _fns() -> _Js:
    global _js
    if _js is None:
        _js = _Js()
    return _js


# isinstance() against Pyodide's proxy classes runs a Python __instancecheck__;
# the classes are few (one per set of JS type flags), so each is checked once.
def _instance_check(cls: type) -> Callable[[Any], bool]:
    known: dict[type, bool] = {}

    def check(value: Any) -> bool:
        kind = type(value)
        result = known.get(kind)
        if result is None:
            result = known[kind] = isinstance(value, cls)
        return result

    return check


_is_proxy = _instance_check(JsProxy)
_is_promise = _instance_check(JsPromise)


def _walk(obj: Any, path: str) -> Any:
    get = _fns().get
    for name in path.split("."):
        if obj is jsnull or not _is_proxy(obj):
            return None
        obj = get(obj, name)
    return None if _is_null(obj) else obj


def _plain(value: Any) -> bool:
    """Whether ``to_js`` converts ``value`` as :func:`_to_js` would (no Ref, no None inside)."""
    if isinstance(value, (str, int, float)):
        return True
    if isinstance(value, dict):
        return all(_plain(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    return False


def _to_js(value: Any) -> Any:
    """Plain data (with Refs inside) as JS values; None is null."""
    if isinstance(value, Ref):
        return value.key
    if value is None:
        return jsnull
    if isinstance(value, (dict, list, tuple)):
        f = _fns()
        if _plain(value):  # one conversion across the FFI, not one per member
            return to_js(value, dict_converter=f.from_entries)
        if isinstance(value, dict):
            return f.from_entries(f.array_of(*(f.array_of(str(k), _to_js(v)) for k, v in value.items())))
        return f.array_of(*(_to_js(v) for v in value))
    return value


def _to_py(value: Any) -> Any:
    """A JS value as plain data: JSON form; a map-like object, the list of its values."""
    if value is None or value is jsnull:
        return None
    if not _is_proxy(value):
        return value
    f = _fns()
    if (not f.is_array(value) and callable(getattr(value, "values", None))
            and callable(getattr(value, "forEach", None)) and callable(getattr(value, "has", None))):
        value = js.Array.from_(value.values())
    text = f.stringify(value)
    return None if _is_null(text) else json.loads(text)


def _start(target: Any, method: str, args: tuple[Any, ...], doing: str) -> Any:
    """``[target[method](...args)]``: called now, its result kept as a JS value.

    Not a bare call: Pyodide turns a returned promise into a Future whose
    rejection must look like an Error, and a Future rejected with anything
    else never completes (Chromium's OverconstrainedError is such a reason).
    So the call happens inside JS (``[0].map`` of the bound call) and a
    promise stays a JS object in the array, for ``Promise.allSettled`` (which
    never rejects) to report on.
    """
    f = _fns()
    try:
        call = f.bind_apply(f.get(target, method), target, f.array_of(*(_to_js(a) for a in args)))
        return f.map_one(call)
    except JsException as exc:  # thrown before any promise (or no such method)
        raise _error(exc, doing) from exc
