"""``RTCPeerConnection.getStats()`` reduced to the plain figures a call reports.

Pure Python over the report's entries (each a dict of the W3C
webrtc-stats members), so it reads the same whichever side of postMessage
it runs on.

    summarize(entries) == {
        "inbound": {"packets_received": int, "packets_lost": int,
                    "jitter": float,  # seconds
                    "bytes_received": int,
                    "audio_level": float | None,  # 0..1, None before any audio
                    "total_audio_energy": float},
        "outbound": {"packets_sent": int, "bytes_sent": int,
                     # the microphone as the sender takes it (media-source):
                     "audio_level": float | None,  # 0..1, None when not reported
                     "total_audio_energy": float | None,
                     "total_samples_duration": float | None},  # seconds
        "round_trip_time": float | None,  # seconds
        "codec": str | None,  # MIME type sent (else received), e.g. "audio/opus"
        # everything the ICE candidate pairs carried, summed over the pairs
        # (None when the browser reports no such figure):
        "transport": {"bytes_received": int | None,  # RTP and RTCP payload
                      "bytes_sent": int | None,
                      "responses_received": int | None},  # STUN answers: consent checks (RFC 7675)
    }

``transport`` is what media health reads to tell a dead path from a quiet
one: while the path works, consent answers and RTCP keep arriving even when
the far end sends no audio.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["empty_stats", "summarize"]


def empty_stats() -> dict[str, Any]:
    """The figures of a connection that has carried nothing yet."""
    return {
        "inbound": {"packets_received": 0, "packets_lost": 0, "jitter": 0.0, "bytes_received": 0,
                    "audio_level": None, "total_audio_energy": 0.0},
        "outbound": {"packets_sent": 0, "bytes_sent": 0, "audio_level": None, "total_audio_energy": None,
                     "total_samples_duration": None},
        "round_trip_time": None,
        "codec": None,
        "transport": {"bytes_received": None, "bytes_sent": None, "responses_received": None},
    }


def _is_audio(entry: dict[str, Any]) -> bool:
    return (entry.get("kind") or entry.get("mediaType") or "audio") == "audio"


def _round_trip_time(entries: list[dict[str, Any]], by_id: dict[str, dict[str, Any]]) -> float | None:
    # RTCP's figure first (remote-inbound-rtp: what the peer reported about
    # our stream), then ICE's (STUN consent checks on the selected pair).
    for entry in entries:
        if entry.get("type") == "remote-inbound-rtp" and _is_audio(entry):
            rtt = entry.get("roundTripTime")
            if isinstance(rtt, (int, float)):
                return float(rtt)
    pairs = [by_id.get(entry.get("selectedCandidatePairId", "")) for entry in entries
             if entry.get("type") == "transport"]
    pairs += [entry for entry in entries
              if entry.get("type") == "candidate-pair" and entry.get("nominated")
              and entry.get("state") == "succeeded"]
    for pair in pairs:
        rtt = (pair or {}).get("currentRoundTripTime")
        if isinstance(rtt, (int, float)):
            return float(rtt)
    return None


def _number(entry: dict[str, Any], name: str) -> float | None:
    value = entry.get(name)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _media_source(entries: list[dict[str, Any]], by_id: dict[str, dict[str, Any]],
                  outbound: dict[str, Any] | None) -> dict[str, Any]:
    """The local track's level as the sender sees it (for the constant input level warning)."""
    source = by_id.get((outbound or {}).get("mediaSourceId", "")) or next(
        (e for e in entries if e.get("type") == "media-source" and _is_audio(e)), None) or {}
    return {"audio_level": _number(source, "audioLevel"), "total_audio_energy": _number(source, "totalAudioEnergy"),
            "total_samples_duration": _number(source, "totalSamplesDuration")}


def _transport(entries: list[dict[str, Any]]) -> dict[str, int | None]:
    """Sums over every candidate pair: an ICE restart adds pairs, and the
    figure must not depend on which one the browser calls selected."""
    out: dict[str, int | None] = {"bytes_received": None, "bytes_sent": None, "responses_received": None}
    for entry in entries:
        if entry.get("type") != "candidate-pair":
            continue
        for key, name in (("bytes_received", "bytesReceived"), ("bytes_sent", "bytesSent"),
                          ("responses_received", "responsesReceived")):
            value = _number(entry, name)
            if value is not None:
                out[key] = (out[key] or 0) + int(value)
    return out


def summarize(entries: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The figures of one audio line from a stats report's entries."""
    entries = list(entries)
    by_id = {entry.get("id", ""): entry for entry in entries}
    stats = empty_stats()
    inbound = next((e for e in entries if e.get("type") == "inbound-rtp" and _is_audio(e)), None)
    outbound = next((e for e in entries if e.get("type") == "outbound-rtp" and _is_audio(e)), None)
    if inbound is not None:
        level = inbound.get("audioLevel")
        stats["inbound"] = {
            "packets_received": int(inbound.get("packetsReceived") or 0),
            "packets_lost": int(inbound.get("packetsLost") or 0),
            "jitter": float(inbound.get("jitter") or 0.0),
            "bytes_received": int(inbound.get("bytesReceived") or 0),
            "audio_level": float(level) if isinstance(level, (int, float)) else None,
            "total_audio_energy": float(inbound.get("totalAudioEnergy") or 0.0),
        }
    if outbound is not None:
        stats["outbound"] = {
            "packets_sent": int(outbound.get("packetsSent") or 0),
            "bytes_sent": int(outbound.get("bytesSent") or 0),
        }
    stats["outbound"].update(_media_source(entries, by_id, outbound))
    stats["round_trip_time"] = _round_trip_time(entries, by_id)
    stats["transport"] = _transport(entries)
    for rtp in (outbound, inbound):
        codec = by_id.get((rtp or {}).get("codecId", ""))
        if codec and codec.get("mimeType"):
            stats["codec"] = str(codec["mimeType"])
            break
    return stats
