"""``@record``: a frozen, slotted dataclass whose repr, == and hash are shared code.

Why not plain ``@dataclass(frozen=True, slots=True)``: a dataclass writes the
source of its methods and ``exec``s it when the class is created. In Pyodide
that is compiled and run in WebAssembly at import time, about 2.5 ms per
frozen class, and webvoice defines dozens of small value and event classes
on its start-up path. ``__repr__`` and ``__eq__`` account for two thirds of
that cost, yet they do the same thing for every class; so a record gets the
dataclass ``__init__`` (generated, because constructing is the hot path) and
frozen ``__setattr__``, and these three methods, written once here.

They behave as the generated ones do: ``repr`` lists the fields with
``repr=True`` as ``Name(a=1, b='x')`` (a ``__repr__`` the class defines
itself is kept); ``==`` compares the fields with ``compare=True`` of two
instances of the very same class; ``hash`` is that of the compared fields
(``field(hash=...)`` honoured). ``dataclasses.fields`` and
``dataclasses.replace`` work unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypeVar, dataclass_transform

__all__ = ["record"]

T = TypeVar("T", bound=type)


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def record(cls: T) -> T:
    """Make ``cls`` a frozen dataclass with ``__slots__`` (see the module docstring)."""
    own = {name for name in ("__repr__", "__eq__", "__hash__") if name in cls.__dict__}
    made: Any = dataclass(frozen=True, slots=True, repr=False, eq=False)(cls)
    every = fields(made)
    made._record_repr = tuple(f.name for f in every if f.repr)
    made._record_compare = tuple(f.name for f in every if f.compare)
    made._record_hash = tuple(f.name for f in every if (f.compare if f.hash is None else f.hash))
    if "__repr__" not in own:
        made.__repr__ = _repr
    if "__eq__" not in own:
        made.__eq__ = _eq
    if "__hash__" not in own:
        made.__hash__ = _hash
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
