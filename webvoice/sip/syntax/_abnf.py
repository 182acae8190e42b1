"""The SIP grammar (RFC 3261 section 25) as commented regular-expression fragments.

Every rule the parser needs lives here, built rule by rule and named after the
ABNF it implements, so that the rest of the core never writes a character class
of its own. Where we depart from the RFC, the comment says so and why.

All patterns work on ``str`` decoded as UTF-8 with ``surrogateescape``: text in
UTF-8 (display names, reason phrases) comes out as text, and any other octet
survives as a lone surrogate that encodes back to the same byte.

Two habits keep the patterns cheap, which matters in the browser (WebAssembly
has no regex JIT, and compiling a pattern runs Python code):

* A repetition of "characters or escapes" is written as possessive runs,
  ``(?:[chars]++|escaped)++``: the engine stays in its one-character loop, and
  a failing match is linear. This never changes what matches, because in every
  such rule the character that may follow the run is not in the run.
* A class that takes in all of non-ASCII is written as the complement of what
  it leaves out (``[^...]``): listing ``\x80-\U0010ffff`` makes the compiler walk
  sixty-five thousand code points, costly in WebAssembly at import.
"""

from __future__ import annotations

import re
from typing import Any
from ..util._regex import compile_regex, declare


class Deferred:
    """A pattern compiled on first use, for rules off the common path.

    Compiling is most of what importing the grammar costs in the browser (the
    regex compiler is Python code, run as WebAssembly there), so rules that a
    typical REGISTER, INVITE or response never needs wait until one does. The
    first use of a method (``fullmatch``, ``sub``...) compiles, and the compiled
    pattern's method then replaces the lookup: later calls cost the same.
    """

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        declare(pattern, flags)

    def __getattr__(self, name: str) -> Any:
        method = getattr(compile_regex(self.pattern, self.flags), name)
        setattr(self, name, method)
        return method


# --- basic rules (25.1) --------------------------------------------------------

# alphanum = ALPHA / DIGIT
ALPHANUM = r"A-Za-z0-9"
# mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
MARK = r"\-_.!~*'()"
# unreserved = alphanum / mark
UNRESERVED = ALPHANUM + MARK
# escaped = "%" HEXDIG HEXDIG
ESCAPED = r"%[0-9A-Fa-f]{2}"

# token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN_CHARS = ALPHANUM + r"\-.!%*_+`'~"
TOKEN = rf"[{TOKEN_CHARS}]+"

# word = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" /
#           "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}")
WORD = r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+"

# LWS = [*WSP CRLF] 1*WSP. Header values reach the grammar already unfolded, so
# linear white space is plain spaces and tabs here.
LWS = r"[ \t]+"
SWS = r"[ \t]*"

# quoted-string = SWS DQUOTE *(qdtext / quoted-pair) DQUOTE
# qdtext = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
# quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
# UTF8-NONASCII is any non-ASCII character (escaped odd octets included);
# insisting on well-formed UTF-8 would reject nothing a UA acts on differently.
# qdtext is then everything but the other controls, DQUOTE and backslash.
QDTEXT = r'[^\x00-\x08\x0a-\x1f"\\\x7f]'
QUOTED_PAIR = r"\\[\x00-\x09\x0b\x0c\x0e-\x7f]"
QUOTED_STRING = rf'"(?:{QDTEXT}++|{QUOTED_PAIR})*+"'

# --- URIs (25.1, 19.1) -----------------------------------------------------------

# user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
# user = 1*(unreserved / escaped / user-unreserved)
USER = rf"(?:[{UNRESERVED}&=+$,;?/]++|{ESCAPED})++"
# password = *(unreserved / escaped / "&" / "=" / "+" / "$" / ",")
PASSWORD = rf"(?:[{UNRESERVED}&=+$,]++|{ESCAPED})*+"

# hostname = *(domainlabel ".") toplabel ["."]; IPv4address; IPv6reference.
# Departure: labels may hold "_" and a toplabel may start with a digit, because
# deployed servers use such names and nothing in a UA depends on the difference.
# A label (alphanum *( alphanum / "-" ) alphanum, or one alphanum) is written as
# alphanum runs joined by hyphen runs: the same names, without backtracking.
DOMAINLABEL = r"[A-Za-z0-9_]++(?:-++[A-Za-z0-9_]++)*+"
HOSTNAME = rf"{DOMAINLABEL}(?:\.{DOMAINLABEL})*+\.?+"
# IPv6reference = "[" IPv6address "]". The pattern only finds the brackets and
# the characters an address may hold; is_ipv6_address() then checks the address
# itself (RFC 4291 2.2), which a regular expression would do slowly.
IPV6_REFERENCE = r"\[[0-9A-Fa-f:.]+\]"
HOST = rf"(?:{HOSTNAME}|{IPV6_REFERENCE})"
PORT = r"[0-9]{1,5}"

