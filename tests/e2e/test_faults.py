"""Faults with real media: the SIP server dies during a call and comes back.

Audio keeps flowing while the server is gone (media does not pass through
it), both pages reconnect and register again by themselves, and a BYE
afterwards still ends the call on both sides.
"""

from __future__ import annotations

import time

from devtools.kamailio_server import fresh_kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from tests.e2e.test_calls import make_phone


def _wait_for_log(server, method: str, user: str, timeout: float = 15.0) -> None:
    """Until Kamailio logged a ``method`` request from ``user`` (its "REQ" line)."""
    needle = f"REQ {method} "
    deadline = time.monotonic() + timeout
    while not any(needle in line and f"from sip:{user}@" in line for line in server.log_text().splitlines()):
        assert time.monotonic() < deadline, f"no {method} from {user} in Kamailio's log:\n{server.log_tail(30)}"
        time.sleep(0.1)


FAST = {"connection_recovery_min_interval": 0.3, "connection_recovery_max_interval": 1.5}


def test_server_killed_during_a_call(browser, static_server, fresh_kamailio):
    server = fresh_kamailio
    a = make_phone(browser, static_server, server, "alice", ua_config=FAST)
    b = make_phone(browser, static_server, server, "bob", ua_config=FAST)
    try:
        py(b, "mode['answer'] = 'accept'")
        py(a, "call = await sip.call('bob', {n: record(n) for n in CALL_EVENTS})\nawait wait_for(call.is_established)")
        py(b, "await wait_for(lambda: incoming and incoming[-1].call.is_established())\nbcall = incoming[-1].call")
        server.kill()
        py(a, "await wait_for(lambda: not sip.is_connected())")
        # media does not pass through the SIP server: audio keeps flowing both ways
        assert py(a, "await inbound_growth(call)") > 20
        assert py(b, "await inbound_growth(bcall)") > 20
        server.restart()
        for page in (a, b):
            py(page, "await wait_for(sip.is_registered, timeout=15)")
        assert server.lookup("alice") and server.lookup("bob")
        # each page refreshes its target by UPDATE on its new connection (the
        # BYE below would reach the peer without it: the proxy finds a gone
        # flow's new registration, so the UPDATE itself is what is checked)
        _wait_for_log(server, "UPDATE", "alice")
        _wait_for_log(server, "UPDATE", "bob")
        py(a, "call.terminate()\nawait wait_for(call.is_ended)")
        py(b, "await wait_for(bcall.is_ended)")
        assert [e for e in py(b, "events") if e[0] == "ended"][0][1] == "Bye"
    finally:
        for page in (a, b):
            page.context.close()


def test_connection_lost_right_after_hanging_up_eight_lines(browser, static_server, fresh_kamailio):
    """The step where a `make bench` once hung (issue 15): eight lines up in one
    page, all hung up at once, then the page's WebSocket goes (the server is
    killed right after the BYEs): the page stays responsive, no line is left,
    and it reconnects and registers again by itself."""
    server = fresh_kamailio
    a = make_phone(browser, static_server, server, "alice", ua_config=FAST, max_lines=16)
    b = make_phone(browser, static_server, server, "bob", ua_config=FAST, max_lines=16)
    try:
        py(b, "mode['answer'] = 'accept'")
        py(a, """
for _ in range(8):
    c = await sip.call('bob')
    await wait_for(c.is_established)
""", timeout=120)
        py(b, "await wait_for(lambda: len([c for c in calls if c.is_established()]) == 8)")
        py(a, "sip.terminate_sessions()")
        server.kill()
        py(a, "await wait_for(lambda: not sip.is_connected())")
        assert py(a, "len(sip.get_call_lines())") == 0
        server.restart()
        for page in (a, b):
            py(page, "await wait_for(sip.is_registered, timeout=15)")
        assert server.lookup("alice") and server.lookup("bob")
        # and it still places calls
        py(a, "c = await sip.call('bob')\nawait wait_for(c.is_established)\nc.terminate()\n"
              "await wait_for(c.is_ended)")
    finally:
        for page in (a, b):
            page.context.close()
