"""Instant messages (RFC 3428) between SipInstances through the real Kamailio, from CPython.

The proxy challenges each MESSAGE (407) and routes it to the registered
target; an unknown user gets 404 and one who is not signed in 480 (the
documented outcome: no store-and-forward). The browser tier repeats the
exchange in Chromium.
"""

from __future__ import annotations

import asyncio
import datetime

import pytest

import webvoice

from .test_calls_kamailio import pair, run, until


def test_messages_both_ways_and_to_the_offline(kamailio):
    async def main():
        a, b = await pair(kamailio, "alice", "bob")
        got_a, got_b = [], []
        a.on_message(got_a.append)
        unsubscribe = b.on_message(got_b.append)
        assert await a.send_message("bob", "hi bob ✓\nline two") == 200
        await until(lambda: got_b)
        (message,) = got_b
        assert message.sender == "sip:alice@webvoice.test" and message.body == "hi bob ✓\nline two"
        assert message.content_type == "text/plain" and message.call is None
        assert isinstance(message.time, datetime.datetime) and message.time.tzinfo is not None
        assert await b.send_message("sip:alice@webvoice.test", '{"x": 1}', content_type="application/json") == 200
        await until(lambda: got_a)
        assert got_a[0].body == '{"x": 1}' and got_a[0].content_type == "application/json"
        unsubscribe()
        assert await a.send_message("bob", "nobody listens") == 200  # accepted, dropped
        await asyncio.sleep(0.2)
        assert len(got_b) == 1
        with pytest.raises(webvoice.MessageError) as info:
            await a.send_message("carol", "are you there?")  # a known user, not registered
        assert info.value.status_code == 480 and info.value.cause == "Unavailable"
        with pytest.raises(webvoice.MessageError) as info:
            await a.send_message("nosuchuser", "hello?")
        assert info.value.status_code == 404 and info.value.cause == "Not Found"
        with pytest.raises(ValueError, match="control character"):
            await a.send_message("bob\r\nX: y", "hi")
        with pytest.raises(ValueError, match="not sent"):
            await a.send_message("bob", "hi", content_type="image/png")
        for sip in (a, b):
            await sip.close()

    run(main())


def test_message_in_a_call(kamailio):
    async def main():
        a, b = await pair(kamailio, "dave", "erin")
        incoming, in_a, in_b = [], [], []
        b.on_incoming_call(lambda request: (incoming.append(request), request.accept({"message": in_b.append})))
        call = await a.call("erin", {"message": in_a.append})
        await until(lambda: call.is_established() and incoming and incoming[0].call.is_established())
        bcall = incoming[0].call
        assert await call.send_message("in the call") == 200
        await until(lambda: in_b)
        assert in_b[0].body == "in the call" and in_b[0].call is bcall
        assert await bcall.send_message("back") == 200
        await until(lambda: in_a)
        assert in_a[0].call is call and in_a[0].sender.startswith("sip:erin@")
        assert call.is_established() and bcall.is_established()
        call.terminate()
        await until(lambda: bcall.is_ended())
        for sip in (a, b):
            await sip.close()

    run(main())
