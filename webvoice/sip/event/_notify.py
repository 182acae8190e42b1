"""The NOTIFY rules of RFC 6665 that every subscription in the core shares.

One copy of how a subscriber reads a NOTIFY (Event, then Subscription-State
with its ``expires``, ``reason`` and ``retry-after``) and of how a notifier
writes its state, for both users: :class:`~._subscription.Subscription`
(SUBSCRIBE's subscriptions: dialog, presence, message-summary) and REFER's
implicit subscription (:mod:`..session._refer`). Kept apart from
:mod:`._subscription` so that a call, which needs only these rules, does not
load the subscriber machinery.
"""

from __future__ import annotations


from ..syntax import _abnf
from ..syntax._message import Request, Response
from ..util._regex import compile_regex

__all__ = ["check_notify", "int_param", "parse_subscription_state", "subscription_state"]

_STATE = compile_regex(r"\s*([A-Za-z0-9_.!%*+`'~-]+)")
_STATE_PARAM = compile_regex(r"\s*;\s*([A-Za-z0-9_.!%*+`'~-]+)\s*(?:=\s*(\"[^\"]*\"|[^;\s]*))?")


def parse_subscription_state(value: str) -> tuple[str, dict[str, str]] | None:
    """``active;expires=60`` as ("active", {"expires": "60"}); None when unreadable."""
    match = _STATE.match(value or "")
    if match is None:
        return None
    params, pos = {}, match.end()
    while pos < len(value):
        param = _STATE_PARAM.match(value, pos)
        if param is None:
            if value[pos:].strip():
                return None
            break
        params[param.group(1).lower()] = (param.group(2) or "").strip('"')
        pos = param.end()
    return match.group(1).lower(), params


def int_param(params: dict[str, str], name: str) -> int | None:
    """A Subscription-State parameter as a number (``expires``, ``retry-after``), None when
    absent or not a plain number of at most nine digits (a peer's number is bounded)."""
    return _abnf.plain_number(params.get(name, ""), 9)


def check_notify(request: Request, event: str) -> Response | tuple[str, dict[str, str]]:
    """What a subscriber makes of a NOTIFY's headers (RFC 6665 4.1.3): the state it
    gives, as :func:`parse_subscription_state` reads it, or the answer it gets
    instead: 489 Bad Event for another event package, 400 for a missing or
    unreadable Subscription-State."""
    got = request.header("Event")
    if not isinstance(got, str) or got.split(";")[0].strip().lower() != event.lower():
        return request.response(489)
    parsed = parse_subscription_state(_text(request.header("Subscription-State")))
    if parsed is None:
        return request.response(400, "Bad Subscription-State")
    return parsed


def subscription_state(state: str, *, expires: int | None = None, reason: str | None = None) -> str:
    """A Subscription-State value for a NOTIFY we send (RFC 6665 4.1.3, 8.2.3):
    ``active;expires=60``, ``terminated;reason=noresource``."""
    if state not in ("active", "pending", "terminated"):
        raise ValueError(f"Subscription-State is active, pending or terminated, not {state!r}")
    value = state
    if expires is not None and state != "terminated":
        value += f";expires={expires}"
    if reason is not None and state == "terminated":
        value += f";reason={reason}"
    return value


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
