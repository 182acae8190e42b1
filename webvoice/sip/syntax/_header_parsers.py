"""How each header the stack acts on is read: the value parsers and the table naming them.

A header the stack acts on (Via, From/To/Contact and the other name-addr
headers, CSeq, Call-ID, the integer headers, Content-Type, option tags...)
is parsed into a small frozen value from :mod:`._header_values` when the
message is read, so that a malformed one is refused at once and nothing
downstream re-parses text. :data:`HEADER_SPECS` says, per header, which
parser reads it, whether it is a comma-separated list and whether it may
appear only once; :func:`parse_header_values` applies it to one header line.
The parser (:mod:`._parser`) reads the table in its one pass; the header list
(:mod:`._headers`) uses it to check the values an application gives.
"""

from __future__ import annotations

import re
from typing import Callable

from . import _abnf
from ._errors import SipParseError
from ._header_values import (
    _GEN_VALUE_OR_IPV6,
    MAX_DELTA_SECONDS,
    STAR,
    CSeq,
    HeaderValue,
    MediaType,
    NameAddr,
    Via,
    _bounded_int,
)
from ._uri import Params, _new, _slot_setters, _tuple_new, parse_uri
from ..util._regex import compile_regex

__all__ = ["HEADER_SPECS", "SINGLE_VALUED", "leading_delta", "parse_header_values", "parse_name_addr"]


_PARAM_RE = compile_regex(
    rf"{_abnf.SWS};{_abnf.SWS}({_abnf.TOKEN})(?:{_abnf.SWS}={_abnf.SWS}({_GEN_VALUE_OR_IPV6}))?"
)
_WS = compile_regex(_abnf.SWS)


def _match_end(pattern: re.Pattern[str], text: str, pos: int) -> int:
    """Where ``pattern`` (one that matches the empty string too) ends from ``pos``."""
    m = pattern.match(text, pos)
    return m.end() if m is not None else pos


def _parse_params(text: str, pos: int, what: str) -> Params:
    """``*( SEMI generic-param )`` from ``pos`` to the end of ``text``."""
    out = []
    end = len(text)
    match = _PARAM_RE.match
    while pos < end:
        m = match(text, pos)
        if m is None:
            if not text[pos:].strip():
                break
            raise SipParseError(f"malformed parameters in {what}: {text[pos:pos + 40]!r}")
        pair = m.groups()  # (name, value or None)
        value = pair[1]
        # An address among the values (Via received=, maddr=; RFC 5118 4.5):
        # bare or in brackets, it must be an IPv6 address, not just look like one.
        if value is not None and (value[0] == "[" or (":" in value and value[0] != '"')) and not (
                _abnf.is_ipv6_reference(value) if value[0] == "[" else _abnf.is_ipv6_address(value)):
            raise SipParseError(f"malformed IPv6 address {value[:50]!r} in parameter {pair[0]} of {what}")
        out.append(pair)
        pos = m.end()
    return _tuple_new(Params, out) if out else _EMPTY_PARAMS


_EMPTY_PARAMS = Params()


def _split_commas(value: str, what: str) -> list[str]:
    """Split a header value on the commas that separate values.

    Commas inside quoted strings and inside ``<...>`` belong to the value. An
    empty element (``a,,b`` or a trailing comma) is refused (RFC 4475 3.1.2.1).
    """
    if "," not in value:
        return [value.strip()]
    if '"' not in value and "<" not in value:  # nothing can hide a comma: split in C
        parts = [part.strip() for part in value.split(",")]
        if not all(parts):
            raise SipParseError(f"empty element in the comma-separated list of {what}")
        return parts
    parts, start, i, n = [], 0, 0, len(value)
    in_angle = False
    while i < n:
        c = value[i]
        if c == '"':
            i += 1
            while i < n and value[i] != '"':
                i += 2 if value[i] == "\\" else 1
        elif c == "<":
            in_angle = True
        elif c == ">":
            in_angle = False
        elif c == "," and not in_angle:
            parts.append(value[start:i].strip())
            start = i + 1
        i += 1
    parts.append(value[start:].strip())
    if any(not p for p in parts):
        raise SipParseError(f"empty element in the comma-separated list of {what}")
    return parts


