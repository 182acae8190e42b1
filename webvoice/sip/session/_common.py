"""What the parts of a call share: its states and the SDP helpers.

:class:`~._call.CallSession` is assembled from mixins (``_call_*`` modules), one
per concern of RFC 3261 13-15 and its extensions; the names here are the ones
several of them use, kept apart so that no mixin has to import :mod:`._call`
(which imports them all).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from ..syntax._sdp import SdpParseError, parse_sdp, remote_hold_state

if TYPE_CHECKING:
    from ..syntax._message import Request, Response

__all__ = ["MAX_AUTH_RETRIES", "SDP", "CallState"]

SDP = "application/sdp"
MAX_AUTH_RETRIES = 2


class CallState(enum.Enum):
    CALLING = "calling"  # INVITE sent, nothing back but 100
    RINGING = "ringing"  # outgoing: 18x received
    INCOMING = "incoming"  # incoming: 180 sent, the application decides
    ANSWERED = "answered"  # incoming: 200 sent, waiting for the ACK
    ESTABLISHED = "established"
    TERMINATED = "terminated"


def _sdp_of(message: Request | Response) -> str | None:
    content_type = message.content_type
    if not message.body or content_type is None or content_type.mime != SDP:
        return None
    return message.body.decode("utf-8", "replace")


def _holds(sdp: str) -> bool:
    """Whether the peer's offer puts us on hold; an SDP we cannot read does not."""
    try:
        return remote_hold_state(parse_sdp(sdp))
    except SdpParseError:
        return False
