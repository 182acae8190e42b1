"""What a UAS core checks before it acts on a request (RFC 3261 8.2).

The checks run in the RFC's order (method, Request-URI, Require, content) and
each failure becomes the response the RFC prescribes, with the header that tells
the client how to do better (Allow, Unsupported, Accept). A request the parser
refused still gets an answer when enough of it could be read to route one.

Every answer copies text from the request (Via, From, To, Call-ID, CSeq, and
for some the peer's own words: the Require tags of a 420, the parser's
reason in a 400's Warning). :func:`without_peer_controls` is the one gate they
all pass: no control octet (C0, DEL) of the peer's leaves in an error answer,
neither raw, nor as a quoted-pair, nor %-escaped, nor as a ``\\x1b`` excerpt.
"""

from __future__ import annotations

from dataclasses import field
from types import MappingProxyType
from typing import Literal

from ..syntax import _abnf
from ..syntax._errors import SipParseError
from ..syntax._header_values import HeaderValue, MediaType, NameAddr
from ..syntax._header_parsers import parse_header_values
from ..syntax._headers import Headers, format_value
from ..syntax._message import Request, Response
from ..util._record import record
from ..util._regex import compile_regex

__all__ = ["SERVED_METHODS", "UasPolicy", "check_request", "response_for_parse_error", "without_peer_controls"]

#: The one registry of the methods this UA serves, and where: ``"any"`` (a new
#: request too) or ``"dialog"`` (only inside a dialog it has; outside one the
#: answer is 481). ``Allow`` (OPTIONS answers, 405s, our INVITEs and 2xx) and
#: the 405 check are derived from it, so a method is listed exactly when it is
#: here. Serving a new method means an entry here and its handler: in
#: ``UserAgent._on_request`` for ``"any"``, in ``CallSession.receive_request``
#: for a dialog. tests/sip/test_allow.py checks both ways that every method
#: listed is served and every method served is listed.
SERVED_METHODS: MappingProxyType[str, Literal["any", "dialog"]] = MappingProxyType({
    "INVITE": "any",
    "ACK": "any",
    "CANCEL": "any",
    "OPTIONS": "any",
    "BYE": "dialog",
    "INFO": "dialog",
    "UPDATE": "dialog",
    "REFER": "dialog",
    "NOTIFY": "dialog",
    "PRACK": "dialog",  # RFC 3262, in the early dialog of an INVITE (session._prack_uas)
    "MESSAGE": "any",  # RFC 3428, in and out of dialogs (_message_method)
})

#: A control octet (C0 or DEL) raw, %-escaped (RFC 3986), or as a ``\xNN``
#: excerpt of a parser message. A quoted-pair holds the raw octet, so it is
#: found as raw.
_CONTROL_ECHO_RE = compile_regex(r"[\x00-\x1f\x7f]|%(?:[01][0-9a-fA-F]|7[fF])|\\x(?:[01][0-9a-fA-F]|7[fF])")
#: What every response must copy from its request (RFC 3261 8.2.6.2).
_CORE_HEADERS = frozenset({"Via", "From", "To", "Call-ID", "CSeq"})


@record
class UasPolicy:
    """What this UA serves: its methods, extensions, body types and URI schemes."""

    methods: frozenset[str] = frozenset(SERVED_METHODS)
    extensions: frozenset[str] = frozenset({"100rel", "replaces", "outbound", "timer", "norefersub"})
    body_types: frozenset[str] = frozenset(
        {"application/sdp", "application/dtmf-relay", "application/dtmf", "message/sipfrag", "text/plain",
         "text/html", "application/json",  # for MESSAGE (RFC 3428, _message_method)
         # NOTIFY bodies of our subscriptions (RFC 4235, RFC 3863)
         "application/dialog-info+xml", "application/pidf+xml", "application/simple-message-summary"}
    )
    uri_schemes: frozenset[str] = frozenset({"sip", "sips"})
    #: Methods whose answer carries an SDP body (offer/answer, RFC 3264).
    sdp_methods: frozenset[str] = field(default=frozenset({"INVITE", "UPDATE"}))

    def allow_value(self) -> str:
        return ", ".join(sorted(self.methods))


DEFAULT_POLICY = UasPolicy()


