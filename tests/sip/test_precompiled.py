"""The build's precompiled table (webvoice/sip/util/_precompiled.py): its
regular expressions (webvoice/sip/util/_regex.py) and record ``__init__`` code.

The table is made in Pyodide at build time; here it is made by this Python
the same way, from every pattern webvoice names, and must give back exactly
what ``re.compile`` gives (``re.Pattern.__eq__`` compares the compiled
program too). A table of another Python, or one that cannot be read, is
ignored: everything is then compiled as usual.
"""

from __future__ import annotations

import builtins
import importlib
import marshal
import pkgutil
import re
import types

import pytest

import webvoice.sip
from webvoice.sip.util import _precompiled, _record, _regex


@pytest.fixture(scope="module")
def every_pattern() -> list[tuple[str | bytes, int]]:
    """Every (pattern, flags) the protocol core names, its modules all imported."""
    for module in pkgutil.walk_packages(webvoice.sip.__path__, "webvoice.sip."):
        importlib.import_module(module.name)
    importlib.import_module("webvoice._targets")
    return list(_regex.seen)


@pytest.fixture
def table_file(tmp_path, every_pattern):
    path = tmp_path / _precompiled.TABLE_NAME
    sources = {_record.init_source(cls) for cls in _record.defined_records()}
    path.write_bytes(_precompiled.dump({"regex": _regex.regex_section(every_pattern),
                                        "code": _precompiled.code_section(sources)}))
    return path


@pytest.fixture
def with_table(monkeypatch, table_file):
    monkeypatch.setattr(_precompiled, "_sections", _precompiled.load(str(table_file)))


def test_the_core_names_its_patterns(every_pattern):
    patterns = {pattern for pattern, _ in every_pattern}
    from webvoice.sip.syntax import _abnf
    # Compiled at import, deferred to first use, and the driver's.
    assert _abnf.STATUS_LINE.pattern in patterns
    assert _abnf.HEADER_LINE.pattern in patterns
    assert any(isinstance(p, bytes) for p in patterns)
    assert len(every_pattern) > 50


def test_every_pattern_from_the_table_is_what_re_compiles(with_table, every_pattern):
    assert len(_precompiled.section("regex")) == len(every_pattern)
    for pattern, flags in every_pattern:
        assert _regex.compile_regex(pattern, flags) == re.compile(pattern, flags), pattern


def test_the_table_is_used_rather_than_the_compiler(with_table, every_pattern, monkeypatch):
    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled although the table has it")

    monkeypatch.setattr(re, "compile", no_compiling)
    pattern, flags = every_pattern[0]
    assert _regex.compile_regex(pattern, flags).pattern == pattern


def test_a_pattern_missing_from_the_table_is_compiled(with_table):
    compiled = _regex.compile_regex(r"not (in) the table", re.I)
    assert compiled == re.compile(r"not (in) the table", re.I)
    assert compiled.match("NOT IN THE TABLE").group(1) == "IN"


def test_a_table_of_another_python_is_ignored(tmp_path, every_pattern):
    sections = marshal.loads(_precompiled.dump({"regex": _regex.regex_section(every_pattern)}))[1]
    assert sections["regex"]
    path = tmp_path / "other.bin"
    path.write_bytes(marshal.dumps((("3.0.0 (another Python)", 0, 4), sections)))
    assert _precompiled.load(str(path)) == {}


@pytest.mark.parametrize("content", [b"", b"not marshal", marshal.dumps([1, 2, 3])], ids=["empty", "garbage", "wrong shape"])
def test_a_table_that_cannot_be_read_is_ignored(tmp_path, content):
    path = tmp_path / "bad.bin"
    path.write_bytes(content)
    assert _precompiled.load(str(path)) == {}


def test_a_missing_table_is_ignored(tmp_path):
    assert _precompiled.load(str(tmp_path / "none.bin")) == {}


def test_building_a_table_leaves_the_compiler_as_it_was(every_pattern):
    from re import _compiler

    before = _compiler._sre
    _regex.regex_section(every_pattern[:3])
    assert _compiler._sre is before
    assert re.compile("a(b)") == re.compile("a(b)")


def test_record_inits_come_from_the_table_and_behave_as_compiled_ones(with_table, monkeypatch):
    """A record class's first construction makes its __init__ from the
    table's code, without compiling; the result is the __init__ that the
    same source compiled here gives."""
    from webvoice.sip.syntax._header_values import Via

    source, _ = _record._init_source(Via)
    assert source in _precompiled.section("code")
    monkeypatch.setattr(builtins, "compile", lambda *a, **k: pytest.fail("compiled although the table has it"))
    made = _record._make_init(Via)
    from_table = [c for c in _precompiled.section("code")[source].co_consts if isinstance(c, types.CodeType)]
    assert [made.__code__] == from_table
    monkeypatch.undo()
    via = Via.__new__(Via)
    made(via, "WS", "example.org")
    assert via == Via("WS", "example.org")


def test_a_record_init_missing_from_the_table_is_compiled(with_table):
    @_record.record
    class Unlisted:
        first: int
        second: str = "x"

    assert _record.init_source(Unlisted) not in _precompiled.section("code")
    assert Unlisted(1) == Unlisted(1, "x")
