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

This module is also where the refusals live: :class:`AuthenticationError` (and
its reasons), raised by :class:`~._client.DigestClient` when a challenge must
not be answered, and the per-realm policy that tells a stale nonce from a
wrong password (:func:`may_retry`). They are the rules of sending again;
the client is the state (nonces, counts) and the arithmetic of answering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Literal

from ..syntax._header_values import CSeq
from ._digest import SUPPORTED_ALGORITHMS

if TYPE_CHECKING:
    from ..syntax._header_values import Via
    from ..syntax._message import Request, Response
    from ._client import AuthorizationField, DigestClient
    from ._values import Challenge, Credentials

__all__ = ["MAX_AUTH_RETRIES", "AuthenticationError", "ChallengeRetry", "may_retry", "resend_with", "unanswerable"]

#: Digest answers one request gets before its challenge counts as a refusal:
#: the first challenge, and once more for a stale nonce.
MAX_AUTH_RETRIES = 2


# --- Refusals ---------------------------------------------------------------------

FailureReason = Literal["malformed", "no-challenge", "unsupported", "rejected"]


class AuthenticationError(Exception):
    """The UA cannot, or must not, answer this 401/407: give up on the request.

    Not a ValueError: the input is often perfectly valid (a wrong password is
    a valid challenge repeated). ``reason`` says which case it is, so the UA
    can report "wrong password" differently from "server wants SHA3":

    * ``"malformed"``: the challenge values do not parse;
    * ``"no-challenge"``: no challenge at all, or none for our realm;
    * ``"unsupported"``: only schemes/algorithms/qops we cannot answer;
    * ``"rejected"``: the server refused credentials we already sent.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: FailureReason,
        realm: str | None = None,
        offered: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.reason: FailureReason = reason
        self.realm = realm
        self.offered = offered


def unanswerable(offered: tuple[str, ...], errors: list[str], realm: str | None,
                 our_realm_seen: bool) -> AuthenticationError:
    """Why no challenge of a 401/407 can be answered: ``offered`` lists what it
    offered, ``errors`` the values that did not parse, ``realm`` the one our
    credentials are limited to (None: any)."""
    unparsable = f"; unparsable: {'; '.join(errors)}" if errors else ""
    if not offered:
        if errors:
            return AuthenticationError(f"malformed challenge: {'; '.join(errors)}", reason="malformed")
        return AuthenticationError("the response carries no challenge", reason="no-challenge")
    listing = "; ".join(offered)
    if realm is not None and not our_realm_seen:
        return AuthenticationError(
            f"no challenge for realm {realm!r}; offered: {listing}{unparsable}",
            reason="no-challenge", realm=realm, offered=offered,
        )
    return AuthenticationError(
        f"no supported challenge; offered: {listing}{unparsable}; we support "
        f"{', '.join(SUPPORTED_ALGORITHMS)} with qop auth, auth-int or none",
        reason="unsupported", realm=realm, offered=offered,
    )


def may_retry(challenge: Challenge, sent: Credentials) -> bool:
    """The retry policy, for a realm whose challenged request carried ``sent``.

    A re-challenge with the very nonce we answered brings nothing new (even
    with stale=true, which would then loop). Otherwise retry when the server
    says stale=true, or when ``sent`` reused a cached nonce (nc > 1): a server
    that restarted forgets nonces without calling them stale. A fresh answer
    (nc = 1, or no qop) that is refused means a wrong password.
    """
    if sent.nonce == challenge.nonce:
        return False
    return challenge.stale or (sent.nc is not None and int(sent.nc, 16) > 1)


# --- Sending again ----------------------------------------------------------------


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
