"""SIP requests and responses: the values, their wire form and their builders.

Messages are frozen: the stack derives new ones (``request.response(200)``,
``message.replace(headers=...)``) rather than editing, so a message that was
sent or logged is never changed afterwards. The builders are the one place the
stack makes SIP text; nothing else formats a header by hand.
"""

from __future__ import annotations

import dataclasses
from dataclasses import field
from typing import Any, Generic, Iterable, Self, TypeVar, Union, cast

from ..util._record import record
from . import _abnf
from ._header_values import CSeq, HeaderValue, MediaType, NameAddr, Via
from ._headers import Headers, format_headers
from ._uri import AbsoluteUri, SipUri, TelUri, Uri, parse_uri

__all__ = ["Request", "Response", "Message", "build_request", "not_an_answer", "REASON_PHRASES"]

REASON_PHRASES = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 199: "Early Dialog Terminated", 200: "OK", 202: "Accepted",
    204: "No Notification", 300: "Multiple Choices", 301: "Moved Permanently",
    302: "Moved Temporarily", 305: "Use Proxy", 380: "Alternative Service",
    400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
    407: "Proxy Authentication Required", 408: "Request Timeout", 410: "Gone",
    412: "Conditional Request Failed", 413: "Request Entity Too Large",
    414: "Request-URI Too Long", 415: "Unsupported Media Type", 416: "Unsupported URI Scheme",
    417: "Unknown Resource-Priority", 420: "Bad Extension", 421: "Extension Required",
    422: "Session Interval Too Small", 423: "Interval Too Brief", 428: "Use Identity Header",
    429: "Provide Referrer Identity", 433: "Anonymity Disallowed", 436: "Bad Identity-Info",
    437: "Unsupported Certificate", 438: "Invalid Identity Header", 439: "First Hop Lacks Outbound Support",
    440: "Max-Breadth Exceeded", 469: "Bad Info Package", 470: "Consent Needed",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist", 482: "Loop Detected",
    483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous", 486: "Busy Here",
    487: "Request Terminated", 488: "Not Acceptable Here", 489: "Bad Event", 491: "Request Pending",
    493: "Undecipherable", 494: "Security Agreement Required", 500: "Server Internal Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Server Time-out",
    505: "Version Not Supported", 513: "Message Too Large", 555: "Push Notification Service Not Supported",
    580: "Precondition Failure", 600: "Busy Everywhere", 603: "Decline",
    604: "Does Not Exist Anywhere", 606: "Not Acceptable", 607: "Unwanted", 608: "Rejected",
}

_ENCODING = ("utf-8", "surrogateescape")
_T = TypeVar("_T")


class _First(Generic[_T]):
    """A typed header's first value, None when absent: one accessor for the
    headers that :class:`Headers` types (so the cast holds)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, message: _Common, owner: type | None = None) -> _T | None:
        # ``name`` is a canonical name, stored as it is (see Headers): no
        # lookup by lowered name, which every message reads many times over.
        name = self.name
        for n, v in message.headers:
            if n == name:
                return cast("_T", v)
        return None


class _All(Generic[_T]):
    """Every value of a typed header, in order."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, message: _Common, owner: type | None = None) -> list[_T]:
        name = self.name
        return [cast("_T", v) for n, v in message.headers if n == name]


