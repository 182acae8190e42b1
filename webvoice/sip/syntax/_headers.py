"""Header names and the ordered header list of a message, and how it is written.

Headers the stack acts on hold small frozen values (:mod:`._header_values`),
read by the parsers of :mod:`._header_parsers` when the message is read or an
application sets them, so that a malformed one is refused at once and nothing
downstream re-parses text. Every other header is kept as its text, in order,
exactly as received (after unfolding).
"""

from __future__ import annotations

from typing import Iterable, Iterator

from . import _abnf
from ._errors import SipParseError
from ._header_values import (
    CSeq,
    HeaderValue,
    MediaType,
    NameAddr,
    Via,
    _check_text,
)
from ._header_parsers import HEADER_SPECS, parse_header_values, parse_name_addr

__all__ = [
    "Headers",
    "NameAddr",
    "Via",
    "CSeq",
    "MediaType",
    "canonical_name",
]

# --- names -----------------------------------------------------------------------

_CANONICAL = {
    name.lower(): name
    for name in (
        "Accept Accept-Contact Accept-Encoding Accept-Language Alert-Info Allow Allow-Events "
        "Authentication-Info Authorization Call-ID Call-Info Contact Content-Disposition "
        "Content-Encoding Content-ID Content-Language Content-Length Content-Type CSeq Date "
        "Error-Info Event Expires From History-Info Identity Identity-Info In-Reply-To "
        "Max-Forwards Min-Expires Min-SE MIME-Version Organization P-Asserted-Identity "
        "P-Preferred-Identity Path Priority Privacy Proxy-Authenticate Proxy-Authorization "
        "Proxy-Require RAck Reason Record-Route Refer-Sub Refer-To Referred-By Reject-Contact "
        "Replaces Reply-To Request-Disposition Require Retry-After Route RSeq Server "
        "Service-Route Session-Expires Subject Subscription-State Supported Target-Dialog "
        "Timestamp To Unsupported User-Agent Via Warning WWW-Authenticate"
    ).split()
}
# Compact forms (RFC 3261 7.3.3 and the extensions that define one).
_COMPACT = {
    "a": "Accept-Contact", "b": "Referred-By", "c": "Content-Type", "d": "Request-Disposition",
    "e": "Content-Encoding", "f": "From", "i": "Call-ID", "j": "Reject-Contact", "k": "Supported",
    "l": "Content-Length", "m": "Contact", "n": "Identity-Info", "o": "Event", "r": "Refer-To",
    "s": "Subject", "t": "To", "u": "Allow-Events", "v": "Via", "x": "Session-Expires", "y": "Identity",
}
_CANONICAL.update(_COMPACT)


_KNOWN = frozenset(_CANONICAL.values())
# The canonical spellings themselves, which is what the stack asks for most:
# found without lowering the name first.
_AS_IS = {name: name for name in _KNOWN}


def canonical_name(name: str) -> str:
    """The long, conventionally capitalised form of a header name.

    Unknown names come back as given: their case is the sender's choice and
    comparisons are case-insensitive anyway.
    """
    return _AS_IS.get(name) or _CANONICAL.get(name.lower(), name)


# --- writing -----------------------------------------------------------------------


def format_value(value: HeaderValue) -> str:
    return value if isinstance(value, str) else str(value)


#: List headers whose values are written on one line, comma-separated; the
#: others (Via, Contact, Route...) get a line each, which is easier to read.
JOINED_ON_WRITE = frozenset(
    "Accept Accept-Encoding Accept-Language Allow Allow-Events Content-Encoding "
    "Content-Language Proxy-Require Require Supported Unsupported".split()
)


def format_headers(headers: "Headers") -> list[str]:
    """Header lines for the wire, joining consecutive values of JOINED_ON_WRITE."""
    lines: list[str] = []
    last = None
    for name, value in headers:
        text = format_value(value)
        if name is last and name in JOINED_ON_WRITE and text and not lines[-1].endswith(": "):
            lines[-1] = f"{lines[-1]}, {text}"
        else:
            lines.append(f"{name}: {text}")
        last = name
    return lines


# --- the header list ------------------------------------------------------------------


