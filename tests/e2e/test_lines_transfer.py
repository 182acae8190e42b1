"""Lines and transfers between three Chromium pages through Kamailio.

The acceptance of the lines/transfer/devices issue: A calls B then C (B is
held first), switch_line swaps them with the remote sides seeing it and the
line events in order; attended and blind transfers leave B and C talking with
audio both ways; max_lines=1 answers a second call 486 unseen.
"""

from __future__ import annotations

import json

import pytest

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from tests.e2e.test_calls import make_phone

# alice's instance is made again with line_events= (the public way to follow lines)
LINE_LOG = """
await sip.close()
line_log = []
sip = webvoice.create_sip_instance(**json.loads({args}), line_events={{
    "on_line_added": lambda line: line_log.append(["added", line.id, line.direction]),
    "on_line_removed": lambda line_id: line_log.append(["removed", line_id]),
    "on_line_changed": lambda line: line_log.append(["changed", line.id, line.status, line.is_held]),
    "on_active_line_changed": lambda line_id: line_log.append(["active", line_id]),
}})
sip.on_incoming_call(on_incoming)
await sip.register()
"""


@pytest.fixture(scope="module")
def trio(browser, static_server, kamailio):
    # The transferee follows transfers within the domain by policy (consent: test_transfer_visible.py).
    pages = [make_phone(browser, static_server, kamailio, user, ua_config={"refer_policy": "same-domain"})
             for user in ("alice", "bob", "carol")]
    args = {"sip_login": "alice", "sip_password": kamailio.users["alice"], "ws_url": kamailio.ws_url,
            "realm": kamailio.domain, "ua_config": {"refer_policy": "same-domain"}}
    py(pages[0], LINE_LOG.format(args=json.dumps(json.dumps(args))))
    yield pages
    for page in pages:
        page.context.close()


def live_call(page):
    """The page's one live call (after transfers the Call objects change)."""
    live = "[c for c in map(sip.get_line, (l.id for l in sip.get_call_lines())) if c.is_established()]"
    py(page, f"await wait_for(lambda: {live})")
    return f"{live}[0]"


def test_second_call_holds_the_first_and_switch_line_swaps(trio):
    a, b, c = trio
    for page in (b, c):
        py(page, "events.clear(); incoming.clear(); mode['answer'] = 'accept'")
    py(a, "line_log.clear()\nto_b = await sip.call('bob')\nawait wait_for(to_b.is_established)")
    py(a, "to_c = await sip.call('carol')\nawait wait_for(to_c.is_established)")
    py(b, "await wait_for(lambda: any(e[0] == 'held' for e in events))")
    assert py(a, "[l.is_held for l in sip.get_call_lines()]") == [True, False]
    assert py(a, "sip.get_current_line().id") == py(a, "to_c.get_line_id()")
    py(a, "await sip.switch_line(to_b.get_line_id())")
    py(c, "await wait_for(lambda: any(e[0] == 'held' for e in events))")
    py(b, "await wait_for(lambda: any(e[0] == 'unheld' for e in events))")
    assert py(a, "[l.is_held for l in sip.get_call_lines()]") == [False, True]
    log = py(a, "line_log")
    b_id, c_id = py(a, "[to_b.get_line_id(), to_c.get_line_id()]")
    assert log[:2] == [["added", b_id, "outgoing"], ["active", b_id]]
    held_b = log.index(["changed", b_id, "confirmed", True])
    assert held_b < log.index(["added", c_id, "outgoing"])          # B held before C's line
    resumed_b = log.index(["changed", b_id, "confirmed", False], held_b)
    assert log.index(["changed", c_id, "confirmed", True]) < resumed_b < log.index(["active", b_id], 2)
    assert log[-1] == ["active", b_id]  # reported only once B was resumed
    # audio flows again on the resumed line and not on the held one
    py(b, "bcall = incoming[-1].call")
    assert py(b, "await settled_growth(bcall, flowing=True)") > 20
    assert py(a, "await settled_growth(to_b, flowing=True)") > 20
    py(c, "ccall = incoming[-1].call")
    assert py(c, "await settled_growth(ccall, flowing=False)") <= 3
    assert py(a, "await settled_growth(to_c, flowing=False)") <= 3
    py(a, "sip.terminate_sessions()\nawait wait_for(lambda: sip.get_call_lines() == [])")
    for page in (b, c):
        py(page, "await wait_for(lambda: all(x.is_ended() for x in calls))")


def test_attended_transfer_connects_b_and_c(trio):
    a, b, c = trio
    for page in (b, c):
        py(page, "events.clear(); incoming.clear(); mode['answer'] = 'accept'")
    py(a, "to_b = await sip.call('bob')\nawait wait_for(to_b.is_established)")
    py(a, "to_c = await sip.call('carol')\nawait wait_for(to_c.is_established)")
    py(a, "await sip.transfer_call(to_b.get_line_id(), to_c.get_line_id())")
    py(a, "await wait_for(lambda: sip.get_call_lines() == [])")
    b_call, c_call = live_call(b), live_call(c)
    assert py(b, f"{b_call}.get_remote_identity().uri").startswith("sip:carol@")
    assert py(c, f"{c_call}.get_remote_identity().uri").startswith("sip:bob@")
    assert py(b, f"await settled_growth({b_call}, flowing=True)") > 20
    assert py(c, f"await settled_growth({c_call}, flowing=True)") > 20
    py(b, f"x = {b_call}\nx.terminate()\nawait wait_for(x.is_ended)")
    py(c, "await wait_for(lambda: sip.get_call_lines() == [])")


def test_blind_transfer(trio):
    a, b, c = trio
    for page in (b, c):
        py(page, "events.clear(); incoming.clear(); mode['answer'] = 'accept'")
    py(a, "to_b = await sip.call('bob')\nawait wait_for(to_b.is_established)")
    py(a, "await sip.blind_transfer(to_b.get_line_id(), 'sip:carol@webvoice.test')")
    assert py(a, "sip.get_call_lines()") == []
    b_call, c_call = live_call(b), live_call(c)
    assert py(c, f"{c_call}.get_remote_identity().uri").startswith("sip:bob@")
    # audio both ways between B and C
    assert py(c, f"await settled_growth({c_call}, flowing=True)") > 20
    assert py(b, f"await settled_growth({b_call}, flowing=True)") > 20
    py(c, f"x = {c_call}\nx.terminate()\nawait wait_for(x.is_ended)")
    py(b, "await wait_for(lambda: sip.get_call_lines() == [])")


def test_max_lines_one_refuses_a_second_incoming_call_unseen(browser, static_server, kamailio, trio):
    a, b, _ = trio
    d = make_phone(browser, static_server, kamailio, "dave")
    try:
        args = {"sip_login": "erin", "sip_password": kamailio.users["erin"], "ws_url": kamailio.ws_url,
                "realm": kamailio.domain, "max_lines": 1}
        py(d, f"""
await sip.close()
sip = webvoice.create_sip_instance(**json.loads({json.dumps(json.dumps(args))}))
sip.on_incoming_call(on_incoming)
await sip.register()
mode["answer"] = "accept"
""")
        py(a, "first = await sip.call('erin')\nawait wait_for(first.is_established)")
        py(b, "events.clear()\nsecond = await sip.call('erin', {n: record(n) for n in CALL_EVENTS})\n"
              "await wait_for(second.is_ended)")
        failed = [e for e in py(b, "events") if e[0] == "failed"][0]
        assert failed[4] == 486
        assert py(d, "len(incoming)") == 1
        py(a, "first.terminate()\nawait wait_for(first.is_ended)")
    finally:
        d.context.close()
