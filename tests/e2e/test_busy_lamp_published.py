"""Busy lamps from calls webvoice PUBLISHes itself (ua_config publish_dialogs), in Chromium.

This Kamailio runs with ``-A DIALOGS_FROM_CLIENTS``: it follows no call, so
pua_dialoginfo publishes nothing and a watcher of a user's ``dialog`` event
sees only what that user's client published. bob's page publishes its calls;
erin's does not (the control). alice watches both; carol calls erin, then
bob. alice sees bob's line go early, confirmed, terminated, while erin's line
stays idle throughout: the server derived nothing.
"""

from __future__ import annotations

import pytest

from devtools.kamailio_server import KamailioServer, require_kamailio
from devtools.pyrun import py
from devtools.sip_wire import WIRE, frames

from .test_calls import make_phone


@pytest.fixture(scope="module")
def client_dialogs_kamailio():
    require_kamailio()
    server = KamailioServer(defines={"DIALOGS_FROM_CLIENTS": None})
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def phones(browser, static_server, client_dialogs_kamailio):
    k = client_dialogs_kamailio
    pages = {
        "alice": make_phone(browser, static_server, k, "alice"),
        "bob": make_phone(browser, static_server, k, "bob", init_script=WIRE, ua_config={"publish_dialogs": True}),
        "erin": make_phone(browser, static_server, k, "erin"),
        "carol": make_phone(browser, static_server, k, "carol"),
    }
    yield pages
    for page in pages.values():
        page.context.close()


def call_and_hang_up(carol, callee, callee_name, alice, lamp_list=None):
    py(callee, "mode['answer'] = 'manual'\nincoming.clear()")
    py(carol, f"call = await sip.call({callee_name!r}, {{}})")
    py(callee, "await wait_for(lambda: incoming)")
    if lamp_list:
        py(alice, f"await wait_for(lambda: {lamp_list}[-1][0] == 'early')")
    py(callee, "incoming[-1].accept()\nawait wait_for(incoming[-1].call.is_established)")
    if lamp_list:
        py(alice, f"await wait_for(lambda: {lamp_list}[-1][0] == 'confirmed')")
    py(carol, "call.terminate()\nawait wait_for(call.is_ended)")
    if lamp_list:
        py(alice, f"await wait_for(lambda: {lamp_list}[-1][0] == 'terminated' and len({lamp_list}) > 1)")


def test_alice_sees_the_states_bob_publishes_and_nothing_of_erin(phones):
    alice, bob, erin, carol = phones["alice"], phones["bob"], phones["erin"], phones["carol"]
    py(alice, """
bob_lamps, erin_lamps = [], []
bob_watch = sip.watch_line('bob', lambda e: bob_lamps.append([e.state, e.direction, e.remote]))
erin_watch = sip.watch_line('erin', lambda e: erin_lamps.append([e.state, e.direction, e.remote]))
await wait_for(lambda: bob_lamps and erin_lamps)
""")
    assert py(alice, "bob_lamps") == [["terminated", None, None]]
    assert py(alice, "erin_lamps") == [["terminated", None, None]]

    call_and_hang_up(carol, erin, "erin", alice)  # erin publishes nothing: nobody tells the server
    call_and_hang_up(carol, bob, "bob", alice, "bob_lamps")

    carol_uri = "sip:carol@webvoice.test"
    assert py(alice, "bob_lamps") == [["terminated", None, None], ["early", "recipient", carol_uri],
                                      ["confirmed", "recipient", carol_uri], ["terminated", "recipient", carol_uri]]
    # erin's call came first and went through the same server: had it been derived, alice would have seen it.
    assert py(alice, "erin_lamps") == [["terminated", None, None]]

    # What bob's page sent: PUBLISHes of the dialog package, the first with the document, the later
    # ones under the server's tag (SIP-If-Match).
    published = [m for m in frames(bob, "out") if getattr(m, "method", None) == "PUBLISH"]
    assert published and all(m.header("Event") == "dialog" for m in published)
    assert published[0].content_type.mime == "application/dialog-info+xml"
    assert published[0].header("SIP-If-Match") is None
    # Only the first document goes without a tag (perhaps twice: challenged, then with credentials);
    # every later one names a tag the server gave in a 200.
    tags = [m.header("SIP-ETag") for m in frames(bob, "in")
            if getattr(m, "status_code", None) == 200 and m.cseq.method == "PUBLISH"]
    untagged = [m for m in published if m.header("SIP-If-Match") is None]
    assert all(m.body == published[0].body for m in untagged)
    tagged = [m for m in published if m.header("SIP-If-Match") is not None]
    assert len(tagged) >= 2 and all(m.header("SIP-If-Match") in tags for m in tagged)

    # Signing out removes bob's document (Expires: 0) before the unregister.
    py(bob, "await sip.unregister()")
    sent = [m for m in frames(bob, "out") if getattr(m, "method", None) in ("PUBLISH", "REGISTER")]
    removal = next(i for i, m in enumerate(sent) if m.method == "PUBLISH" and m.header("Expires") == 0)
    assert sent[-1].method == "REGISTER" and sent[-1].header("Expires") == 0 and removal < len(sent) - 1
    py(alice, "bob_watch.stop()\nerin_watch.stop()")
