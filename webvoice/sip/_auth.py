"""Digest access authentication for SIP, without I/O.

SIP borrows HTTP Digest authentication (RFC 3261 section 22, built on
RFC 2617); RFC 8760 brings the RFC 7616 algorithms (SHA-256, SHA-512-256 and
their ``-sess`` variants) to SIP. Everything here works on header *values*
(the text after ``WWW-Authenticate:``, ``Authorization:`` ...), so this module
does not depend on the message classes and can be tested alone.

RFC 3261 section 7.3.1 forbids folding several WWW-Authenticate /
Authorization rows into one comma-separated row, so a message parser must hand
each row over as its own value. We still parse the RFC 7235 list form
(``Digest realm="a", nonce="b", Basic realm="c"``) because HTTP-minded servers
send it.

Pieces:

* :func:`parse_challenges` / :func:`parse_credentials`: the RFC 7235 grammar.
* :class:`DigestClient`: the UA side: chooses a challenge, computes the
  RFC 7616 section 3.4.1 response, keeps nonce counts per realm, and applies
  the retry policy (never loop on a wrong password; retry on ``stale=true``).
* :func:`verify_digest`: the server side, for test servers.
* :func:`redact_authorization`: safe logging.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, ClassVar, Literal

from ._record import record

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


# --- Hash algorithms (RFC 7616 section 3.2, RFC 8760 section 2.2) -----------

# Algorithm family -> (hashlib name, strength). Strength decides among several
# challenges for one realm: RFC 8760 section 2.4 leaves that choice to local
# policy, and ours is "strongest hash wins".
_FAMILIES: dict[str, tuple[str, int]] = {
    "SHA-512-256": ("sha512_256", 3),
    "SHA-256": ("sha256", 2),
    "MD5": ("md5", 1),
}


def _available_hashes() -> dict[str, Callable[..., Any]]:
    """hashlib name -> constructor ``(data, usedforsecurity=...)``, for the
    hashes of _FAMILIES this Python can compute.

    MD5 and SHA-256 come straight from the HACL* modules hashlib itself falls
    back on when there is no OpenSSL, as in Pyodide, where importing hashlib
    would add ~5 ms to every page's start-up (its source is compiled there).
    SHA-512/256 only OpenSSL provides: hashlib is asked when OpenSSL is there
    (or the builtins are not). usedforsecurity=False keeps MD5 usable on FIPS
    builds: Digest needs MD5 for interoperability, not for security.
    """
    found: dict[str, Callable[..., Any]] = {}
    try:
        from _md5 import md5
        from _sha2 import sha256
    except ImportError:
        pass
    else:
        found = {"md5": md5, "sha256": sha256}
    try:
        import _hashlib  # noqa: F401  (OpenSSL)
    except ImportError:
        if found:
            return found
    import hashlib

    for _family, (name, _strength) in _FAMILIES.items():
        if name in found:
            continue
        try:
            hashlib.new(name, usedforsecurity=False)
        except ValueError:
            continue
        found[name] = functools.partial(hashlib.new, name)
    return found


_HASHES = _available_hashes()
_HASHLIB_NAMES: dict[str, str] = {
    family: name for family, (name, _) in _FAMILIES.items() if name in _HASHES
}

#: Algorithm names this build can answer, strongest first, in RFC spelling.
SUPPORTED_ALGORITHMS: tuple[str, ...] = tuple(
    spelling for family in _HASHLIB_NAMES for spelling in (family, family + "-sess")
)


def _split_algorithm(algorithm: str) -> tuple[str, bool] | None:
    """(family, is_sess) for a supported algorithm name, else None."""
    name = algorithm.upper()
    sess = name.endswith("-SESS")
    family = name[: -len("-SESS")] if sess else name
    return (family, sess) if family in _HASHLIB_NAMES else None


def _h(family: str, data: str | bytes) -> str:
    """RFC 7616 H(data): lower-case hex digest; text is hashed as UTF-8."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return _HASHES[_HASHLIB_NAMES[family]](raw, usedforsecurity=False).hexdigest()


