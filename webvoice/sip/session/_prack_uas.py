"""Sending provisional responses reliably, and taking their PRACKs (RFC 3262 3).

When the caller supports 100rel, a provisional response of ours can be made
reliable: it carries ``Require: 100rel`` and an ``RSeq`` (a random start,
then one more for each), is retransmitted at T1, 2*T1, 4*T1... until a PRACK
names it (``RAck: <RSeq> <CSeq-num> INVITE``), and is given up after 64*T1
(the session then refuses the INVITE with a 5xx, as 3 says it SHOULD).

:class:`ReliableProvisionals` is a part the incoming call session owns
(``session.reliable``), with its own state and deadlines (``get_timer`` /
``handle_timer`` / ``clear_timers``, as the other timed parts). It sends
through the incoming part (:class:`~._incoming.IncomingInvite`), which
decides what to do when a PRACK never comes. Its rules, from RFC 3262 3:

* one reliable 1xx unacknowledged at a time: a later one waits for the PRACK;
* a PRACK matching the unacknowledged 1xx is answered 200; any other PRACK
  (an RSeq already acknowledged, a stranger's RAck) 481, one without RAck 400;
* a 2xx to the INVITE is not sent while a 1xx carrying SDP is unacknowledged
  (:attr:`awaiting_prack`: the session holds its 200 until then), because
  that SDP is an offer or answer whose exchange the PRACK completes;
* once a final response is sent (:meth:`stop`), nothing is retransmitted.

Which 1xx the session sends reliably is its policy (see
:meth:`~._incoming.IncomingInvite.ring` and :meth:`~._incoming.IncomingInvite.progress`): every one when the caller requires 100rel; a
183 with early media whenever the caller supports it.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from ..syntax._message import Request, Response
from ..util._deadlines import earliest
from ..util._record import record
from ._common import sdp_of

__all__ = ["PrackReceived", "ReliableProvisionals", "peer_100rel"]

#: The largest RSeq we start from: room for 2**16 reliable 1xx before 2**31-1,
#: which RSeq must never pass (RFC 3262 3: it does not wrap around).
_MAX_FIRST_RSEQ = 2**31 - 1 - 2**16


def peer_100rel(invite: Request) -> tuple[bool, bool]:
    """(supported, required): whether ``invite`` names 100rel in Supported or in Require."""
    def tags(name: str) -> set[str]:
        return {tag.lower() for tag in invite.header_texts(name)}

    required = "100rel" in tags("Require")
    return required or "100rel" in tags("Supported"), required


@record
class PrackReceived:
    """A PRACK that acknowledged ``provisional``; ``sdp`` is the body it carried
    (the answer to an offer in that 1xx), if any."""

    provisional: Response
    sdp: str | None


class ReliableProvisionals:
    """The reliable 1xx of one incoming INVITE (see the module doc).

    ``transmit(response, now)`` puts a response on the wire in the INVITE's
    server transaction; ``give_up(now)`` is called when a 1xx was never
    PRACKed in 64*T1 (pass bound methods, not closures: a deep copy of the
    owner then carries its own). ``rng`` picks the first RSeq (tests pass a
    seeded one).
    """

    __slots__ = ("_invite", "_cseq", "_t1", "_transmit", "_give_up", "supported", "required", "_next_rseq",
                 "_unacked", "_queue", "_interval", "_resend_at", "_give_up_at", "_stopped")

    def __init__(self, invite: Request, *, t1: float, transmit: Callable[[Response, float], None],
                 give_up: Callable[[float], None], rng: random.Random | None = None) -> None:
        assert invite.cseq is not None, "a parsed INVITE has a CSeq"
        self._invite = invite
        self._cseq = invite.cseq.seq
        self._t1 = t1
        self._transmit = transmit
        self._give_up = give_up
        self.supported, self.required = peer_100rel(invite)
        self._next_rseq = (rng or random.SystemRandom()).randint(1, _MAX_FIRST_RSEQ)
        self._unacked: Response | None = None
        self._queue: list[Response] = []
        self._interval = t1
        self._resend_at: float | None = None
        self._give_up_at: float | None = None
        self._stopped = False

    @property
    def awaiting_prack(self) -> bool:
        """Whether a 2xx must wait: a 1xx carrying SDP is not acknowledged yet (3)."""
        pending = self._queue if self._unacked is None else [self._unacked, *self._queue]
        return any(sdp_of(r) is not None for r in pending)

    @property
    def unacknowledged(self) -> Response | None:
        return self._unacked

    def send(self, response: Response, now: float) -> None:
        """Send ``response`` (a 101-199 of the INVITE) reliably, or queue it behind
        the one still waiting for its PRACK."""
        if not 101 <= response.status_code <= 199:
            raise ValueError(f"only a 101-199 is sent reliably, not {response.status_code}")
        if self._stopped:
            raise RuntimeError("the INVITE has its final response: no provisional response follows it")
        if self._unacked is not None:
            self._queue.append(response)
            return
        self._send_now(response, now)

    def _send_now(self, response: Response, now: float) -> None:
        headers = response.headers.remove("Require").remove("RSeq")
        requires = [t for t in response.header_texts("Require") if t.lower() != "100rel"]
        for tag in (*requires, "100rel"):
            headers = headers.add("Require", tag)
        response = response.replace(headers=headers.add("RSeq", str(self._next_rseq)))
        self._next_rseq += 1
        self._unacked = response
        self._interval = self._t1
        self._resend_at = now + self._interval
        self._give_up_at = now + 64 * self._t1
        self._transmit(response, now)

    def receive_prack(self, request: Request, now: float,
                      answer: Callable[[Response], None]) -> PrackReceived | None:
        """A PRACK in the INVITE's dialog: ``answer`` gets its response (200, 481
        or 400) before a queued 1xx goes out; returns what it acknowledged
        (``None`` when it matched nothing)."""
        rack = request.header_text("RAck")
        if rack is None:
            answer(request.response(400, "Missing RAck"))
            return None
        unacked = self._unacked
        if unacked is None or not self._matches(rack, unacked):
            answer(request.response(481, "No Matching Provisional Response"))
            return None
        self._unacked = None
        self._resend_at = self._give_up_at = None
        answer(request.response(200))
        if self._queue and not self._stopped:
            self._send_now(self._queue.pop(0), now)
        return PrackReceived(unacked, sdp_of(request))

    def _matches(self, rack: str, response: Response) -> bool:
        try:
            rseq, cseq, method = rack.split()
            return int(rseq) == response.header("RSeq") and int(cseq) == self._cseq and method == "INVITE"
        except ValueError:  # the parser checked its shape; be safe anyway
            return False

    def stop(self) -> None:
        """The INVITE got its final response: stop retransmitting, forget the queue."""
        self._stopped = True
        self._queue.clear()
        self._resend_at = self._give_up_at = None

    def get_timer(self) -> float | None:
        return earliest(self._resend_at, self._give_up_at)

    def handle_timer(self, now: float) -> None:
        """Retransmit what is due; when the PRACK never came (64*T1), stop and
        call ``give_up``: the INVITE is then refused with a 5xx."""
        if self._give_up_at is not None and now >= self._give_up_at:
            self.stop()
            self._give_up(now)
            return
        if self._resend_at is not None and now >= self._resend_at and self._unacked is not None:
            self._transmit(self._unacked, now)
            self._interval *= 2
            self._resend_at = now + self._interval

    def clear_timers(self) -> None:
        """The call is over: as :meth:`stop`."""
        self.stop()

    def __repr__(self) -> str:
        rseq = None if self._unacked is None else self._unacked.header("RSeq")
        return f"<ReliableProvisionals unacked RSeq={rseq} queued={len(self._queue)}>"
