"""A long day for the core: calls, holds, DTMF, hang-ups and registration
refreshes, a hundred times over, leave the user agents as they were.

Two UAs on the fake wire of tests/sip/hostile.py (a registrar answers
Alice's REGISTERs), a fake clock: each round is a call from Alice to Bob,
answered, held and resumed, a DTMF INFO, hung up, then a minute of timers
(an INVITE server transaction keeps its dialog 32 s after a 2xx, RFC 6026
Timer L), so a hundred rounds also span about twenty registration refreshes.
Then the objects of webvoice's own types the collector tracks are counted
and compared with the count after three rounds: a leak of one object a round
grows a count by a hundred; the test allows less than half that.
"""

from __future__ import annotations

import collections
import gc

from tests.sip.hostile import ANSWER, HOLD, HOLD_ANSWER, OFFER, Story
from webvoice.sip.session._events import IncomingCall
from webvoice.sip.syntax._uri import parse_uri

ROUNDS = 100
WARM_UP = 3
MINUTE = 60.0


def census() -> collections.Counter:
    gc.collect()
    return collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects()
                               if (type(o).__module__ or "").startswith("webvoice"))


def advance(story: Story, seconds: float, step: float = 0.5) -> None:
    end = story.now + seconds
    while story.now < end:
        story.now = min(end, story.now + step)
        for ua in (story.a, story.b):
            ua.handle_timer(story.now)
        story.flush()


def one_round(story: Story) -> None:
    alice = story.a.call(parse_uri("sip:bob@webvoice.test"), OFFER, story.now)
    story.flush()
    bob = [e for e in story.events if isinstance(e, IncomingCall)][-1].session
    bob.accept(ANSWER, story.now)
    story.pump()
    alice.reoffer(HOLD, story.now)
    story.pump()
    bob.answer_offer(HOLD_ANSWER, story.now)
    story.pump()
    alice.reoffer(OFFER.replace("o=- 1 1", "o=- 1 3"), story.now)
    story.pump()
    bob.answer_offer(ANSWER.replace("o=- 1 1", "o=- 1 3"), story.now)
    story.pump()
    alice.send_info("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n", story.now)
    story.pump()
    alice.terminate(story.now)
    story.pump()
    assert alice.is_ended and bob.is_ended, (alice, bob)
    advance(story, MINUTE)
    story.events.clear()
    story.log.clear()


def test_a_hundred_calls_and_refreshes_leave_the_core_as_it_was():
    story = Story()
    story.a.register(story.now)
    story.flush()
    assert story.a.registration.is_registered
    for _ in range(WARM_UP):
        one_round(story)
    before = census()
    refreshed_at = story.a.registration.expires_at
    for _ in range(ROUNDS):
        one_round(story)
    after = census()
    assert story.a.registration.is_registered
    assert story.a.registration.expires_at > refreshed_at + 10 * MINUTE  # it did refresh, many times
    grown = {name: (before[name], count) for name, count in after.items() if count - before[name] >= ROUNDS / 2}
    assert grown == {}, grown
