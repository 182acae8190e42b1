"""Calls between two SipInstances through the real Kamailio, from CPython.

Signalling is entirely real (driver, core, Kamailio with proxy auth,
record-routing and NAT aliasing); media is the fake backend. The browser tier
repeats these with real WebRTC in Chromium.
"""

from __future__ import annotations

import asyncio

import pytest

import webvoice
from devtools.fake_media import FakeMediaBackend
from devtools.ws_transport import WebsocketsTransport


def instance(server, user, media=None, **kwargs):
    return webvoice.create_sip_instance(
        sip_login=user, sip_password=server.users[user], ws_url=server.ws_url, realm=server.domain,
        transport_factory=WebsocketsTransport, media_backend=media or FakeMediaBackend(), **kwargs)


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(predicate, timeout=5.0):
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


class Recorder:
    def __init__(self):
        self.events = []

    def handlers(self, *names):
        return {name: (lambda n: lambda *a: self.events.append((n, a[0] if a else None)))(name) for name in names}

    def names(self):
        return [n for n, _ in self.events]

    def get(self, name):
        return [e for n, e in self.events if n == name]


NAMES = ("connecting", "progress", "confirmed", "ended", "failed", "held", "unheld", "new_dtmf", "muted", "unmuted")


async def pair(server, a_user, b_user, **kwargs):
    a, b = instance(server, a_user, **kwargs), instance(server, b_user, **kwargs)
    await a.register()
    await b.register()
    return a, b


def test_call_answer_hold_dtmf_hangup(kamailio):
    async def main():
        a, b = await pair(kamailio, "alice", "bob")
        ra, rb = Recorder(), Recorder()
        incoming = []

        def on_incoming(request):
            incoming.append(request)
            request.accept(rb.handlers(*NAMES))

        b.on_incoming_call(on_incoming)
        call = await a.call("bob", ra.handlers(*NAMES))
        await until(lambda: call.is_established() and incoming and incoming[0].call.is_established())
        assert incoming[0].event.session.remote_identity.uri == "sip:alice@webvoice.test"
        assert ra.names()[:3] == ["connecting", "progress", "confirmed"]
        bcall = incoming[0].call
        assert call.get_direction() == "outgoing" and bcall.get_direction() == "incoming"
        assert call.get_start_time() is not None and call.get_remote_identity().uri.startswith("sip:bob@")
        # hold and unhold from A: B sees remote hold
        assert await call.hold() is True
        assert call.is_on_hold().local and bool(call.is_on_hold())
        await until(lambda: rb.get("held"))
        assert rb.get("held")[0].originator == "remote" and bcall.is_on_hold().remote
        assert await call.unhold() is True
        await until(lambda: rb.get("unheld"))
        # hold by UPDATE
        assert await call.hold_with_options({"use_update": True}) is True
        await until(lambda: len(rb.get("held")) == 2)
        assert await call.unhold_with_options({"use_update": True}) is True
        # DTMF over INFO, in order
        await call.send_dtmf("123#", transport_type="INFO", duration=100, inter_tone_gap=50)
        await until(lambda: len(rb.get("new_dtmf")) == 4)
        assert [e.tone for e in rb.get("new_dtmf")] == ["1", "2", "3", "#"]
        assert rb.get("new_dtmf")[0].duration == 100
        # mute is idempotent
        assert call.mute() is True and call.mute() is False and call.is_muted()
        assert call.unmute() is True and ra.names().count("muted") == 1
        # hang up from B
        bcall.terminate()
        await until(lambda: call.is_ended() and bcall.is_ended())
        assert ra.get("ended")[0].cause == "Bye" and rb.get("ended")[0].cause == "Terminated"
        assert a._media_backend.sessions[0].closed and b._media_backend.sessions[0].closed
        # and a second call between the same instances works
        incoming.clear()
        again = await a.call("sip:bob@webvoice.test")
        await until(lambda: again.is_established())
        again.terminate()
        await until(lambda: again.is_ended() and incoming[0].call.is_ended())
        await a.close()
        await b.close()

    run(main())


def test_decline_gives_busy_and_cancel_gives_canceled(kamailio):
    async def main():
        a, b = await pair(kamailio, "carol", "dave")
        requests = []
        b.on_incoming_call(requests.append)
        ra = Recorder()
        call = await a.call("dave", ra.handlers("failed", "progress"))
        await until(lambda: requests)
        requests[0].decline()
        await until(lambda: call.is_ended())
        assert (ra.get("failed")[0].cause, ra.get("failed")[0].status_code) == ("Busy", 486)
        # cancel before answer
        rb = Recorder()
        requests.clear()
        b.on_incoming_call(lambda r: (requests.append(r), r.call.add_handlers(rb.handlers("failed"))))
        call = await a.call("dave", ra.handlers("failed"))
        await until(lambda: requests and ra.get("progress"))
        call.terminate()
        await until(lambda: rb.get("failed") and call.is_ended())
        assert rb.get("failed")[0].cause == "Canceled"
        assert ra.get("failed")[-1].cause == "Canceled"
        await a.close()
        await b.close()

    run(main())


def test_unregistered_and_unknown_targets(kamailio):
    async def main():
        a = instance(kamailio, "erin")
        await a.register()
        ra = Recorder()
        call = await a.call("frank", ra.handlers("failed"))  # a known user, not registered
        await until(lambda: call.is_ended())
        assert ra.get("failed")[0].cause in ("Unavailable", "Not Found")
        call = await a.call("nosuchuser", ra.handlers("failed"))
        await until(lambda: call.is_ended())
        assert ra.get("failed")[-1].cause == "Not Found"
        await a.close()

    run(main())


def test_denied_microphone(kamailio):
    async def main():
        a = instance(kamailio, "grace", media=FakeMediaBackend(deny=True))
        await a.register()
        ra = Recorder()
        call = await a.call("heidi", ra.handlers("failed"))
        assert call.is_ended() and ra.get("failed")[0].cause == "User Denied Media Access"
        assert len(a._lines) == 0
        await a.close()

    run(main())


@pytest.mark.parametrize("target", ["bob\r\nVia: evil", "sip:bob@x?Route=a", "", "bo b@", "sip:", 42])
def test_bad_targets_raise_before_sending(kamailio, target):
    async def main():
        a = instance(kamailio, "heidi")
        with pytest.raises((ValueError, TypeError)):
            await a.call(target)
        assert not a.is_connected()

    run(main())


@pytest.mark.parametrize("typed", ["iñaki", "sip:iñaki@webvoice.test", "i%C3%B1aki"])
def test_a_non_ascii_user_is_dialled_as_typed(kamailio, typed):
    """The callee's account is "iñaki" (i%C3%B1aki in SIP URIs): the callee logs
    in and the caller dials with the name as a person writes it."""
    async def main():
        callee = webvoice.create_sip_instance(
            sip_login="iñaki", sip_password=kamailio.users["i%C3%B1aki"], ws_url=kamailio.ws_url,
            realm=kamailio.domain, transport_factory=WebsocketsTransport, media_backend=FakeMediaBackend())
        caller = instance(kamailio, "alice")
        await callee.register()
        await caller.register()
        incoming = []
        callee.on_incoming_call(lambda request: (incoming.append(request), request.accept()))
        call = await caller.call(typed)
        await until(call.is_established)
        assert incoming[0].call.get_local_identity().uri == "sip:i%C3%B1aki@webvoice.test"
        assert call.get_remote_identity().uri == "sip:i%C3%B1aki@webvoice.test"
        call.terminate()
        await until(lambda: incoming[0].call.is_ended())
        await caller.close()
        await callee.close()

    run(main())