def parse_name_addr(text: str, what: str = "header") -> NameAddr:
    """One ``name-addr`` or ``addr-spec`` with its header parameters (RFC 3261 20.10)."""
    text = text.strip()
    display = None
    if text.startswith('"'):
        m = _abnf.QUOTED.match(text)
        if m is None:
            raise SipParseError(f"unterminated quoted display name in {what}")
        display = _abnf.unquote(m.group())
        lt = _match_end(_WS, text, m.end())
        if not text.startswith("<", lt):
            raise SipParseError(f"expected '<' after the display name in {what}")
    else:
        lt = text.find("<")
        if lt > 0:
            display = text[:lt].strip()
            if not _abnf.DISPLAY_TOKENS.fullmatch(display):
                raise SipParseError(f"display name {display!r} in {what} must be quoted")
    if lt >= 0:
        gt = text.find(">", lt)
        if gt < 0:
            raise SipParseError(f"missing '>' in {what}")
        spec = text[lt + 1:gt]
        start = gt + 1
    else:
        # addr-spec form: the URI ends at the first ';', and may hold no ',', '?'.
        semi = text.find(";")
        spec = (text if semi < 0 else text[:semi]).rstrip(" \t")
        if "?" in spec or " " in spec or "\t" in spec:
            raise SipParseError(f"a URI with headers or spaces in {what} must be enclosed in <>")
        start = len(spec)
    try:
        uri = parse_uri(spec)
    except SipParseError as exc:
        raise SipParseError(f"{exc} in {what}") from None
    obj = _new(NameAddr)
    _SET_NA_URI(obj, uri)
    _SET_NA_DISPLAY(obj, display)
    _SET_NA_PARAMS(obj, _parse_params(text, start, what) if start < len(text) else _EMPTY_PARAMS)
    return obj


_SET_NA_URI, _SET_NA_DISPLAY, _SET_NA_PARAMS = _slot_setters(NameAddr, "uri", "display_name", "params")


def _parse_contact(text: str, what: str) -> NameAddr | str:
    return STAR if text.strip() == STAR else parse_name_addr(text, what)


def _parse_via(text: str, what: str) -> Via:
    m = _abnf.VIA.match(text)
    if m is None:
        raise SipParseError(f"malformed {what}: {text[:60]!r}")
    name, version, transport, host, port = m.groups()
    if host[0] == "[" and not _abnf.is_ipv6_reference(host):
        raise SipParseError(f"malformed IPv6 reference {host[:50]!r} in {what}")
    if port is not None:
        port = int(port)
        if port > 65535:
            raise SipParseError(f"port out of range in {what}")
    protocol = f"{name}/{version}"
    obj = _new(Via)
    _SET_VIA_TRANSPORT(obj, transport.upper())
    _SET_VIA_HOST(obj, host)
    _SET_VIA_PORT(obj, port)
    _SET_VIA_PARAMS(obj, _parse_params(text, m.end(), what))
    _SET_VIA_PROTOCOL(obj, "SIP/2.0" if protocol.upper() == "SIP/2.0" else protocol)
    return obj


(_SET_VIA_TRANSPORT, _SET_VIA_HOST, _SET_VIA_PORT, _SET_VIA_PARAMS,
 _SET_VIA_PROTOCOL) = _slot_setters(Via, "transport", "host", "port", "params", "protocol")


def _parse_cseq(text: str, what: str) -> CSeq:
    m = _abnf.CSEQ.fullmatch(text.strip())
    if m is None:
        raise SipParseError(f"malformed CSeq {text[:40]!r}")
    seq, method = m.groups()
    number = int(seq) if len(seq) < 10 else _bounded_int(seq, 2**31 - 1, "CSeq number", clamp=False)  # 8.1.1.5
    obj = _new(CSeq)
    _SET_CSEQ_SEQ(obj, number)
    _SET_CSEQ_METHOD(obj, method)
    return obj


_SET_CSEQ_SEQ, _SET_CSEQ_METHOD = _slot_setters(CSeq, "seq", "method")


def _parse_call_id(text: str, what: str) -> str:
    text = text.strip()
    if not _abnf.CALL_ID.fullmatch(text):
        raise SipParseError(f"malformed Call-ID {text[:40]!r}")
    return text


#: The largest delta-seconds (RFC 3261 20.19, 10.2.1.1: larger values count as this).
def _int_parser(limit: int, clamp: bool = False) -> Callable[[str, str], int]:
    width = len(str(limit))

    def parse(text: str, what: str) -> int:
        text = text.strip()
        if not _abnf.DIGITS.fullmatch(text):
            raise SipParseError(f"{what} must be a non-negative integer, not {text[:30]!r}")
        if len(text) <= width and (value := int(text)) <= limit:  # the usual case
            return value
        return _bounded_int(text, limit, what, clamp)

    return parse