def check_request(request: Request, policy: UasPolicy = DEFAULT_POLICY) -> Response | None:
    """The error response ``request`` must get, or ``None`` when it may be served.

    ACK never gets a response (RFC 3261 17.1.1.3). Max-Forwards 0 is no reason
    to refuse: a UAS serves the request (RFC 4475 3.3.11); only proxies refuse.
    """
    method = request.method
    if method == "ACK":
        return None
    if _carries_controls(request):
        # Unanswerable: its answer would carry them back. The 400 ends the
        # server transaction; without_peer_controls() keeps it off the wire.
        return request.response(400, "Control Octets In Request")
    if method not in policy.methods:
        return request.response(405, headers=[("Allow", policy.allow_value())])
    if request.uri.scheme.lower() not in policy.uri_schemes:
        return request.response(416)
    if method == "CANCEL":
        return None
    unsupported = [tag for tag in request.header_texts("Require") if tag and tag.lower() not in policy.extensions]
    if unsupported:
        listed = [tag for tag in unsupported if not _CONTROL_ECHO_RE.search(tag)]  # never echo a control
        return request.response(420, headers=[("Unsupported", ", ".join(listed))] if listed else [])
    if request.body:
        content_type = request.content_type
        mime = content_type.mime if content_type is not None else "application/sdp"
        encodings = [e for e in request.header_texts("Content-Encoding") if e and e.lower() != "identity"]
        if not _body_type_served(mime, policy) or encodings:
            return request.response(
                415,
                headers=[("Accept", ", ".join(sorted(policy.body_types))), ("Accept-Encoding", "identity")],
            )
    if method in policy.sdp_methods and request.headers.has("Accept"):
        ranges = [r for r in request.header_all("Accept") if isinstance(r, MediaType)]
        if not any(r.matches("application/sdp") for r in ranges):
            return request.response(406)
    return None


def _carries_controls(request: Request) -> bool:
    """Whether a header every answer copies carries a control octet (the display
    names aside: :meth:`Request.response` leaves those out)."""
    return any(name in _CORE_HEADERS and _CONTROL_ECHO_RE.search(format_value(_bare(value)))
               for name, value in request.headers)


def _bare(value: HeaderValue) -> HeaderValue:
    return NameAddr(value.uri, None, value.params) if isinstance(value, NameAddr) else value


def _body_type_served(mime: str, policy: UasPolicy) -> bool:
    if mime in policy.body_types:
        return True
    # A multipart body is served when we understand at least its container;
    # the parts we do not understand are ignored (RFC 5621 allows it).
    return mime.startswith("multipart/") and mime in ("multipart/mixed", "multipart/alternative")


_RESPONSE_HEADERS = ("Via", "From", "To", "Call-ID", "CSeq")


def response_for_parse_error(error: SipParseError) -> Response | None:
    """The response to a request the parser refused, when one can be routed.

    It needs the request's Via (to know where the response goes); From, To,
    Call-ID and CSeq are copied, first occurrence only: parsed when they can
    be, else as the sender wrote them (its own line, already checked for
    control characters), so that it can still match the answer. A
    ``Warning: 399`` carries the parser's reason, for the sender's logs.
    Nothing is answered for responses, for ACK, or without a readable Via.
    """
    if error.is_request is not True or error.method == "ACK":
        return None
    items: list[tuple[str, HeaderValue]] = []
    seen: set[str] = set()
    for name, raw in error.headers:
        if name not in _RESPONSE_HEADERS or (name != "Via" and name in seen):
            continue
        try:
            values = parse_header_values(name, raw)
        except SipParseError:
            if name == "Via":
                continue
            values = [raw]  # echoed as written: the sender's own bytes
        seen.add(name)
        items.extend((name, v) for v in values)
    if "Via" not in seen:
        return None
    items.append(("Warning", f"399 webvoice {_abnf.quote(_printable(error.reason[:200]))}"))
    return Response(error.status_code, None, Headers(items))


def without_peer_controls(response: Response) -> Response | None:
    """``response`` with no control octet copied from the request, or None when
    it cannot be answered without one.

    A From or To whose display name carries one loses the display name (RFC
    3261 20.20: display names do not count when From or To are compared). A
    response whose other copied headers (Via, From and To URIs, Call-ID,
    CSeq) carry one is not sent at all: they cannot change without breaking
    the answer, and :func:`check_request` refuses such requests anyway. Any
    other header carrying one is dropped.
    """
    items = []
    changed = False
    for name, value in response.headers:
        if not _CONTROL_ECHO_RE.search(format_value(value)):
            items.append((name, value))
            continue
        changed = True
        if name in ("From", "To") and isinstance(value, NameAddr):
            value = _bare(value)
            if not _CONTROL_ECHO_RE.search(format_value(value)):
                items.append((name, value))
                continue
        if name in _CORE_HEADERS:
            return None
    if _CONTROL_ECHO_RE.search(response.reason or ""):
        return response.replace(reason=None, headers=Headers(items))
    return response.replace(headers=Headers(items)) if changed else response


def _printable(text: str) -> str:
    """``text`` with every control octet (raw, %-escaped or ``\\xNN``) shown as ``?``
    and anything outside printable ASCII too: the parser's reason quotes the peer."""
    text = _CONTROL_ECHO_RE.sub("?", text)
    return "".join(c if " " <= c <= "~" else "?" for c in text)