# --- Errors ---------------------------------------------------------------------


class AuthParseError(ValueError):
    """A challenge or credentials value does not follow the grammar.

    A ValueError, because the text is a bad value; the message names the
    offset and what was expected so a log line is enough to fix a server.
    """


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


# --- Grammar (RFC 7235 section 2.1, RFC 7230 section 3.2.6) -------------------

# OWS = *( SP / HTAB ), plus RFC 3261 LWS line folding (CRLF followed by
# whitespace), which message parsers may or may not have undone for us.
_OWS = r"(?:[ \t]|\r?\n[ \t])*"
# token = 1*tchar (RFC 7230); a superset of RFC 3261's token (adds # $ & ^ |).
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE. qdtext takes any
# non-ASCII character because SIP quoted strings carry UTF-8 (RFC 3261
# UTF8-NONASCII); control characters other than HTAB are refused everywhere.
# Written as negated classes (everything but the controls, and for qdtext but
# DQUOTE and backslash): the same sets as [\t \x21\x23-\x5b\x5d-\x7e\x80-\U0010ffff],
# which the re compiler takes twenty times longer to compile (start-up cost).
_QDTEXT = r"[^\x00-\x08\x0a-\x1f\x22\x5c\x7f]"
_QUOTED_PAIR = r"\\[^\x00-\x08\x0a-\x1f\x7f]"
_QUOTED_STRING = rf'"(?:{_QDTEXT}|{_QUOTED_PAIR})*"'
# token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_TOKEN68 = r"[A-Za-z0-9\-._~+/]+=*"

