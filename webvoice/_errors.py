"""The exceptions webvoice raises to applications."""

from __future__ import annotations

__all__ = ["WebVoiceError", "RegistrationError", "NotConnectedError", "TransferError"]


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
