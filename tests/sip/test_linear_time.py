"""Linear time on anything a peer controls.

Every parser that reads peer input (start lines, each typed header, URIs,
name-addr, Via, auth parameters, Replaces, Session-Expires, SDP and what is
read from it, application/dtmf-relay and application/dtmf bodies,
message/sipfrag) gets adversarial inputs of 16 KiB and 64 KiB: runs of
newlines, spaces, tabs, separators, quotes, backslashes, commas, semicolons,
escapes, brackets, and repeated fragments of its own syntax. The time for
64 KiB may be about 4x the time for 16 KiB (linear); the bound is 10x, where
a quadratic parser shows 16x. Growth, not absolute time, is what is asserted; the time is this
process's CPU time, the fastest of several runs, so that a busy machine does not count.
"""

from __future__ import annotations

import gc
import time

import pytest

from webvoice.sip.auth._values import parse_challenges, parse_credentials
from webvoice.sip.session._info import parse_dtmf, parse_dtmf_relay
from webvoice.sip.session._interval import min_se_value
from webvoice.sip.session._refer import parse_sipfrag_status
from webvoice.sip.syntax._header_parsers import (
    HEADER_SPECS,
    parse_header_values,
    parse_name_addr,
)
from webvoice.sip.syntax._message import build_request
from webvoice.sip.syntax._parser import MessageReader, ParserLimits, parse_message
from webvoice.sip.syntax._sdp import parse_sdp
from webvoice.sip.syntax._sdp_offer_answer import remote_hold_state
from webvoice.sip.syntax._uri import parse_uri
from webvoice.sip.ua._incoming import parse_replaces

SMALL, LARGE = 16 * 1024, 64 * 1024
#: 64 KiB may take this many times as long as 16 KiB (linear: ~4; quadratic: ~16).
MAX_GROWTH = 10
#: Below this (seconds), the 16 KiB time is taken as this: noise, not growth.
FLOOR = 0.003
UNLIMITED = ParserLimits(max_message_size=2**22, max_header_count=2**20, max_line_length=2**22)

# Runs of one character, and fragments of SIP, SDP and auth syntax repeated.
FILLERS = (
    "\n", "\r\n", "\r", " ", "\t", ",", ";", '"', "\\", "=", ":", "<", "@", "%", "[", "a", "0", "\\\"", '"a"',
    "a ", ", ", "a=1,", "a=1;", ";a", "%41", "::", "<sip:a@b>,", "\r\n ", "Signal=", "SIP/2.0 ", "refresher",
    "v=0\n", "a=x\n", "m=audio 1 RTP/AVP 0\n", "c=IN IP4 0.0.0.0\n",
)


