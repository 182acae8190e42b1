"""What a call session tells the driver (and, through it, the application).

Offer/answer needs the browser, which answers asynchronously, so the session
never makes SDP: it reports what arrived (``RemoteOffer``, ``RemoteAnswer``,
``CallProgress`` with early media) and waits for the driver to hand it the
local description (``accept(sdp)``, ``answer_offer(sdp)``, ``reoffer(sdp)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..syntax._message import Request, Response
from ..util._record import record

if TYPE_CHECKING:
    from ._call import CallSession

__all__ = [
    "IncomingCall", "CallProgress", "CallConfirmed", "CallFailed", "CallEnded", "RemoteOffer",
    "RemoteAnswer", "ReofferAnswered", "ReofferFailed", "RemoteHold", "DtmfReceived", "InfoReceived",
    "ReferReceived", "ReferProgress", "CallEvent",
]


@record
class IncomingCall:
    """A new INVITE; ``offer`` is its SDP (None: we must offer in the 200)."""

    session: "CallSession"
    request: Request
    offer: str | None
    #: The session this call replaces (an INVITE with Replaces, RFC 3891), if any.
    replaces: "CallSession | None" = None


@record
class CallProgress:
    """A provisional response to our INVITE; ``sdp`` is early media (183) if any."""

    session: "CallSession"
    response: Response
    sdp: str | None


@record
class CallConfirmed:
    """The call is up: a 2xx arrived (outgoing) or the ACK did (incoming).

    ``sdp`` is the remote description that came with it: the answer in the 2xx,
    or the answer in the ACK when we offered in our 200. None if none came.
    """

    session: "CallSession"
    sdp: str | None


@record
class CallFailed:
    """The call never came up. ``cause`` is the JS SDK string."""

    session: "CallSession"
    cause: str
    status_code: int | None = None
    reason: str = ""
    originator: str = "remote"


@record
class CallEnded:
    """An established call is over (``cause`` "Bye", "Terminated", ...)."""

    session: "CallSession"
    cause: str
    originator: str
    status_code: int | None = None


@record
class RemoteOffer:
    """The peer re-offers (re-INVITE or UPDATE). The driver answers with
    ``session.answer_offer(sdp)`` (an answer; or an offer when ``sdp`` is None)
    or refuses with ``session.reject_offer(488)``."""

    session: "CallSession"
    sdp: str | None
    method: str


@record
class RemoteAnswer:
    """The answer to an offer we made in a 200 (it came in the ACK)."""

    session: "CallSession"
    sdp: str


@record
class ReofferAnswered:
    """Our re-INVITE/UPDATE was accepted. ``refresh`` marks a session-timer
    refresh that re-sent the last SDP, whose answer needs no media work."""

    session: "CallSession"
    sdp: str | None
    refresh: bool = False


@record
class ReofferFailed:
    """Our re-INVITE/UPDATE was refused; the call goes on as it was."""

    session: "CallSession"
    status_code: int | None
    cause: str


@record
class RemoteHold:
    """The peer put us on hold (``held``) or resumed."""

    session: "CallSession"
    held: bool


@record
class DtmfReceived:
    """A DTMF tone in a SIP INFO (``application/dtmf-relay`` or ``application/dtmf``)."""

    session: "CallSession"
    tone: str
    duration: int


@record
class InfoReceived:
    """Any other INFO, already answered 200."""

    session: "CallSession"
    content_type: str | None
    body: bytes


@record
class ReferReceived:
    """The peer asks us to call ``refer_to`` (RFC 3515). The driver answers with
    ``session.accept_refer(now)`` or ``session.reject_refer(status, now)``, then
    reports the new call's progress with ``session.notify_refer(...)``."""

    session: "CallSession"
    refer_to: object  # NameAddr
    referred_by: object | None
    request: Request


@record
class ReferProgress:
    """How the call we asked the peer to make is going (NOTIFY message/sipfrag),
    or the REFER itself was refused (``refused``)."""

    session: "CallSession"
    status_code: int
    reason: str
    final: bool
    refused: bool = False


CallEvent = (
    IncomingCall | CallProgress | CallConfirmed | CallFailed | CallEnded | RemoteOffer | RemoteAnswer
    | ReofferAnswered | ReofferFailed | RemoteHold | DtmfReceived | InfoReceived | ReferReceived | ReferProgress
)
