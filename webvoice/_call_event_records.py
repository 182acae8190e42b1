"""The call events and the records they pass to the application's handlers.

One argument per event, always: a small frozen record saying what happened,
with the JS SDK's field names in snake_case (``originator``, ``status_code``).
Here too: the names of the call events (:data:`CALL_EVENTS`), the check of an
``events`` dict, the parties of a call (:class:`Identity`) and the answers of
``is_on_hold()`` / ``is_muted()``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import field
from typing import Any

from ._media_health import MEDIA_EVENTS
from .sip import NameAddr, record

__all__ = ["CALL_EVENTS", "CallConnectingEvent", "ConfirmedEvent", "DtmfEvent", "EndEvent", "HoldEvent",
           "HoldState", "IceCandidateEvent", "Identity", "MuteEvent", "MuteState", "ProgressEvent",
           "ReplacesEvent", "SdpEvent", "check_call_events", "event_name"]

CALL_EVENTS = (
    "connecting", "progress", "confirmed", "ended", "failed", "muted", "unmuted", "held", "unheld",
    "new_dtmf", "refer", "replaces", "icecandidate", "sdp", "message", *MEDIA_EVENTS,
    "warning", "warning_cleared",
)
# JavaScript spellings accepted too, so code ported from the JS SDK keeps working.
_JS_NAMES = {"newDTMF": "new_dtmf"}


def event_name(name: str) -> str:
    """The Python name of call event ``name`` (a JS spelling accepted); ValueError if unknown."""
    name = _JS_NAMES.get(name, name)
    if name not in CALL_EVENTS:
        raise ValueError(f"unknown call event {name!r}; known: {', '.join(CALL_EVENTS)}")
    return name


def check_call_events(events: Mapping[str, Any] | None) -> None:
    """Raise TypeError/ValueError for a bad ``events`` dict (name to a handler or a
    list of handlers), before a call starts."""
    if events is None:
        return
    if not isinstance(events, Mapping):
        raise TypeError("call events are a dict of event name to handler")
    for name, handler in events.items():
        event_name(name)
        for one in handlers_of(handler):
            if not callable(one):
                raise TypeError(f"the handler for {name!r} must be callable")


def handlers_of(value: Any) -> tuple[Callable[..., Any], ...]:
    """An ``events`` dict's value: one handler, or a list or tuple of them."""
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


@record
class Identity:
    """A party of a call: ``uri`` (a string, as JsSIP's ``uri.toString()``) and ``display_name``."""

    uri: str
    display_name: str | None = None

    @classmethod
    def of(cls, name_addr: NameAddr | None) -> Identity | None:
        return None if name_addr is None else cls(str(name_addr.uri), name_addr.display_name)

    def __str__(self) -> str:
        return self.uri if not self.display_name else f'"{self.display_name}" <{self.uri}>'


@record
class EndEvent:
    """What ``ended`` and ``failed`` handlers get."""

    cause: str
    originator: str
    status_code: int | None = None
    reason: str = ""


@record
class DtmfEvent:
    """What ``new_dtmf`` handlers get (JS: ``event.dtmf.tone``, ``.duration``)."""

    tone: str
    duration: int
    originator: str = "remote"

    @property
    def dtmf(self) -> DtmfEvent:  # JS code reads event.dtmf.tone
        return self


@record
class HoldEvent:
    """What ``held`` / ``unheld`` handlers get: who put the call on hold ("local" or "remote")."""

    originator: str


@record
class HoldState:
    """``is_on_hold()``: who holds the call; true when anyone does."""

    local: bool
    remote: bool

    def __bool__(self) -> bool:
        return self.local or self.remote


@record
class MuteState:
    """``is_muted()``: JS returns ``{audio, video}``; true when audio is muted."""

    audio: bool
    video: bool = False

    def __bool__(self) -> bool:
        return self.audio


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
