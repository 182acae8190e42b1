"""Reading SIP messages from bytes: one datagram/frame, or a stream of them.

:func:`parse_message` takes one message as a datagram or a WebSocket frame
carries it (RFC 7118: Content-Length optional, octets past it ignored).
:class:`MessageReader` takes a byte stream holding several messages and frames
them by Content-Length. Both refuse malformed or oversized input with
:class:`SipParseError`, never another exception, and never grow without bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import _abnf
from ._errors import SipParseError
from ._headers import SINGLE_VALUED, Headers, canonical_name, parse_header_values
from ._message import Request, Response
from ._uri import SipUri, _trusted, parse_uri

__all__ = ["ParserLimits", "parse_message", "MessageReader"]


@dataclass(frozen=True, slots=True)
class ParserLimits:
    """How much a peer may make us read before we refuse (RFC 3261 leaves it open)."""

    max_message_size: int = 65536
    max_header_count: int = 256
    max_line_length: int = 16384


DEFAULT_LIMITS = ParserLimits()

_REQUIRED = ("Via", "From", "To", "Call-ID", "CSeq")
_TRACKED = frozenset(_REQUIRED)
# Header names as written -> canonical name, for names already seen valid.
_NAMES: dict[str, str] = {}
_NAMES_MAX = 2048
# Octets a header section never holds raw: controls other than HTAB, unless a
# backslash makes them a quoted-pair (RFC 3261 25.1, RFC 4475 3.1.1.2), and CR
# that is not a line end. The typed headers' grammar then decides whether a
# backslash was really inside a quoted string.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BAD_OCTET = re.compile(r"(?<!\\)[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")


def parse_message(data: bytes | str, *, limits: ParserLimits = DEFAULT_LIMITS) -> Request | Response:
    """Parse one SIP message from a datagram or WebSocket frame.

    Leading CRLFs are skipped (RFC 3261 7.5). Without Content-Length the body
    is the rest of ``data``; with it, octets past the body are ignored (RFC 4475
    3.1.1.8) and a body shorter than announced is an error.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    elif not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"parse_message takes bytes or str, not {type(data).__name__}")
    data = bytes(data)
    if len(data) > limits.max_message_size:
        raise SipParseError(f"message of {len(data)} octets exceeds the limit of {limits.max_message_size}")
    message, _ = _parse_at(data, _skip_crlf(data, 0), limits, stream=False)
    return message


def _skip_crlf(data: bytes, pos: int) -> int:
    n = len(data)
    while pos < n and data[pos] in b"\r\n":
        pos += 1
    return pos


def _find_head_end(data: bytes, pos: int) -> tuple[int, int]:
    """Index of the blank line ending the header section, and its length."""
    end = data.find(b"\r\n\r\n", pos)
    bare = data.find(b"\n\n", pos)
    if bare >= 0 and (end < 0 or bare < end):
        return bare, 2
    return end, 4


def _parse_at(data: bytes, pos: int, limits: ParserLimits, stream: bool):
    """Parse the message starting at ``pos``; return it and the index past it.

    With ``stream`` a message not yet complete gives ``(None, pos)``.
    """
    head_end, sep = _find_head_end(data, pos)
    if head_end < 0:
        if stream and len(data) - pos <= limits.max_message_size:
            return None, pos
        raise SipParseError("no empty line ends the header section")
    head = data[pos:head_end].decode("utf-8", "surrogateescape")
    # Fast path first (one C scan for controls, two counts for bare CRs); the
    # exact search, which finds where and tolerates quoted-pairs, only if needed.
    if _CONTROL.search(head) is not None or head.count("\r") != head.count("\r\n"):
        bad = _BAD_OCTET.search(head)
        if bad is not None:
            line = head.count("\n", 0, bad.start()) + 1
            raise SipParseError(f"control character {bad.group()!r} in line {line} of the header section")
    lines = head.split("\n")
    start_line = lines[0].rstrip("\r")
    message_kind, method, first = _parse_start_line(start_line)

    pairs = _header_pairs(lines, limits)
    try:
        headers, first_values, length = _typed_headers(pairs, limits)
    except SipParseError as exc:
        raise SipParseError(
            exc.reason, status_code=exc.status_code, headers=tuple(pairs), method=method,
            is_request=message_kind is Request,
        ) from None

    def fail(reason: str, status: int = 400):
        return SipParseError(
            reason, status_code=status, headers=tuple(pairs), method=method, is_request=message_kind is Request
        )

    if isinstance(first, SipParseError):
        raise fail(first.reason, first.status_code)
    missing = [name for name in _REQUIRED if name not in first_values]
    if missing:
        raise fail(f"missing required header{'s' if len(missing) > 1 else ''} {', '.join(missing)}")

    body_start = head_end + sep
    if length is None:
        body_end = body_start if stream else len(data)
    else:
        body_end = body_start + length
        if body_end > len(data):
            if stream and body_end - pos <= limits.max_message_size:
                return None, pos
            raise fail(f"body is {len(data) - body_start} octets, shorter than Content-Length {length}")
    body = data[body_start:body_end]

    if message_kind is Request:
        uri = first
        cseq = first_values["CSeq"]
        if cseq.method != method:
            raise fail(f"CSeq method {cseq.method} does not match the request method {method}")
        message = _trusted(Request, method=method, uri=uri, headers=headers, body=body)
    else:
        code, reason = first
        message = _trusted(Response, status_code=code, reason=reason, headers=headers, body=body)
    return message, body_end


