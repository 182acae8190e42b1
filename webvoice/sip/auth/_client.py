"""Digest access authentication for SIP, without I/O: the UA's client.

SIP borrows HTTP Digest authentication (RFC 3261 section 22, built on
RFC 2617); RFC 8760 brings the RFC 7616 algorithms (SHA-256, SHA-512-256 and
their ``-sess`` variants) to SIP. Everything here works on header *values*
(the text after ``WWW-Authenticate:``, ``Authorization:`` ...), so this module
does not depend on the message classes and can be tested alone.

The work is split in four modules, so that each stays small and a reader of
one need not hold the others in mind:

* :mod:`._values`: the RFC 7235 grammar (:func:`parse_challenges`,
  :func:`parse_credentials`) and the :class:`Challenge` / :class:`Credentials`
  values;
* :mod:`._digest`: the hash families (and which challenge is answerable and
  strongest), the RFC 7616 section 3.4.1 response, :func:`verify_digest` (the
  server side, for test servers) and :func:`redact_authorization` (safe
  logging);
* :mod:`._retry`: the refusals (:class:`AuthenticationError`) and the retry
  policy (never loop on a wrong password; retry on ``stale=true``), with the
  counting and resending of a challenged request;
* this module: :class:`DigestClient`, the UA side: chooses a challenge,
  computes the response, keeps nonce counts per realm, and applies that
  policy.

This module re-exports the names of :mod:`._values` and :mod:`._digest` and
:class:`AuthenticationError`, so ``from ._client import X`` keeps working for
all of them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from ..util._record import record

if TYPE_CHECKING:
    from ..syntax._message import Request, Response
from ._digest import (
    _HASHLIB_NAMES,  # noqa: F401  (re-exported: tests monkeypatch _auth._HASHLIB_NAMES)
    SUPPORTED_ALGORITHMS,
    _plan,
    _response,
    _split_algorithm,
    _strength,
    _userhash,
    redact_authorization,
    verify_digest,
)
from ._retry import AuthenticationError, may_retry, unanswerable
from ._values import (
    _NEEDS_QUOTING_RE,
    AuthParseError,
    Challenge,
    Credentials,
    _encode_ext_value,
    parse_challenges,
    parse_credentials,
)

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "AuthParseError",
    "AuthenticationError",
    "AuthorizationField",
    "Challenge",
    "Credentials",
    "DigestClient",
    "parse_challenges",
    "parse_credentials",
    "redact_authorization",
    "verify_digest",
]


# --- The client -------------------------------------------------------------------


@record
class AuthorizationField:
    """A header field to put on the retried or pre-authorized request."""

    name: Literal["Authorization", "Proxy-Authorization"]
    value: str
    realm: str | None = None

    def __post_init__(self) -> None:
        if self.name not in ("Authorization", "Proxy-Authorization"):
            raise ValueError(f"not an authorization header name: {self.name!r}")

    def __repr__(self) -> str:
        shown = redact_authorization(self.value)
        return f"AuthorizationField(name={self.name!r}, realm={self.realm!r}, value={shown!r})"


@record
class _Session:
    """What we keep per (proxy?, realm): the nonce to reuse and its count."""

    challenge: Challenge
    algorithm: str
    qop: str | None
    cnonce: str  # fixed per nonce: -sess hashes it into HA1 once (RFC 7616 3.4.2)
    nc: int = 0


def _new_cnonce() -> str:
    # os.urandom, as secrets.token_hex does, without importing secrets (not
    # preloaded in Pyodide: it would add ~10 ms to every page's start-up).
    return os.urandom(8).hex()


def _values(values: str | Iterable[str]) -> tuple[str, ...]:
    # A lone str is one header value, not an iterable of one-letter values.
    return (values,) if isinstance(values, str) else tuple(values)


_Key = tuple[bool, str, str]  # (is proxy challenge, realm, scope: see _scope)

#: Most cached sessions; the oldest goes first. Registrar and proxy sessions
#: are a handful; sessions scoped to one UAS (a 401 from a callee) add up.
MAX_SESSIONS = 16
#: Realms answered from one 401/407: each proxy on the path may challenge (RFC 3261
#: 22.3), and real paths have a few. A peer listing a thousand realms would
#: otherwise cost a thousand digests and a retry too large to send.
MAX_REALMS_ANSWERED = 4
#: Challenges read from one 401/407 (in the order given): enough for every realm
#: of a real path, each offered with a few algorithms; the rest is not parsed.
MAX_CHALLENGES_READ = 16


def _scope(proxy: bool, method: str, uri: str) -> str:
    """Where credentials answering a challenge to ``method uri`` may go unasked.

    The kind of a challenge says who asked: WWW-Authenticate is the request's
    final destination (a registrar, or the UAS at the Request-URI),
    Proxy-Authenticate a proxy on the way. So a registrar's credentials go on
    later REGISTERs to that same registrar, whichever kind it asked with; a
    proxy's (a 407 to any other request) on requests through that proxy; a
    UAS's only to that same Request-URI. The kinds never mix: a REGISTER never
    carries the Proxy-Authorization an INVITE's 407 asked for (stock Kamailio
    5.6.3 crashes on that REGISTER: issue 15), nor a UAS's credentials.
    """
    if method == "REGISTER":
        return f"registrar {uri}"
    return "proxy" if proxy else f"uas {uri}"


class DigestClient:
    """The UA's digest state for one account: answers 401/407 challenges.

    One instance per account, shared by registration and calls. It remembers,
    per realm, per kind (WWW vs Proxy) and per scope (who asked: see
    :func:`_scope`), the nonce from the last challenge so that later requests
    to the same place can be authorized up front with :meth:`preauthorize`
    (RFC 3261 section 22.3 encourages reusing credentials per realm), with the
    nonce count going up each time as RFC 7616 section 3.4 requires.

    ``realm`` restricts the credentials to one realm; without it they answer
    every realm that challenges (what JsSIP does). ``cnonce_factory`` exists so
    tests are deterministic. The password is held but never shown by repr.
    """

    __slots__ = ("_username", "_password", "_realm", "_cnonce_factory", "_prefer_auth_int", "_sessions")

    def __init__(
        self,
        username: str,
        password: str,
        *,
        realm: str | None = None,
        cnonce_factory: Callable[[], str] = _new_cnonce,
        prefer_auth_int: bool = False,
    ) -> None:
        if not username:
            raise ValueError("username must not be empty")
        self._username = username
        self._password = password
        self._realm = realm
        self._cnonce_factory = cnonce_factory
        self._prefer_auth_int = prefer_auth_int
        self._sessions: dict[_Key, _Session] = {}

    def __repr__(self) -> str:
        realms = sorted({realm for _, realm, _ in self._sessions})
        return f"DigestClient(username={self._username!r}, realm={self._realm!r}, cached_realms={realms!r})"

    @property
    def username(self) -> str:
        return self._username

    def respond_to(self, request: Request, response: Response) -> tuple[AuthorizationField, ...]:
        """:meth:`respond` to ``response``'s 401/407 challenge of ``request``: the
        one place that reads the challenge and the credentials the request carried
        (every challenged method retries through it); raises AuthenticationError."""
        return self.respond(
            method=request.method, uri=str(request.uri), body=request.body,
            www_authenticate=response.header_texts("WWW-Authenticate"),
            proxy_authenticate=response.header_texts("Proxy-Authenticate"),
            authorization=request.header_texts("Authorization"),
            proxy_authorization=request.header_texts("Proxy-Authorization"),
        )

    def respond(
        self,
        *,
        method: str,
        uri: str,
        body: bytes = b"",
        www_authenticate: str | Iterable[str] = (),
        proxy_authenticate: str | Iterable[str] = (),
        authorization: str | Iterable[str] = (),
        proxy_authorization: str | Iterable[str] = (),
    ) -> tuple[AuthorizationField, ...]:
        """Answer a 401/407 to the request ``method uri`` (with ``body``).

        Pass the response's WWW-Authenticate and Proxy-Authenticate values, and
        the Authorization and Proxy-Authorization values the challenged request
        carried. The result is the complete set of authorization fields for the
        retry: remove both headers from the request and add these (other
        realms' fields are re-signed with a fresh nc, foreign ones kept as is).

        Retry policy, per challenged realm, when the challenged request already
        carried our credentials for it:

        * ``stale=true`` with a new nonce: the password was right, the nonce
          expired: retry with the new nonce without bothering the user;
        * those credentials reused a nonce (nc > 1, i.e. pre-authorization):
          the server may simply have forgotten the nonce (a restart), so retry
          once with the fresh one; that retry has nc=1;
        * otherwise the server rejected a fresh answer: the password is wrong.
          Raise AuthenticationError(reason="rejected") instead of looping.

        A server could still say stale=true with a new nonce forever, so the
        UA should also bound the retries of one request (two is plenty).
        """
        chosen: dict[_Key, tuple[Challenge, str, str | None]] = {}
        offered: list[str] = []
        errors: list[str] = []
        our_realm_seen = False
        budget = MAX_CHALLENGES_READ
        for proxy, values in ((False, _values(www_authenticate)), (True, _values(proxy_authenticate))):
            for value in values:
                if budget <= 0:
                    break
                try:
                    challenges = parse_challenges(value, most=budget)
                except AuthParseError as exc:
                    errors.append(str(exc))
                    budget -= 1
                    continue
                budget -= len(challenges)
                for ch in challenges:
                    if not ch.is_digest:
                        offered.append(ch.scheme)
                        continue
                    offered.append(f"Digest {ch.algorithm} realm={ch.realm!r}")
                    if self._realm is not None and ch.realm != self._realm:
                        continue
                    our_realm_seen = True
                    plan = _plan(ch, self._prefer_auth_int)
                    key = (proxy, ch.realm or "", _scope(proxy, method, uri))
                    if plan is None or (key not in chosen and len(chosen) >= MAX_REALMS_ANSWERED):
                        continue  # (the first realms listed are answered)
                    if key not in chosen or _strength(ch) > _strength(chosen[key][0]):
                        chosen[key] = (ch, *plan)
        if not chosen:
            raise unanswerable(tuple(offered), errors, self._realm, our_realm_seen)

        previous: list[tuple[bool, str, Credentials | None, bool]] = []
        for proxy, values in ((False, _values(authorization)), (True, _values(proxy_authorization))):
            for value in values:
                creds = _parse_quietly(value)
                previous.append((proxy, value, creds, creds is not None and self._is_ours(creds)))
        for key, (ch, _, _) in chosen.items():
            for proxy, _, creds, ours in previous:
                if ours and creds is not None and (proxy, creds.realm) == key[:2] and not may_retry(ch, creds):
                    raise AuthenticationError(
                        f"credentials of {self._username!r} for realm {key[1]!r} were rejected "
                        "(challenged again, not for a stale nonce): check username and password",
                        reason="rejected", realm=key[1], offered=tuple(offered),
                    )
        for key, (ch, algorithm, qop) in chosen.items():
            self._sessions.pop(key, None)  # to the end: the newest
            self._sessions[key] = _Session(ch, algorithm, qop, self._cnonce_factory())
        stale = [k for k in self._sessions if k not in chosen]
        for key in stale[:max(0, len(self._sessions) - MAX_SESSIONS)]:
            del self._sessions[key]

        fields: list[AuthorizationField] = []
        signed: set[_Key] = set()
        for proxy, value, creds, ours in previous:
            sent_key = (
                (proxy, creds.realm or "", _scope(proxy, method, uri)) if creds is not None and creds.is_digest else None
            )
            # Anyone's credentials for a realm answered now are replaced; ours
            # for another cached realm are re-signed so that nc keeps rising.
            if sent_key is not None and (sent_key in chosen or (ours and sent_key in self._sessions)):
                if sent_key not in signed:
                    fields.append(self._sign(sent_key, method, uri, body))
                    signed.add(sent_key)
            else:
                fields.append(AuthorizationField(_header_name(proxy), value, creds.realm if creds else None))
        fields.extend(self._sign(key, method, uri, body) for key in chosen if key not in signed)
        return tuple(fields)

    def preauthorize(
        self, *, method: str, uri: str, body: bytes = b"", realm: str | None = None
    ) -> tuple[AuthorizationField, ...]:
        """Fields for a new request, from the nonces of earlier challenges.

        Saves a round trip per request (RFC 3261 section 22.3). Only sessions
        of the same scope are used (:func:`_scope`): challenges to requests
        toward the same registrar or UAS, or, for a request other than
        REGISTER, from the proxy. Only nonces with a qop are reused: without
        nc the server could not tell our reuse from a replay, nor could
        :meth:`respond` tell a forgotten nonce from a wrong password. Empty
        when nothing is cached.
        """
        keys = [
            k for k, s in self._sessions.items()
            if s.qop is not None and realm in (None, k[1]) and k[2] == _scope(k[0], method, uri)
        ]
        return tuple(self._sign(key, method, uri, body) for key in keys)

    def forget(self, realm: str | None = None) -> None:
        """Drop cached nonces (for one realm, or all), e.g. after a password change."""
        self._sessions = {k: s for k, s in self._sessions.items() if realm is not None and k[1] != realm}

    def _sign(self, key: _Key, method: str, uri: str, body: bytes) -> AuthorizationField:
        session = self._sessions[key]
        nc = session.nc + 1
        self._sessions[key] = replace(session, nc=nc)
        ch, qop = session.challenge, session.qop
        realm, nonce = ch.realm or "", ch.nonce or ""
        ncs = f"{nc:08x}" if qop is not None else None
        cnonce = session.cnonce if qop is not None else None
        response = _response(
            algorithm=session.algorithm, username=self._username, realm=realm, password=self._password,
            nonce=nonce, method=method, uri=uri, qop=qop, cnonce=cnonce, nc=ncs, body=body,
        )
        if ch.userhash:  # RFC 7616 section 3.4.4
            params = [("username", _userhash(session.algorithm, self._username, realm))]
        elif _NEEDS_QUOTING_RE.search(self._username):
            params = [("username*", _encode_ext_value(self._username))]
        else:
            params = [("username", self._username)]
        params += [("realm", realm), ("nonce", nonce), ("uri", uri), ("response", response)]
        params.append(("algorithm", session.algorithm))
        if cnonce is not None and ncs is not None and qop is not None:
            params += [("cnonce", cnonce), ("nc", ncs), ("qop", qop)]
        if ch.opaque is not None:
            params.append(("opaque", ch.opaque))
        if ch.userhash:
            params.append(("userhash", "true"))
        value = Credentials("Digest", tuple(params)).serialize()
        return AuthorizationField(_header_name(key[0]), value, realm)

    def _is_ours(self, creds: Credentials) -> bool:
        """Whether these are Digest credentials for our username (maybe hashed)."""
        if not creds.is_digest or _split_algorithm(creds.algorithm) is None:
            return False
        if creds.userhash:
            hashed = _userhash(creds.algorithm, self._username, creds.realm or "")
            return (creds.username or "").lower() == hashed
        return creds.username == self._username

def _parse_quietly(value: str) -> Credentials | None:
    try:
        return parse_credentials(value)
    except AuthParseError:
        return None


def _header_name(proxy: bool) -> Literal["Authorization", "Proxy-Authorization"]:
    return "Proxy-Authorization" if proxy else "Authorization"
