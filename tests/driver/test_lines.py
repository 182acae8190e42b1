"""Line ids: the lowest free number, taken only by a call that exists."""

from __future__ import annotations

from devtools.fake_media import FakeMediaBackend
from tests.driver.conftest import established, make_instance, ringing, run, serving, until


def test_ids_are_the_lowest_free_number_and_failed_calls_use_none():
    async def main():
        media = FakeMediaBackend()
        sip = make_instance(media)
        server, task = await serving(sip, invite=lambda r: 404 if "nobody" in str(r.uri) else 200)
        one = await established(sip, "bob")
        media.deny = True
        denied = await sip.call("carol")  # fails at start: line 2 given back
        media.deny = False
        refused = await sip.call("nobody")  # fails after the INVITE (404): line 2 given back
        await until(refused.is_ended, "404")
        assert denied.get_line_id() == refused.get_line_id() == "2"
        await established(sip, "dave")
        assert [line.id for line in sip.get_call_lines()] == ["1", "2"]
        one.terminate()
        await until(one.is_ended, "bye")
        three = await established(sip, "erin")
        assert three.get_line_id() == "1"
        assert sorted(line.id for line in sip.get_call_lines()) == ["1", "2"]
        task.cancel()

    run(main())


def test_an_ended_call_is_not_the_current_line_of_its_successor():
    async def main():
        media = FakeMediaBackend()
        changed = []
        sip = make_instance(media, line_events={"on_line_changed": changed.append})
        server, task = await serving(sip)
        old = await established(sip, "bob")
        old_media = media.sessions[0]
        old.terminate()
        await until(old.is_ended, "bye")
        new = await sip.call("carol")
        assert new.get_line_id() == old.get_line_id() == "1"
        assert new.is_current_line() and not old.is_current_line()
        changed.clear()
        # A late event of the ended call (its browser connection reports in after the
        # hang-up) changes nothing of line 1.
        old_media.on_event("connectionstatechange", {"state": "disconnected", "ice": "disconnected"})
        old_media.on_event("connectionstatechange", {"state": "connected", "ice": "connected"})
        assert changed == []
        # The same reports from the live call's connection do change its line (they reach it at once).
        await until(lambda: new.get_media_state() == "connected", "the new call's media")
        changed.clear()
        media.sessions[1].on_event("connectionstatechange", {"state": "disconnected", "ice": "disconnected"})
        assert [line.id for line in changed] == ["1"]
        task.cancel()

    run(main())


def test_an_incoming_call_takes_the_lowest_free_number_too():
    async def main():
        sip = make_instance()
        server, task = await serving(sip)
        await established(sip, "bob")
        incoming = await ringing(server, "incoming-1")
        assert incoming.call.get_line_id() == "2"
        task.cancel()

    run(main())


def test_a_switch_that_cannot_resume_its_line_gives_the_held_line_back():
    async def main():
        refuse = {"on": False}
        sip = make_instance()
        server, task = await serving(
            sip, reinvite=lambda r: 488 if refuse["on"] and "a=sendrecv" in r.body.decode() and "bob" in str(r.to) else 200)
        one = await established(sip, "bob")
        two = await established(sip, "carol")
        assert one.is_on_hold().local
        refuse["on"] = True  # bob refuses to be resumed
        try:
            await sip.switch_line("1")
        except RuntimeError as exc:
            assert "could not be resumed" in str(exc)
        else:
            raise AssertionError("switch_line should have failed")
        assert sip.get_current_line().id == "2" and not two.is_on_hold().local  # carol is back
        task.cancel()

    run(main())
