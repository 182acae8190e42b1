"""Watching others (beyond the JS SDK): busy lamps (RFC 4235) on the core's subscriptions.

Each ``watch_*`` method starts one subscription of the core
(:mod:`webvoice.sip._subscription`, which refreshes it, retries it and
subscribes again after a reconnect by itself) and returns a :class:`Watch`
to stop it. This module reads the NOTIFY bodies with the package's parser
and calls the application's handler with a small event when what it shows
changes. The core modules load on the first watch.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Callable

from ._handlers import call_handler
from ._targets import normalize_target
from .sip._record import record

__all__ = ["LineEvent", "PresenceMethods", "Watch"]

log = logging.getLogger("webvoice")

_SUBSCRIPTIONS = "webvoice.sip._subscription"
#: How long each subscription is asked for (seconds); the core refreshes it before then.
WATCH_EXPIRES = 600


@record
class LineEvent:
    """What a watched line shows now (``watch_line``).

    ``state``: ``"trying"``, ``"proceeding"``, ``"early"`` (ringing),
    ``"confirmed"`` (talking), ``"terminated"`` (idle: no call, or the last one
    ended), or ``"unknown"`` when the server refused the watch for good
    (``reason`` says why). ``direction`` is ``"initiator"`` (the watched user
    called) or ``"recipient"``, and ``remote`` / ``remote_display`` the other
    party, when the server tells.
    """

    target: str
    state: str
    direction: str | None = None
    remote: str | None = None
    remote_display: str | None = None
    reason: str | None = None


class Watch:
    """One watch the application started: ``stop()`` ends it (the subscription is ended politely)."""

    def __init__(self, instance: Any, kind: str, target: str, handler: Callable) -> None:
        self._instance = instance
        self.kind = kind
        self.target = target
        self._handler = handler
        self._subscription: Any = None
        self._stopped = False
        self._last: tuple | None = None
        self._state: Any = None  # the package's memory (a LineState for lines)

    def __repr__(self) -> str:
        return f"<Watch {self.kind} {self.target}{' stopped' if self._stopped else ''}>"

    @property
    def active(self) -> bool:
        """False once stopped, or once the server refused it for good."""
        return not self._stopped and self._subscription is not None and not self._subscription.is_terminated

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        instance, sub = self._instance, self._subscription
        instance._run_core(lambda now: instance._ua.unsubscribe(sub, now))

    def _emit(self, event: object) -> None:
        call_handler(self._handler, event, what=f"the {self.kind} watch handler")


class PresenceMethods:
    """``watch_line`` (mixed into SipInstance, which owns the core and sets ``_watches``)."""

    _watches: dict

    def watch_line(self, target: str, handler: Callable) -> Watch:
        """Watch ``target``'s line (busy lamp field): ``handler(LineEvent)`` at once
        with its current state, then on each change (ringing, talking, idle).

        A dialog-event subscription (RFC 4235) that webvoice refreshes and
        renews by itself, also across reconnects, until ``watch.stop()``.
        Returns the :class:`Watch`. A bad target raises ``ValueError`` at once.
        """
        from .sip._dialog_info import CONTENT_TYPE, LineState

        watch = self._start_watch("line", target, handler, "dialog", (CONTENT_TYPE,))
        watch._state = LineState()
        return watch

    # --- inside ------------------------------------------------------------------------------

    def _start_watch(self, kind: str, target: str, handler: Callable, event: str, accept: tuple[str, ...]) -> Watch:
        if not callable(handler):
            raise TypeError(f"watch_{kind} takes a callable handler")
        uri = normalize_target(target, self._settings.domain)
        watch = Watch(self, kind, str(uri), handler)

        def start(now: float) -> None:
            watch._subscription = self._ua.subscribe(uri, event, accept, now, expires=WATCH_EXPIRES)
            self._watches[watch._subscription] = watch

        self._run_core(start)
        return watch

    def _deliver_subscription_event(self, event: object) -> bool:
        """Handle a core subscription event; False for any other event."""
        core = sys.modules.get(_SUBSCRIPTIONS)
        if core is None:
            return False
        if isinstance(event, core.SubscriptionNotified):
            watch = self._watches.get(event.subscription)
            if watch is not None and not watch._stopped:
                getattr(self, f"_on_{watch.kind}_notify")(watch, event)
            return True
        if isinstance(event, core.SubscriptionEnded):
            watch = self._watches.get(event.subscription)
            if watch is None:
                return True
            if event.will_retry:
                if watch._state is not None and hasattr(watch._state, "reset"):
                    watch._state.reset()
            else:
                del self._watches[event.subscription]
                if not watch._stopped:
                    log.warning("webvoice: watching %s of %s ended: %s", watch.kind, watch.target, event.reason)
                    watch._emit(LineEvent(watch.target, "unknown", reason=event.reason))
            return True
        return False

    def _on_line_notify(self, watch: Watch, event: Any) -> None:
        from .sip._dialog_info import parse_dialog_info

        if not event.body:
            # No document: nothing is known of any call, the line is idle
            # (Kamailio says so with an empty NOTIFY before anything was published).
            if event.state == "active" and watch._last is None:
                watch._last = ("terminated", None)
                watch._emit(LineEvent(watch.target, "terminated"))
            return
        try:
            info = parse_dialog_info(event.body)
        except ValueError as exc:
            log.warning("webvoice: unreadable dialog-info for %s: %s", watch.target, exc)
            return
        line = watch._state
        if not line.apply(info):
            return
        lamp = line.lamp()
        key = ("terminated", None) if lamp is None else (lamp.state, lamp.id)
        if key != watch._last:
            watch._last = key
            if lamp is None:
                watch._emit(LineEvent(watch.target, "terminated"))
            else:
                watch._emit(LineEvent(watch.target, lamp.state, lamp.direction, lamp.remote, lamp.remote_display))
        line.forget_ended()
