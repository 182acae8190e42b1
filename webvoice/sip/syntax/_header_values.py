"""The typed values of the headers the stack reads: NameAddr, Via, CSeq, MediaType.

Apart from :mod:`._headers` (which names the headers, parses their text into
these values and keeps a message's header list) because these are values an
application builds too (a Refer-To, a From), each checked when built, and
because the two together were one module of 800 lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from typing import Iterable, Union

from ..util._record import record
from ..util._regex import compile_regex
from . import _abnf
from ._errors import SipParseError
from ._uri import Params, Uri, parse_uri

_HOST = compile_regex(_abnf.HOST)

__all__ = ["STAR", "CSeq", "HeaderValue", "MAX_DELTA_SECONDS", "MediaType", "NameAddr", "Via", "header_params"]

# gen-value also admits a bare IPv6 address, which is what Via received= carries
# (RFC 3261 25.1 via-received; RFC 5118 4.5). A gen-value followed by ":" is
# the first group of such an address ("2001" of "2001:db8::1"), not a value:
# the atomic group keeps it from being taken, and the address alternative reads
# the whole. (Ordinary values are scanned once, as before.)
_GEN_VALUE_OR_IPV6 = rf"(?>{_abnf.GEN_VALUE})(?!:)|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+"
_GEN_VALUE_RE = _abnf.Deferred(_GEN_VALUE_OR_IPV6)  # for parameters given as text, not parsed

MAX_DELTA_SECONDS = 2**32 - 1


def _bounded_int(digits: str, limit: int, what: str, clamp: bool) -> int:
    """``digits`` (ASCII, already matched) as an int of at most ``limit``: larger
    values are clamped or refused. Never calls ``int()`` on more digits than the
    limit has, so no length of number reaches the interpreter's digit limit."""
    significant = digits.lstrip("0") or "0"
    if len(significant) <= len(str(limit)) and (value := int(significant)) <= limit:
        return value
    if clamp:
        return limit
    raise SipParseError(f"{what} value {digits[:20]}{'...' if len(digits) > 20 else ''} is out of range "
                        f"(at most {limit})")


# --- typed values ----------------------------------------------------------------