_WS_RE = re.compile(_OWS)
_TOKEN_RE = re.compile(_TOKEN)
_TOKEN68_RE = re.compile(_TOKEN68)
# auth-param = token BWS "=" BWS ( token / quoted-string )
_AUTH_PARAM_RE = re.compile(rf"({_TOKEN}){_OWS}={_OWS}(?:({_TOKEN})|({_QUOTED_STRING}))")
# After a comma, "name =" starts another auth-param; anything else starts a
# new challenge. This lookahead is how RFC 7235 lists stay unambiguous.
_PARAM_START_RE = re.compile(rf"{_TOKEN}{_OWS}=")
# A token68 must fill the whole rest of its list element.
_TOKEN68_ELEMENT_RE = re.compile(rf"{_TOKEN68}(?={_OWS}(?:,|\Z))")
_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.DOTALL)
_NEEDS_QUOTING_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_HEX8_RE = re.compile(r"[0-9A-Fa-f]{8}")
# RFC 8187 ext-value, for username* (RFC 7616 section 3.4.4).
_EXT_VALUE_RE = re.compile(
    r"(UTF-8|ISO-8859-1)'[A-Za-z0-9\-]*'((?:%[0-9A-Fa-f]{2}|[!#$&+\-.^_`|~0-9A-Za-z])*)", re.IGNORECASE
)
_ATTR_CHARS = frozenset(b"!#$&+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

_Params = tuple[tuple[str, str], ...]


def _excerpt(text: str, pos: int) -> str:
    rest = text[pos : pos + 24]
    if not rest:
        return "end of value"
    return repr(rest) + ("..." if len(text) > pos + 24 else "")


def _skip_ws(text: str, pos: int) -> int:
    m = _WS_RE.match(text, pos)
    return m.end() if m else pos


def _skip_separators(text: str, pos: int) -> int:
    """Skip OWS and empty list elements: RFC 7230 section 7 #rule allows ", ,"."""
    pos = _skip_ws(text, pos)
    while pos < len(text) and text[pos] == ",":
        pos = _skip_ws(text, pos + 1)
    return pos


def _parse_params(text: str, pos: int, scheme: str) -> tuple[int, _Params]:
    """auth-params from ``pos`` up to the next challenge; returns its offset."""
    params: list[tuple[str, str]] = []
    while True:
        m = _AUTH_PARAM_RE.match(text, pos)
        if m is None:
            raise AuthParseError(f"malformed auth-param in {scheme} at offset {pos}: {_excerpt(text, pos)}")
        name = m.group(1).lower()
        if any(name == seen for seen, _ in params):  # RFC 7235 section 2.1: once each
            raise AuthParseError(f"duplicate parameter {name!r} in {scheme} at offset {pos}")
        token, quoted = m.group(2), m.group(3)
        params.append((name, token if token is not None else _QUOTED_PAIR_RE.sub(r"\1", quoted[1:-1])))
        pos = _skip_ws(text, m.end())
        if pos == len(text):
            return pos, tuple(params)
        if text[pos] != ",":
            raise AuthParseError(
                f"expected ',' after parameter {name!r} of {scheme} at offset {pos}, found {_excerpt(text, pos)}"
            )
        pos = _skip_separators(text, pos)
        if pos == len(text) or _PARAM_START_RE.match(text, pos) is None:
            return pos, tuple(params)


def _parse_list(text: str, what: str) -> list[tuple[str, _Params, str | None]]:
    """RFC 7235: 1#( auth-scheme [ 1*SP ( token68 / #auth-param ) ] )."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, not {type(text).__name__}")
    items: list[tuple[str, _Params, str | None]] = []
    pos = _skip_separators(text, 0)
    if pos == len(text):
        raise AuthParseError(f"empty {what}: expected an auth-scheme")
    while pos < len(text):
        if _PARAM_START_RE.match(text, pos):
            raise AuthParseError(f"auth-param without an auth-scheme at offset {pos}: {_excerpt(text, pos)}")
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise AuthParseError(f"expected an auth-scheme at offset {pos}, found {_excerpt(text, pos)}")
        scheme, pos = m.group(), m.end()
        after = _skip_ws(text, pos)
        if after < len(text) and text[after] != ",":
            if after == pos:
                raise AuthParseError(
                    f"expected whitespace after auth-scheme {scheme!r} at offset {pos}, "
                    f"found {_excerpt(text, pos)}"
                )
            m68 = _TOKEN68_ELEMENT_RE.match(text, after)
            if m68 is None:
                pos, params = _parse_params(text, after, scheme)
                items.append((scheme, params, None))
                continue
            items.append((scheme, (), m68.group()))
            after = _skip_ws(text, m68.end())
        else:
            items.append((scheme, (), None))
        pos = _skip_separators(text, after)
    return items


def _quote(value: str) -> str:
    if _NEEDS_QUOTING_RE.search(value):
        # Refuse rather than escape: a CR or LF here would inject a SIP header.
        raise ValueError(f"control character in auth-param value {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _decode_ext_value(value: str) -> str:
    """RFC 8187 ext-value (``UTF-8''J%C3%A4s%C3%B8n``) to text."""
    m = _EXT_VALUE_RE.fullmatch(value)
    if m is None:
        raise AuthParseError(f"malformed username* value {value!r}: expected UTF-8''percent-encoded-name")
    chunks = re.split(r"(%[0-9A-Fa-f]{2})", m.group(2))
    raw = b"".join(bytes([int(c[1:], 16)]) if c.startswith("%") else c.encode("ascii") for c in chunks)
    try:
        return raw.decode("utf-8" if m.group(1).upper() == "UTF-8" else "latin-1")
    except UnicodeDecodeError:
        raise AuthParseError(f"username* value {value!r} is not valid UTF-8") from None


def _encode_ext_value(text: str) -> str:
    raw = text.encode("utf-8", "surrogatepass")
    return "UTF-8''" + "".join(chr(b) if b in _ATTR_CHARS else f"%{b:02X}" for b in raw)


# --- Parsed values ---------------------------------------------------------------


@record
class _AuthValue:
    """What challenges and credentials share: a scheme with params or a token68."""

    scheme: str
    params: _Params = ()
    token68: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.scheme, str) or not _TOKEN_RE.fullmatch(self.scheme):
            raise AuthParseError(f"invalid auth-scheme {self.scheme!r}")
        if not isinstance(self.params, tuple) or not all(
            isinstance(p, tuple) and len(p) == 2 and all(isinstance(x, str) for x in p) for p in self.params
        ):
            raise TypeError("params must be a tuple of (name, value) str pairs")
        if self.token68 is not None and (self.params or not _TOKEN68_RE.fullmatch(self.token68)):
            raise AuthParseError(f"invalid token68 in {self.scheme}: params and token68 are exclusive")
        names = [name for name, _ in self.params]
        for name in names:
            if not _TOKEN_RE.fullmatch(name) or name != name.lower():
                raise AuthParseError(f"invalid parameter name {name!r}: expected a lower-case token")
        if len(set(names)) != len(names):
            raise AuthParseError(f"duplicate parameter in {self.scheme}")
        if self.is_digest:
            if self.token68 is not None:
                raise AuthParseError(f"Digest takes auth-params, not a token68 ({self.token68!r})")
            self._check_digest()

    def _check_digest(self) -> None:
        pass

    def param(self, name: str) -> str | None:
        """Value of an auth-param (case-insensitive name), or None."""
        name = name.lower()
        return next((value for key, value in self.params if key == name), None)

    @property
    def is_digest(self) -> bool:
        return self.scheme.lower() == "digest"

    @property
    def realm(self) -> str | None:
        return self.param("realm")

    @property
    def nonce(self) -> str | None:
        return self.param("nonce")

    @property
    def opaque(self) -> str | None:
        return self.param("opaque")

    @property
    def algorithm(self) -> str:
        """Upper-cased; MD5 when absent (RFC 7616 section 3.3)."""
        return (self.param("algorithm") or "MD5").upper()

    @property
    def userhash(self) -> bool:
        return (self.param("userhash") or "").lower() == "true"

    _QUOTED: ClassVar[frozenset[str]] = frozenset()

    def serialize(self) -> str:
        """The header value. Quotes the params RFC 7616 wants quoted, and any
        value that is not a token."""
        if self.token68 is not None:
            return f"{self.scheme} {self.token68}"
        parts = [
            f"{name}={value}" if name not in self._QUOTED and _TOKEN_RE.fullmatch(value)
            else f"{name}={_quote(value)}"
            for name, value in self.params
        ]
        return f"{self.scheme} {', '.join(parts)}" if parts else self.scheme


@record
class Challenge(_AuthValue):
    """One challenge from a WWW-Authenticate or Proxy-Authenticate value.

    ``scheme`` keeps the server's spelling; ``params`` holds (lower-case name,
    unquoted value) pairs in order. Digest challenges must carry realm and
    nonce (RFC 7616 section 3.3), so a Challenge that is ``is_digest`` always
    has them.
    """

    _QUOTED = frozenset({"realm", "domain", "nonce", "opaque", "qop"})

    def _check_digest(self) -> None:
        for name in ("realm", "nonce"):
            if self.param(name) is None:
                raise AuthParseError(f"Digest challenge without {name}")

    @property
    def qop_options(self) -> tuple[str, ...]:
        """The offered qop values, lower-cased; empty for RFC 2069 style."""
        return tuple(q.strip().lower() for q in (self.param("qop") or "").split(",") if q.strip())

    @property
    def stale(self) -> bool:
        return (self.param("stale") or "").lower() == "true"

    @property
    def domain(self) -> tuple[str, ...]:
        """The space-separated URI list of the protection space."""
        return tuple((self.param("domain") or "").split())


@record
class Credentials(_AuthValue):
    """An Authorization or Proxy-Authorization value.

    ``repr()`` (and so ``str()``) hides the response digest and any token68,
    which are password equivalents for an offline guesser; use
    :meth:`serialize` for the wire form.
    """

    _QUOTED = frozenset({"username", "realm", "nonce", "uri", "response", "cnonce", "opaque"})

    def _check_digest(self) -> None:
        if (self.param("username") is None) == (self.param("username*") is None):
            raise AuthParseError("Digest credentials need exactly one of username and username*")
        if self.param("username*") is not None:
            if self.userhash:
                raise AuthParseError("username* must not be used with userhash=true")
            _decode_ext_value(self.param("username*") or "")
        for name in ("realm", "nonce", "uri", "response"):
            if self.param(name) is None:
                raise AuthParseError(f"Digest credentials without {name}")
        if self.qop is not None and (self.cnonce is None or self.nc is None):
            raise AuthParseError("Digest credentials with qop need cnonce and nc")
        if self.nc is not None and not _HEX8_RE.fullmatch(self.nc):
            raise AuthParseError(f"nc must be 8 hex digits, got {self.nc!r}")

    def __repr__(self) -> str:
        params = tuple((k, "<redacted>" if k == "response" else v) for k, v in self.params)
        token68 = None if self.token68 is None else "<redacted>"
        return f"Credentials(scheme={self.scheme!r}, params={params!r}, token68={token68!r})"

    @property
    def username(self) -> str | None:
        """The user name, decoded from username* when that form was used.
        With ``userhash`` it is the hash, as sent."""
        ext = self.param("username*")
        return _decode_ext_value(ext) if ext is not None else self.param("username")

    @property
    def uri(self) -> str | None:
        return self.param("uri")

    @property
    def response(self) -> str | None:
        return self.param("response")

    @property
    def cnonce(self) -> str | None:
        return self.param("cnonce")

    @property
    def nc(self) -> str | None:
        return self.param("nc")

    @property
    def qop(self) -> str | None:
        qop = self.param("qop")
        return qop.lower() if qop is not None else None


def parse_challenges(value: str) -> list[Challenge]:
    """Every challenge in one WWW-Authenticate / Proxy-Authenticate value.

    Raises AuthParseError (and nothing else, for any str) on malformed input.
    """
    return [Challenge(scheme, params, token68) for scheme, params, token68 in _parse_list(value, "challenge")]


def parse_credentials(value: str) -> Credentials:
    """The credentials in one Authorization / Proxy-Authorization value.

    Unknown schemes parse too (RFC 4475 regaut01). Raises AuthParseError, and
    nothing else for any str, on malformed input or several credentials.
    """
    items = _parse_list(value, "credentials")
    if len(items) != 1:
        raise AuthParseError(f"expected one credentials, found {len(items)}")
    return Credentials(*items[0])


# --- Response computation (RFC 7616 section 3.4.1, RFC 2617 section 3.2.2) -------


def _response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None,
    cnonce: str | None,
    nc: str | None,
    body: bytes,
) -> str:
    split = _split_algorithm(algorithm)
    assert split is not None
    family, sess = split
    ha1 = _h(family, f"{username}:{realm}:{password}")
    if sess:
        ha1 = _h(family, f"{ha1}:{nonce}:{cnonce}")
    a2 = f"{method}:{uri}:{_h(family, body)}" if qop == "auth-int" else f"{method}:{uri}"
    ha2 = _h(family, a2)
    if qop is None:  # RFC 2069 compatibility: no cnonce, no nc
        return _h(family, f"{ha1}:{nonce}:{ha2}")
    return _h(family, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def _plan(challenge: Challenge, prefer_auth_int: bool) -> tuple[str, str | None] | None:
    """(algorithm in RFC spelling, qop or None) to answer with, or None if we can't.

    SIP servers check qop "auth"; "auth-int" also hashes the body, which a
    B2BUA or SBC may rewrite, so it is used only when asked for or when it is
    the only qop offered.
    """
    split = _split_algorithm(challenge.algorithm)
    if split is None:
        return None
    family, sess = split
    algorithm = family + ("-sess" if sess else "")
    options = challenge.qop_options
    if not options:
        # RFC 2069 style. A -sess HA1 needs a cnonce, but RFC 2617 forbids
        # sending cnonce without qop, so that combination cannot be answered.
        return None if sess else (algorithm, None)
    if "auth-int" in options and (prefer_auth_int or "auth" not in options):
        return algorithm, "auth-int"
    return (algorithm, "auth") if "auth" in options else None


def _userhash(algorithm: str, username: str, realm: str) -> str:
    split = _split_algorithm(algorithm)
    assert split is not None
    return _h(split[0], f"{username}:{realm}")


def verify_digest(
    value: str,
    *,
    method: str,
    uri: str,
    password: str,
    body: bytes = b"",
    username: str | None = None,
    realm: str | None = None,
    nonce: str | None = None,
) -> bool:
    """Server side: does this Authorization value prove knowledge of ``password``?

    For test servers. ``uri`` is the request's Request-URI, which must equal the
    credentials' digest-uri (RFC 3261 section 22.4). ``username``, ``realm``
    and ``nonce``, when given, must match too. ``userhash=true`` credentials
    (RFC 7616 section 3.4.4) verify only when ``username`` is given, since the
    hash hides it. Nonce freshness and nc replay checks are the caller's
    business. Garbage from the peer gives False, never an exception.
    """
    try:
        creds = parse_credentials(value)
    except AuthParseError:
        return False
    if not creds.is_digest or creds.uri != uri:
        return False
    claimed, c_realm, c_nonce = creds.username or "", creds.realm or "", creds.nonce or ""
    if (realm is not None and c_realm != realm) or (nonce is not None and c_nonce != nonce):
        return False
    if creds.userhash:
        if username is None or _split_algorithm(creds.algorithm) is None:
            return False
        if claimed.lower() != _userhash(creds.algorithm, username, c_realm):
            return False
        claimed = username
    elif username is not None and claimed != username:
        return False
    split = _split_algorithm(creds.algorithm)
    qop = creds.qop
    if split is None or qop not in (None, "auth", "auth-int") or (qop is None and split[1]):
        return False
    expected = _response(
        algorithm=creds.algorithm, username=claimed, realm=c_realm, password=password, nonce=c_nonce,
        method=method, uri=uri, qop=qop, cnonce=creds.cnonce, nc=creds.nc, body=body,
    )
    given = (creds.response or "").lower().encode("utf-8", "surrogatepass")
    import hmac  # server side only (tests, a registrar): not on a client's import path

    return hmac.compare_digest(expected.encode("ascii"), given)


# --- Redaction --------------------------------------------------------------------

# Deliberately ignores quoting: with a stray quote earlier in a malformed
# value, a quote-aware scanner could skip the real response. Redacting a
# "response=" that sits inside some quoted string is harmless.
_RESPONSE_RE = re.compile(
    r'(?<![A-Za-z0-9_\-*])(response[ \t]*=[ \t]*)(?:"(?:[^"\\]|\\.)*(?:"|\Z)|[^\s,]*)', re.IGNORECASE | re.DOTALL
)
_TOKEN68_CREDENTIALS_RE = re.compile(rf"\A(\s*{_TOKEN}[ \t]+){_TOKEN68}(?=\s*(?:,|\Z))")


def redact_authorization(value: str) -> str:
    """The value with its secrets replaced by ``<redacted>``, for logs.

    Secrets are the Digest ``response`` (a dictionary attack recovers the
    password from it) and a token68 (Basic's base64 password, bearer tokens).
    """
    value = _TOKEN68_CREDENTIALS_RE.sub(r"\1<redacted>", value, count=1)
    return _RESPONSE_RE.sub(r'\1"<redacted>"', value)


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


_Key = tuple[bool, str]  # (is proxy challenge, realm)


class DigestClient:
    """The UA's digest state for one account: answers 401/407 challenges.

    One instance per account, shared by registration and calls. It remembers,
    per realm and per kind (WWW vs Proxy), the nonce from the last challenge
    so that later requests can be authorized up front with :meth:`preauthorize`
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
        realms = sorted({realm for _, realm in self._sessions})
        return f"DigestClient(username={self._username!r}, realm={self._realm!r}, cached_realms={realms!r})"

    @property
    def username(self) -> str:
        return self._username

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
        for proxy, values in ((False, _values(www_authenticate)), (True, _values(proxy_authenticate))):
            for value in values:
                try:
                    challenges = parse_challenges(value)
                except AuthParseError as exc:
                    errors.append(str(exc))
                    continue
                for ch in challenges:
                    if not ch.is_digest:
                        offered.append(ch.scheme)
                        continue
                    offered.append(f"Digest {ch.algorithm} realm={ch.realm!r}")
                    if self._realm is not None and ch.realm != self._realm:
                        continue
                    our_realm_seen = True
                    plan = _plan(ch, self._prefer_auth_int)
                    key = (proxy, ch.realm or "")
                    if plan is not None and (key not in chosen or _strength(ch) > _strength(chosen[key][0])):
                        chosen[key] = (ch, *plan)
        if not chosen:
            raise self._failure(tuple(offered), errors, our_realm_seen)

        previous: list[tuple[bool, str, Credentials | None, bool]] = []
        for proxy, values in ((False, _values(authorization)), (True, _values(proxy_authorization))):
            for value in values:
                creds = _parse_quietly(value)
                previous.append((proxy, value, creds, creds is not None and self._is_ours(creds)))
        for key, (ch, _, _) in chosen.items():
            for proxy, _, creds, ours in previous:
                if ours and creds is not None and (proxy, creds.realm) == key and not _may_retry(ch, creds):
                    raise AuthenticationError(
                        f"credentials of {self._username!r} for realm {key[1]!r} were rejected "
                        "(challenged again, not for a stale nonce): check username and password",
                        reason="rejected", realm=key[1], offered=tuple(offered),
                    )
        for key, (ch, algorithm, qop) in chosen.items():
            self._sessions[key] = _Session(ch, algorithm, qop, self._cnonce_factory())

        fields: list[AuthorizationField] = []
        signed: set[_Key] = set()
        for proxy, value, creds, ours in previous:
            sent_key = (proxy, creds.realm or "") if creds is not None and creds.is_digest else None
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

        Saves a round trip per request (RFC 3261 section 22.3). Only nonces
        with a qop are reused: without nc the server could not tell our reuse
        from a replay, nor could :meth:`respond` tell a forgotten nonce from a
        wrong password. Empty when nothing is cached.
        """
        keys = [k for k, s in self._sessions.items() if s.qop is not None and realm in (None, k[1])]
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

    def _failure(
        self, offered: tuple[str, ...], errors: list[str], our_realm_seen: bool
    ) -> AuthenticationError:
        unparsable = f"; unparsable: {'; '.join(errors)}" if errors else ""
        if not offered:
            if errors:
                return AuthenticationError(f"malformed challenge: {'; '.join(errors)}", reason="malformed")
            return AuthenticationError("the response carries no challenge", reason="no-challenge")
        listing = "; ".join(offered)
        if self._realm is not None and not our_realm_seen:
            return AuthenticationError(
                f"no challenge for realm {self._realm!r}; offered: {listing}{unparsable}",
                reason="no-challenge", realm=self._realm, offered=offered,
            )
        return AuthenticationError(
            f"no supported challenge; offered: {listing}{unparsable}; we support "
            f"{', '.join(SUPPORTED_ALGORITHMS)} with qop auth, auth-int or none",
            reason="unsupported", realm=self._realm, offered=offered,
        )


def _parse_quietly(value: str) -> Credentials | None:
    try:
        return parse_credentials(value)
    except AuthParseError:
        return None


def _may_retry(challenge: Challenge, sent: Credentials) -> bool:
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


def _strength(challenge: Challenge) -> int:
    split = _split_algorithm(challenge.algorithm)
    return _FAMILIES[split[0]][1] if split is not None else 0


def _header_name(proxy: bool) -> Literal["Authorization", "Proxy-Authorization"]:
    return "Proxy-Authorization" if proxy else "Authorization"
