"""Smoke tests run inside Pyodide: the wheel imports, and the JS->Python
callback pattern the browser glue (webvoice.browser) is built on works."""

from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["webvoice"])
def _webvoice_version(selenium):
    import webvoice

    return webvoice.__version__


def test_webvoice_from_pyodide_lock(selenium, webvoice_wheel):
    """pyodide.loadPackage("webvoice") via the assembled lock."""
    assert _webvoice_version(selenium) == webvoice_wheel["version"]


@run_in_pyodide(packages=["micropip"])
async def _micropip_install(selenium, wheel_file):
    import micropip

    # Relative to the test page, i.e. the root of --dist-dir.
    await micropip.install(wheel_file)
    import webvoice

    return webvoice.__version__


def test_webvoice_by_micropip_url(selenium, webvoice_wheel):
    """micropip.install(<wheel URL>), the way PyScript pages load it."""
    assert _micropip_install(selenium, webvoice_wheel["wheel"]) == webvoice_wheel["version"]


@run_in_pyodide(packages=["webvoice"])
def _regexes_from_the_build(selenium):
    import re

    import webvoice  # noqa: F401 - the grammar compiled, as a page does
    from webvoice.sip.syntax import _abnf
    from webvoice.sip.util import _regex

    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled although the build's table has it")

    from webvoice.sip.util import _precompiled

    table = _precompiled.section("regex")
    compile_ = re.compile
    re.compile = no_compiling
    try:
        replayed = [_regex.compile_regex(pattern, flags) for pattern, flags in _regex.seen]
    finally:
        re.compile = compile_
    same = all(r == re.compile(p, f) for r, (p, f) in zip(replayed, _regex.seen))
    return len(table), len(_regex.seen), same, _abnf.STATUS_LINE == re.compile(_abnf.STATUS_LINE.pattern)


@run_in_pyodide(packages=["webvoice"])
def _record_inits_from_the_build(selenium):
    import builtins

    import webvoice  # noqa: F401
    from webvoice.sip.ua._registration import Registration  # noqa: F401 - a registration's records defined
    from webvoice.sip.util import _precompiled, _record

    records = _record.defined_records()
    compile_ = builtins.compile

    def no_compiling(*args, **kwargs):
        raise AssertionError("compiled although the build's table has it")

    builtins.compile = no_compiling
    try:
        made = [_record._make_init(cls) for cls in records]
    finally:
        builtins.compile = compile_
    return len(records), len(made), len(_precompiled.section("code"))


def test_record_inits_come_from_the_build_s_compiled_code(selenium, webvoice_wheel):
    """In Pyodide, a record class's __init__ is made from code the build
    compiled (tools/precompile.mjs), not compiled in the page."""
    records, made, entries = _record_inits_from_the_build(selenium)
    assert records > 20 and made == records
    assert entries >= 50


def test_the_grammar_comes_from_the_build_s_compiled_patterns(selenium, webvoice_wheel):
    """In Pyodide, webvoice's regular expressions are replayed from the table
    the build made (tools/precompile.mjs) instead of compiled: every pattern
    named at import is in it, and each is what re.compile makes."""
    entries, named, same, status_line = _regexes_from_the_build(selenium)
    assert entries > 50
    assert named <= entries
    assert same and status_line


@run_in_pyodide
async def test_js_event_calls_python_callbacks(selenium):
    """A JS EventTarget dispatches to a plain and an ``async def`` callback.

    The plain callback runs synchronously inside dispatchEvent.  Calling an
    ``async def`` proxy from JS schedules the coroutine as a Task on
    Pyodide's event loop and hands JS a thenable PyProxy of it (not a real
    Promise); the EventTarget ignores that, and the coroutine runs anyway,
    after dispatchEvent returns.  An exception in it ends up in the Task, not
    in JS: the glue must log such errors itself.
    """
    import asyncio

    from js import Event, EventTarget
    from pyodide.ffi import create_proxy

    target = EventTarget.new()
    seen = []
    done = asyncio.Event()

    def on_plain(event):
        seen.append(("plain", event.type))

    async def on_async(event):
        await asyncio.sleep(0)
        seen.append(("async", event.type))
        done.set()

    plain, coro = create_proxy(on_plain), create_proxy(on_async)
    target.addEventListener("ring", plain)
    target.addEventListener("ring", coro)
    try:
        target.dispatchEvent(Event.new("ring"))
        assert seen == [("plain", "ring")]  # async one has not run yet
        await asyncio.wait_for(done.wait(), 5)
        assert seen == [("plain", "ring"), ("async", "ring")]
    finally:
        target.removeEventListener("ring", plain)
        target.removeEventListener("ring", coro)
        plain.destroy()
        coro.destroy()


@run_in_pyodide
async def test_fake_microphone(selenium):
    """getUserMedia works: the Chromium flags from conftest.py reach the browser."""
    from js import Object, navigator
    from pyodide.ffi import to_js

    constraints = to_js({"audio": True}, dict_converter=Object.fromEntries)
    stream = await navigator.mediaDevices.getUserMedia(constraints)
    try:
        assert [t.kind for t in stream.getTracks()] == ["audio"]
    finally:
        for track in stream.getTracks():
            track.stop()
