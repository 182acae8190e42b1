"""The RFC 7235 auth grammar and the parsed challenge / credentials values.

Split from :mod:`._client` because parsing WWW-Authenticate / Authorization
values is needed on both sides (the UA's :class:`~._client.DigestClient` and the
server-side checks in :mod:`._digest`) and by anyone who only inspects
headers, none of whom need the client's state. It works on header *values*
(the text after ``WWW-Authenticate:``, ``Authorization:`` ...), so it does not
depend on the message classes and can be tested alone.

RFC 3261 section 7.3.1 forbids folding several WWW-Authenticate /
Authorization rows into one comma-separated row, so a message parser must hand
each row over as its own value. We still parse the RFC 7235 list form
(``Digest realm="a", nonce="b", Basic realm="c"``) because HTTP-minded servers
send it.

Pieces:

* :func:`parse_challenges` / :func:`parse_credentials`: the grammar.
* :class:`Challenge` / :class:`Credentials`: the validated values, which
  serialize back to the wire form (quoting, RFC 8187 ``username*``).
* :class:`AuthParseError`: what malformed input raises, and nothing else.
"""

from __future__ import annotations

import re
from typing import ClassVar

from ..util._record import record
from ..util._regex import compile_regex

__all__ = [
    "AuthParseError",
    "Challenge",
    "Credentials",
    "parse_challenges",
    "parse_credentials",
]


# --- Errors ---------------------------------------------------------------------


class AuthParseError(ValueError):
    """A challenge or credentials value does not follow the grammar.

    A ValueError, because the text is a bad value; the message names the
    offset and what was expected so a log line is enough to fix a server.
    """


# --- Grammar (RFC 7235 section 2.1, RFC 7230 section 3.2.6) -------------------

# OWS = *( SP / HTAB ), plus RFC 3261 LWS line folding (CRLF followed by
# whitespace), which message parsers may or may not have undone for us.
# Written as runs (one repetition per run, not per character): a group repeated
# once per character makes the regex engine superlinear on long white space.
_OWS = r"(?:[ \t]++|\r?\n[ \t])*+"
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
_QUOTED_STRING = rf'"(?:{_QDTEXT}++|{_QUOTED_PAIR})*+"'
# token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_TOKEN68 = r"[A-Za-z0-9\-._~+/]+=*"

_WS_RE = compile_regex(_OWS)
_TOKEN_RE = compile_regex(_TOKEN)
_TOKEN68_RE = compile_regex(_TOKEN68)
# auth-param = token BWS "=" BWS ( token / quoted-string )
_AUTH_PARAM_RE = compile_regex(rf"({_TOKEN}){_OWS}={_OWS}(?:({_TOKEN})|({_QUOTED_STRING}))")
# After a comma, "name =" starts another auth-param; anything else starts a
# new challenge. This lookahead is how RFC 7235 lists stay unambiguous.
_PARAM_START_RE = compile_regex(rf"{_TOKEN}{_OWS}=")
# A token68 must fill the whole rest of its list element.
_TOKEN68_ELEMENT_RE = compile_regex(rf"{_TOKEN68}(?={_OWS}(?:,|\Z))")
_QUOTED_PAIR_RE = compile_regex(r"\\(.)", re.DOTALL)
_NEEDS_QUOTING_RE = compile_regex(r"[\x00-\x08\x0a-\x1f\x7f]")
_HEX8_RE = compile_regex(r"[0-9A-Fa-f]{8}")
_PERCENT_ESCAPE_RE = compile_regex(r"(%[0-9A-Fa-f]{2})")
# RFC 8187 ext-value, for username* (RFC 7616 section 3.4.4).
_EXT_VALUE_RE = compile_regex(
    r"(UTF-8|ISO-8859-1)'[A-Za-z0-9\-]*'((?:%[0-9A-Fa-f]{2}|[!#$&+\-.^_`|~0-9A-Za-z]++)*+)", re.IGNORECASE
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
    seen_names: set[str] = set()
    while True:
        m = _AUTH_PARAM_RE.match(text, pos)
        if m is None:
            raise AuthParseError(f"malformed auth-param in {scheme} at offset {pos}: {_excerpt(text, pos)}")
        name = m.group(1).lower()
        if name in seen_names:  # RFC 7235 section 2.1: once each (a set: linear in the count)
            raise AuthParseError(f"duplicate parameter {name!r} in {scheme} at offset {pos}")
        seen_names.add(name)
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


def _parse_list(text: str, what: str, most: int | None = None) -> list[tuple[str, _Params, str | None]]:
    """RFC 7235: 1#( auth-scheme [ 1*SP ( token68 / #auth-param ) ] ); the first ``most``
    of them when given (the rest is not read)."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, not {type(text).__name__}")
    items: list[tuple[str, _Params, str | None]] = []
    pos = _skip_separators(text, 0)
    if pos == len(text):
        raise AuthParseError(f"empty {what}: expected an auth-scheme")
    while pos < len(text) and (most is None or len(items) < most):
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
    chunks = _PERCENT_ESCAPE_RE.split(m.group(2))
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


def parse_challenges(value: str, most: int | None = None) -> list[Challenge]:
    """Every challenge in one WWW-Authenticate / Proxy-Authenticate value (the first
    ``most`` when given: what follows them is not read).

    Raises AuthParseError (and nothing else, for any str) on malformed input.
    """
    return [Challenge(scheme, params, token68) for scheme, params, token68 in _parse_list(value, "challenge", most)]


def parse_credentials(value: str) -> Credentials:
    """The credentials in one Authorization / Proxy-Authorization value.

    Unknown schemes parse too (RFC 4475 regaut01). Raises AuthParseError, and
    nothing else for any str, on malformed input or several credentials.
    """
    items = _parse_list(value, "credentials")
    if len(items) != 1:
        raise AuthParseError(f"expected one credentials, found {len(items)}")
    return Credentials(*items[0])
