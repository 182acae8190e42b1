"""The connection events of a :class:`~webvoice.SipInstance` and the records they pass.

Every connection event passes one of these records (see webvoice._handlers:
a handler may also take no argument).
"""

from __future__ import annotations

from .sip import record

__all__ = [
    "CONNECTION_EVENTS", "ConnectingEvent", "ConnectedEvent", "RegisteredEvent", "DisconnectedEvent",
    "ExpiringEvent", "RegistrationFailedEvent", "UnregisteredEvent",
]

CONNECTION_EVENTS = (
    "connecting", "connected", "disconnected", "registered", "registration_expiring",
    "registration_failed", "unregistered",
)


@record
class ConnectingEvent:
    """What ``connecting`` handlers get: the WebSocket is being opened to ``ws_url``;
    ``reconnecting`` is True for an attempt after a lost or refused connection."""

    ws_url: str
    reconnecting: bool = False


@record
class ConnectedEvent:
    """What ``connected`` handlers get: the WebSocket to ``ws_url`` is open."""

    ws_url: str


@record
class RegisteredEvent:
    """What ``registered`` handlers get (JS: ``{expires, contact}``)."""

    expires: int
    contact: str


@record
class DisconnectedEvent:
    """What ``disconnected`` handlers get: ``cause`` is the JS SDK's string."""

    cause: str
    code: int | None = None
    reason: str = ""


@record
class ExpiringEvent:
    """What ``registration_expiring`` handlers get."""

    expires_in: float


@record
class RegistrationFailedEvent:
    """What ``registration_failed`` handlers get: the status (None for no answer or
    no connection), the JS SDK's ``cause`` string, the reason phrase, and whether
    webvoice keeps trying by itself."""

    status_code: int | None
    cause: str
    reason: str = ""
    retrying: bool = False


@record
class UnregisteredEvent:
    """What ``unregistered`` handlers get: ``cause`` is None after ``unregister()``,
    else why the binding is gone (``"Connection Error"`` when the connection was lost)."""

    cause: str | None = None
