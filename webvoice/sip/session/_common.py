"""What the parts of a call share: the SDP helpers.

Kept apart from the parts so that no part imports another for them.
"""

from __future__ import annotations

from ..syntax._message import Request, Response
from ..syntax._sdp import SdpParseError, parse_sdp
from ..syntax._sdp_offer_answer import remote_hold_state

__all__ = ["SDP", "holds", "sdp_of"]

SDP = "application/sdp"


def sdp_of(message: Request | Response) -> str | None:
    """The SDP body of ``message``, None when it carries none."""
    content_type = message.content_type
    if not message.body or content_type is None or content_type.mime != SDP:
        return None
    return message.body.decode("utf-8", "replace")


def holds(sdp: str) -> bool:
    """Whether the peer's offer puts us on hold; an SDP we cannot read does not."""
    try:
        return remote_hold_state(parse_sdp(sdp))
    except SdpParseError:
        return False