# delta-seconds followed by parameters (and, for Retry-After, a comment):
# Session-Expires, Min-SE (RFC 4028), Retry-After (RFC 3261 20.33). The text is
# kept for the readers that interpret it; the number is checked here, once.
_DELTA_AND_REST = compile_regex(r"([0-9]++)[ \t]*+(\([^()]*+\))?+[ \t]*+(;.*+)?+")


def leading_delta(text: str) -> int | None:
    """The delta-seconds of a value kept as text by a delta parser (Retry-After,
    Session-Expires, Min-SE: a number, then a comment and parameters), None
    when it has none; bounded as the parser checked it."""
    m = _DELTA_AND_REST.fullmatch(text.strip())
    return _abnf.plain_number(m.group(1), 10) if m else None


def _delta_parser(limit: int) -> Callable[[str, str], str]:
    def parse(text: str, what: str) -> str:
        text = text.strip()
        m = _DELTA_AND_REST.fullmatch(text)
        if m is None:  # not a number at all: kept, for the reader to ignore or refuse
            return text
        _bounded_int(m.group(1), limit, what, clamp=False)
        for name, value in _parse_params(m.group(3) or "", 0, what):
            if value is not None and name.lower() in _NUMERIC_PARAMS and _abnf.DIGITS.fullmatch(value):
                _bounded_int(value, limit, f"{what} parameter {name}", clamp=False)
        return text

    return parse


#: Header parameters that carry a number of seconds (RFC 3261 20.33, RFC 6665).
_NUMERIC_PARAMS = frozenset(("expires", "duration", "retry-after"))


def _parse_rack(text: str, what: str) -> str:
    """RAck = response-num LWS CSeq-num LWS Method (RFC 3262 7.2), both numbers
    below 2**31 as RSeq and CSeq are; kept as text."""
    text = text.strip()
    m = _RACK.fullmatch(text)
    if m is None:
        raise SipParseError(f"malformed RAck {text[:40]!r}")
    _bounded_int(m.group(1), 2**31 - 1, "RAck response number", clamp=False)
    _bounded_int(m.group(2), 2**31 - 1, "RAck CSeq number", clamp=False)
    return text


_RACK = compile_regex(rf"([0-9]++){_abnf.LWS}([0-9]++){_abnf.LWS}({_abnf.TOKEN})")


def _parse_subscription_state(text: str, what: str) -> str:
    """substate-value *( SEMI subexp-params ) (RFC 6665 8.2.3); expires= and
    retry-after= are checked numbers, larger than 2**32-1 refused."""
    text = text.strip()
    m = _abnf.TOKEN_RE.match(text)
    if m is None:
        raise SipParseError(f"malformed {what} {text[:40]!r}")
    for name, value in _parse_params(text, m.end(), what):
        if value is not None and name.lower() in _NUMERIC_PARAMS:
            if not _abnf.DIGITS.fullmatch(value):
                raise SipParseError(f"{what} parameter {name} must be a number of seconds, not {value[:20]!r}")
            _bounded_int(value, MAX_DELTA_SECONDS, f"{what} parameter {name}", clamp=False)
    return text


def _parse_media_type(text: str, what: str) -> MediaType:
    stripped = text.strip()
    m = _abnf.MEDIA_TYPE.match(stripped) if stripped != "*" else None
    if m is None:
        raise SipParseError(f"malformed media type in {what}: {stripped[:40]!r}")
    obj = _new(MediaType)
    _SET_MT_TYPE(obj, m.group(1))
    _SET_MT_SUBTYPE(obj, m.group(2))
    _SET_MT_PARAMS(obj, _parse_params(stripped, m.end(), what))
    return obj


_SET_MT_TYPE, _SET_MT_SUBTYPE, _SET_MT_PARAMS = _slot_setters(MediaType, "type", "subtype", "params")


def _parse_token(text: str, what: str) -> str:
    text = text.strip()
    if not _abnf.TOKEN_RE.fullmatch(text):
        raise SipParseError(f"malformed option or method token {text[:30]!r} in {what}")
    return text


def _parse_text(text: str, what: str) -> str:
    return text


def _parse_date(text: str, what: str) -> str:
    if not _abnf.SIP_DATE.fullmatch(text.strip()):
        raise SipParseError(f"Date {text[:40]!r} is not an RFC 1123 date in GMT")
    return text.strip()


