"""webvoice.browser._stats.summarize on hand-made stats reports, inside Pyodide
(the module is pure Python, but its package imports ``js``)."""

from pytest_pyodide import run_in_pyodide


@run_in_pyodide(packages=["webvoice"])
def test_summarize_picks_audio_rtp_codec_and_round_trip(selenium):
    from webvoice.browser._stats import empty_stats, summarize

    entries = [
        {"id": "IT01V", "type": "inbound-rtp", "kind": "video", "packetsReceived": 999},
        {"id": "IT01A", "type": "inbound-rtp", "kind": "audio", "packetsReceived": 50, "packetsLost": 2,
         "jitter": 0.004, "bytesReceived": 4000, "audioLevel": 0.25, "totalAudioEnergy": 0.5,
         "codecId": "CIT01_111"},
        {"id": "OT01A", "type": "outbound-rtp", "kind": "audio", "packetsSent": 51, "bytesSent": 4100,
         "codecId": "COT01_111", "mediaSourceId": "SA2"},
        {"id": "SA1", "type": "media-source", "kind": "audio", "audioLevel": 0.9},  # an older track
        {"id": "SA2", "type": "media-source", "kind": "audio", "audioLevel": 0.1, "totalAudioEnergy": 0.02,
         "totalSamplesDuration": 2.0},
        {"id": "COT01_111", "type": "codec", "mimeType": "audio/opus"},
        {"id": "CIT01_111", "type": "codec", "mimeType": "audio/PCMU"},
        {"id": "CP1", "type": "candidate-pair", "nominated": True, "state": "succeeded",
         "currentRoundTripTime": 0.03},
        {"id": "RI1", "type": "remote-inbound-rtp", "kind": "audio", "roundTripTime": 0.05},
    ]
    stats = summarize(entries)
    assert stats["inbound"] == {"packets_received": 50, "packets_lost": 2, "jitter": 0.004,
                                "bytes_received": 4000, "audio_level": 0.25, "total_audio_energy": 0.5}
    assert stats["outbound"] == {"packets_sent": 51, "bytes_sent": 4100, "audio_level": 0.1,
                                 "total_audio_energy": 0.02, "total_samples_duration": 2.0}  # the sender's source
    assert stats["codec"] == "audio/opus"  # what we send comes first
    assert stats["round_trip_time"] == 0.05  # RTCP's figure before ICE's

    # Without RTCP yet: the selected candidate pair's figure.
    no_rtcp = [e for e in entries if e["type"] != "remote-inbound-rtp"]
    assert summarize(no_rtcp)["round_trip_time"] == 0.03
    via_transport = [e for e in no_rtcp if e["type"] != "candidate-pair"] + [
        {"id": "T1", "type": "transport", "selectedCandidatePairId": "CP2"},
        {"id": "CP2", "type": "candidate-pair", "currentRoundTripTime": 0.02},
    ]
    assert summarize(via_transport)["round_trip_time"] == 0.02

    # Nothing has flowed: zeros and None, never a KeyError.
    assert summarize([]) == empty_stats()
    assert summarize([{"id": "IT", "type": "inbound-rtp", "kind": "audio"}])["inbound"]["audio_level"] is None

    # The transport: every candidate pair's figures summed (an ICE restart adds
    # pairs); None where no pair reports one (Firefox counts few STUN answers).
    pairs = [
        {"id": "CP1", "type": "candidate-pair", "bytesReceived": 1000, "bytesSent": 900, "responsesReceived": 4},
        {"id": "CP2", "type": "candidate-pair", "bytesReceived": 50, "bytesSent": 60},
        {"id": "CP3", "type": "candidate-pair", "bytesReceived": True},  # not a number: ignored
    ]
    assert summarize(pairs)["transport"] == {"bytes_received": 1050, "bytes_sent": 960, "responses_received": 4}
    assert summarize(pairs[1:])["transport"]["responses_received"] is None
    assert empty_stats()["transport"] == {"bytes_received": None, "bytes_sent": None, "responses_received": None}
