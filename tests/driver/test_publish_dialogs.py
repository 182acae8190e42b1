"""ua_config publish_dialogs: the instance PUBLISHes its own calls' states
(dialog-info+xml) while registered, and removes them when signing out; off by default."""

from __future__ import annotations

import pytest

import webvoice
from tests.driver.conftest import FakeServer, established, make_instance, ringing, run, until
from webvoice.sip.event._dialog_info import parse_dialog_info


class PublishingServer(FakeServer):
    """Answers PUBLISH 200 with a new SIP-ETag each time, or 412 when ``refuse_tag`` says so."""

    def __init__(self, sip, refuse_tag=lambda request: False, **kwargs):
        super().__init__(sip, **kwargs)
        self.refuse_tag = refuse_tag
        self.tags = 0

    def _handle(self, request):
        if request.method != "PUBLISH":
            return super()._handle(request)
        if request.header("SIP-If-Match") and self.refuse_tag(request):
            self.answer(request, 412)
            return
        self.tags += 1
        self.answer(request, 200, headers=[("SIP-ETag", f"t{self.tags}"), ("Expires", 600)])


async def serving(sip, **kwargs):
    import asyncio

    server = PublishingServer(sip, **kwargs)
    task = asyncio.ensure_future(server.serve())
    await sip.connect()
    return server, task


def states(server):
    """The lamp each PUBLISH with a body showed: (state, direction, remote) of its dialogs."""
    return [[(d.state, d.direction, d.remote) for d in parse_dialog_info(r.body).dialogs]
            for r in server.requests("PUBLISH") if r.body]


def test_off_by_default_nothing_is_published():
    async def main():
        sip = make_instance()
        server, task = await serving(sip)
        await sip.register()
        call = await established(sip, "bob")
        call.terminate()
        await until(call.is_ended, "bye")
        await sip.unregister()
        assert server.requests("PUBLISH") == []
        task.cancel()

    run(main())


def test_an_outgoing_call_is_published_trying_confirmed_terminated_then_removed():
    async def main():
        sip = make_instance(ua_config={"publish_dialogs": True})
        server, task = await serving(sip, invite=lambda r: None)  # bob rings until answered
        await sip.register()
        assert server.requests("PUBLISH") == []  # nothing to tell before a call
        call = await sip.call("bob")
        await until(lambda: len(states(server)) >= 2, "trying and early published")
        [invite] = server.requests("INVITE")
        server._answer_invite(invite, 200)  # bob answers
        await until(call.is_established, "answer")
        await until(lambda: states(server)[-1][0][0] == "confirmed", "confirmed published")
        call.terminate()
        await until(lambda: states(server)[-1][0][0] == "terminated", "terminated published")
        bob = "sip:bob@a.test"
        assert states(server) == [[("trying", "initiator", bob)], [("early", "initiator", bob)],
                                  [("confirmed", "initiator", bob)], [("terminated", "initiator", bob)]]
        publishes = server.requests("PUBLISH")
        assert publishes[0].header("SIP-If-Match") is None and publishes[0].header("Event") == "dialog"
        assert [p.header("SIP-If-Match") for p in publishes[1:]] == ["t1", "t2", "t3"]
        assert all(str(p.uri) == "sip:alice@a.test" for p in publishes)
        await sip.unregister()
        removal = server.requests("PUBLISH")[-1]
        assert removal.header("Expires") == 0 and removal.header("SIP-If-Match") == "t4" and not removal.body
        # The removal went before the unregister.
        log = server.requests()
        assert log.index(removal) < max(i for i, r in enumerate(log) if r.method == "REGISTER")
        task.cancel()

    run(main())


def test_an_incoming_call_is_published_as_recipient():
    async def main():
        sip = make_instance(ua_config={"publish_dialogs": True})
        server, task = await serving(sip)
        await sip.register()
        incoming = await ringing(server, "in-1", caller='"Carol" <sip:carol@a.test>')
        await until(lambda: states(server), "early published")
        info = parse_dialog_info([r for r in server.requests("PUBLISH") if r.body][-1].body)
        (d,) = info.dialogs
        assert (d.state, d.direction, d.remote, d.remote_display, d.call_id) == (
            "early", "recipient", "sip:carol@a.test", "Carol", "in-1")
        incoming.decline()
        await until(lambda: states(server)[-1][0][0] == "terminated", "terminated published")
        task.cancel()

    run(main())


def test_a_forgotten_tag_412_publishes_the_whole_document_again():
    async def main():
        sip = make_instance(ua_config={"publish_dialogs": True})
        refused = []

        def refuse_once(request):
            if not refused:
                refused.append(request)
                return True
            return False

        server, task = await serving(sip, refuse_tag=refuse_once)
        await sip.register()
        call = await established(sip, "bob")
        await until(lambda: states(server) and states(server)[-1][0][0] == "confirmed", "confirmed published")

        def after_refusal():
            publishes = server.requests("PUBLISH")
            return refused and publishes[publishes.index(refused[0]) + 1:]

        await until(after_refusal, "a PUBLISH after the 412")
        publishes = server.requests("PUBLISH")
        # The 412 answered a PUBLISH under a tag; the next one carries the same document, with no tag.
        (refused_request,) = refused
        after = publishes[publishes.index(refused_request) + 1]
        assert after.header("SIP-If-Match") is None and after.body == refused_request.body
        call.terminate()
        await until(lambda: states(server)[-1][0][0] == "terminated", "terminated published")
        task.cancel()

    run(main())


def test_the_option_must_be_a_bool():
    with pytest.raises(TypeError, match="publish_dialogs"):
        webvoice.create_sip_instance(sip_login="a", sip_password="p", realm="a.test",
                                     ua_config={"publish_dialogs": "yes"})
