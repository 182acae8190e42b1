"""A challenged request sent again with credentials (RFC 3261 22.2): the one copy of that rule.

Every request the UA sends may be challenged: a 401 from a registrar or the
UAS, a 407 from a proxy on the way. REGISTER, INVITE, PRACK, SUBSCRIBE,
PUBLISH, MESSAGE and the requests inside a dialog all answer the same way:
read the challenge (:meth:`DigestClient.respond_to`, which refuses a wrong
password instead of looping), count the answers so that a server saying
``stale=true`` forever cannot keep us busy, and send the request again as a
new transaction with the next CSeq (8.1.3.5). :class:`ChallengeRetry` is the
counting and the reading; :func:`resend_with` the request again. A request
inside a dialog is made again by its dialog instead (the dialog owns the
CSeq), with the fields :meth:`ChallengeRetry.answer` gave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ..syntax._header_values import CSeq
from ._client import AuthenticationError, AuthorizationField, DigestClient

if TYPE_CHECKING:
    from ..syntax._header_values import Via
    from ..syntax._message import Request, Response

__all__ = ["MAX_AUTH_RETRIES", "ChallengeRetry", "resend_with"]

#: Digest answers one request gets before its challenge counts as a refusal:
#: the first challenge, and once more for a stale nonce.
MAX_AUTH_RETRIES = 2


class ChallengeRetry:
    """The digest answers of one request and its retries, at most ``limit``.

    Make one per request the application asked for (a new REGISTER attempt,
    a new MESSAGE ...), and :meth:`answer` each 401/407 to it or its retries.
    ``refusal`` says why the last :meth:`answer` gave nothing.
    """

    __slots__ = ("_auth", "limit", "count", "refusal")

    def __init__(self, auth: DigestClient, limit: int = MAX_AUTH_RETRIES) -> None:
        self._auth = auth
        self.limit = limit
        self.count = 0
        self.refusal = ""

    def __repr__(self) -> str:
        return f"<ChallengeRetry {self.count} of {self.limit}>"

    def reset(self) -> None:
        """A new request of the application's: its answers start from none."""
        self.count = 0

    def answer(self, request: Request, response: Response) -> tuple[AuthorizationField, ...] | None:
        """The authorization fields for sending ``request`` again after ``response``,
        or None when it must not be sent again: ``response`` is no 401/407, the
        answers are used up, or the digest client refuses (no challenge it can
        answer; the same nonce challenged again without ``stale=true``; a fresh
        answer refused: a wrong password)."""
        if response.status_code not in (401, 407):
            self.refusal = f"{response.status_code} is not a challenge"
            return None
        if self.count >= self.limit:
            self.refusal = f"challenged again after {self.count} answers with credentials"
            return None
        try:
            fields = self._auth.respond_to(request, response)
        except AuthenticationError as exc:
            self.refusal = str(exc)
            return None
        self.count += 1
        return fields

    def retry(self, request: Request, response: Response, new_via: Callable[[], Via]) -> Request | None:
        """``request`` again with :meth:`answer`'s fields (:func:`resend_with`, with a
        Via from ``new_via``), or None."""
        fields = self.answer(request, response)
        return None if fields is None else resend_with(request, fields, new_via())


def resend_with(request: Request, fields: tuple[AuthorizationField, ...], via: Via) -> Request:
    """``request`` as a new transaction: the next CSeq, ``via`` (a new branch) in
    place of its Via, and ``fields`` in place of the credentials it carried
    (RFC 3261 8.1.3.5 and 22.2). For requests outside a dialog."""
    assert request.cseq is not None, "a request we built has a CSeq"
    headers = request.headers.remove("Authorization").remove("Proxy-Authorization").remove("Via")
    headers = headers.set("CSeq", CSeq(request.cseq.seq + 1, request.method)).prepend("Via", via)
    for field in fields:
        headers = headers.add(field.name, field.value)
    return request.replace(headers=headers)
