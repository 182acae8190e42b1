"""A subscription's states and their moves, its waits, and what it reports (RFC 6665).

The subscriber's machine (:mod:`._subscription`) moves only along
:data:`SUBSCRIPTION_TRANSITIONS`; when to refresh (:func:`refresh_delay`,
which publications use too) and how long to wait before trying again are
numbers here, beside the statuses and ``reason`` values that decide whether
another try may succeed. The two events are what the application sees.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from ..util._record import record

if TYPE_CHECKING:
    from ..syntax._message import Request
    from ._subscription import Subscription

__all__ = [
    "PASSING_STATUSES",
    "RETRY_FIRST",
    "RETRY_MAX",
    "RETRY_REASONS",
    "SUBSCRIPTION_TRANSITIONS",
    "SubState",
    "SubscriptionEnded",
    "SubscriptionNotified",
    "refresh_delay",
]

#: Waits between attempts after a failure that may pass (seconds): doubled
#: from the first to the last, then kept (RFC 6665 4.1.2.4 leaves it to us).
RETRY_FIRST, RETRY_MAX = 5.0, 300.0
#: ``reason`` values of ``Subscription-State: terminated`` after which a new
#: subscription may succeed (RFC 6665 4.1.3); the others are final.
RETRY_REASONS = frozenset({"deactivated", "timeout", "probation", "giveup", ""})
#: Final statuses worth another try later; every other >= 300 is final.
PASSING_STATUSES = frozenset({408, 480, 500, 503, 504})


class SubState(enum.Enum):
    SUBSCRIBING = "subscribing"  # SUBSCRIBE sent, nothing from the notifier yet
    PENDING = "pending"  # the notifier has not authorised us yet
    ACTIVE = "active"
    WAITING = "waiting"  # between attempts (retry timer, or the connection is down)
    UNSUBSCRIBING = "unsubscribing"  # Expires: 0 sent, waiting for the final NOTIFY
    TERMINATED = "terminated"


_S = SubState
#: Which state may follow which (anything may end in TERMINATED).
SUBSCRIPTION_TRANSITIONS: dict[SubState, frozenset[SubState]] = {
    _S.SUBSCRIBING: frozenset({_S.PENDING, _S.ACTIVE, _S.WAITING, _S.UNSUBSCRIBING}),
    _S.PENDING: frozenset({_S.PENDING, _S.ACTIVE, _S.WAITING, _S.UNSUBSCRIBING}),
    _S.ACTIVE: frozenset({_S.PENDING, _S.ACTIVE, _S.WAITING, _S.UNSUBSCRIBING}),
    _S.WAITING: frozenset({_S.SUBSCRIBING, _S.WAITING}),
    _S.UNSUBSCRIBING: frozenset({_S.UNSUBSCRIBING}),
    _S.TERMINATED: frozenset(),
}


def refresh_delay(expires: float) -> float:
    """When to refresh a subscription granted for ``expires`` seconds.

    Long enough before expiry that a refresh answered only at the last moment
    of its transaction (Timer F, 32 s) still lands in time; half-way for short
    grants.
    """
    return expires - 32.0 if expires >= 64 else expires / 2


@record
class SubscriptionNotified:
    """A NOTIFY we accepted: the state it gave, and its body for the package to read."""

    subscription: "Subscription"
    state: str
    body: bytes
    content_type: str | None
    request: Request


@record
class SubscriptionEnded:
    """The subscription stopped: ``will_retry`` says whether a new attempt is scheduled.

    ``status_code`` is the final status that ended it (None for a NOTIFY's
    ``terminated``, a timeout or a lost connection); ``reason`` the notifier's
    reason or our own words.
    """

    subscription: "Subscription"
    reason: str
    status_code: int | None
    will_retry: bool