def fill(prefix: str, filler: str, suffix: str, size: int) -> str:
    room = max(size - len(prefix) - len(suffix), len(filler))
    return prefix + filler * (room // len(filler)) + suffix


def best_time(function, text) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()  # this process's CPU time: waiting for a core is not counted
        try:
            function(text)
        except (ValueError, TypeError):  # refusing is fine; only the time matters
            pass
        best = min(best, time.process_time() - start)
    return best


def assert_linear(function, make) -> None:
    """``make(size)`` builds an input of about ``size``; its growth must be linear.

    The machine is shared: each size keeps its fastest time over up to four
    rounds, and the test passes as soon as those fastest times are in ratio.
    Noise only slows a run down, so it can delay a pass but not fake one.
    """
    small_input, large_input = make(SMALL), make(LARGE)
    small = large = float("inf")
    gc.collect()
    gc.disable()  # a collection in one timing and not the other is not growth
    try:
        for _ in range(6):
            small = min(small, best_time(function, small_input))
            large = min(large, best_time(function, large_input))
            if large <= MAX_GROWTH * max(small, FLOOR):
                return
    finally:
        gc.enable()
    raise AssertionError(f"{getattr(function, '__name__', function)}: {small * 1e3:.2f} ms for 16 KiB, "
                         f"{large * 1e3:.2f} ms for 64 KiB: grows faster than linear")


# --- whole messages --------------------------------------------------------------------

HEAD = ("INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/WS h.invalid;branch=z9hG4bK1\r\n"
        "From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: x@y\r\nCSeq: 1 INVITE\r\n")


def parse_both(text: str) -> None:
    data = text.encode("utf-8", "surrogateescape")
    try:
        parse_message(data, limits=UNLIMITED)
    except ValueError:
        pass
    reader = MessageReader(UNLIMITED)
    reader.feed(data)
    try:
        list(reader)
    except ValueError:
        pass


@pytest.mark.parametrize("filler", FILLERS)
def test_message_framing_and_header_section(filler):
    assert_linear(parse_both, lambda size: fill(HEAD, filler, "\r\n\r\n", size))  # the header section
    assert_linear(parse_both, lambda size: fill(HEAD + "X-A: ", filler, "\r\n\r\n", size))  # one value
    assert_linear(parse_both, lambda size: fill("", filler, "", size))  # no message at all
    assert_linear(parse_both, lambda size: fill("INVITE ", filler, " SIP/2.0\r\n\r\n", size))  # start line


def test_folded_lines_are_joined_in_linear_time():
    assert_linear(parse_both, lambda size: fill(HEAD + "Subject: a", "\r\n a", "\r\n\r\n", size))


# --- header values ---------------------------------------------------------------------

PREFIXES = {  # by parser: a start that reaches the part where the filler goes
    "_parse_via": "SIP/2.0/WS h", "parse_name_addr": "<sip:a@h>", "_parse_contact": '"a" <sip:a@h>;',
    "_parse_cseq": "1", "_parse_media_type": "a/b;", "_parse_date": "Mon, ", "parse": "1",
    "_parse_rack": "1 1", "_parse_subscription_state": "active",
}


# One header for each way a typed header is read (the others share its parser).
REPRESENTATIVES = {}
for _name, (_parse, _is_list, _single) in sorted(HEADER_SPECS.items()):
    REPRESENTATIVES.setdefault((_parse, _is_list, _single), _name)


def test_every_typed_header_has_a_representative():
    assert {HEADER_SPECS[name] for name in REPRESENTATIVES.values()} == set(HEADER_SPECS.values())


@pytest.mark.parametrize("name", sorted(REPRESENTATIVES.values()))
@pytest.mark.parametrize("filler", FILLERS)
def test_each_typed_header(name, filler):
    prefix = PREFIXES.get(HEADER_SPECS[name][0].__name__, "")
    assert_linear(lambda text: parse_header_values(name, text), lambda size: fill(prefix, filler, "", size))


@pytest.mark.parametrize("filler", FILLERS)
@pytest.mark.parametrize("prefix", ["sip:", "sip:a@h;", "sip:a@h?", "sip:[", "tel:", '"a" <sip:'])
def test_uris_and_name_addrs(prefix, filler):
    assert_linear(parse_uri, lambda size: fill(prefix, filler, "", size))
    assert_linear(parse_name_addr, lambda size: fill(prefix, filler, "", size))


# --- auth, Replaces, Session-Expires ---------------------------------------------------


@pytest.mark.parametrize("filler", FILLERS)
@pytest.mark.parametrize("prefix", ["Digest ", "Digest realm=", 'Digest realm="', "Digest a=1, ", "Basic "])
def test_auth_parameters(prefix, filler):
    assert_linear(parse_challenges, lambda size: fill(prefix, filler, "", size))
    assert_linear(parse_credentials, lambda size: fill(prefix, filler, "", size))


def test_auth_parameters_with_many_names():
    def many(size):
        return "Digest " + ", ".join(f"p{i}=1" for i in range(size // 8))
    assert_linear(parse_challenges, many)


@pytest.mark.parametrize("filler", FILLERS)
def test_replaces_and_session_expires(filler):
    assert_linear(parse_replaces, lambda size: fill("a", filler, "", size))

    def session_expires(text):
        message = build_request("INVITE", "sip:a@h", from_="<sip:a@h>", to="<sip:b@h>", call_id="c", cseq=1,
                                via=[], headers=[("Session-Expires", text)])
        session_expires(message)
        min_se_value(message.with_header("Min-SE", text))

    assert_linear(session_expires, lambda size: fill("90", filler.strip("\r\n") or "x", "", size))


# --- bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize("filler", FILLERS)
def test_dtmf_bodies(filler):
    for prefix in ("", "Signal=", "Signal=1\r\n", "Duration="):
        assert_linear(parse_dtmf_relay, lambda size: fill(prefix, filler, "", size).encode())
    assert_linear(parse_dtmf, lambda size: fill("", filler, "", size).encode())


@pytest.mark.parametrize("filler", FILLERS)
def test_sipfrag_bodies(filler):
    for prefix in ("", "SIP/2.0 200 ", "SIP/2.0 "):
        assert_linear(parse_sipfrag_status, lambda size: fill(prefix, filler, "", size).encode())


SDP_HEAD = "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n"


def read_sdp(text: str) -> None:
    sdp = parse_sdp(text, max_size=2**22, max_lines=2**20)
    remote_hold_state(sdp)
    for media in sdp.media:
        media.has_telephone_event, media.direction, media.connection_address, media.mid


@pytest.mark.parametrize("filler", FILLERS)
def test_sdp(filler):
    assert_linear(read_sdp, lambda size: fill(SDP_HEAD, filler, "", size))
    assert_linear(read_sdp, lambda size: fill(SDP_HEAD + "a=", filler, "", size))
    assert_linear(read_sdp, lambda size: fill(SDP_HEAD + "m=audio 1 RTP/AVP ", filler, "", size))


def test_sdp_with_many_sections_and_session_lines():
    """Each section falls back on the session's lines: that must not be sections x lines."""
    def make(size):
        half = size // 2
        return SDP_HEAD + "a=x\r\n" * (half // 5) + "m=audio 1 RTP/AVP 0\r\n" * (half // 21)
    assert_linear(read_sdp, make)