class Headers(tuple[tuple[str, HeaderValue], ...]):
    """The ordered ``(name, value)`` pairs of a message, one value per pair.

    Names are canonical (:func:`canonical_name`): a header the stack knows is
    stored under exactly its canonical spelling (the parser and :meth:`build`
    see to it), so lookups compare those names as they are and only unknown
    ones case-insensitively; to callers, lookups are case-insensitive and
    accept compact forms. Values are typed for the headers the stack uses
    (see the module docstring) and text for the rest. Immutable: the editing
    methods return a new list.
    """

    __slots__ = ()

    def __new__(cls, items: Iterable[tuple[str, HeaderValue]] = ()) -> "Headers":
        return tuple.__new__(cls, items)

    @classmethod
    def build(cls, items: Iterable[tuple[str, HeaderValue]]) -> "Headers":
        """Headers from application values, each checked (text values parsed)."""
        out = []
        for name, value in items:
            out.extend(_checked(name, value))
        return cls(out)

    def get(self, name: str, default: HeaderValue | None = None) -> HeaderValue | None:
        """The first value of header ``name``."""
        key = canonical_name(name)
        if key in _KNOWN:  # stored under exactly this spelling: compare as is
            for n, v in self:
                if n == key:
                    return v
            return default
        lkey = key.lower()
        for n, v in self:
            if n.lower() == lkey:
                return v
        return default

    def get_all(self, name: str) -> list[HeaderValue]:
        key = canonical_name(name)
        if key in _KNOWN:
            return [v for n, v in self if n == key]
        key = key.lower()
        return [v for n, v in self if n.lower() == key]

    def has(self, name: str) -> bool:
        key = canonical_name(name)
        if key in _KNOWN:
            return any(n == key for n, _ in self)
        key = key.lower()
        return any(n.lower() == key for n, _ in self)

    def add(self, name: str, value: HeaderValue) -> "Headers":
        return Headers((*self, *_checked(name, value)))

    def prepend(self, name: str, value: HeaderValue) -> "Headers":
        return Headers((*_checked(name, value), *self))

    def set(self, name: str, value: HeaderValue | None) -> "Headers":
        """Replace every ``name`` header by ``value`` at the first one's place (or append)."""
        key = canonical_name(name)
        known = key in _KNOWN
        key = key if known else key.lower()
        new = _checked(name, value) if value is not None else []
        out, placed = [], False
        for n, v in self:
            if (n if known else n.lower()) == key:
                if not placed:
                    out.extend(new)
                    placed = True
            else:
                out.append((n, v))
        if not placed:
            out.extend(new)
        return Headers(out)

    def remove(self, name: str) -> "Headers":
        return self.set(name, None)

    def names(self) -> Iterator[str]:
        return (n for n, _ in self)

    def __repr__(self) -> str:
        # Digest answers never show in a repr (logs, tracebacks): see _redact.
        return f"Headers({[(n, _redact(n, v)) for n, v in self]!r})"


_SECRET_HEADERS = frozenset(("Authorization", "Proxy-Authorization"))
_RESPONSE_PARAM = _abnf.Deferred(r'(?i)(\bresponse\s*=\s*)("[^"]*"|[^\s,]+)')


def _redact(name: str, value: HeaderValue) -> HeaderValue:
    if name in _SECRET_HEADERS and isinstance(value, str):
        redacted: str = _RESPONSE_PARAM.sub(r'\1"<redacted>"', value)
        return redacted
    return value


def _checked(name: str, value: HeaderValue) -> list[tuple[str, HeaderValue]]:
    """Check an application-supplied header, parsing text for typed headers."""
    if not isinstance(name, str) or not _abnf.TOKEN_RE.fullmatch(name):
        raise ValueError(f"invalid header name {name!r}")
    key = canonical_name(name)
    if key == "Content-Length":
        raise ValueError("Content-Length is computed from the body; do not set it")
    if isinstance(value, str):
        _check_text(value, f"value of header {key}")
        try:
            return [(key, v) for v in parse_header_values(key, value)]
        except SipParseError as exc:
            raise ValueError(str(exc)) from None
    spec = HEADER_SPECS.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, NameAddr, Via, CSeq, MediaType)):
        raise TypeError(f"value of header {key} must be str or a header type, not {type(value).__name__}")
    if spec is not None:
        if type(value) is _BUILT_AS_PARSED.get(key):  # checked when built, and written as parsed
            return [(key, value)]
        return [(key, parse_header_values(key, format_value(value))[0])]
    return [(key, format_value(value))]


# Typed values that need no round trip through their text: a NameAddr or a CSeq
# checks every field when built (a URI, a token, a number in range), and its text
# reads back equal. A call set-up builds a few hundred (From, To, Contact, Route,
# CSeq), and formatting then parsing each was most of building a request (77% on
# CPython). A Via still goes through its text: parsing normalises its transport.
_BUILT_AS_PARSED: dict[str, type] = {
    name: NameAddr for name, (parse, _, _) in HEADER_SPECS.items() if parse is parse_name_addr}
_BUILT_AS_PARSED["Contact"] = NameAddr  # or "*", a str
_BUILT_AS_PARSED["CSeq"] = CSeq
