"""The records call events pass to the application's handlers (those new with
"every event carries an event"; ``EndEvent``, ``DtmfEvent`` and ``HoldEvent``
live with :class:`~webvoice._calls.Call`).

One argument per event, always: a small frozen record saying what happened,
with the JS SDK's field names in snake_case (``originator``, ``status_code``).
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from .sip.util._record import record

__all__ = ["CallConnectingEvent", "ProgressEvent", "ConfirmedEvent", "MuteEvent", "ReplacesEvent",
           "IceCandidateEvent", "SdpEvent"]


# Every call event passes exactly one argument: one of these records (or, for
# "refer", a ReferRequest to accept or reject). A handler may take none.


@record
class CallConnectingEvent:
    """What ``connecting`` handlers get: an outgoing call is starting (the
    microphone and the offer come next, then the INVITE)."""

    originator: str = "local"


@record
class ProgressEvent:
    """What ``progress`` handlers get: a provisional answer (180 Ringing, 183 Session
    Progress); ``early_media`` when it carries the callee's SDP."""

    originator: str
    status_code: int
    reason: str = ""
    early_media: bool = False
    response: Any = field(default=None, repr=False, compare=False)


@record
class ConfirmedEvent:
    """What ``confirmed`` handlers get: the call is up (``originator`` "remote" when
    the callee answered our call, "local" when we answered theirs)."""

    originator: str


@record
class MuteEvent:
    """What ``muted`` / ``unmuted`` handlers get (JS: ``{audio, video}``)."""

    audio: bool = True
    video: bool = False


@record
class ReplacesEvent:
    """What ``replaces`` handlers get: ``new_call`` takes this call's place (RFC 3891)."""

    new_call: Any = field(repr=False)


@record
class IceCandidateEvent:
    """What ``icecandidate`` handlers get: a local ICE candidate line and its m= section id."""

    candidate: str
    sdp_mid: str | None = None


@record
class SdpEvent:
    """What ``sdp`` handlers get: an SDP sent or received (``type``: "offer",
    "answer" or "pranswer"; ``originator``: "local" or "remote")."""

    originator: str
    type: str
    sdp: str = field(repr=False)
