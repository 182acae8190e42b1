"""Regular expressions compiled at build time, for Pyodide's start-up.

Python's regex compiler (``re._parser``, ``re._compiler``) is Python code. In
a page it runs as WebAssembly, where compiling webvoice's grammar costs tens
of ms of ``import webvoice`` and of the first REGISTER, more than any other
part of importing it. Only its last step is C: ``_sre.compile`` takes the
compiled program (a list of ints, plus the group names), and that is quick.

So the build (tools/precompile.mjs, in Pyodide's own Python, like the
bytecode beside the modules) compiles every pattern webvoice names through
:func:`compile_regex`, keeps the arguments ``re`` passed to ``_sre.compile``
(:func:`build_table`), and ships them in :data:`TABLE_NAME` beside this
module. :func:`compile_regex` hands them to ``_sre.compile`` directly: the
same :class:`re.Pattern` (``==`` compares the program too), without the
Python work. The table fits only the Python that made it: it carries that
Python's version and its regex engine's ``MAGIC``, and any other Python
(CPython running the tests, a different Pyodide) ignores it and compiles as
``re.compile`` does. A table that cannot be read is ignored the same way:
it costs time, never correctness.
"""

from __future__ import annotations

import marshal
import os
import re
import sys
from collections.abc import Iterable
from typing import Any, AnyStr

import _sre  # type: ignore[import-not-found]  # re's C engine: no stub

__all__ = ["TABLE_NAME", "build_table", "compile_regex", "declare", "load_table", "seen"]

#: The file beside this module that holds the build's compiled patterns.
TABLE_NAME = "_regex_table.bin"

#: What a table must have been made by: this Python, this regex engine.
_SIGNATURE = (sys.version, _sre.MAGIC, _sre.CODESIZE)

_Key = tuple[str | bytes, int]
_table: dict[_Key, tuple[Any, ...]] | None = None
#: Every (pattern, flags) named through :func:`declare` or :func:`compile_regex`
#: so far: what the build gives :func:`build_table`.
seen: dict[_Key, None] = {}


def declare(pattern: str | bytes, flags: int = 0) -> None:
    """Name a pattern that will be compiled later (on first use), so that the
    build's table has it too."""
    seen[(pattern, int(flags))] = None


def compile_regex(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """``re.compile(pattern, flags)``, from the build's table when it has it.

    For patterns fixed in webvoice's source (the table is made from them):
    a pattern made at run time from what a peer sent has no entry, and would
    only grow :data:`seen`.
    """
    global _table
    key = (pattern, int(flags))
    seen[key] = None
    if _table is None:
        _table = load_table(os.path.join(os.path.dirname(__file__), TABLE_NAME))
    args = _table.get(key)
    if args is not None:
        compiled: re.Pattern[AnyStr] = _sre.compile(*args)
        return compiled
    return re.compile(pattern, flags)


def load_table(path: str) -> dict[_Key, tuple[Any, ...]]:
    """The table at ``path``, or an empty one when it is missing, unreadable
    or made by another Python."""
    try:
        with open(path, "rb") as f:
            data = f.read()  # marshal.load(f) would call f.readinto() per value
        signature, entries = marshal.loads(data)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if signature != _SIGNATURE or not isinstance(entries, dict):
        return {}
    return entries


def build_table(keys: Iterable[_Key]) -> bytes:
    """The table of ``keys`` (pattern, flags) for this Python: what ``re``
    passes to ``_sre.compile`` for each, marshalled with this Python's
    signature. Run at build time, in the Python that will load the table."""
    from re import _compiler  # type: ignore[attr-defined]

    class Capture:
        """Stands in for ``_sre`` inside ``re._compiler`` during one compile."""

        args: tuple[Any, ...] = ()

        def __getattr__(self, name: str) -> Any:
            return getattr(_sre, name)

        def compile(self, *args: Any) -> Any:
            self.args = args
            return _sre.compile(*args)

    capture = Capture()
    entries = {}
    real = _compiler._sre
    _compiler._sre = capture
    try:
        for pattern, flags in keys:
            capture.args = ()
            _compiler.compile(pattern, flags)
            entries[(pattern, flags)] = _plain(capture.args)
    finally:
        _compiler._sre = real
    return marshal.dumps((_SIGNATURE, entries))


def _plain(value: Any) -> Any:
    """``value`` with its int subclasses made ints (the compiled program holds
    ``re``'s named opcode constants, which marshal does not take)."""
    if isinstance(value, int) and type(value) is not int:
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