class _Common:
    """Accessors shared by requests and responses (the typed headers)."""

    __slots__ = ()
    headers: Headers
    body: bytes

    def header(self, name: str, default: HeaderValue | None = None) -> HeaderValue | None:
        """The first value of header ``name`` (case-insensitive, compact forms too)."""
        return self.headers.get(name, default)

    def header_text(self, name: str) -> str | None:
        """The first value of header ``name`` when it is text (the headers the
        stack does not type), else None."""
        value = self.headers.get(name)
        return value if isinstance(value, str) else None

    def header_all(self, name: str) -> list[HeaderValue]:
        return self.headers.get_all(name)

    def header_texts(self, name: str) -> list[str]:
        """Every value of header ``name`` that is text (for the headers the stack
        does not type: Allow, Require, the digest headers...)."""
        return [v for v in self.headers.get_all(name) if isinstance(v, str)]

    # The typed headers: the parser and Headers.build give these names their types.
    via = _All[Via]("Via")
    top_via = _First[Via]("Via")
    call_id = _First[str]("Call-ID")
    cseq = _First[CSeq]("CSeq")
    from_ = _First[NameAddr]("From")
    to = _First[NameAddr]("To")
    record_route = _All[NameAddr]("Record-Route")
    route = _All[NameAddr]("Route")
    content_type = _First[MediaType]("Content-Type")
    max_forwards = _First[int]("Max-Forwards")
    expires = _First[int]("Expires")

    @property
    def contacts(self) -> list[NameAddr]:
        return [c for c in self.headers.get_all("Contact") if isinstance(c, NameAddr)]

    @property
    def contact(self) -> NameAddr | None:
        contacts = self.contacts
        return contacts[0] if contacts else None

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (``headers`` may be any iterable of pairs)."""
        if "headers" in changes and not isinstance(changes["headers"], Headers):
            changes["headers"] = Headers.build(changes["headers"])
        copy: Self = dataclasses.replace(cast(Any, self), **changes)  # every subclass is a @record
        return copy

    def with_header(self, name: str, value: HeaderValue) -> Self:
        """A copy with ``value`` appended as header ``name``."""
        return self.replace(headers=self.headers.add(name, value))

    def with_header_set(self, name: str, value: HeaderValue | None) -> Self:
        """A copy where header ``name`` is replaced by ``value`` (removed for ``None``)."""
        return self.replace(headers=self.headers.set(name, value))

    def _start_line(self) -> str:
        raise NotImplementedError  # Request and Response each write theirs

    def _head_lines(self) -> list[str]:
        lines = format_headers(self.headers)
        lines.append(f"Content-Length: {len(self.body)}")
        return lines

    def __bytes__(self) -> bytes:
        head = "\r\n".join([self._start_line(), *self._head_lines()])
        return head.encode(*_ENCODING) + b"\r\n\r\n" + self.body

    def __str__(self) -> str:
        return bytes(self).decode(*_ENCODING)


def _check_body(body: bytes) -> None:
    if not isinstance(body, (bytes, bytearray)):
        raise TypeError(f"a message body is bytes, not {type(body).__name__}")


@record
class Request(_Common):
    """A SIP request. ``bytes(request)`` is its wire form."""

    method: str
    uri: Uri
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or not _abnf.TOKEN_RE.fullmatch(self.method):
            raise ValueError(f"invalid SIP method {self.method!r}")
        if isinstance(self.uri, str):
            object.__setattr__(self, "uri", parse_uri(self.uri))
        if not isinstance(self.uri, (SipUri, TelUri, AbsoluteUri)):
            raise TypeError(f"Request-URI must be a URI, not {type(self.uri).__name__}")
        if isinstance(self.uri, SipUri) and self.uri.headers:
            raise ValueError("a Request-URI cannot carry URI headers")
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers.build(self.headers))
        _check_body(self.body)

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} SIP/2.0"

    def response(
        self,
        status_code: int,
        reason: str | None = None,
        *,
        to_tag: str | None = None,
        headers: Iterable[tuple[str, HeaderValue]] = (),
        body: bytes = b"",
        content_type: str | MediaType | None = None,
    ) -> "Response":
        """The response to this request (RFC 3261 8.2.6.2).

        Via, From, To, Call-ID and CSeq are copied; ``to_tag`` is added to To
        when To has no tag yet; Record-Route is copied into 1xx (but 100) and
        2xx responses, which is what a dialog-creating UAS must do (12.1.1).
        """
        out: list[tuple[str, HeaderValue]] = [("Via", v) for v in self.via]
        from_, to = _without_control_display_name(self.from_), _without_control_display_name(self.to)
        if to is not None and to_tag is not None and to.tag is None:
            to = to.with_tag(to_tag)
        for name, value in (("From", from_), ("To", to), ("Call-ID", self.call_id), ("CSeq", self.cseq)):
            if value is not None:
                out.append((name, value))
        if 100 < status_code < 300:
            out.extend(("Record-Route", rr) for rr in self.record_route)
        extra = Headers.build(headers)
        if content_type is not None:
            extra = extra.set("Content-Type", content_type)
        return Response(status_code, reason, Headers((*out, *extra)), bytes(body))


def _without_control_display_name(address: NameAddr | None) -> NameAddr | None:
    """``address`` without its display name when that holds a control octet (the
    peer sent it as a quoted-pair): no answer carries it back, and display names
    do not count when From or To are compared (RFC 3261 20.20)."""
    if address is None or address.display_name is None or not _abnf.CONTROL_CHARS.search(address.display_name):
        return address
    return NameAddr(address.uri, None, address.params)


@record
class Response(_Common):
    """A SIP response. ``reason`` defaults to the RFC's phrase for the code."""

    status_code: int
    reason: str | None = None
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def __post_init__(self) -> None:
        if isinstance(self.status_code, bool) or not isinstance(self.status_code, int) or not 100 <= self.status_code <= 699:
            raise ValueError(f"status code must be an integer in 100..699, not {self.status_code!r}")
        if self.reason is None:
            object.__setattr__(self, "reason", REASON_PHRASES.get(self.status_code, ""))
        elif not isinstance(self.reason, str) or _abnf.CONTROL_CHARS.search(self.reason.replace("\t", " ")):
            raise ValueError(f"invalid reason phrase {self.reason!r}")
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers.build(self.headers))
        _check_body(self.body)

    @property
    def is_provisional(self) -> bool:
        return self.status_code < 200

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def _start_line(self) -> str:
        return f"SIP/2.0 {self.status_code} {self.reason}"