# param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$"
# paramchar = param-unreserved / unreserved / escaped; PARAMCHARS = 1*paramchar
PARAMCHARS = rf"(?:[{UNRESERVED}\[\]/:&+$]++|{ESCAPED})++"
# uri-parameters = *( ";" uri-parameter); uri-parameter = pname [ "=" pvalue ]
URI_PARAMS = rf"(?:;{PARAMCHARS}(?:=(?:{PARAMCHARS})?)?)*"
# hnv-unreserved = "[" / "]" / "/" / "?" / ":" / "+" / "$"
# headers = "?" header *( "&" header ); header = hname "=" hvalue
# HNVCHARS = 1*( hnv-unreserved / unreserved / escaped )
HNVCHARS = rf"(?:[{UNRESERVED}\[\]/?:+$]++|{ESCAPED})++"
URI_HEADERS = rf"{HNVCHARS}=(?:{HNVCHARS})?(?:&{HNVCHARS}=(?:{HNVCHARS})?)*"

# SIP-URI / SIPS-URI (19.1.1); scheme names are case-insensitive. An "@" can
# only end the userinfo, so the userinfo is not even tried without one ahead
# (a mere shortcut: it changes no match).
SIP_URI = compile_regex(
    rf"(?P<scheme>[sS][iI][pP][sS]?):"
    rf"(?:(?=[^@]*@)(?P<user>{USER})(?::(?P<password>{PASSWORD}))?@)?"
    rf"(?P<host>{HOST})(?::(?P<port>{PORT}))?"
    rf"(?P<params>{URI_PARAMS})"
    rf"(?:\?(?P<headers>{URI_HEADERS}))?"
)

# tel URI (RFC 3966), kept loose: a global (+digits) or local number with
# visual separators, then parameters. The number itself is not interpreted.
TEL_URI = Deferred(
    rf"(?P<scheme>[tT][eE][lL]):(?P<number>\+?[0-9A-Fa-f*#().\-]+)(?P<params>{URI_PARAMS})"
)

# absoluteURI = scheme ":" ( hier-part / opaque-part ), for schemes we carry
# without understanding (RFC 4475 3.3.4). uric = reserved / unreserved / escaped.
SCHEME = r"[A-Za-z][A-Za-z0-9+\-.]*"
URICS = rf"(?:[;/?:@&=+$,{UNRESERVED}]++|{ESCAPED})++"  # 1*uric
ABSOLUTE_URI = Deferred(rf"(?P<scheme>{SCHEME}):(?P<rest>{URICS})")

# --- start lines (7.1, 7.2) ---------------------------------------------------------

# Request-Line = Method SP Request-URI SP SIP-Version CRLF. Exactly one SP
# between the parts and none at the end (RFC 4475 3.1.2.9, 3.1.2.10).
REQUEST_LINE = compile_regex(rf"({TOKEN}) ([^ \t]+) ([sS][iI][pP]/[0-9]+\.[0-9]+)")
# Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF
# Reason-Phrase = *(reserved / unreserved / escaped / UTF8-NONASCII / UTF8-CONT / SP / HTAB)
# Departure: a missing SP before an empty reason phrase is accepted (RFC 4475
# 3.1.1.13 shows senders that omit it).
STATUS_LINE = compile_regex(r"([sS][iI][pP]/[0-9]+\.[0-9]+) ([0-9]{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?")

SIP_VERSION = "SIP/2.0"

# --- headers (7.3) -----------------------------------------------------------------

# message-header = header-name HCOLON header-value; HCOLON = *( SP / HTAB ) ":" SWS
HEADER_LINE = Deferred(rf"({TOKEN})[ \t]*:[ \t]*(.*)", re.S)

# generic-param = token [ EQUAL gen-value ]; gen-value = token / host / quoted-string.
# SEMI and EQUAL carry optional white space on both sides.
GEN_VALUE = rf"(?:{TOKEN}|{HOST}|{QUOTED_STRING})"
GENERIC_PARAM = Deferred(rf"{SWS};{SWS}({TOKEN})(?:{SWS}={SWS}({GEN_VALUE}))?")

