"""Session timers (RFC 4028) for :class:`~._call.CallSession`.

A mixin, so that the rules of RFC 4028 sit in one place: what Session-Expires
we put in a re-offer we send (7.1) and in the 2xx we answer with (9), who
refreshes (the ``refresher`` parameter; 7.2/9 when it is absent), and when
the refresh is due (half the interval, 10) or the session has expired (the
interval less min(32, interval/3) seconds, 10). The timer itself fires from
``CallSession.handle_timer``, which sends the refresh (UPDATE without SDP when
the peer allows it, else a re-INVITE with the same SDP) or the BYE.

The floor (4, 5, 9): no interval below Min-SE is ever used. A request whose
Session-Expires is below our floor (``ctx.min_se``: 90 s unless configured
higher) or below its own Min-SE gets 422 with our Min-SE; a 422 to our INVITE
or refresh is retried with the larger interval it names (7.3, at most
:data:`MAX_INTERVAL_RETRIES` times); an interval a 2xx grants below the floor
is raised to it. Every refresh exchange (ours, the peer's, and the target
refresh sent after a reconnection) renegotiates the interval and re-arms the
timer from its own end, so a refresh goes out at most once per half interval.

The state it keeps lives on the session (``_session_interval``,
``_we_refresh``, ``_refresh_at``, ``_expire_at``, ``_peer_min_se``,
``_interval_retries``; see ``CallSession.__init__``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._interval import (
    MAX_SESSION_INTERVAL,
    MIN_SE_FLOOR,
    min_se_value,
    session_expires,
    session_interval_refusal,
)

if TYPE_CHECKING:
    from ..syntax._headers import HeaderValue
    from ..syntax._message import Request, Response

__all__ = ["MAX_INTERVAL_RETRIES", "SessionTimerMethods"]

#: How many 422s one INVITE or refresh answers before it gives up.
MAX_INTERVAL_RETRIES = 2


class SessionTimerMethods:
    """RFC 4028 session timers: negotiation and arming (mixed into CallSession)."""

    def _min_se(self) -> int:
        """This session's floor: ours, or the larger one a 422 taught us."""
        return max(self.ctx.min_se, self._peer_min_se)

    def _session_timer_offer(self) -> list[tuple[str, HeaderValue]]:
        """Session-Expires and Min-SE for a re-INVITE/UPDATE we send (we are its UAC, 7.4)."""
        if self._session_interval is None:
            return []
        return [("Session-Expires", f"{self._session_interval};refresher={'uac' if self._we_refresh else 'uas'}"),
                ("Min-SE", str(self._min_se()))]

    def _session_interval_refusal(self, request: Request) -> Response | None:
        """The 422 a session refresh request (re-INVITE, UPDATE) must get, or None."""
        if not self.ctx.session_timers:
            return None
        return session_interval_refusal(request, self.ctx.min_se)

    def _interval_after_422(self, request: Request, response: Response) -> int | None:
        """The interval to retry ``request`` with after ``response`` (its 422, RFC
        4028 7.3), or None to give up: timers off, no Session-Expires sent, no
        usable Min-SE in the 422 or no more than we asked, more than a day, or
        this request was retried enough already."""
        sent, _ = session_expires(request)
        asked = min_se_value(response)
        if not self.ctx.session_timers or sent is None or asked is None or asked <= sent:
            return None
        if asked > MAX_SESSION_INTERVAL or self._interval_retries >= MAX_INTERVAL_RETRIES:
            return None
        self._interval_retries += 1
        self._peer_min_se = asked
        return asked

    def _session_timer_answer(self, request: Request) -> list[tuple[str, HeaderValue]]:
        if not self.ctx.session_timers:
            return []
        interval, refresher = session_expires(request)
        if interval is None:
            return []
        interval = max(interval, self.ctx.min_se)  # below it the request got 422 instead
        if refresher is None:
            refresher = "uac" if "timer" in _option_tags(request, "Supported") else "uas"
        out: list[tuple[str, HeaderValue]] = [("Session-Expires", f"{interval};refresher={refresher}")]
        if "timer" in _option_tags(request, "Supported"):
            out.append(("Require", "timer"))
        return out

    def _start_session_timer(self, request: Request, response: Response | None, now: float, *, uas: bool) -> None:
        if not self.ctx.session_timers:
            return
        interval, refresher = session_expires(response) if response is not None else (None, None)
        if interval is None:
            interval, refresher = session_expires(request)
            if interval is None:
                return
        # A 2xx granting less than the floor breaks 7.2: keep the floor, so that
        # no peer can make us refresh in a loop.
        self._session_interval = max(interval, self._min_se())
        # We refresh when the refresher role named is ours in this transaction.
        we_are = "uas" if uas else "uac"
        self._we_refresh = (refresher or "uac") == we_are
        self._arm_session_timer(now)

    def _restart_session_timer(self, request: Request, response: Response | None, now: float, *,
                               renegotiate: bool = True) -> None:
        """A refresh exchange ended well: renegotiate from it, then re-arm.

        ``response`` is the 2xx to a refresh we sent, or None when we answered
        the peer's ``request`` (our answer echoed its Session-Expires, raised
        to the floor). An exchange without Session-Expires keeps what we had;
        so does ``renegotiate=False`` (a re-offer the application has yet to
        answer: it only keeps our timer from firing meanwhile).
        """
        if self._session_interval is None:
            return
        self._interval_retries = 0
        uas = response is None
        interval, refresher = session_expires(request if uas else response)
        if interval is not None and self.ctx.session_timers and renegotiate:
            if uas and refresher is None:
                refresher = "uac" if "timer" in _option_tags(request, "Supported") else "uas"
            self._session_interval = max(interval, self._min_se())
            self._we_refresh = (refresher or "uac") == ("uas" if uas else "uac")
        self._arm_session_timer(now)

    def _arm_session_timer(self, now: float) -> None:
        interval = max(self._session_interval, MIN_SE_FLOOR)
        if self._we_refresh:
            self._refresh_at, self._expire_at = now + interval / 2, None
        else:
            self._refresh_at, self._expire_at = None, now + interval - min(32, interval / 3)

    def _peer_allow(self) -> set[str]:
        message = self._invite if self.direction == "incoming" else None
        allow = set(message.header_all("Allow")) if message is not None else set()
        return allow or {"UPDATE"}


def _option_tags(message: Request | Response, name: str) -> set[str]:
    return {t.lower() for t in message.header_all(name) if t}
