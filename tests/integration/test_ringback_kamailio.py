"""When the caller's ringback tone plays: through the real Kamailio, fake media.

On while the callee rings (180 without SDP), off once it answers, never with
``ua_config["ringback"] = False``, and off when the callee declines (closing
the media ends it). Chromium plays it for real in tests/e2e/test_ringback.py.
"""

from __future__ import annotations

import asyncio

import pytest

from devtools.fake_media import FakeMediaBackend
from tests.integration.test_calls_kamailio import instance, run, until


@pytest.mark.parametrize("enabled", [True, False])
def test_ringback_while_ringing_then_off_on_answer(kamailio, enabled):
    async def scenario():
        media = FakeMediaBackend()
        a = instance(kamailio, "grace", media, ua_config={} if enabled else {"ringback": False})
        b = instance(kamailio, "heidi")
        await a.register()
        await b.register()
        ringing = []
        b.on_incoming_call(ringing.append)
        call = await a.call("heidi")
        await until(lambda: ringing and call.get_status() == "progress")
        await asyncio.sleep(0.1)
        session = media.sessions[-1]
        during = session.ringback
        ringing[0].accept()
        await until(call.is_established)
        after = session.ringback
        call.terminate()
        await until(call.is_ended)
        declined_call = await a.call("heidi")
        await until(lambda: len(ringing) == 2 and declined_call.get_status() == "progress")
        declined_during = media.sessions[-1].ringback
        ringing[1].decline()
        await until(declined_call.is_ended)
        declined_after = media.sessions[-1].ringback
        for x in (a, b):
            await x.close()
        return during, after, declined_during, declined_after, session.log

    during, after, declined_during, declined_after, log = run(scenario())
    assert (during, after, declined_during, declined_after) == (enabled, False, enabled, False), log
    assert ("ringback on" in log) is enabled


def test_ringback_option_must_be_a_bool(kamailio):
    with pytest.raises(TypeError, match="ringback"):
        instance(kamailio, "grace", ua_config={"ringback": "no"})