Message = Union[Request, Response]


def build_request(
    method: str,
    uri: Uri | str,
    *,
    from_: NameAddr,
    to: NameAddr,
    call_id: str,
    cseq: int,
    via: Via | Iterable[Via] = (),
    max_forwards: int | None = 70,
    contact: NameAddr | Iterable[NameAddr] | None = None,
    route: Iterable[NameAddr] = (),
    headers: Iterable[tuple[str, HeaderValue]] = (),
    body: bytes = b"",
    content_type: str | MediaType | None = None,
) -> Request:
    """A request with the headers every request carries (RFC 3261 8.1.1), in the
    usual order, then ``headers``. Every value is checked: a bad one raises
    ``ValueError`` before anything could be sent.
    """
    vias = [via] if isinstance(via, Via) else list(via)
    items: list[tuple[str, HeaderValue]] = [("Via", v) for v in vias]
    if max_forwards is not None:
        items.append(("Max-Forwards", max_forwards))
    items += [("Route", r) for r in route]
    items += [("From", from_), ("To", to), ("Call-ID", call_id), ("CSeq", CSeq(cseq, method))]
    if contact is not None:
        items += [("Contact", c) for c in ([contact] if isinstance(contact, (NameAddr, str)) else contact)]
    items += list(headers)
    if content_type is not None:
        items.append(("Content-Type", content_type))
    return Request(method, parse_uri(uri) if isinstance(uri, str) else uri, Headers.build(items), bytes(body))


def not_an_answer(request: Request, response: Response) -> str | None:
    """Why ``response`` cannot answer ``request``, None when it can: a response
    copies the request's Call-ID, CSeq and From (RFC 3261 8.2.6.2; the From tag
    is what identifies it). The transaction layer drops a response off the wire
    that matched a transaction but says otherwise; dialogs refuse such a pair
    from an application."""
    if response.call_id != request.call_id:
        return "its Call-ID is not the request's (RFC 3261 8.2.6.2)"
    if response.cseq != request.cseq:
        return "its CSeq is not the request's (RFC 3261 8.2.6.2)"
    mine, theirs = request.from_, response.from_
    if mine is None or theirs is None or mine.tag != theirs.tag:
        return "its From tag is not the request's (RFC 3261 8.2.6.2)"
    return None