def _parse_start_line(line: str):
    """(kind, method, Request-URI or (code, reason)); a deferred error in place of
    the third item when the line is readable but not acceptable, so that the
    error can carry the headers for a response."""
    if line[:4].upper() == "SIP/":
        m = _abnf.STATUS_LINE.fullmatch(line)
        if m is None:
            raise SipParseError(f"malformed status line {line[:80]!r}", is_request=False)
        if m.group(1).upper() != _abnf.SIP_VERSION:
            raise SipParseError(f"unsupported SIP version {m.group(1)}", status_code=505, is_request=False)
        code = int(m.group(2))
        if code < 100:
            raise SipParseError(f"status code {code} is out of range 100..699", is_request=False)
        return Response, None, (code, m.group(3) or "")
    m = _abnf.REQUEST_LINE.fullmatch(line)
    if m is None:
        # Still a request: keep reading so the error can carry what a 400 needs.
        method = line.split(" ", 1)[0]
        if not _abnf.TOKEN_RE.fullmatch(method):
            raise SipParseError(f"malformed start line {line[:80]!r}")
        return Request, method, SipParseError(f"malformed request line {line[:80]!r}")
    method, uri_text, version = m.groups()
    if version.upper() != _abnf.SIP_VERSION:
        return Request, method, SipParseError(f"unsupported SIP version {version}", status_code=505)
    try:
        uri = parse_uri(uri_text)
    except SipParseError as exc:
        return Request, method, SipParseError(f"bad Request-URI: {exc}")
    if isinstance(uri, SipUri) and uri.headers:
        return Request, method, SipParseError("the Request-URI carries URI headers, which it may not")
    return Request, method, uri


def _header_pairs(lines: list[str], limits: ParserLimits) -> list[tuple[str, str]]:
    """Unfold continuation lines and split each header into (canonical name, value)."""
    pairs: list[tuple[str, str]] = []
    max_line = limits.max_line_length
    for index in range(1, len(lines)):
        line = lines[index]
        if line.endswith("\r"):
            line = line[:-1]
        if len(line) > max_line:
            raise SipParseError(f"header line {index + 1} is longer than {max_line} characters")
        if line[:1] in (" ", "\t"):
            if not pairs:
                raise SipParseError("a continuation line comes before any header")
            name, value = pairs[-1]
            joined = f"{value} {line.strip()}" if value else line.strip()
            if len(joined) > max_line:
                raise SipParseError(f"header {name} is longer than {max_line} characters")
            pairs[-1] = (name, joined)
            continue
        name, colon, value = line.partition(":")
        canonical = _NAMES.get(name)
        if canonical is None:
            stripped = name.rstrip(" \t")
            if not colon or not _abnf.TOKEN_RE.fullmatch(stripped):
                raise SipParseError(f"malformed header line {index + 1}: {line[:60]!r}")
            canonical = canonical_name(stripped)
            if len(_NAMES) < _NAMES_MAX:  # bounded: a peer cannot grow it without end
                _NAMES[name] = canonical
        pairs.append((canonical, value.strip(" \t")))
        if len(pairs) > limits.max_header_count:
            raise SipParseError(f"more than {limits.max_header_count} header fields")
    return pairs


def _typed_headers(pairs: list[tuple[str, str]], limits: ParserLimits) -> tuple[Headers, dict, int | None]:
    """The typed header list (without Content-Length, which framing consumes), the
    first value of each required header, and the Content-Length if present."""
    items: list = []
    first: dict[str, object] = {}
    seen_single: set[str] = set()
    length = None
    for name, value in pairs:
        if name in SINGLE_VALUED:
            if name in seen_single:
                raise SipParseError(f"header {name} appears more than once")
            seen_single.add(name)
        values = parse_header_values(name, value)
        if name == "Content-Length":
            length = values[0]
            continue
        if name in _TRACKED and name not in first:
            first[name] = values[0]
        if len(values) == 1:
            items.append((name, values[0]))
        else:
            items.extend([(name, v) for v in values])
    if len(items) > limits.max_header_count:
        raise SipParseError(f"more than {limits.max_header_count} header values")
    return Headers(items), first, length


class MessageReader:
    """Frames SIP messages out of a byte stream by Content-Length (RFC 3261 18.3).

    ``feed()`` bytes as they arrive, then call ``next_message()`` until it gives
    ``None``. A malformed message raises :class:`SipParseError` once, after its
    octets (as far as they can be told) are dropped, so reading can go on.
    """

    def __init__(self, limits: ParserLimits = DEFAULT_LIMITS) -> None:
        self._limits = limits
        self._buffer = b""

    def feed(self, data: bytes) -> None:
        self._buffer += bytes(data)

    @property
    def buffered(self) -> int:
        """Octets received and not yet returned as a message."""
        return len(self._buffer)

    def next_message(self) -> Request | Response | None:
        data = self._buffer
        pos = _skip_crlf(data, 0)
        if pos == len(data):
            self._buffer = b""
            return None
        try:
            message, end = _parse_at(data, pos, self._limits, stream=True)
        except SipParseError:
            self._buffer = self._resync(data, pos)
            raise
        if message is None:
            self._buffer = data[pos:]
            return None
        self._buffer = data[end:]
        return message

    def __iter__(self):
        while (message := self.next_message()) is not None:
            yield message

    def _resync(self, data: bytes, pos: int) -> bytes:
        """Drop a bad message: through its announced body when that can be read,
        otherwise through the end of its header section, otherwise everything."""
        head_end, sep = _find_head_end(data, pos)
        if head_end < 0:
            return b""
        m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*([0-9]{1,9})[ \t]*\r?$", data[pos:head_end])
        skip = int(m.group(1)) if m else 0
        return data[head_end + sep + skip:]
