"""Voicemail waiting (RFC 3842) in Chromium through Kamailio's presence server.

alice watches her message summary; a stand-in voicemail server PUBLISHes
one to Kamailio (presence_mwi), which NOTIFYs alice's page: the event fires
with the counts.
"""

from __future__ import annotations

import pytest

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from devtools.voicemail import publish_message_summary

from .test_calls import make_phone


@pytest.fixture(scope="module")
def alice(browser, static_server, kamailio):
    page = make_phone(browser, static_server, kamailio, "alice")
    yield page
    page.context.close()


def test_message_summary_notify_raises_the_voicemail_event(alice, kamailio):
    py(alice, """
mail = []
sip.watch_voicemail(lambda e: mail.append([e.waiting, e.new, e.old, e.urgent_new, e.urgent_old, e.account]))
await wait_for(lambda: mail)
""")
    assert py(alice, "mail[0][0]") is False
    assert publish_message_summary(kamailio, "alice", 3, 5, urgent_new=1) == 200
    py(alice, "await wait_for(lambda: mail[-1][0])")
    assert py(alice, "mail[-1]") == [True, 3, 5, 1, 0, "sip:alice@webvoice.test"]
