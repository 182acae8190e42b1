"""Session timers (RFC 4028) for :class:`~._call.CallSession`.

A mixin, so that the rules of RFC 4028 sit in one place: what Session-Expires
we put in a re-offer we send (7.1) and in the 2xx we answer with (9), who
refreshes (the ``refresher`` parameter; 7.2/9 when it is absent), and when
the refresh is due (half the interval, 10) or the session has expired (the
interval less min(32, interval/3) seconds, 10). The timer itself fires from
``CallSession.handle_timer``, which sends the refresh (UPDATE without SDP when
the peer allows it, else a re-INVITE with the same SDP) or the BYE.

The state it keeps lives on the session (``_session_interval``,
``_we_refresh``, ``_refresh_at``, ``_expire_at``; see ``CallSession.__init__``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._headers import HeaderValue
    from ._message import Request, Response

__all__ = ["SessionTimerMethods"]


class SessionTimerMethods:
    """RFC 4028 session timers: negotiation and arming (mixed into CallSession)."""

    def _session_timer_offer(self) -> list[tuple[str, HeaderValue]]:
        """Session-Expires for a re-INVITE/UPDATE we send (we are its UAC)."""
        if self._session_interval is None:
            return []
        return [("Session-Expires", f"{self._session_interval};refresher={'uac' if self._we_refresh else 'uas'}")]

    def _session_timer_answer(self, request: Request) -> list[tuple[str, HeaderValue]]:
        if not self.ctx.session_timers:
            return []
        interval, refresher = _session_expires(request)
        if interval is None:
            return []
        if refresher is None:
            refresher = "uac" if "timer" in _option_tags(request, "Supported") else "uas"
        out: list[tuple[str, HeaderValue]] = [("Session-Expires", f"{interval};refresher={refresher}")]
        if "timer" in _option_tags(request, "Supported"):
            out.append(("Require", "timer"))
        return out

    def _start_session_timer(self, request: Request, response: Response | None, now: float, *, uas: bool) -> None:
        if not self.ctx.session_timers:
            return
        interval, refresher = _session_expires(response) if response is not None else (None, None)
        if interval is None:
            interval, refresher = _session_expires(request)
            if interval is None:
                return
        self._session_interval = interval
        # We refresh when the refresher role named is ours in this transaction.
        we_are = "uas" if uas else "uac"
        self._we_refresh = (refresher or "uac") == we_are
        self._arm_session_timer(now)

    def _restart_session_timer(self, request: Request, response: Response | None, now: float) -> None:
        if self._session_interval is not None:
            self._arm_session_timer(now)

    def _arm_session_timer(self, now: float) -> None:
        interval = self._session_interval
        if self._we_refresh:
            self._refresh_at, self._expire_at = now + interval / 2, None
        else:
            self._refresh_at, self._expire_at = None, now + interval - min(32, interval / 3)

    def _peer_allow(self) -> set[str]:
        message = self._invite if self.direction == "incoming" else None
        allow = set(message.header_all("Allow")) if message is not None else set()
        return allow or {"UPDATE"}


def _session_expires(message: Request | Response) -> tuple[int | None, str | None]:
    value = message.header("Session-Expires")
    if not isinstance(value, str):
        return None, None
    m = re.match(r"\s*([0-9]{1,9})\s*(.*)$", value)
    if m is None:
        return None, None
    refresher = re.search(r"refresher\s*=\s*(uac|uas)", m.group(2), re.I)
    return int(m.group(1)), (refresher.group(1).lower() if refresher else None)


def _option_tags(message: Request | Response, name: str) -> set[str]:
    return {t.lower() for t in message.header_all(name) if t}
