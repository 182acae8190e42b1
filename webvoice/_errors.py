"""The exceptions webvoice raises to applications."""

from __future__ import annotations

__all__ = ["WebVoiceError", "RegistrationError", "UnregisterError", "NotConnectedError", "TransferError",
           "MessageError", "PresenceError"]


class WebVoiceError(Exception):
    """Base class of webvoice's own errors (bad arguments raise ValueError/TypeError)."""


class RegistrationError(WebVoiceError):
    """``register()`` ended without a binding.

    ``status_code`` is the registrar's final status (None for a timeout or a
    connection failure) and ``cause`` the JS SDK's cause string.
    """

    def __init__(self, message: str, *, status_code: int | None, cause: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.cause = cause

    def __repr__(self) -> str:
        return f"RegistrationError({str(self)!r}, status_code={self.status_code!r}, cause={self.cause!r})"


class UnregisterError(RegistrationError):
    """``unregister()`` got no confirmation (2xx) from the registrar.

    ``status_code`` is the registrar's refusal, or None when it did not answer
    (``cause`` "Request Timeout") or the connection failed or was down
    ("Connection Error"). ``still_registered`` is what ``is_registered()``
    says afterwards: True when the binding is taken to stand until it expires
    (refused or unanswered; no longer refreshed), False when it went with the
    connection.
    """

    def __init__(self, message: str, *, status_code: int | None, cause: str, still_registered: bool) -> None:
        super().__init__(message, status_code=status_code, cause=cause)
        self.still_registered = still_registered


class NotConnectedError(WebVoiceError, ConnectionError):
    """The operation needs the connection to the SIP server, which is down."""


class TransferError(WebVoiceError):
    """A transfer failed; ``status_code`` is what the transfer target answered
    (from the NOTIFY's message/sipfrag, or the REFER's own refusal). The lines
    are left as they were."""

    def __init__(self, message: str, *, status_code: int | None, reason: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.reason = reason


class MessageError(WebVoiceError):
    """``send_message`` was not accepted: ``status_code`` is the final status
    (404 unknown user, 480 not signed in...; None for no answer or a lost
    connection), ``reason`` its phrase and ``cause`` the JS SDK's cause string."""

    def __init__(self, message: str, *, status_code: int | None, reason: str = "", cause: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.reason = reason
        self.cause = cause

    def __repr__(self) -> str:
        return f"MessageError({str(self)!r}, status_code={self.status_code!r}, cause={self.cause!r})"


class PresenceError(WebVoiceError):
    """``publish_presence`` was refused: ``status_code`` is the server's final status
    (None for no answer or no connection) and ``reason`` its phrase."""

    def __init__(self, message: str, *, status_code: int | None, reason: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.reason = reason
