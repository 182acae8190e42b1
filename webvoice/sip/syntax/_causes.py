"""The JavaScript SDK's failure causes, and which SIP status gives which.

Applications ported from the JS SDK switch on these strings, so they are kept
exactly (``"Busy"``, ``"Not Found"``...). The mapping follows JsSIP's, which the
JS SDK exposes unchanged.
"""

from __future__ import annotations

__all__ = ["Cause", "cause_for_status"]


class Cause:
    BUSY = "Busy"
    REJECTED = "Rejected"
    NOT_FOUND = "Not Found"
    UNAVAILABLE = "Unavailable"
    CANCELED = "Canceled"
    NO_ANSWER = "No Answer"
    REQUEST_TIMEOUT = "Request Timeout"
    WEBRTC_ERROR = "WebRTC Error"
    AUTHENTICATION_ERROR = "Authentication Error"
    USER_DENIED_MEDIA_ACCESS = "User Denied Media Access"
    CONNECTION_ERROR = "Connection Error"
    TERMINATED = "Terminated"
    BYE = "Bye"
    SIP_FAILURE_CODE = "SIP Failure Code"
    REDIRECTED = "Redirected"
    BAD_MEDIA_DESCRIPTION = "Bad Media Description"
    ADDRESS_INCOMPLETE = "Address Incomplete"
    INCOMPATIBLE_SDP = "Incompatible SDP"
    EXPIRES = "Expires"
    INTERNAL_ERROR = "Internal Error"


_BY_STATUS = {
    **dict.fromkeys((300, 301, 302, 305, 380), Cause.REDIRECTED),
    **dict.fromkeys((401, 407), Cause.AUTHENTICATION_ERROR),
    **dict.fromkeys((403, 603, 608), Cause.REJECTED),
    **dict.fromkeys((404, 604), Cause.NOT_FOUND),
    **dict.fromkeys((408,), Cause.REQUEST_TIMEOUT),
    **dict.fromkeys((410, 480, 503), Cause.UNAVAILABLE),
    **dict.fromkeys((484,), Cause.ADDRESS_INCOMPLETE),
    **dict.fromkeys((486, 600), Cause.BUSY),
    **dict.fromkeys((487,), Cause.CANCELED),
    **dict.fromkeys((488, 606), Cause.INCOMPATIBLE_SDP),
}


def cause_for_status(status_code: int) -> str:
    """The JS SDK cause for a final failure response."""
    return _BY_STATUS.get(status_code, Cause.SIP_FAILURE_CODE)