# How each known header's value is read: (parser, is a comma-separated list, single-valued).
_SPEC: dict[str, tuple[Callable[[str, str], HeaderValue], bool, bool]] = {
    "Via": (_parse_via, True, False),
    "From": (parse_name_addr, False, True),
    "To": (parse_name_addr, False, True),
    "Contact": (_parse_contact, True, False),
    "Route": (parse_name_addr, True, False),
    "Record-Route": (parse_name_addr, True, False),
    "Path": (parse_name_addr, True, False),
    "Service-Route": (parse_name_addr, True, False),
    "P-Asserted-Identity": (parse_name_addr, True, False),
    "P-Preferred-Identity": (parse_name_addr, True, False),
    "Refer-To": (parse_name_addr, False, True),
    "Referred-By": (parse_name_addr, False, True),
    "Reply-To": (parse_name_addr, False, True),
    "CSeq": (_parse_cseq, False, True),
    "Call-ID": (_parse_call_id, False, True),
    "Content-Length": (_int_parser(2**31 - 1), False, True),
    "Max-Forwards": (_int_parser(255), False, True),
    # RFC 3261 10.2.1.1 and 20.19: a larger expiry counts as 2**32-1.
    "Expires": (_int_parser(MAX_DELTA_SECONDS, clamp=True), False, True),
    "Min-Expires": (_int_parser(MAX_DELTA_SECONDS, clamp=True), False, True),
    # RFC 3262 7.1: 1 .. 2**31-1.
    "RSeq": (_int_parser(2**31 - 1), False, True),
    "RAck": (_parse_rack, False, True),
    "Session-Expires": (_delta_parser(MAX_DELTA_SECONDS), False, True),
    "Min-SE": (_delta_parser(MAX_DELTA_SECONDS), False, True),
    "Retry-After": (_delta_parser(MAX_DELTA_SECONDS), False, True),
    "Subscription-State": (_parse_subscription_state, False, True),
    "Content-Type": (_parse_media_type, False, True),
    "Date": (_parse_date, False, True),
    "Accept": (_parse_media_type, True, False),
    "Allow": (_parse_token, True, False),
    "Supported": (_parse_token, True, False),
    "Require": (_parse_token, True, False),
    "Proxy-Require": (_parse_token, True, False),
    "Unsupported": (_parse_token, True, False),
    "Allow-Events": (_parse_token, True, False),
    "Content-Encoding": (_parse_token, True, False),
    "Accept-Encoding": (_parse_text, True, False),
    "Accept-Language": (_parse_text, True, False),
    "Content-Language": (_parse_text, True, False),
    "Alert-Info": (_parse_text, True, False),
    "Call-Info": (_parse_text, True, False),
    "Error-Info": (_parse_text, True, False),
    "In-Reply-To": (_parse_text, True, False),
    "Warning": (_parse_text, True, False),
    "Reason": (_parse_text, True, False),
}

#: The table above, for the parser's one-pass reader (webvoice.sip.syntax._parser).
HEADER_SPECS = _SPEC

#: Headers that may appear at most once (RFC 4475 3.3.8, 3.3.9).
SINGLE_VALUED = frozenset(name for name, (_, _, single) in _SPEC.items() if single)


#: List headers whose values are typed addresses: an empty one is refused.
_NEVER_EMPTY = frozenset(
    name for name, (parse, is_list, _) in _SPEC.items() if is_list and parse in (_parse_via, _parse_contact, parse_name_addr))

_TOKEN_LIST = compile_regex(rf"{_abnf.TOKEN}(?:{_abnf.SWS},{_abnf.SWS}{_abnf.TOKEN})*")
_TOKEN_LIST_HEADERS = frozenset(
    ("Allow", "Supported", "Require", "Proxy-Require", "Unsupported", "Allow-Events", "Content-Encoding"))


def parse_header_values(name: str, value: str) -> list[HeaderValue]:
    """The values one header line holds, typed where the stack knows the header.

    ``name`` must already be canonical. A list header that may be empty
    (``Accept:``, meaning "nothing") yields one empty string, so it survives; a
    list of addresses (Via, Contact, Route...) may not be empty (RFC 3261 25.1:
    ``1#``), and an empty one is refused here rather than left as a string
    where every reader expects an address.
    """
    spec = _SPEC.get(name)
    if spec is None:
        return [value]
    parse, is_list, _ = spec
    if is_list:
        if not value.strip():
            if name in _NEVER_EMPTY:
                raise SipParseError(f"empty {name} header (it needs at least one value)")
            return [""]
        if name in _TOKEN_LIST_HEADERS:
            stripped = value.strip()
            if _TOKEN_LIST.fullmatch(stripped):  # the usual case, checked in one go
                return [t.strip() for t in stripped.split(",")] if "," in stripped else [stripped]
        return [parse(part, name) for part in _split_commas(value, name)]
    return [parse(value, name)]
