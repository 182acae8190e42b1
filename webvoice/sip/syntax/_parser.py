"""Reading SIP messages from bytes: one datagram/frame, or a stream of them.

:func:`parse_message` takes one message as a datagram or a WebSocket frame
carries it (RFC 7118: Content-Length optional, octets past it ignored).
:class:`MessageReader` takes a byte stream holding several messages and frames
them by Content-Length. Both refuse malformed or oversized input with
:class:`SipParseError`, never another exception, and never grow without bound.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..util._record import record
from ..util._regex import compile_regex
from . import _abnf
from ._errors import SipParseError
from ._header_values import HeaderValue
from ._header_parsers import HEADER_SPECS, SINGLE_VALUED, parse_header_values
from ._headers import Headers, canonical_name
from ._message import Request, Response
from ._uri import SipUri, _new, _slot_setters, _tuple_new, parse_uri

#: A Content-Length header line, found in a message that did not parse (to skip its body).
_CONTENT_LENGTH_LINE = compile_regex(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*([0-9]{1,9})[ \t]*\r?$")

__all__ = ["ParserLimits", "parse_message", "MessageReader"]


@record
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
_CONTROL_OCTETS = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_BAD_OCTET = _abnf.Deferred(r"(?<!\\)[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")


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
    assert message is not None, "a whole message is complete or raises"
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


def _parse_at(data: bytes, pos: int, limits: ParserLimits, stream: bool) -> tuple[Request | Response | None, int]:
    """Parse the message starting at ``pos``; return it and the index past it.

    With ``stream`` a message not yet complete gives ``(None, pos)``.
    """
    # The usual head: CRLF line ends only, so the first CRLF CRLF ends it.
    head_end, sep = data.find(b"\r\n\r\n", pos), 4
    raw = data[pos:head_end] if head_end >= 0 else b""
    head = raw.decode("utf-8", "surrogateescape")
    lines = head.split("\r\n")
    crlf = len(lines) - 1
    plain = head_end >= 0 and head.count("\n") == crlf
    if not plain:  # bare LFs (RFC 3261 7.5 tolerates them), or no end yet
        head_end, sep = _find_head_end(data, pos)
        if head_end < 0:
            if stream and len(data) - pos <= limits.max_message_size:
                return None, pos
            raise SipParseError("no empty line ends the header section")
        raw = data[pos:head_end]
        head = raw.decode("utf-8", "surrogateescape")
        lines = head.split("\n")
        crlf = head.count("\r\n")
    # Fast checks first (one C pass for controls, a count for bare CRs); the
    # exact search, which finds where and tolerates quoted-pairs, only if needed.
    if len(raw.translate(None, _CONTROL_OCTETS)) != len(raw) or head.count("\r") != crlf:
        bad = _BAD_OCTET.search(head)
        if bad is not None:
            line = head.count("\n", 0, bad.start()) + 1
            raise SipParseError(f"control character {bad.group()!r} in line {line} of the header section")
    message_kind, method, first = _parse_start_line(lines[0] if plain else lines[0].rstrip("\r"))

    # Every CR now ends a line. The usual head (CRLF line ends, nothing folded,
    # no line near the limit) is read in one pass; anything else, and any error,
    # goes through the two exact passes, which also give the error its headers.
    read = _read_plain_headers(lines, limits) if plain and len(head) <= limits.max_line_length else None
    if read is None:
        pairs: list[tuple[str, str]] = []
        try:
            pairs = _header_pairs(lines, limits)
            read = _typed_headers(pairs, limits)
        except SipParseError as exc:
            raise SipParseError(
                exc.reason, status_code=exc.status_code, headers=exc.headers or tuple(pairs), method=method,
                is_request=message_kind is Request,
            ) from None
    headers, first_values, length = read

    if isinstance(first, SipParseError):
        raise _failure(first.reason, lines, limits, method, message_kind, first.status_code)
    if len(first_values) < len(_REQUIRED):
        missing = [name for name in _REQUIRED if name not in first_values]
        raise _failure(f"missing required header{'s' if len(missing) > 1 else ''} {', '.join(missing)}",
                       lines, limits, method, message_kind)

    body_start = head_end + sep
    if length is None:
        body_end = body_start if stream else len(data)
    else:
        body_end = body_start + length
        if body_end > len(data):
            if stream and body_end - pos <= limits.max_message_size:
                return None, pos
            raise _failure(f"body is {len(data) - body_start} octets, shorter than Content-Length {length}",
                           lines, limits, method, message_kind)
    body = data[body_start:body_end]

    if message_kind is Request:
        cseq = first_values["CSeq"]
        if cseq.method != method:
            raise _failure(f"CSeq method {cseq.method} does not match the request method {method}",
                           lines, limits, method, message_kind)
        message: Request | Response = _new(Request)
        _SET_REQUEST_METHOD(message, method)
        _SET_REQUEST_URI(message, first)
        _SET_REQUEST_HEADERS(message, headers)
        _SET_REQUEST_BODY(message, body)
    else:
        message = _new(Response)
        _SET_RESPONSE_CODE(message, first[0])
        _SET_RESPONSE_REASON(message, first[1])
        _SET_RESPONSE_HEADERS(message, headers)
        _SET_RESPONSE_BODY(message, body)
    return message, body_end


_SET_REQUEST_METHOD, _SET_REQUEST_URI, _SET_REQUEST_HEADERS, _SET_REQUEST_BODY = _slot_setters(
    Request, "method", "uri", "headers", "body")
_SET_RESPONSE_CODE, _SET_RESPONSE_REASON, _SET_RESPONSE_HEADERS, _SET_RESPONSE_BODY = _slot_setters(
    Response, "status_code", "reason", "headers", "body")


def _failure(reason: str, lines: list[str], limits: ParserLimits, method: str | None, kind: type,
             status: int = 400) -> SipParseError:
    """An error found after the headers were read, carrying what a response needs.

    The (name, raw value) pairs are made only now: the one-pass reader keeps none.
    """
    return SipParseError(
        reason, status_code=status, headers=tuple(_header_pairs(lines, limits)), method=method,
        is_request=kind is Request,
    )


def _parse_start_line(line: str) -> tuple[type[Request] | type[Response], str | None, Any]:
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
    """Unfold continuation lines and split each header into (canonical name, value).

    A line that is no header (no colon, no token before it) fails the message,
    but only after the other lines are read: the error carries them, so that a
    request with one bad line can still be answered 400 (its Via, From, To,
    Call-ID and CSeq are usually fine)."""
    pairs: list[tuple[str, str]] = []
    malformed: str | None = None
    skipping = False
    # Continuation lines are gathered and joined once per header, not appended
    # to a growing string (quadratic in the number of folds).
    folded: list[str] = []
    folded_length = 0
    max_line = limits.max_line_length
    for index in range(1, len(lines)):
        line = lines[index]
        if line.endswith("\r"):
            line = line[:-1]
        if len(line) > max_line:
            raise SipParseError(f"header line {index + 1} is longer than {max_line} characters")
        if line[:1] in (" ", "\t"):
            if skipping:  # the rest of the line that was no header
                continue
            if not pairs:
                raise SipParseError("a continuation line comes before any header")
            part = line.strip()
            if not folded:
                folded_length = len(pairs[-1][1])
                if pairs[-1][1]:
                    folded.append(pairs[-1][1])
            if part:
                folded.append(part)
                folded_length += len(part) + 1
            if folded_length > max_line:
                raise SipParseError(f"header {pairs[-1][0]} is longer than {max_line} characters")
            continue
        if folded:
            pairs[-1] = (pairs[-1][0], " ".join(folded))
            folded = []
        name, colon, value = line.partition(":")
        canonical = _NAMES.get(name) if colon else None
        if canonical is None:
            canonical = _learn_name(name) if colon else None
            if canonical is None:
                if malformed is None:
                    malformed = f"malformed header line {index + 1}: {line[:60]!r}"
                skipping = True
                continue
        skipping = False
        pairs.append((canonical, value.strip(" \t")))
        if len(pairs) > limits.max_header_count:
            raise SipParseError(f"more than {limits.max_header_count} header fields")
    if folded:
        pairs[-1] = (pairs[-1][0], " ".join(folded))
    if malformed is not None:
        raise SipParseError(malformed, headers=tuple(pairs))
    return pairs


def _read_plain_headers(lines: list[str], limits: ParserLimits) -> tuple[Headers, dict[str, Any], int | None] | None:
    """What :func:`_header_pairs` then :func:`_typed_headers` give, in one pass,
    for a header section split at CRLFs, no longer than a line may be.

    ``None`` for anything unusual or wrong, which the two exact passes then
    read or report: a folded line among others (its leading white space makes
    its name no token, and no such name is ever remembered), a repeated
    single-valued header, a malformed value, too many headers.
    """
    items: list[tuple[str, HeaderValue]] = []
    first: dict[str, Any] = {}
    seen_single: set[str] = set()
    length: Any = None  # Content-Length, typed int by its spec
    if len(lines) - 1 > limits.max_header_count:
        return None
    names = _NAMES
    specs = HEADER_SPECS
    try:
        for index in range(1, len(lines)):
            name, colon, value = lines[index].partition(":")
            canonical = names.get(name) if colon else None
            if canonical is None:
                canonical = _learn_name(name) if colon else None
                if canonical is None:
                    return None
            value = value.strip(" \t")
            spec = specs.get(canonical)
            if spec is None:
                items.append((canonical, value))
                continue
            parse, _, single = spec
            if single:
                if canonical in seen_single:
                    return None
                seen_single.add(canonical)
                parsed = parse(value, canonical)
                if canonical in _TRACKED:
                    first[canonical] = parsed
                elif canonical == "Content-Length":
                    length = parsed
                    continue
                items.append((canonical, parsed))
            elif "," not in value and (stripped := value.strip()):
                parsed = parse(stripped, canonical)
                if canonical in _TRACKED and canonical not in first:
                    first[canonical] = parsed
                items.append((canonical, parsed))
            else:
                values = parse_header_values(canonical, value)
                if canonical in _TRACKED and canonical not in first:
                    first[canonical] = values[0]
                items.extend([(canonical, v) for v in values])
    except SipParseError:
        return None
    if len(items) > limits.max_header_count:
        return None
    return _tuple_new(Headers, items), first, length


def _learn_name(name: str) -> str | None:
    """The canonical form of a header name not seen yet (remembered, within a
    bound), or ``None`` when it is no token."""
    stripped = name.rstrip(" \t")
    if not _abnf.TOKEN_RE.fullmatch(stripped):
        return None
    canonical = canonical_name(stripped)
    if len(_NAMES) < _NAMES_MAX:  # bounded: a peer cannot grow it without end
        _NAMES[name] = canonical
    return canonical


def _typed_headers(pairs: list[tuple[str, str]], limits: ParserLimits) -> tuple[Headers, dict[str, Any], int | None]:
    """The typed header list (without Content-Length, which framing consumes), the
    first value of each required header, and the Content-Length if present."""
    items: list[tuple[str, HeaderValue]] = []
    first: dict[str, Any] = {}
    seen_single: set[str] = set()
    length: Any = None  # Content-Length, typed int by its spec
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

    def __iter__(self) -> Iterator[Request | Response]:
        while (message := self.next_message()) is not None:
            yield message

    def _resync(self, data: bytes, pos: int) -> bytes:
        """Drop a bad message: through its announced body when that can be read,
        otherwise through the end of its header section, otherwise everything."""
        head_end, sep = _find_head_end(data, pos)
        if head_end < 0:
            return b""
        m = _CONTENT_LENGTH_LINE.search(data[pos:head_end])
        skip = int(m.group(1)) if m else 0
        return data[head_end + sep + skip:]
