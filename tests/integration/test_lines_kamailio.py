"""Lines through the real Kamailio, from CPython (fake media): the agent's day."""

from __future__ import annotations

import pytest

import webvoice
from tests.integration.test_calls_kamailio import Recorder, instance, run, until


def test_second_call_holds_the_first_and_switch_line_swaps(kamailio):
    async def main():
        log = []
        line_events = {
            "on_line_added": lambda line: log.append(("added", line.id, line.direction)),
            "on_line_removed": lambda line_id: log.append(("removed", line_id)),
            "on_line_changed": lambda line: log.append(("changed", line.id, line.status, line.is_held)),
            "on_active_line_changed": lambda line_id: log.append(("active", line_id)),
        }
        a = instance(kamailio, "alice", line_events=line_events)
        b, c = instance(kamailio, "bob"), instance(kamailio, "carol")
        for sip in (a, b, c):
            await sip.register()
        rb, rc = Recorder(), Recorder()
        b.on_incoming_call(lambda r: r.accept(rb.handlers("held", "unheld", "ended")))
        c.on_incoming_call(lambda r: r.accept(rc.handlers("held", "unheld", "ended")))
        to_b = await a.call("bob")
        await until(to_b.is_established)
        to_c = await a.call("sip:carol@webvoice.test")
        await until(to_c.is_established)
        # the line to B went on hold first, and B saw it
        assert to_b.is_on_hold().local and rb.get("held")[0].originator == "remote"
        assert a.get_current_line().id == to_c.get_line_id() == "2"
        assert [(l.id, l.is_held) for l in a.get_call_lines()] == [("1", True), ("2", False)]
        assert a.find_line_by_target("carol").id == "2"
        assert a.find_line_by_target("sip:carol@webvoice.test;transport=ws").id == "2"
        assert a.find_line_by_target("dave") is None
        await a.switch_line("1")
        assert to_c.is_on_hold().local and not to_b.is_on_hold().local
        await until(lambda: rc.get("held") and rb.get("unheld"))
        assert a.get_current_line().id == "1"
        with pytest.raises(webvoice.LineNotFoundError):
            await a.switch_line("9")
        with pytest.raises(webvoice.LineNotFoundError):
            a.terminate_line("9")
        a.terminate_line("2")
        await until(lambda: to_c.is_ended() and rc.get("ended"))
        a.terminate_sessions()
        await until(lambda: to_b.is_ended() and rb.get("ended"))
        assert a.get_call_lines() == [] and a.get_current_line() is None
        # every change reported once, in order
        assert log[:2] == [("added", "1", "outgoing"), ("active", "1")]
        assert ("changed", "1", "confirmed", True) in log
        i_hold_b = log.index(("changed", "1", "confirmed", True))
        assert log.index(("added", "2", "outgoing")) > i_hold_b  # held before the new line
        assert log.index(("active", "1"), 2) > log.index(("changed", "2", "confirmed", True))
        assert log[-3:] == [("removed", "2"), ("removed", "1"), ("active", None)] or \
            log[-2:] == [("removed", "1"), ("active", None)]
        assert len([e for e in log if e[0] == "added"]) == 2 and len([e for e in log if e[0] == "removed"]) == 2
        for sip in (a, b, c):
            await sip.close()

    run(main())


def test_max_lines_one_rejects_a_second_incoming_call_unseen(kamailio):
    async def main():
        a, b, c = instance(kamailio, "dave", max_lines=1), instance(kamailio, "erin"), instance(kamailio, "frank")
        for sip in (a, b, c):
            await sip.register()
        seen = []
        a.on_incoming_call(lambda r: (seen.append(r), r.accept()))
        first = await b.call("dave")
        await until(first.is_established)
        rc = Recorder()
        second = await c.call("dave", rc.handlers("failed"))
        await until(second.is_ended)
        assert rc.get("failed")[0].status_code == 486 and len(seen) == 1
        assert not a.can_add_line()
        with pytest.raises(RuntimeError, match="no free line"):
            await a.call("erin")
        first.terminate()
        await until(lambda: a.can_add_line())
        for sip in (a, b, c):
            await sip.close()

    run(main())


def test_audio_devices(kamailio):
    from devtools.fake_media import FakeMediaBackend

    class TwoMics(FakeMediaBackend):
        def __init__(self):
            super().__init__()
            self.devices = [webvoice.AudioDevice("mic-1", "Desk", "audioinput"),
                            webvoice.AudioDevice("mic-2", "Headset", "audioinput"),
                            webvoice.AudioDevice("spk-1", "Speakers", "audiooutput")]
            self.changed = None

        async def list_devices(self):
            return list(self.devices)

        def on_devices_changed(self, handler):
            self.changed = handler

    async def main():
        media = TwoMics()
        a, b = instance(kamailio, "grace", media=media), instance(kamailio, "heidi")
        await a.register()
        await b.register()
        b.on_incoming_call(lambda r: r.accept())
        devices = await a.get_audio_devices()
        assert [d.kind for d in devices] == ["audioinput", "audioinput", "audiooutput"]
        call = await a.call("heidi")
        await until(call.is_established)
        await a.set_microphone("mic-2")
        assert a.get_current_microphone() == "mic-2" and media.sessions[0].log[-1] == "mic:mic-2"
        await a.set_speaker("spk-1")
        assert a.get_current_speaker() == "spk-1" and media.sessions[0].log[-1] == "speaker:spk-1"
        await a.set_microphone(None)  # back to the default
        assert a.get_current_microphone() is None and media.sessions[0].log[-1] == "mic:None"
        await a.set_microphone("mic-2")
        assert a.supports_speaker_selection()
        with pytest.raises(webvoice.DeviceNotFoundError):
            await a.set_microphone("nope")
        with pytest.raises(webvoice.DeviceNotFoundError):
            await a.set_speaker("mic-1")
        # the headset is unplugged mid-call: back to the default, and the app is told
        told = []
        a.on_device_change(told.append)
        media.devices = media.devices[:1] + media.devices[2:]
        media.changed()
        await until(lambda: told)
        assert told[0].fallback == (("microphone", "mic-2"),) and a.get_current_microphone() is None
        assert media.sessions[0].log[-1] == "mic:None"
        call.terminate()
        await until(call.is_ended)
        await a.close()
        await b.close()

    run(main())
