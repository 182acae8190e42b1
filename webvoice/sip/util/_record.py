"""``@record``: a frozen, slotted dataclass whose methods are shared code or made on first use.

Why not plain ``@dataclass(frozen=True, slots=True)``: a dataclass writes the
source of its methods and ``exec``s it when the class is created. In Pyodide
that is compiled and run in WebAssembly at import time, about 1 ms per frozen
class, and webvoice defines dozens of small value and event classes on its
start-up path (``import webvoice`` is the page's start-up: every millisecond
there is one the user waits). So nothing is compiled when a record class is
created:

- ``__repr__``, ``__eq__``, ``__hash__``, the frozen ``__setattr__`` and
  ``__delattr__``, and the pickling/copying state are written once, here, and
  shared by every record;
- ``__init__`` is generated as a dataclass's is (constructing is the hot path:
  a generic one binding ``*args`` would be slower on every message), but on
  the class's first construction, so a class that is never built costs
  nothing and the others pay when first used, not at import (in a page, its
  code comes compiled by the build: webvoice/sip/util/_precompiled.py).

They behave as the generated ones do: ``repr`` lists the fields with
``repr=True`` as ``Name(a=1, b='x')`` (a ``__repr__`` the class defines
itself is kept); ``==`` compares the fields with ``compare=True`` of two
instances of the very same class; ``hash`` is that of the compared fields
(``field(hash=...)`` honoured); assigning or deleting a field raises
``dataclasses.FrozenInstanceError``; ``__post_init__`` runs after the fields
are set. ``dataclasses.fields``, ``replace`` and ``is_dataclass``, ``copy``
and ``pickle`` work unchanged (tests/sip/test_record.py checks each against a
real frozen dataclass). Not supported (no record needs them): ``InitVar`` and
``kw_only`` fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, FrozenInstanceError, dataclass, field, fields
from typing import Any, TypeVar, dataclass_transform

from . import _precompiled

__all__ = ["defined_records", "init_source", "record"]

T = TypeVar("T", bound=type)

_SHARED = ("__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__", "__getstate__", "__setstate__")


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: T) -> T:
    """Make ``cls`` a frozen dataclass with ``__slots__`` (see the module docstring)."""
    own = {name for name in (*_SHARED, "__init__") if name in cls.__dict__}
    # Not frozen=True: that makes dataclasses generate __setattr__/__delattr__;
    # the shared ones below freeze the instance instead.
    made: Any = dataclass(slots=True, init=False, repr=False, eq=False)(cls)
    every = fields(made)
    made._record_repr = tuple(f.name for f in every if f.repr)
    made._record_compare = tuple(f.name for f in every if f.compare)
    made._record_hash = tuple(f.name for f in every if (f.compare if f.hash is None else f.hash))
    made._record_fields = tuple(f.name for f in every)
    for name, method in zip(_SHARED, (_repr, _eq, _hash, _setattr, _delattr, _getstate, _setstate), strict=True):
        if name not in own:
            setattr(made, name, method)
    if "__init__" not in own:
        made.__init__ = _init_on_first_use(made)
    result: T = made
    return result


def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._record_repr)
    return f"{self.__class__.__qualname__}({shown})"


def _eq(self: Any, other: Any) -> bool:
    if other.__class__ is not self.__class__:
        unlike: bool = NotImplemented
        return unlike
    names = self._record_compare
    same: bool = tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)
    return same


def _hash(self: Any) -> int:
    return hash(tuple(getattr(self, name) for name in self._record_hash))


def _setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, name) for name in self._record_fields]


def _setstate(self: Any, state: list[Any]) -> None:
    for name, value in zip(self._record_fields, state, strict=True):
        object.__setattr__(self, name, value)


def _init_on_first_use(cls: Any) -> Callable[..., None]:
    """An ``__init__`` that makes the real one, puts it on ``cls`` and runs it."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        made = _make_init(cls)
        type.__setattr__(cls, "__init__", made)
        made(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _make_init(cls: Any) -> Callable[..., None]:
    """The ``__init__`` dataclasses would write for ``cls`` (frozen: fields set
    through ``object.__setattr__``; defaults and factories as ``field`` says),
    compiled by the build when it can (webvoice/sip/util/_precompiled.py:
    compiling is most of what making one costs in a page)."""
    source, namespace = _init_source(cls)
    exec(_precompiled.code(source), namespace)  # noqa: S102  (as dataclasses do; the source is made of field names only)
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def defined_records() -> list[type]:
    """Every record class defined so far (decorated here, not inherited): what
    the build compiles ``__init__``s for (tools/precompile.mjs)."""
    import gc

    return [o for o in gc.get_objects() if isinstance(o, type) and "_record_fields" in vars(o)]


def init_source(cls: Any) -> str:
    """The source of the ``__init__`` a record class gets: what the build
    compiles for the page (tools/precompile.mjs)."""
    return _init_source(cls)[0]


def _init_source(cls: Any) -> tuple[str, dict[str, Any]]:
    params: list[str] = []
    body: list[str] = []
    namespace: dict[str, Any] = {"_set": object.__setattr__, "_MISSING": MISSING}
    for f in fields(cls):
        name = f.name
        if f.default is not MISSING:
            namespace[f"_default_{name}"] = f.default
            fallback: str | None = f"_default_{name}"
        elif f.default_factory is not MISSING:
            namespace[f"_factory_{name}"] = f.default_factory
            fallback = f"_factory_{name}()"
        else:
            fallback = None
        if not f.init:
            if fallback is None:
                continue  # init=False without a default: left unset, as dataclasses do
            value = fallback
        elif fallback is None:
            params.append(name)
            value = name
        elif f.default is not MISSING:
            params.append(f"{name}={fallback}")
            value = name
        else:  # a factory runs per instance, when the argument is left out
            params.append(f"{name}=_MISSING")
            value = f"{fallback} if {name} is _MISSING else {name}"
        body.append(f"_set(self, {name!r}, {value})")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n    " + "\n    ".join(body or ["pass"])
    return source, namespace
