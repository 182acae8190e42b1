"""The constant audio input level warning in Chromium through Kamailio (beyond the JS SDK).

Two webvoice pages in a call; the caller's page replaces its microphone track
on the RTP sender (``replaceTrack``) with a silent one (a zero-gain
oscillator into ``createMediaStreamDestination``): a dead or silently muted
microphone, which the application cannot see. The warning is raised; once
the real (fake-device tone) track is back, it clears. The caller samples
with ``constant-audio-input-seconds`` 3 so the test takes seconds, not tens.
"""

from __future__ import annotations

import pytest

from devtools.kamailio_server import kamailio  # noqa: F401  (fixture)
from devtools.pyrun import py
from tests.e2e.test_calls import make_phone

SECONDS = 3

RECORD = """
warnings = []
def warning_handler(kind):
    def handler(w):
        warnings.append([kind, w.name, w.value, w.threshold])
    return handler

def input_warnings():
    return [w for w in warnings if w[1] == "constant-audio-input-level"]

def audio_sender(call):
    return next(s for s in call.get_connection().getSenders() if s.track and s.track.kind == "audio")

def silent_track():
    from js import AudioContext
    context = AudioContext.new()
    oscillator, gain = context.createOscillator(), context.createGain()
    gain.gain.value = 0
    destination = context.createMediaStreamDestination()
    oscillator.connect(gain)
    gain.connect(destination)
    oscillator.start()
    return destination.stream.getAudioTracks()[0]
"""


@pytest.fixture(scope="module")
def phones(browser, static_server, kamailio):
    caller = make_phone(browser, static_server, kamailio, "erin",
                        ua_config={"quality_warnings": {"constant-audio-input-seconds": SECONDS}})
    callee = make_phone(browser, static_server, kamailio, "frank")
    py(caller, RECORD)
    yield caller, callee
    for page in (caller, callee):
        page.context.close()


def test_a_silent_microphone_raises_the_constant_input_warning_and_real_audio_clears_it(phones):
    caller, callee = phones
    py(callee, "events.clear(); incoming.clear(); mode['answer'] = 'accept'")
    py(caller, """
warnings.clear()
call = await sip.call("frank", {"warning": warning_handler("warning"),
                                "warning_cleared": warning_handler("warning_cleared")})
await wait_for(lambda: call.get_media_state() == "connected")
""")
    py(callee, "await wait_for(lambda: incoming and incoming[-1].call.is_established())\nbcall = incoming[-1].call")
    # The fake device's tone is a live microphone: no warning while the sender takes more of it than the
    # samples it takes to raise one (a condition on the browser's own count of audio, not a sleep).
    py(caller, f"""
start = (await call.get_stats())["outbound"]["total_samples_duration"] or 0
while ((await call.get_stats())["outbound"]["total_samples_duration"] or 0) < start + {SECONDS + 2}:
    await asyncio.sleep(0.2)
""", timeout=30)
    assert py(caller, "input_warnings()") == []
    py(caller, """
sender = audio_sender(call)
real_track = sender.track
await sender.replaceTrack(silent_track())
""")
    py(caller, f"await wait_for(input_warnings, timeout={4 * SECONDS + 10})", timeout=60)
    py(caller, "await sender.replaceTrack(real_track)")
    py(caller, "await wait_for(lambda: len(input_warnings()) >= 2, timeout=20)", timeout=40)
    seen = py(caller, "input_warnings()")
    assert [w[0] for w in seen] == ["warning", "warning_cleared"], seen
    assert seen[0][2] < seen[0][3] <= seen[1][2], seen  # silent below the threshold, the tone above it
    assert py(caller, "call.is_established()") and py(callee, "bcall.is_established()")
    assert not py(caller, "call.is_muted().audio")  # the application never muted: the browser's track went silent
    py(caller, "call.terminate()\nawait wait_for(call.is_ended)")
    py(callee, "await wait_for(bcall.is_ended)")
