"""What the build compiled for the page's Python: regex programs and record ``__init__`` code.

In a page, Python runs as WebAssembly, and two compilers webvoice needs at
start-up are slow there: the regex compiler (Python code, most of what
importing the grammar cost) and Python's own compiler, which a record class
calls once to make its ``__init__`` (webvoice/sip/util/_record.py; a
registration builds some twenty of them). Both compile text fixed in
webvoice's source, so the build (tools/precompile.mjs, in Pyodide's own
Python, beside the bytecode) compiles it once and ships the results in
:data:`TABLE_NAME` beside this module, in sections: ``"regex"``
(webvoice/sip/util/_regex.py) and ``"code"`` (:func:`code`).

The table fits only the Python that made it: it carries that Python's
version and its regex engine's ``MAGIC``, and any other Python (CPython
running the tests, a different Pyodide) ignores it and compiles as usual. A
table that cannot be read is ignored the same way: it costs time, never
correctness.
"""

from __future__ import annotations

import marshal
import os
import sys
from collections.abc import Iterable
from types import CodeType
from typing import Any

import _sre  # type: ignore[import-not-found]  # re's C engine: no stub

__all__ = ["TABLE_NAME", "code", "code_section", "dump", "load", "section"]

#: The file beside this module that holds what the build compiled.
TABLE_NAME = "_precompiled.bin"

#: What a table must have been made by: this Python, this regex engine.
_SIGNATURE = (sys.version, _sre.MAGIC, _sre.CODESIZE)

_sections: dict[str, dict[Any, Any]] | None = None


def section(name: str) -> dict[Any, Any]:
    """The build's ``name`` section ({} without a fitting table); the table is
    read on first use."""
    global _sections
    if _sections is None:
        _sections = load(os.path.join(os.path.dirname(__file__), TABLE_NAME))
    return _sections.get(name, {})


def code(source: str) -> CodeType:
    """``compile(source, "<string>", "exec")``, from the build's table when it
    has that very source."""
    found = section("code").get(source)
    if isinstance(found, CodeType):
        return found
    return compile(source, "<string>", "exec")


def code_section(sources: Iterable[str]) -> dict[str, CodeType]:
    """The ``"code"`` section for ``sources``. Run at build time."""
    return {source: compile(source, "<string>", "exec") for source in sources}


def load(path: str) -> dict[str, dict[Any, Any]]:
    """The table at ``path``, or an empty one when it is missing, unreadable
    or made by another Python."""
    try:
        with open(path, "rb") as f:
            data = f.read()  # marshal.load(f) would call f.readinto() per value
        signature, sections = marshal.loads(data)
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if signature != _SIGNATURE or not isinstance(sections, dict):
        return {}
    return {name: entries for name, entries in sections.items() if isinstance(entries, dict)}


def dump(sections: dict[str, dict[Any, Any]]) -> bytes:
    """``sections`` as a table for this Python. Run at build time, in the
    Python that will load it."""
    return marshal.dumps((_SIGNATURE, sections))
