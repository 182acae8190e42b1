"""Errors of the SIP core.

Two families, as in h11: :class:`SipParseError` when the peer sent something we
cannot accept (it carries the status a UAS would answer with and whatever of the
message could be read, so a response is still possible), and plain
``ValueError``/``TypeError`` raised at once when the application misuses the API
(a bad argument fails before anything is sent).
"""

from __future__ import annotations

from collections.abc import Callable


class SipParseError(ValueError):
    """A message, header or URI from the network does not follow the grammar.

    ``status_code`` is the response a UAS sends for it (400, or 505 for an
    unsupported protocol version). ``headers`` holds the (name, raw value)
    pairs read before the failure, ``method`` the request method when the start
    line was read; the UAS core uses them to answer when it can.
    """

    def __init__(
        self,
        reason: str,
        *,
        status_code: int = 400,
        headers: tuple[tuple[str, str], ...] = (),
        method: str | None = None,
        is_request: bool | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
        self.headers = headers
        self.method = method
        self.is_request = is_request

    def __reduce__(self) -> tuple[Callable[..., SipParseError], tuple[object, ...]]:  # keep the extra fields when pickled across a worker
        return (_rebuild, (self.reason, self.status_code, self.headers, self.method, self.is_request))


def _rebuild(reason: str, status_code: int, headers: tuple[tuple[str, str], ...], method: str | None,
             is_request: bool | None) -> SipParseError:
    return SipParseError(
        reason, status_code=status_code, headers=headers, method=method, is_request=is_request
    )
