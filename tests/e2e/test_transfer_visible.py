"""Transfers need consent and are visible to everyone in them: three Chromium pages through Kamailio.

alice talks with bob and transfers him (blind) to carol. With webvoice's
default ``refer_policy`` ("ask") and no ``refer`` handler that accepts, bob's
page declines (603) and nothing is placed, whatever the target; a ``tel:``
target is never followed silently. When bob's ``refer`` handler accepts, the
call webvoice places to carol inherits the handlers of bob's call with alice,
so bob's page hears of it (its confirmation, its line, and its end when carol
hangs up), as the demo shows (tests/e2e/test_demo.py).
"""

from __future__ import annotations

import pytest

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from tests.e2e.test_calls import make_phone

REFERS = """
refers = []
def on_refer(request):
    refers.append([str(request.target), request.is_number, request.referred_by.uri if request.referred_by else None])
    if mode.get("refer") == "accept":
        request.accept()
"""


@pytest.fixture(scope="module")
def trio(browser, static_server, kamailio):
    pages = [make_phone(browser, static_server, kamailio, user) for user in ("alice", "bob", "carol")]
    py(pages[1], REFERS)
    yield pages
    for page in pages:
        py(page, "await sip.close()")
        page.context.close()


def call_bob(a, b):
    py(b, "events.clear(); incoming.clear(); mode['answer'] = 'accept'")
    py(a, "to_b = await sip.call('bob')\nawait wait_for(to_b.is_established)")
    py(b, "await wait_for(lambda: incoming and incoming[-1].call.is_established())\n"
          "bcall = incoming[-1].call\nbcall.on('refer', on_refer)")


def refused_status(page, code):
    return py(page, f"""
try:
    {code}
    status = None
except webvoice.TransferError as exc:
    status = exc.status_code
status
""")


def test_a_transfer_is_declined_without_consent(trio):
    a, b, c = trio
    py(c, "incoming.clear()")
    call_bob(a, b)
    py(b, "refers.clear(); mode['refer'] = None")  # bob's handler looks, and decides nothing
    assert refused_status(a, "await sip.blind_transfer(to_b.get_line_id(), 'carol')") == 603
    assert refused_status(a, "await to_b.refer('tel:+19005550100')") == 603
    assert py(b, "refers") == [["sip:carol@webvoice.test", False, "sip:alice@webvoice.test"],
                               ["tel:+19005550100", True, "sip:alice@webvoice.test"]]
    assert py(b, "len(sip.get_call_lines())") == 1 and py(a, "to_b.is_established()")
    assert py(c, "len(incoming)") == 0  # nobody called carol
    py(a, "to_b.terminate()\nawait wait_for(lambda: sip.get_call_lines() == [])")
    py(b, "await wait_for(lambda: sip.get_call_lines() == [])")


def test_the_transferred_party_sees_the_new_call_and_its_end(trio):
    a, b, c = trio
    py(c, "incoming.clear(); events.clear(); mode['answer'] = 'accept'")
    call_bob(a, b)
    py(b, "refers.clear(); mode['refer'] = 'accept'")
    py(a, "await sip.blind_transfer(to_b.get_line_id(), 'carol')")
    assert py(a, "sip.get_call_lines()") == []
    # bob's page: the call with alice ended, and the call to carol came up on a line,
    # reported through the handlers it inherited from the call with alice
    py(b, "await wait_for(lambda: [e[0] for e in events].count('confirmed') == 2)\n"
          "[line] = sip.get_call_lines()\nnew = sip.get_line(line.id)")
    assert py(b, "refers") == [["sip:carol@webvoice.test", False, "sip:alice@webvoice.test"]]
    assert py(b, "bcall.is_ended() and bcall.get_status()") == "ended"
    assert py(b, "[(l.target, l.direction, l.status) for l in sip.get_call_lines()]") == [
        ["sip:carol@webvoice.test", "outgoing", "confirmed"]]
    assert py(b, "new.get_line_id() == sip.get_current_line().id")
    py(c, "await wait_for(lambda: incoming and incoming[-1].call.is_established())\nccall = incoming[-1].call")
    assert py(c, "ccall.get_remote_identity().uri").startswith("sip:bob@")
    py(b, "events.clear()")
    py(c, "ccall.terminate()\nawait wait_for(ccall.is_ended)")
    py(b, "await wait_for(lambda: sip.get_call_lines() == [])")
    assert [e[:3] for e in py(b, "events")] == [["ended", "Bye", "remote"]]
