"""pc_config and offer_constraints: what reaches the RTCPeerConnection and createOffer,
and what is refused by name (before any browser work: webvoice/browser/_rtc_config.py
has no ``js``). The browser tiers check the values reach Chromium."""

from __future__ import annotations

import pytest

from webvoice._media import DTMF_TIMING, DTMF_TONES
from webvoice.browser._rtc_config import offer_options, rtc_configuration


def test_ice_urls_then_pc_config_servers_and_policies():
    config = rtc_configuration(
        ["stun:192.0.2.1:3478", "turn:u%40x:p@192.0.2.2"],
        {"iceServers": [{"urls": ["turn:192.0.2.3"], "username": "a", "credential": "b"}, "stun:192.0.2.4"],
         "iceTransportPolicy": "relay", "bundle_policy": "max-bundle", "rtcpMuxPolicy": "require",
         "iceCandidatePoolSize": 2})
    assert config == {
        "iceServers": [{"urls": "stun:192.0.2.1:3478"},
                       {"urls": "turn:192.0.2.2", "username": "u@x", "credential": "p"},
                       {"urls": ["turn:192.0.2.3"], "username": "a", "credential": "b"},
                       {"urls": "stun:192.0.2.4"}],
        "iceTransportPolicy": "relay", "bundlePolicy": "max-bundle", "rtcpMuxPolicy": "require",
        "iceCandidatePoolSize": 2}
    assert rtc_configuration([], None) == {"iceServers": []}


@pytest.mark.parametrize(("pc_config", "named"), [
    ("relay", "pc_config must be a dict"),
    ({"iceTransportPolicy": "nearby"}, "iceTransportPolicy"),
    ({"bundlePolicy": 3}, "bundlePolicy"),
    ({"certificates": []}, "certificates"),
    ({"sdpSemantics": "plan-b"}, "sdpSemantics"),
    ({"iceServers": "stun:x"}, "iceServers"),
    ({"iceServers": [{"url": "stun:x"}]}, "iceServers"),
    ({"iceServers": [{"urls": "http://x"}]}, "STUN/TURN"),
    ({"iceServers": [{"urls": "turn:x", "username": 5}]}, "username"),
    ({"iceCandidatePoolSize": 300}, "iceCandidatePoolSize"),
    ({"iceCandidatePoolSize": True}, "iceCandidatePoolSize"),
])
def test_bad_pc_config_is_refused_by_name(pc_config, named):
    with pytest.raises(ValueError, match=named):
        rtc_configuration([], pc_config)


def test_offer_constraints():
    assert offer_options(None) == {}
    assert offer_options({"offerToReceiveAudio": True, "ice_restart": False}) == {
        "offerToReceiveAudio": True, "iceRestart": False}
    for bad, named in (({"mandatory": {}}, "mandatory"), ({"offerToReceiveAudio": 1}, "offerToReceiveAudio"),
                       ([True], "must be a dict")):
        with pytest.raises(ValueError, match=named):
            offer_options(bad)


def test_one_dtmf_tone_set_and_timing():
    assert set("0123456789ABCD*#,") <= DTMF_TONES and "E" not in DTMF_TONES
    # Clamped as RTCDTMFSender clamps: 40..6000 ms tones, gaps of 30 ms at least, "," two seconds.
    assert DTMF_TIMING.play_time("12", 100, 70) == pytest.approx(0.34)
    assert DTMF_TIMING.play_time("1", 10, 0) == pytest.approx(0.07)
    assert DTMF_TIMING.play_time("1,", 9000, 50) == pytest.approx(2 + 2 * 6.05)
