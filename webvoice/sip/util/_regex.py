"""Regular expressions compiled at build time, for Pyodide's start-up.

Python's regex compiler (``re._parser``, ``re._compiler``) is Python code. In
a page it runs as WebAssembly, where compiling webvoice's grammar costs tens
of ms of ``import webvoice`` and of the first REGISTER, more than any other
part of importing it. Only its last step is C: ``_sre.compile`` takes the
compiled program (a list of ints, plus the group names), and that is quick.

So the build (tools/precompile.mjs, in Pyodide's own Python) compiles every
pattern webvoice names through :func:`compile_regex` and keeps the arguments
``re`` passed to ``_sre.compile`` (:func:`regex_section`), in the build's
table (webvoice/sip/util/_precompiled.py, which says when a table fits).
:func:`compile_regex` hands them to ``_sre.compile`` directly: the same
:class:`re.Pattern` (``==`` compares the program too), without the Python
work. Without a fitting table it compiles as ``re.compile`` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, AnyStr

import _sre  # type: ignore[import-not-found]  # re's C engine: no stub

from . import _precompiled

__all__ = ["compile_regex", "declare", "regex_section", "seen"]

_Key = tuple[str | bytes, int]
#: Every (pattern, flags) named through :func:`declare` or :func:`compile_regex`
#: so far: what the build gives :func:`regex_section`.
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
    key = (pattern, int(flags))
    seen[key] = None
    args = _precompiled.section("regex").get(key)
    if args is not None:
        compiled: re.Pattern[AnyStr] = _sre.compile(*args)
        return compiled
    return re.compile(pattern, flags)


def regex_section(keys: Iterable[_Key]) -> dict[_Key, tuple[Any, ...]]:
    """The ``"regex"`` section for ``keys`` (pattern, flags): what ``re`` passes
    to ``_sre.compile`` for each. Run at build time, in the Python that will
    load the table."""
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
    return entries


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
