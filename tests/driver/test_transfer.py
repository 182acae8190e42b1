"""Following a received REFER: the Refer-To is checked before any line or
microphone is taken, and a follow-up call that fails to start leaves nothing."""

from __future__ import annotations

import pytest

from devtools.fake_media import FakeMediaBackend
from tests.driver.conftest import established, make_instance, run, serving, until

_REPLACES = "abc%40h%3Bto-tag%3D1%3Bfrom-tag%3D2"


async def bob_answers(sip, server):
    """A call to bob, answered: the call and our INVITE."""
    call = await established(sip, "bob")
    [invite] = server.requests("INVITE")
    return call, invite


def answers_to(server, method):
    return [r for r in server.responses() if r.cseq.method == method]


@pytest.mark.parametrize("refer_to", [
    "sip:carol@a.test?Subject=hi",
    "sip:carol@a.test?Replaces=abc%0D%0AX-Evil%3A%201%3Bto-tag%3D1%3Bfrom-tag%3D2",
    f"sip:carol@a.test?Replaces={_REPLACES}&Route=%3Csip:evil.example%3E",
    "sip:carol%0D%0A@a.test",
])
def test_a_bad_refer_to_is_refused_with_400_and_takes_nothing(refer_to):
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server, task = await serving(sip)
        call, invite = await bob_answers(sip, server)
        asked = []
        call.on("refer", asked.append)
        server.send_refer(invite, refer_to)
        [answer] = answers_to(server, "REFER")
        assert answer.status_code == 400
        assert asked == []  # never offered to the application
        assert [line.id for line in sip.get_call_lines()] == ["1"] and len(media.opened) == 1
        task.cancel()

    run(main())


def test_a_refer_with_replaces_is_followed_with_the_replaces_header():
    async def main():
        sip = make_instance()
        server, task = await serving(sip)
        call, invite = await bob_answers(sip, server)
        call.on("refer", lambda request: request.accept())
        server.send_refer(invite, f"sip:carol@a.test?Replaces={_REPLACES}")
        await until(lambda: len(server.requests("INVITE")) >= 3, "the INVITE to carol")  # hold re-INVITE, then it
        follow = [r for r in server.requests("INVITE") if "carol" in str(r.uri)]
        assert [r.header("Replaces") for r in follow] == ["abc@h;to-tag=1;from-tag=2"]
        assert str(follow[0].uri) == "sip:carol@a.test"
        task.cancel()

    run(main())


def test_a_transfer_whose_call_cannot_start_leaves_nothing_and_is_reported():
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server, task = await serving(sip)
        call, invite = await bob_answers(sip, server)
        call.on("refer", lambda request: request.accept())
        media.deny = True
        server.send_refer(invite, "sip:carol@a.test")
        await until(lambda: server.requests("NOTIFY"), "the NOTIFY of the outcome")
        # The NOTIFY may leave before the failed start's clean-up has run: wait for
        # it (bounded), then require that no line is left for carol.
        await until(lambda: len(sip.get_call_lines()) == 1, "the failed line cleaned up")
        assert [line.id for line in sip.get_call_lines()] == ["1"]  # no line left for carol
        assert len(media.open_sessions) == 1  # only bob's call holds a microphone
        notify = server.requests("NOTIFY")[-1]
        assert b"SIP/2.0 " in notify.body and b"200" not in notify.body.split(b"\r\n")[0]
        assert not [r for r in server.requests("INVITE") if "carol" in str(r.uri)]
        task.cancel()

    run(main())
