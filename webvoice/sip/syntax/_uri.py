"""SIP, SIPS and tel URIs, and the parameter lists they share with headers.

URIs keep their parts as they were written, %-escapes included, so a URI read
off the wire is written back unchanged (RFC 4475 3.3.14 wants escaped headers
kept intact). Decoded views and the comparison rules of RFC 3261 19.1.4 are
methods, not a second representation.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Callable, Iterable, TypeVar, Union

from ..util._record import record
from . import _abnf
from ._errors import SipParseError
from ..util._regex import compile_regex

__all__ = ["Params", "SipUri", "TelUri", "AbsoluteUri", "Uri", "parse_uri"]

_T = TypeVar("_T")


class Params(tuple[tuple[str, str | None], ...]):
    """Ordered ``(name, value)`` pairs of ``;name=value`` parameters.

    A value of ``None`` is a parameter without ``=`` (``;lr``). Names compare
    case-insensitively, as RFC 3261 7.3.1 says; they are written as given.
    """

    __slots__ = ()

    def __new__(cls, items: Iterable[tuple[str, str | None]] = ()) -> "Params":
        return tuple.__new__(cls, items)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The value of the first parameter called ``name``; ``default`` if absent.

        A present parameter without a value gives ``""`` so that ``;lr`` and
        a missing ``lr`` can be told apart with ``get(...) is None``.
        """
        lname = name.lower()
        for key, value in self:
            if key.lower() == lname:
                return "" if value is None else value
        return default

    def has(self, name: str) -> bool:
        lname = name.lower()
        return any(key.lower() == lname for key, _ in self)

    def set(self, name: str, value: str | None = None) -> "Params":
        """A copy with ``name`` set to ``value`` (replacing it in place, or appended)."""
        _check_param(name, value)
        lname = name.lower()
        out, done = [], False
        for key, old in self:
            if key.lower() == lname:
                if not done:
                    out.append((key, value))
                    done = True
            else:
                out.append((key, old))
        if not done:
            out.append((name, value))
        return Params(out)

    def remove(self, name: str) -> "Params":
        lname = name.lower()
        return Params((k, v) for k, v in self if k.lower() != lname)

    def __str__(self) -> str:
        return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in self)

    def __repr__(self) -> str:
        return f"Params({list(self)!r})"


_URI_PARAM_NAME = compile_regex(_abnf.PARAMCHARS)
_URI_PARAM_VALUE = compile_regex(rf"(?:{_abnf.PARAMCHARS})?")
_GEN_VALUE = compile_regex(_abnf.GEN_VALUE)


def _check_param(name: str, value: str | None) -> None:
    if not isinstance(name, str) or not _abnf.TOKEN_RE.fullmatch(name) and not _URI_PARAM_NAME.fullmatch(name):
        raise ValueError(f"invalid parameter name {name!r}")
    if value is not None and (not isinstance(value, str) or not (_GEN_VALUE.fullmatch(value) or _URI_PARAM_VALUE.fullmatch(value))):
        raise ValueError(f"invalid value {value!r} for parameter {name!r}")


def parse_uri_params(text: str) -> Params:
    """``;a=b;c`` (already checked against the grammar) as :class:`Params`."""
    if not text:
        return _NO_PARAMS
    out = []
    for part in text[1:].split(";"):
        name, eq, value = part.partition("=")
        out.append((name, value if eq else None))
    return _tuple_new(Params, out)


_NO_PARAMS = Params()
_tuple_new = tuple.__new__  # Params(items) without a Python-level __new__, for the parser


_HEXDIGITS = frozenset(b"0123456789ABCDEFabcdef")


def _percent_decode(text: str) -> bytes:
    """The octets of ``text`` with each ``%XX`` decoded; a ``%`` not followed by
    two hex digits stays as it is. (urllib.parse does the same, but importing it
    costs the browser tens of milliseconds for this one function.)"""
    parts = text.encode("utf-8").split(b"%")
    out = bytearray(parts[0])
    for part in parts[1:]:
        if len(part) >= 2 and part[0] in _HEXDIGITS and part[1] in _HEXDIGITS:
            out.append(int(part[:2], 16))
            out += part[2:]
        else:
            out += b"%"
            out += part
    return bytes(out)


def _unescape(text: str) -> str:
    """%-decode, taking the octets as UTF-8 where they are, else as Latin-1."""
    if "%" not in text:
        return text
    raw = _percent_decode(text)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


_USER_RE = compile_regex(_abnf.USER)
_PASSWORD_RE = _abnf.Deferred(_abnf.PASSWORD)
_HOST_RE = compile_regex(_abnf.HOST)
_VISUAL_SEPARATORS = compile_regex(r"[\-.()]")
_HNV_RE = _abnf.Deferred(rf"(?:{_abnf.HNVCHARS})?")


