"""A dead connection that looks open (beyond the JS SDK): Chromium through a
proxy to Kamailio whose path dies without closing anything, as when a NAT
forgets a long-lived connection or a laptop changes networks. The browser's
WebSocket stays "open" for minutes; webvoice sees that Kamailio, which
answered its keep-alive pings so far, stops answering (RFC 5626 4.4.1: 10 s),
drops the connection, connects again and registers again.
"""

from __future__ import annotations

from devtools.delay_proxy import DelayProxy
from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from devtools.web import REPO
from tests.e2e.test_calls import make_phone

CONNECTION_LOG = REPO / "devtools" / "pages" / "connection_log.py"


def test_a_connection_whose_path_died_is_dropped_and_made_again(browser, static_server, kamailio):
    with DelayProxy(kamailio.ws_port, one_way_s=0.0) as proxy:
        page = make_phone(browser, static_server, kamailio, "alice", ws_url=proxy.url, ua_config={
            "keep_alive_interval": 1, "connection_recovery_min_interval": 0.5,
            "connection_recovery_max_interval": 1})
        try:
            py(page, CONNECTION_LOG.read_text())
            py(page, "await asyncio.sleep(2.5)")  # pings answered: Kamailio is known to answer them
            assert proxy.blackhole() == 1
            died = py(page, "time.monotonic()")
            py(page, "try:\n    await wait_for(lambda: [c for c in conn if c[0] == 'registered'], timeout=30)\nexcept AssertionError:\n    pass", timeout=40)
            events = py(page, "conn")
            assert [e[0] for e in events] == ["disconnected", "connected", "registered"], events
            assert events[0][2:] == [1006, "no answer to a keep-alive ping in 10 s"], events
            assert 10 <= events[0][1] - died <= 10 + 1 + 2, events  # the next ping, its 10 s, a timer's slack
            assert py(page, "sip.is_registered() and sip.is_connected()")
        finally:
            page.context.close()
