"""The numbers of RFC 4028 session timers: Session-Expires, Min-SE and the 422 rule.

Apart from the call machinery (:mod:`._timer`) because the UA core needs
the 422 rule too, for an INVITE that starts no call, and loads no call module
before the first call (see ``webvoice/_preload.py``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..util._regex import compile_regex

if TYPE_CHECKING:
    from ..syntax._message import Request, Response

__all__ = [
    "MAX_SESSION_INTERVAL", "MIN_SE_FLOOR", "min_se_value", "session_expires", "session_expires_value",
    "session_interval_refusal", "with_session_interval",
]

#: RFC 4028 4 and 5: no minimum session interval is lower than 90 seconds.
MIN_SE_FLOOR = 90
#: The largest interval a peer's Min-SE may ask of us (a day); a 422 asking
#: for more is not followed.
MAX_SESSION_INTERVAL = 86400

# Session-Expires = delta-seconds *(SEMI se-params), se-params = refresher-param / generic-param
_SESSION_EXPIRES = compile_regex(r"[ \t]*([0-9]{1,9})[ \t]*(;.*)?$")
_REFRESHER = compile_regex(r";[ \t]*refresher[ \t]*=[ \t]*(uac|uas)[ \t]*(?:;|$)", re.I)
# Min-SE = delta-seconds *(SEMI generic-param)
_MIN_SE = compile_regex(r"[ \t]*([0-9]{1,9})[ \t]*(?:;|$)")


def session_interval_refusal(request: Request, floor: int, *, to_tag: str | None = None) -> Response | None:
    """422 with ``Min-SE`` when ``request``'s Session-Expires is below ``floor``
    or below the request's own Min-SE (RFC 4028 9), else None.

    The Min-SE answered is the larger of the two, so that the UAC's retry (7.3)
    satisfies both. A Session-Expires that does not parse is no interval here
    (the session has no timer).
    """
    interval, _ = session_expires(request)
    if interval is None:
        return None
    minimum = max(floor, min(min_se_value(request) or 0, MAX_SESSION_INTERVAL))
    if interval >= minimum:
        return None
    return request.response(422, to_tag=to_tag, headers=[("Min-SE", str(minimum))])


def with_session_interval(value: str, interval: int) -> str:
    """A Session-Expires value with its delta-seconds replaced (parameters kept)."""
    _, sep, params = value.partition(";")
    return f"{interval}{sep}{params}"


def session_expires(message: Request | Response) -> tuple[int | None, str | None]:
    """Session-Expires (RFC 4028 4): delta-seconds and the refresher, or (None, None)."""
    value = message.header("Session-Expires")
    if not isinstance(value, str):
        return None, None
    return _parse_session_expires(value)


def session_expires_value(value: str) -> int | None:
    """The delta-seconds of a Session-Expires value, or None when it does not parse."""
    return _parse_session_expires(value)[0]


def _parse_session_expires(value: str) -> tuple[int | None, str | None]:
    m = _SESSION_EXPIRES.match(value)
    if m is None:
        return None, None
    refresher = _REFRESHER.search(m.group(2) or "")
    return int(m.group(1)), (refresher.group(1).lower() if refresher else None)


def min_se_value(message: Request | Response) -> int | None:
    """Min-SE's delta-seconds (RFC 4028 5), or None when absent or unreadable."""
    value = message.header("Min-SE")
    m = _MIN_SE.match(value) if isinstance(value, str) else None
    return int(m.group(1)) if m else None
