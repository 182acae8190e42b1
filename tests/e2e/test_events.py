"""Events and handler errors in Chromium: what a page's application sees.

Every connection event reaches a one-argument handler (``lambda event: ...``)
and a no-argument one alike, so "connecting" and "connected" labels can show;
a handler that raises is reported on the page's console with its event's
name, and the registration or call goes on.
"""

from __future__ import annotations

import json

import pytest

from devtools.browser import ConsoleLog, boot_webvoice
from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from tests.e2e.test_calls import make_phone


@pytest.fixture
def dave(browser, static_server, kamailio):
    context = browser.new_context()
    page = context.new_page()
    console = ConsoleLog(page)
    boot_webvoice(page, static_server)
    args = {"sip_login": "dave", "sip_password": kamailio.users["dave"], "ws_url": kamailio.ws_url,
            "realm": kamailio.domain}
    py(page, f"""
import asyncio, json, webvoice
sip = webvoice.create_sip_instance(**json.loads({json.dumps(json.dumps(args))}))
""")
    yield page, console
    py(page, "await sip.close()")
    context.close()


def console_waits_for(page, console, text, timeout_s=10.0):
    deadline_ms = int(timeout_s * 1000)
    step = 100
    for _ in range(deadline_ms // step):
        if any(text in line for line in console.lines):
            return True
        page.wait_for_timeout(step)
    raise AssertionError(f"{text!r} never reached the console:\n{console}")


def test_connection_events_pass_one_argument_and_labels_show(dave, kamailio):
    page, console = dave
    py(page, """
labels, bare = [], []
sip.on_connection_event({
    "connecting": lambda event: labels.append(("Connecting…", event.ws_url)),
    "connected": lambda event: labels.append(("Connected, registering…", event.ws_url)),
    "registered": lambda event: labels.append(("Registered", event.expires)),
})
sip.on_connection_event({name: (lambda n: lambda: bare.append(n))(name)
                         for name in ("connecting", "connected", "registered")})
await sip.register()
""")
    labels = py(page, "labels")
    assert [label for label, _ in labels] == ["Connecting…", "Connected, registering…", "Registered"]
    assert labels[0][1] == labels[1][1] == kamailio.ws_url and labels[2][1] > 0
    assert py(page, "bare") == ["connecting", "connected", "registered"]
    assert not [line for line in console.lines if "raised" in line], str(console)


def test_a_handler_that_raises_shows_on_the_console_and_the_call_goes_on(dave, browser, static_server, kamailio):
    page, console = dave
    py(page, """
def broken(event):
    raise ZeroDivisionError("oops in the application")
sip.on_connection_event({"registered": broken})
await sip.register()
""")
    console_waits_for(page, console, "webvoice: the 'registered' connection handler raised ZeroDivisionError: "
                                     "oops in the application")
    assert py(page, "sip.is_registered()") is True
    text = str(console)  # Pyodide writes stderr to the console line by line: the traceback follows
    assert text.index("Traceback") < text.index("in broken") < text.index("ZeroDivisionError: oops", text.index("Traceback"))
    callee = make_phone(browser, static_server, kamailio, "erin")
    try:
        py(callee, "mode['answer'] = 'accept'")
        py(page, """
async def broken_later(event):
    await asyncio.sleep(0)
    raise KeyError("async oops")
call = await sip.call("erin", {"confirmed": broken, "progress": broken_later})
for _ in range(200):
    if call.is_established():
        break
    await asyncio.sleep(0.05)
""")
        assert py(page, "call.is_established() and call.get_status()") == "confirmed"
        console_waits_for(page, console, "webvoice: the 'confirmed' handler of the call on line 1 raised "
                                         "ZeroDivisionError")
        console_waits_for(page, console, "webvoice: the 'progress' handler of the call on line 1 raised KeyError")
        py(page, "call.terminate()")
        py(callee, "await wait_for(lambda: sip.get_call_lines() == [])\nawait sip.close()")
    finally:
        callee.context.close()
