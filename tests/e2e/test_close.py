"""close() in a browser hangs up the call first (Chromium, two pages, Kamailio).

The closing page releases everything the call held (no open peer
connection, no `<audio>` element) and the other page sees the call end by
the BYE (tests/driver/test_close.py and tests/integration/test_close_kamailio.py
take the call's states one by one).
"""

from __future__ import annotations

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from tests.e2e.test_calls import established, make_phone
from tests.e2e.test_soak import CENSUS_JS


def test_closing_with_a_call_up_hangs_it_up_and_releases_the_media(browser, static_server, kamailio):
    a = make_phone(browser, static_server, kamailio, "grace", init_script=CENSUS_JS)
    b = make_phone(browser, static_server, kamailio, "heidi")
    try:
        established(a, b, target="heidi")
        census = a.evaluate("window.webvoiceCensus()")
        assert census["peerConnectionsOpen"] == 1 and census["audioElements"] == 1, census
        py(a, "await sip.close()")
        assert py(a, "[call.is_ended(), [e[:3] for e in events if e[0] in ('ended', 'failed')]]") == [
            True, [["ended", "Terminated", "local"]]]
        py(b, "await wait_for(bcall.is_ended)")
        assert [e[:3] for e in py(b, "events") if e[0] in ("ended", "failed")] == [["ended", "Bye", "remote"]]
        census = a.evaluate("window.webvoiceCensus()")
        assert census["peerConnectionsOpen"] == 0 and census["audioElements"] == 0, census
        assert py(a, "[sip.get_call_lines(), sip.is_registered()]") == [[], False]
    finally:
        for page in (a, b):
            page.context.close()


def test_leaving_the_page_with_a_call_up_hangs_it_up(browser, static_server, kamailio):
    """A tab closed or navigated away (pagehide) takes the connection with it: the
    call is hung up first, so the peer sees the BYE instead of silence (the
    unregistration and the watches' ends that go with it: tests/driver/test_close.py)."""
    a = make_phone(browser, static_server, kamailio, "grace")
    b = make_phone(browser, static_server, kamailio, "heidi")
    try:
        established(a, b, target="heidi")
        a.goto("about:blank")  # pagehide on the phone's page
        py(b, "await wait_for(bcall.is_ended)")
        assert [e[:3] for e in py(b, "events") if e[0] in ("ended", "failed")] == [["ended", "Bye", "remote"]]
    finally:
        for page in (a, b):
            page.context.close()
