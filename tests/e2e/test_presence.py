"""Presence (RFC 3856, PIDF) in Chromium through Kamailio's presence server.

bob publishes "away" and alice, watching him, sees it; bob signs out
(unregisters) and alice sees him closed.
"""

from __future__ import annotations

import pytest

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py

from .test_calls import make_phone


@pytest.fixture(scope="module")
def pair(browser, static_server, kamailio):
    pages = [make_phone(browser, static_server, kamailio, user) for user in ("alice", "bob")]
    yield pages
    for page in pages:
        page.context.close()


def test_bob_publishes_away_then_signs_out(pair):
    alice, bob = pair
    py(alice, """
seen = []
watch = sip.watch_presence('bob', lambda e: seen.append([e.status, e.note]))
await wait_for(lambda: seen)
""")
    py(bob, "await sip.publish_presence('open', 'away')")
    py(alice, "await wait_for(lambda: seen[-1] == ['open', 'away'])")
    py(bob, "await sip.unregister()")
    py(alice, "await wait_for(lambda: seen[-1][0] == 'closed' and len(seen) > 1)")
    assert py(alice, "seen")[-2:] == [["open", "away"], ["closed", None]]
    py(alice, "watch.stop()")
