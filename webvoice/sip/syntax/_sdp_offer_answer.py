"""What the offer/answer model (RFC 3264) reads from a description: the
direction an answer takes, and whether the other side's description holds us.

Kept apart from :mod:`._sdp` (the description itself: its lines, the parser,
the rewrites asked for), since these are rules about descriptions, which
RFC 3264, RFC 6337 and the browsers' JSEP each add to, not the format.
"""

from __future__ import annotations

from ._sdp import DIRECTIONS, MediaSection, SessionDescription, _attributes

__all__ = ["answer_direction", "remote_hold_state"]


def answer_direction(offered: str, local_hold: bool) -> str:
    """The direction an answer takes for a stream offered with ``offered``.

    RFC 3264 6.1: sendonly is answered recvonly, recvonly sendonly, inactive
    inactive, sendrecv anything (we take sendrecv). Holding the other side means
    asking it to stop sending to us (RFC 3264 8.4), so ``local_hold`` drops the
    receiving half of that answer: sendrecv becomes sendonly, recvonly inactive.
    """
    mirrored = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly", "inactive": "inactive"}
    if offered not in mirrored:
        raise ValueError(f"offered direction must be one of {', '.join(DIRECTIONS)}, not {offered!r}")
    answer = mirrored[offered]
    if local_hold:
        answer = {"sendrecv": "sendonly", "recvonly": "inactive"}.get(answer, answer)
    return answer


def _uses_ice(section: MediaSection) -> bool:
    lines = section.lines
    return bool(_attributes(lines, "candidate") or _attributes(lines, "ice-ufrag")) or section._session()[2]


def remote_hold_state(sdp: SessionDescription) -> bool:
    """Whether this description from the other side puts us on hold.

    Being held means being asked to stop sending (RFC 3264 8.4). It is true when
    there is at least one audio section in use and every one of them is held:
    its direction (media level, else session level) is sendonly or inactive
    (RFC 3264 8.4, RFC 6337 5.3), or its connection address is 0.0.0.0, the
    RFC 2543 hold, which RFC 3264 8.4 and RFC 6337 5.4 say must still be
    understood as "send neither RTP nor RTCP" (departure: ``::`` too, which
    some IPv6 servers send the same way).

    Not hold: a section with port 0 (rejected or disabled, RFC 3264 6 and 8.2;
    it is left out), recvonly (the other side only stops sending), and 0.0.0.0
    in a section that uses ICE (any a=candidate or a=ice-ufrag): there c= only
    names the default candidate (RFC 8839), and a browser writes 0.0.0.0 in
    every offer made before candidates are gathered (JSEP, RFC 9429 5.2.1).

    An initial offer with 0.0.0.0 gives true as well (RFC 3264 8.4 allows it
    there for "address not known yet"); whether to show that as held is the
    call layer's choice.
    """
    audio = [m for m in sdp.media if m.kind == "audio" and m.port != 0]
    return bool(audio) and all(
        m.direction in ("sendonly", "inactive")
        or (m.connection_address in ("0.0.0.0", "::") and not _uses_ice(m))
        for m in audio
    )
