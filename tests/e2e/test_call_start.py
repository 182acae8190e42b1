"""A call that cannot start leaves nothing in the page, and people's names are
dialled as they type them: two Chromium pages through Kamailio.

* The microphone refused for a second call (getUserMedia rejects with
  NotAllowedError, as when a person clicks "Block"): that call fails with
  "User Denied Media Access", its line goes, no audio element or live track
  is left for it, and line 1, put on hold for it, is resumed (the other
  party hears "unheld").
* A user whose name is not ASCII logs in as "iñaki" and is called by typing
  "iñaki" (on the wire: i%C3%B1aki, RFC 3261 25.1).
"""

from __future__ import annotations

import pytest

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from tests.e2e.test_calls import make_phone, place

LIVE_TRACKS = """
sum(1 for c in calls if c.media is not None and any(
    s.track and s.track.readyState == "live" for s in c.media.connection().getSenders()))
"""


@pytest.fixture
def pair(browser, static_server, kamailio):
    pages = []

    def make(user, **options):
        page = make_phone(browser, static_server, kamailio, user, **options)
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.context.close()


def test_microphone_refused_at_call_start_leaves_no_line_and_resumes_the_held_one(pair):
    a = pair("grace", prelude="lines_seen = []", py_options=(
        "line_events={'on_line_added': lambda line: lines_seen.append(('added', line.id)),"
        " 'on_line_removed': lambda line_id: lines_seen.append(('removed', line_id))}"))
    b = pair("heidi")
    place(a, "heidi")
    py(a, "await wait_for(call.is_established)")
    py(b, "await wait_for(lambda: incoming and incoming[-1].call.is_established())")
    assert py(a, "audio_state()")["audio_elements"] == 1
    # The person refuses the microphone for the next call.
    a.evaluate("""() => {
        navigator.mediaDevices.getUserMedia = () =>
            Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
    }""")
    py(a, """
first = call
lines_seen.clear()  # line 1's own events are not what this test is about
""")
    place(a, "dave")
    py(a, "await wait_for(call.is_ended)")
    failed = [e for e in py(a, "events") if e[0] == "failed"]
    assert failed and failed[0][1] == "User Denied Media Access"
    assert py(a, "lines_seen") == [["added", "2"], ["removed", "2"]]
    assert py(a, "[(line.id, line.is_held) for line in sip.get_call_lines()]") == [["1", False]]
    assert py(a, "sip.get_current_line().id") == "1"
    assert py(a, "first.is_on_hold().local") is False
    py(b, "await wait_for(lambda: any(e[0] == 'unheld' for e in events))")  # heidi hears line 1 back
    assert py(a, "audio_state()")["audio_elements"] == 1  # only line 1's
    assert py(a, LIVE_TRACKS) == 1  # only line 1 holds the microphone
    py(a, "first.terminate()\nawait wait_for(first.is_ended)")
    assert py(a, "audio_state()")["audio_elements"] == 0 and py(a, LIVE_TRACKS) == 0


def test_a_non_ascii_name_is_dialled_as_typed(pair, kamailio):
    callee = pair("i%C3%B1aki", sip_login="iñaki")  # the account i%C3%B1aki, logged in as typed
    caller = pair("alice")
    place(caller, "iñaki")
    py(caller, "await wait_for(call.is_established)")
    py(callee, "await wait_for(lambda: incoming and incoming[-1].call.is_established())")
    assert py(caller, "call.get_remote_identity().uri") == "sip:i%C3%B1aki@webvoice.test"
    assert py(callee, "incoming[-1].call.get_remote_identity().uri") == "sip:alice@webvoice.test"
    py(caller, "call.terminate()\nawait wait_for(call.is_ended)")
    py(callee, "await wait_for(incoming[-1].call.is_ended)")