# display-name = *(token LWS) / quoted-string
DISPLAY_TOKENS = compile_regex(rf"{TOKEN}(?:{LWS}{TOKEN})*")
QUOTED = compile_regex(QUOTED_STRING)

# Via: sent-protocol = protocol-name SLASH protocol-version SLASH transport
VIA = compile_regex(
    rf"({TOKEN}){SWS}/{SWS}({TOKEN}){SWS}/{SWS}({TOKEN}){LWS}({HOST})(?:{SWS}:{SWS}({PORT}))?"
)
# CSeq = 1*DIGIT LWS Method
CSEQ = compile_regex(rf"([0-9]+){LWS}({TOKEN})")
# callid = word [ "@" word ]
CALL_ID = compile_regex(rf"{WORD}(?:@{WORD})?")
DIGITS = compile_regex(r"[0-9]+")


def plain_number(text: str, max_digits: int) -> int | None:
    """``text`` as a number when it is 1 to ``max_digits`` ASCII digits, else None.

    Not ``str.isdigit()``: that is also true of ``"²"`` (which ``int()``
    refuses) and of other scripts' digits (which ``int()`` reads), and a peer's
    number is bounded before it is converted.
    """
    if len(text) <= max_digits and DIGITS.fullmatch(text):
        return int(text)
    return None
TOKEN_RE = compile_regex(TOKEN)
# media-type = m-type SLASH m-subtype *(SEMI m-parameter); Accept allows "*".
MEDIA_TYPE = compile_regex(rf"({TOKEN}){SWS}/{SWS}({TOKEN})")

# SIP-date = rfc1123-date = wkday "," SP date1 SP time SP "GMT" (RFC 3261 20.17);
# only GMT is allowed (RFC 4475 3.1.2.12).
SIP_DATE = Deferred(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)

# Characters that never belong in a header value or URI the application gives us:
# control characters other than HTAB (header injection, RFC 3261 25.1 TEXT-UTF8).
CONTROL_CHARS = compile_regex(r"[\x00-\x08\x0a-\x1f\x7f]")


_HEX4 = compile_regex(r"[0-9A-Fa-f]{1,4}")
_IPV4 = compile_regex(r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}")


def is_ipv6_address(text: str) -> bool:
    """Whether ``text`` is an IPv6address (RFC 4291 2.2): eight groups of one to
    four hex digits, or fewer around one ``::``, the last two groups possibly
    written as an IPv4 address (``::ffff:192.0.2.1``).

    Departure, as RFC 5118 4.10 asks: three colons right before an embedded
    IPv4 address (``2001:db8:::192.0.2.1``), which the RFC 3261 grammar
    inherited from RFC 2373, are tolerated and read as two.
    """
    if len(text) > 45:  # the longest form: six groups and an IPv4 address
        return False
    groups = 8
    head, sep, last = text.rpartition(":")
    if "." in last:
        if not _IPV4.fullmatch(last) or not sep:
            return False
        groups = 6
        text = head + ":" if head.endswith(":") else head
        if text.endswith(":::"):  # RFC 5118 4.10: 2001:db8:::192.0.2.1
            text = text[:-1]
        if text == ":":
            return False
        if text.endswith(":") and not text.endswith("::"):
            text = text[:-1]
    if text.count("::") > 1 or ":::" in text:
        return False
    if "::" in text:
        left, _, right = text.partition("::")
        parts = [p for p in (left.split(":") if left else [])] + [p for p in (right.split(":") if right else [])]
        if len(parts) > groups - 1:
            return False
    else:
        parts = text.split(":") if text else []
        if len(parts) != groups:
            return False
    return all(_HEX4.fullmatch(p) for p in parts)


def is_ipv6_reference(text: str) -> bool:
    """``[IPv6address]``, the address checked by :func:`is_ipv6_address`."""
    return len(text) > 2 and text[0] == "[" and text[-1] == "]" and is_ipv6_address(text[1:-1])


def unquote(quoted: str) -> str:
    """Strip the quotes of a quoted-string and resolve its quoted-pairs."""
    inner = quoted[1:-1]
    if "\\" not in inner:
        return inner
    return _QUOTED_PAIR.sub(r"\1", inner)


_QUOTED_PAIR = compile_regex(r"\\(.)", re.S)
_NEEDS_PAIR = compile_regex(r'(["\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f])')


def quote(text: str) -> str:
    """Make a quoted-string of ``text``; quote, backslash and controls become quoted-pairs."""
    return '"' + _NEEDS_PAIR.sub(r"\\\1", text) + '"'
