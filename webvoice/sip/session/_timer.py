"""Session timers (RFC 4028): a part of :class:`~._call.CallSession`.

The rules of RFC 4028 sit here with the state and the deadlines they need:
what Session-Expires we put in a re-offer we send (7.1) and in the 2xx we
answer with (9), who refreshes (the ``refresher`` parameter; 7.2/9 when it is
absent), and when the refresh is due (half the interval, 10) or the session
has expired (the interval less min(32, interval/3) seconds, 10). Both
deadlines fire in :meth:`SessionTimer.handle_timer`: the refresh asks the
offer/answer part for an UPDATE without SDP when the peer allows it, else a
re-INVITE with the same SDP; the expiry ends the call with BYE.

The floor (4, 5, 9): no interval below Min-SE is ever used. A request whose
Session-Expires is below our floor (``ctx.min_se``: 90 s unless configured
higher) or below its own Min-SE gets 422 with our Min-SE; a 422 to our INVITE
or refresh is retried with the larger interval it names (7.3, at most
:data:`MAX_INTERVAL_RETRIES` times); an interval a 2xx grants below the floor
is raised to it. Every refresh exchange (ours, the peer's, and the target
refresh sent after a reconnection) renegotiates the interval and re-arms the
timer from its own end, so a refresh goes out at most once per half interval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..syntax._causes import Cause
from ..syntax._header_values import HeaderValue
from ..syntax._message import Request, Response
from ..util._deadlines import earliest
from ._interval import (
    MAX_SESSION_INTERVAL,
    MIN_SE_FLOOR,
    min_se_value,
    session_expires,
    session_interval_refusal,
)
from ._state import CallState

if TYPE_CHECKING:
    from ._call import CallSession

__all__ = ["MAX_INTERVAL_RETRIES", "SessionTimer"]

#: How many 422s one INVITE or refresh answers before it gives up.
MAX_INTERVAL_RETRIES = 2


class SessionTimer:
    """One call's session timer: the negotiated interval, who refreshes, and when."""

    def __init__(self, session: CallSession) -> None:
        self._session = session
        self._ctx = session.ctx
        #: The negotiated interval in seconds; None: the call has no session timer.
        self.interval: int | None = None
        #: Whether we send the refreshes (else the peer does, and we watch for expiry).
        self.we_refresh = False
        self.refresh_at: float | None = None
        self.expire_at: float | None = None
        self._peer_min_se = 0  # the largest Min-SE a 422 asked of us
        self._interval_retries = 0  # 422s answered for the request in flight

    # --- headers --------------------------------------------------------------------------------

    def min_se(self) -> int:
        """This session's floor: ours, or the larger one a 422 taught us."""
        return max(self._ctx.min_se, self._peer_min_se)

    def offer_headers(self) -> list[tuple[str, HeaderValue]]:
        """Session-Expires and Min-SE for a re-INVITE/UPDATE we send (we are its UAC, 7.4)."""
        if self.interval is None:
            return []
        return [("Session-Expires", f"{self.interval};refresher={'uac' if self.we_refresh else 'uas'}"),
                ("Min-SE", str(self.min_se()))]

    def answer_headers(self, request: Request) -> list[tuple[str, HeaderValue]]:
        """Session-Expires (and Require: timer) for our 2xx to ``request`` (9)."""
        if not self._ctx.session_timers:
            return []
        interval, refresher = session_expires(request)
        if interval is None:
            return []
        interval = max(interval, self._ctx.min_se)  # below it the request got 422 instead
        if refresher is None:
            refresher = "uac" if "timer" in _option_tags(request, "Supported") else "uas"
        out: list[tuple[str, HeaderValue]] = [("Session-Expires", f"{interval};refresher={refresher}")]
        if "timer" in _option_tags(request, "Supported"):
            out.append(("Require", "timer"))
        return out

    def refusal(self, request: Request) -> Response | None:
        """The 422 a session refresh request (re-INVITE, UPDATE) must get, or None."""
        if not self._ctx.session_timers:
            return None
        return session_interval_refusal(request, self._ctx.min_se)

    def interval_after_422(self, request: Request, response: Response) -> int | None:
        """The interval to retry ``request`` with after ``response`` (its 422, RFC
        4028 7.3), or None to give up: timers off, no Session-Expires sent, no
        usable Min-SE in the 422 or no more than we asked, more than a day, or
        this request was retried enough already."""
        sent, _ = session_expires(request)
        asked = min_se_value(response)
        if not self._ctx.session_timers or sent is None or asked is None or asked <= sent:
            return None
        if asked > MAX_SESSION_INTERVAL or self._interval_retries >= MAX_INTERVAL_RETRIES:
            return None
        self._interval_retries += 1
        self._peer_min_se = asked
        return asked

    # --- negotiation and arming ---------------------------------------------------------------

    def start(self, request: Request, response: Response | None, now: float, *, uas: bool) -> None:
        """The call is up: take the interval its INVITE exchange agreed on, and arm."""
        if not self._ctx.session_timers:
            return
        interval, refresher = session_expires(response) if response is not None else (None, None)
        if interval is None:
            interval, refresher = session_expires(request)
            if interval is None:
                return
        # A 2xx granting less than the floor breaks 7.2: keep the floor, so that
        # no peer can make us refresh in a loop.
        self.interval = max(interval, self.min_se())
        # We refresh when the refresher role named is ours in this transaction.
        self.we_refresh = (refresher or "uac") == ("uas" if uas else "uac")
        self._arm(now)

    def restart(self, request: Request, response: Response | None, now: float, *,
                renegotiate: bool = True) -> None:
        """A refresh exchange ended well: renegotiate from it, then re-arm.

        ``response`` is the 2xx to a refresh we sent, or None when we answered
        the peer's ``request`` (our answer echoed its Session-Expires, raised
        to the floor). An exchange without Session-Expires keeps what we had;
        so does ``renegotiate=False`` (a re-offer the application has yet to
        answer: it only keeps our timer from firing meanwhile).
        """
        if self.interval is None:
            return
        self._interval_retries = 0
        uas = response is None
        interval, refresher = session_expires(request if response is None else response)
        if interval is not None and self._ctx.session_timers and renegotiate:
            if uas and refresher is None:
                refresher = "uac" if "timer" in _option_tags(request, "Supported") else "uas"
            self.interval = max(interval, self.min_se())
            self.we_refresh = (refresher or "uac") == ("uas" if uas else "uac")
        self._arm(now)

    def _arm(self, now: float) -> None:
        assert self.interval is not None
        interval = max(self.interval, MIN_SE_FLOOR)
        if self.we_refresh:
            self.refresh_at, self.expire_at = now + interval / 2, None
        else:
            self.refresh_at, self.expire_at = None, now + interval - min(32, interval / 3)

    # --- deadlines ---------------------------------------------------------------------------------

    def get_timer(self) -> float | None:
        return earliest(self.refresh_at, self.expire_at)

    def handle_timer(self, now: float) -> None:
        session = self._session
        if self.refresh_at is not None and now >= self.refresh_at:
            self.refresh_at = None
            if session.offers.is_ready:
                use_update = "UPDATE" in self._peer_allow()
                session.offers.reoffer(None if use_update else session.local_sdp, now,
                                       use_update=use_update, refresh=True)
        if self.expire_at is not None and now >= self.expire_at:
            self.expire_at = None
            if session.state is CallState.ESTABLISHED:
                session.hang_up(now, Cause.REQUEST_TIMEOUT, "local", 408)

    def clear_timers(self) -> None:
        self.refresh_at = self.expire_at = None

    def _peer_allow(self) -> set[str]:
        """The methods the peer said it allows (its INVITE's Allow); UPDATE when unknown."""
        invite = self._session.incoming.invite if self._session.incoming is not None else None
        allow = set(invite.header_texts("Allow")) if invite is not None else set()
        return allow or {"UPDATE"}


def _option_tags(message: Request | Response, name: str) -> set[str]:
    return {t.lower() for t in message.header_texts(name) if t}