@record
class SipUri:
    """A ``sip:`` or ``sips:`` URI (RFC 3261 19.1).

    ``user`` and ``password`` are kept %-escaped as written; ``user_text`` is
    the decoded form. ``headers`` are the ``?name=value`` pairs, also escaped.
    """

    scheme: str = "sip"
    user: str | None = None
    host: str = ""
    port: int | None = None
    params: Params = field(default_factory=Params)
    headers: tuple[tuple[str, str], ...] = ()
    password: str | None = None
    # The written form, made on first use: every field is immutable (str, int, tuples of
    # str), so it cannot go stale; a call set-up writes the same few URIs a hundred times.
    _text: str | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.scheme not in ("sip", "sips"):
            raise ValueError(f"SIP URI scheme must be 'sip' or 'sips', not {self.scheme!r}")
        if self.user is not None and not (isinstance(self.user, str) and _USER_RE.fullmatch(self.user)):
            raise ValueError(f"invalid user part {self.user!r} in SIP URI (escape it with %XX)")
        if self.password is not None and not (isinstance(self.password, str) and _PASSWORD_RE.fullmatch(self.password)):
            raise ValueError("invalid password part in SIP URI")
        if not isinstance(self.host, str) or not _HOST_RE.fullmatch(self.host) or (
                self.host[0] == "[" and not _abnf.is_ipv6_reference(self.host)):
            raise ValueError(f"invalid host {self.host!r} in SIP URI")
        if self.port is not None and not (isinstance(self.port, int) and 0 <= self.port <= 65535):
            raise ValueError(f"invalid port {self.port!r} in SIP URI")
        if not isinstance(self.params, Params):
            object.__setattr__(self, "params", Params(self.params))
        for name, value in self.params:
            if not _URI_PARAM_NAME.fullmatch(name) or (value is not None and not _URI_PARAM_VALUE.fullmatch(value)):
                raise ValueError(f"invalid URI parameter {name!r}={value!r}")
        for name, value in self.headers:
            if not name or not _HNV_RE.fullmatch(name) or not _HNV_RE.fullmatch(value):
                raise ValueError(f"invalid URI header {name!r}={value!r}")

    @property
    def user_text(self) -> str | None:
        """The user part with %-escapes decoded."""
        return None if self.user is None else _unescape(self.user)

    @property
    def transport(self) -> str | None:
        value = self.params.get("transport")
        return value.lower() if value else None

    @property
    def hostport(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    def aor(self) -> "SipUri":
        """The address of record: scheme, user and host, no port or parameters."""
        return SipUri(self.scheme, self.user, self.host.lower())

    def with_params(self, **changes: str | None) -> "SipUri":
        params = self.params
        for name, value in changes.items():
            params = params.set(name, value)
        return _replace(self, params=params)

    def without_params(self, *names: str) -> "SipUri":
        params = self.params
        for name in names:
            params = params.remove(name)
        return _replace(self, params=params)

    def equivalent(self, other: object) -> bool:
        """URI equality as RFC 3261 19.1.4 defines it (not the same as ``==``)."""
        if not isinstance(other, SipUri) or self.scheme != other.scheme:
            return False
        if (self.user_text, _unescape(self.password or "")) != (other.user_text, _unescape(other.password or "")):
            return False
        if self.host.lower() != other.host.lower() or self.port != other.port:
            return False
        mine = {k.lower(): _unescape(v or "").lower() for k, v in self.params}
        theirs = {k.lower(): _unescape(v or "").lower() for k, v in other.params}
        for name in ("user", "ttl", "method", "maddr", "transport"):
            if (name in mine) != (name in theirs):
                return False
        for name in mine.keys() & theirs.keys():
            if mine[name] != theirs[name]:
                return False
        mine_h = {k.lower(): _unescape(v) for k, v in self.headers}
        theirs_h = {k.lower(): _unescape(v) for k, v in other.headers}
        return mine_h == theirs_h

    def __str__(self) -> str:
        text = self._text
        if text is None:
            text = self._format()
            _set(self, "_text", text)
        return text

    def _format(self) -> str:
        out = [self.scheme, ":"]
        if self.user is not None:
            out.append(self.user)
            if self.password is not None:
                out += [":", self.password]
            out.append("@")
        out.append(self.host)
        if self.port is not None:
            out += [":", str(self.port)]
        out.append(str(self.params))
        if self.headers:
            out += ["?", "&".join(f"{k}={v}" for k, v in self.headers)]
        return "".join(out)

    def __repr__(self) -> str:
        shown = self if self.password is None else _replace(self, password="***")
        return f"SipUri({str(shown)!r})"


_TEL_NUMBER = _abnf.Deferred(r"\+?[0-9A-Fa-f*#().\-]+")


@record
class TelUri:
    """A ``tel:`` URI (RFC 3966); the number keeps its visual separators."""

    number: str
    params: Params = field(default_factory=Params)
    scheme: str = "tel"

    def __post_init__(self) -> None:
        if not isinstance(self.number, str) or not _TEL_NUMBER.fullmatch(self.number):
            raise ValueError(f"invalid telephone number {self.number!r} in tel URI")
        if not isinstance(self.params, Params):
            object.__setattr__(self, "params", Params(self.params))

    @property
    def digits(self) -> str:
        """The number without visual separators (``-``, ``.``, ``(``, ``)``)."""
        return _VISUAL_SEPARATORS.sub("", self.number)

    def equivalent(self, other: object) -> bool:
        return isinstance(other, TelUri) and self.digits == other.digits and (
            {k.lower(): (v or "").lower() for k, v in self.params}
            == {k.lower(): (v or "").lower() for k, v in other.params}
        )

    def __str__(self) -> str:
        return f"tel:{self.number}{self.params}"

    def __repr__(self) -> str:
        return f"TelUri({str(self)!r})"


@record
class AbsoluteUri:
    """A URI of a scheme we carry without understanding (RFC 4475 3.3.4)."""

    scheme: str
    rest: str

    def __post_init__(self) -> None:
        if not _abnf.ABSOLUTE_URI.fullmatch(f"{self.scheme}:{self.rest}"):
            raise ValueError(f"invalid URI {self.scheme}:{self.rest}")

    def equivalent(self, other: object) -> bool:
        return self == other

    def __str__(self) -> str:
        return f"{self.scheme}:{self.rest}"

    def __repr__(self) -> str:
        return f"AbsoluteUri({str(self)!r})"


Uri = Union[SipUri, TelUri, AbsoluteUri]


def _replace(uri: SipUri, **changes: Any) -> SipUri:
    values = {name: getattr(uri, name) for name in _SIP_URI_FIELDS}
    values.update(changes)
    return SipUri(**values)


_new = object.__new__
_set = object.__setattr__
_SIP_URI_FIELDS = tuple(name for name, f in SipUri.__dataclass_fields__.items() if f.init)


def _trusted(cls: type[_T], **values: object) -> _T:
    """Build a value whose parts the grammar already checked, skipping re-validation.

    The parser's hot paths set slots directly instead (see :func:`_slot_setters`);
    this generic form is for the rest.
    """
    obj = _new(cls)
    for name, value in values.items():
        _set(obj, name, value)
    return obj


def _slot_setters(cls: type, *names: str) -> list[Callable[[Any, Any], None]]:
    """The setters of ``cls``'s slots, for values the grammar already checked:
    calling a slot's own setter is about three times cheaper than going through
    ``object.__setattr__`` (which a frozen class needs), and parsing builds
    many of these objects."""
    return [cls.__dict__[name].__set__ for name in names]


(_SET_SCHEME, _SET_USER, _SET_HOST, _SET_PORT, _SET_PARAMS, _SET_HEADERS,
 _SET_PASSWORD, _SET_TEXT) = _slot_setters(SipUri, "scheme", "user", "host", "port", "params", "headers", "password",
                                           "_text")


def parse_uri(text: str) -> Uri:
    """Parse a SIP, SIPS, tel or other absolute URI.

    Raises :class:`SipParseError` (a ``ValueError``) naming what is wrong.
    """
    if not isinstance(text, str):
        raise TypeError(f"a URI is a str, not {type(text).__name__}")
    colon = text.find(":")
    scheme = text[:colon].lower() if colon > 0 else ""
    if scheme == "sip" or scheme == "sips":
        m = _abnf.SIP_URI.fullmatch(text)
        if m is None:
            raise SipParseError(f"malformed {scheme.upper()} URI {_shorten(text)!r}")
        _, user, password, host, port, params, headers = m.groups()
        if host[0] == "[" and not _abnf.is_ipv6_reference(host):
            raise SipParseError(f"malformed IPv6 reference {_shorten(host, 50)!r} in URI {_shorten(text)!r}")
        if params and "[" in params and not _maddr_ok(params):
            raise SipParseError(f"malformed IPv6 reference in the maddr of URI {_shorten(text)!r}")
        if port is not None:
            port = int(port)
            if port > 65535:
                raise SipParseError(f"port out of range in URI {_shorten(text)!r}")
        uri = _new(SipUri)
        _SET_SCHEME(uri, scheme)
        _SET_USER(uri, user)
        _SET_HOST(uri, host)
        _SET_PORT(uri, port)
        _SET_PARAMS(uri, parse_uri_params(params) if params else _NO_PARAMS)
        _SET_HEADERS(uri, tuple(tuple(h.split("=", 1)) for h in headers.split("&")) if headers else ())
        _SET_PASSWORD(uri, password)
        _SET_TEXT(uri, None)
        return uri
    if scheme == "tel":
        m = _abnf.TEL_URI.fullmatch(text)
        if m is None:
            raise SipParseError(f"malformed tel URI {_shorten(text)!r}")
        return _trusted(TelUri, number=m.group("number"), params=parse_uri_params(m.group("params")), scheme="tel")
    m = _abnf.ABSOLUTE_URI.fullmatch(text)
    if m is None:
        raise SipParseError(f"malformed URI {_shorten(text)!r}")
    return _trusted(AbsoluteUri, scheme=m.group("scheme"), rest=m.group("rest"))


def _maddr_ok(params: str) -> bool:
    """Whether every ``maddr=[...]`` among URI parameters holds an IPv6 address."""
    return all(
        _abnf.is_ipv6_reference(value)
        for name, value in parse_uri_params(params)
        if name.lower() == "maddr" and value and value.startswith("[")
    )


def _shorten(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
