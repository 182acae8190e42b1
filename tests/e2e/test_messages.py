"""Instant messages (RFC 3428) between two Chromium pages through Kamailio.

alice and bob, each webvoice in Pyodide, exchange messages both ways (the
proxy challenges each MESSAGE and routes it to the registered user); a
message to a user who is not signed in fails with ``MessageError`` 480 (the
documented outcome: the server stores nothing), one to an unknown user with
404; and a MESSAGE inside a call reaches the call's ``message`` event.
"""

from __future__ import annotations

import pytest

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py

from .test_calls import make_phone

CHAT = """
inbox = []
sip.on_message(lambda m: inbox.append([m.sender, m.body, m.content_type, m.time.isoformat(),
                                       m.call is not None]))

async def failure_of(target, text):
    try:
        await sip.send_message(target, text)
    except webvoice.MessageError as exc:
        return [exc.status_code, exc.cause]
    return None
"""


@pytest.fixture(scope="module")
def chat(browser, static_server, kamailio):
    a = make_phone(browser, static_server, kamailio, "alice")
    b = make_phone(browser, static_server, kamailio, "bob")
    for page in (a, b):
        py(page, CHAT)
    yield a, b
    for page in (a, b):
        page.context.close()


def test_alice_and_bob_exchange_messages_both_ways(chat):
    a, b = chat
    assert py(a, "await sip.send_message('bob', 'hello bob ✓')") == 200
    py(b, "await wait_for(lambda: inbox)")
    sender, body, content_type, time, in_call = py(b, "inbox[-1]")
    assert (sender, body, content_type, in_call) == ("sip:alice@webvoice.test", "hello bob ✓", "text/plain", False)
    assert time.endswith("+00:00")
    assert py(b, "await sip.send_message('sip:alice@webvoice.test', 'hi alice\\nsecond line')") == 200
    py(a, "await wait_for(lambda: inbox)")
    assert py(a, "inbox[-1][:2]") == ["sip:bob@webvoice.test", "hi alice\nsecond line"]


def test_message_to_an_offline_or_unknown_user_fails_with_the_status(chat):
    a, _ = chat
    assert py(a, "await failure_of('carol', 'are you there?')") == [480, "Unavailable"]
    assert py(a, "await failure_of('nosuchuser', 'hello?')") == [404, "Not Found"]
    error = py(a, """
try:
    await sip.send_message('bob', 'x', content_type='text/plain\\r\\nX-Evil: 1')
except ValueError as exc:
    result = str(exc)
result
""")
    assert "control character" in error


def test_message_inside_a_call(chat):
    a, b = chat
    py(b, "events.clear(); incoming.clear(); mode['answer'] = 'accept'")
    py(a, "call_inbox = []\ncall = await sip.call('bob', {'message': lambda m: call_inbox.append(m.body)})")
    py(a, "await wait_for(call.is_established)")
    py(b, """
await wait_for(lambda: incoming and incoming[-1].call.is_established())
bcall = incoming[-1].call
bcall_inbox = []
bcall.on('message', lambda m: bcall_inbox.append([m.body, m.call is bcall]))
""")
    assert py(a, "await call.send_message('said in the call')") == 200
    assert py(b, "await wait_for(lambda: bcall_inbox)\nbcall_inbox") == [["said in the call", True]]
    assert py(b, "await bcall.send_message('and back')") == 200
    assert py(a, "await wait_for(lambda: call_inbox)\ncall_inbox") == ["and back"]
    py(a, "call.terminate()\nawait wait_for(call.is_ended)")
    py(b, "await wait_for(bcall.is_ended)")
