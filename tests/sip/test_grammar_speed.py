"""What the parser's shortcuts must keep: the same answers as the exact paths.

The one-pass header reader, the possessive grammar rules, the deferred
patterns and the local %-decoder exist for speed (and start-up time in the
browser); these tests pin that they change nothing a caller can see.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from webvoice.sip import SipParseError, parse_message, parse_uri
from webvoice.sip.syntax import _abnf, _parser
from webvoice.sip.syntax._uri import _percent_decode

REQUEST = (
    "INVITE sip:bob@example.com SIP/2.0\r\n"
    "Via: SIP/2.0/WS h.invalid;branch=z9hG4bK1, SIP/2.0/UDP 192.0.2.1:5060;received=::1\r\n"
    'From: "A \\"q\\"" <sip:a@example.com>;tag=1\r\n'
    "To: <sip:bob@example.com>\r\n"
    "Call-ID: x@y\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:a@[2001:db8::1]:5070;transport=ws>;expires=5, <sip:b@h;lr>\r\n"
    "Supported: timer, replaces\r\n"
    "X-Unknown: some text\r\n"
    "Content-Length: 0\r\n\r\n"
)


def test_one_pass_and_exact_passes_agree():
    fast = parse_message(REQUEST.encode())
    # Bare LFs and a folded line send the same message through the exact passes.
    slow = parse_message(REQUEST.replace("\r\n", "\n").replace("X-Unknown: some", "X-Unknown: some\n ").encode())
    assert fast == slow
    assert fast.header("X-Unknown") == "some text"
    assert [v.host for v in fast.via] == ["h.invalid", "192.0.2.1"]
    assert fast.from_.display_name == 'A "q"'


def test_a_line_without_colon_is_refused_even_for_a_known_name():
    parse_message(REQUEST.encode())  # "Supported" is now a name seen before
    bad = REQUEST.replace("Supported: timer, replaces\r\n", "Supported\r\n")
    with pytest.raises(SipParseError, match="malformed header line"):
        parse_message(bad.encode())


def test_errors_after_the_headers_carry_them():
    with pytest.raises(SipParseError) as info:
        parse_message(REQUEST.replace("CSeq: 1 INVITE", "CSeq: 1 BYE").encode())
    assert info.value.method == "INVITE" and info.value.is_request
    assert ("CSeq", "1 BYE") in info.value.headers and len(info.value.headers) == 9


@pytest.mark.parametrize("text", [
    "sip:127.0.0.1;r2=on;lr=on", "sip:bob:pw@h.example.com:5060;transport=ws?subject=a%20b&x=",
    "sip:a-b.c_d.example.:1", "sips:%41lice@[::1]", "sip:u;p@h",
])
def test_uris_still_parse(text):
    assert str(parse_uri(text)) == text


@pytest.mark.parametrize("text", [
    "sip:-a.example.com", "sip:a-.example.com", "sip:a..b", "sip:u@", "sip:u@h;x=%4", "sip:h?x",
])
def test_bad_uris_still_refused(text):
    with pytest.raises(SipParseError):
        parse_uri(text)


def test_deferred_pattern_acts_as_compiled():
    deferred = _abnf.Deferred(r"(a)(b)?", re.I)
    assert deferred.fullmatch("A").groups() == ("A", None)
    assert deferred.sub("x", "AbA") == "xx"
    assert deferred.fullmatch is deferred.fullmatch  # compiled once, then a plain attribute
    assert _parser._BAD_OCTET.search("a\rb").group() == "\r"


@pytest.mark.parametrize("text", ["", "abc", "%41%4a%4A", "%", "%4", "%zz%41", "100%", "%%41", "é%C3%A9"])
def test_percent_decode_matches_urllib(text):
    from urllib.parse import unquote_to_bytes

    assert _percent_decode(text) == unquote_to_bytes(text)


def test_importing_the_core_leaves_urllib_parse_unloaded():
    code = "import sys, webvoice.sip; print('urllib.parse' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