def _check_text(value: str, what: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, not {type(value).__name__}")
    if _abnf.CONTROL_CHARS.search(value):
        raise ValueError(f"{what} contains a control character (CR, LF or similar): {value!r}")


def header_params(params: Params | Mapping[str, str | None] | Iterable[tuple[str, str | None]] | None) -> Params:
    """Header parameters as :class:`Params`, each name and value checked (a
    :class:`Params` is taken as it is: it was checked when made here or parsed)."""
    if isinstance(params, Params):
        return params
    if params is None:
        params = ()
    elif isinstance(params, Mapping):
        params = params.items()
    out = Params(params)
    for name, value in out:
        if not _abnf.TOKEN_RE.fullmatch(name) or (value is not None and not _GEN_VALUE_RE.fullmatch(value)):
            raise ValueError(f"invalid header parameter {name!r}={value!r}")
    return out


@record
class NameAddr:
    """``"Display" <uri>;param=value``: From, To, Contact, Route and their kin.

    ``params`` are the header parameters (``tag``, ``expires``, ``q``...), kept
    apart from the URI's own parameters inside the angle brackets (RFC 4475
    3.3.12, 3.3.13). Always written with angle brackets.
    """

    uri: Uri
    display_name: str | None = None
    params: Params = field(default_factory=Params)

    def __post_init__(self) -> None:
        if isinstance(self.uri, str):
            object.__setattr__(self, "uri", parse_uri(self.uri))
        if self.display_name is not None:
            _check_text(self.display_name, "display name")
            if not self.display_name:  # written without one, so read back as None
                object.__setattr__(self, "display_name", None)
        object.__setattr__(self, "params", header_params(self.params))

    @property
    def tag(self) -> str | None:
        """The ``tag`` parameter; None when absent, and when it is no token (``;tag``,
        ``;tag=``, ``;tag="q"``): a tag is a token (RFC 3261 25.1), so anything else
        is no tag, as an RFC 2543 peer's missing one is (12.1.1). Never "" nor a
        quoted string: a dialog keyed on one would write it back into every
        request, and no parser (webvoice's included) takes ``tag=`` or a quoted tag."""
        value = self.params.get("tag")
        return value if value and _abnf.TOKEN_RE.fullmatch(value) else None

    def with_tag(self, tag: str) -> "NameAddr":
        if not isinstance(tag, str) or not _abnf.TOKEN_RE.fullmatch(tag):
            raise ValueError(f"a tag is a token, not {tag!r}")
        return NameAddr(self.uri, self._display_to_copy(), self.params.set("tag", tag))

    def with_params(self, **changes: str | None) -> "NameAddr":
        params = self.params
        for name, value in changes.items():
            params = params.set(name.replace("_", "-"), value)
        return NameAddr(self.uri, self._display_to_copy(), params)

    def without_tag(self) -> "NameAddr":
        return NameAddr(self.uri, self._display_to_copy(), self.params.remove("tag"))

    def _display_to_copy(self) -> str | None:
        # A parsed display name may hold a control character (as a quoted-pair,
        # RFC 4475 3.1.1.2); copies leave it out (display names do not count
        # when addresses are compared, RFC 3261 20.20) instead of failing.
        name = self.display_name
        return None if name is not None and _abnf.CONTROL_CHARS.search(name) else name

    @property
    def expires(self) -> int | None:
        """The ``expires`` parameter; larger than 2**32-1 counts as 2**32-1
        (RFC 3261 10.2.1.1), anything but ASCII digits as absent."""
        value = self.params.get("expires")
        if not value or not _abnf.DIGITS.fullmatch(value):
            return None
        return _bounded_int(value, MAX_DELTA_SECONDS, "expires", clamp=True)

    def __str__(self) -> str:
        uri = f"<{self.uri}>{self.params}"
        return uri if not self.display_name else f"{_abnf.quote(self.display_name)} {uri}"


#: A Contact of ``*`` (RFC 3261 10.2.2, removing all bindings).
STAR = "*"


@record
class Via:
    """One Via entry: ``SIP/2.0/WSS host:port;branch=...;rport``."""

    transport: str
    host: str
    port: int | None = None
    params: Params = field(default_factory=Params)
    protocol: str = "SIP/2.0"

    def __post_init__(self) -> None:
        if not isinstance(self.transport, str) or not _abnf.TOKEN_RE.fullmatch(self.transport):
            raise ValueError(f"invalid Via transport {self.transport!r}")
        if not isinstance(self.host, str) or not _HOST.fullmatch(self.host) or (
                self.host[0] == "[" and not _abnf.is_ipv6_reference(self.host)):
            raise ValueError(f"invalid Via host {self.host!r}")
        if self.port is not None and not (isinstance(self.port, int) and 0 <= self.port <= 65535):
            raise ValueError(f"invalid Via port {self.port!r}")
        object.__setattr__(self, "params", header_params(self.params))

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def sent_by(self) -> str:
        return self.host if self.port is None else f"{self.host}:{self.port}"

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> str | None:
        return self.params.get("rport")

    def __str__(self) -> str:
        return f"{self.protocol}/{self.transport} {self.sent_by}{self.params}"


@record
class CSeq:
    """``CSeq: 314159 INVITE``; the number is below 2**31 (RFC 3261 8.1.1.5)."""

    seq: int
    method: str

    def __post_init__(self) -> None:
        if not isinstance(self.seq, int) or not 0 <= self.seq < 2**31:
            raise ValueError(f"CSeq number must be an integer in 0..2**31-1, not {self.seq!r}")
        if not isinstance(self.method, str) or not _abnf.TOKEN_RE.fullmatch(self.method):
            raise ValueError(f"invalid CSeq method {self.method!r}")

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


@record
class MediaType:
    """``type/subtype;param=value`` of Content-Type and Accept (``*`` allowed in Accept).

    Parameter values keep their quotes as written; :meth:`param` unquotes.
    """

    type: str
    subtype: str
    params: Params = field(default_factory=Params)

    def __post_init__(self) -> None:
        for part in (self.type, self.subtype):
            if not isinstance(part, str) or not _abnf.TOKEN_RE.fullmatch(part):
                raise ValueError(f"invalid media type part {part!r}")
        object.__setattr__(self, "params", header_params(self.params))

    @property
    def mime(self) -> str:
        """``type/subtype`` in lower case, for comparisons."""
        return f"{self.type}/{self.subtype}".lower()

    def param(self, name: str) -> str | None:
        value = self.params.get(name)
        if value and value.startswith('"'):
            return _abnf.unquote(value)
        return value

    def matches(self, mime: str) -> bool:
        """Whether this media range (from Accept) admits ``mime``."""
        want_type, _, want_sub = mime.lower().partition("/")
        mine_type, mine_sub = self.type.lower(), self.subtype.lower()
        return mine_type in ("*", want_type) and mine_sub in ("*", want_sub)

    def __str__(self) -> str:
        return f"{self.type}/{self.subtype}{self.params}"


HeaderValue = Union[str, int, NameAddr, Via, CSeq, MediaType]
