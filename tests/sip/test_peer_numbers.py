"""Numbers from the peer are bounded: refused (400 naming the header) or clamped
as the RFCs say, and never an OverflowError or the interpreter's limit on the
digits of an int (5000-digit numbers are tried everywhere a number is read).
"""

from __future__ import annotations

import random

import pytest

from webvoice.sip import SipParseError, parse_message
from webvoice.sip.session._info import DTMF_MAX_DURATION, parse_dtmf_relay
from webvoice.sip.session._refer import parse_sipfrag_status
from webvoice.sip.syntax._header_parsers import parse_header_values
from webvoice.sip.syntax._header_values import MAX_DELTA_SECONDS
from webvoice.sip.syntax._sdp import SdpParseError, parse_sdp
from webvoice.sip.ua._ua import MessageRefused, UaConfig, UserAgent

HUGE = "9" * 5000
REQUEST = ("OPTIONS sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/WS h.invalid;branch=z9hG4bK1\r\n"
           "From: <sip:a@example.com>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: x@y\r\n"
           "CSeq: 1 OPTIONS\r\n{extra}Content-Length: 0\r\n\r\n")


@pytest.mark.parametrize("name,value", [
    ("CSeq", f"{HUGE} INVITE"), ("CSeq", "2147483648 INVITE"), ("Content-Length", HUGE),
    ("Content-Length", "2147483648"), ("Max-Forwards", "256"), ("Max-Forwards", HUGE),
    ("RSeq", "2147483648"), ("RSeq", HUGE), ("RAck", f"1 {HUGE} INVITE"), ("RAck", f"{HUGE} 1 INVITE"),
    ("Session-Expires", HUGE), ("Session-Expires", "4294967296;refresher=uac"), ("Min-SE", HUGE),
    ("Retry-After", HUGE), ("Retry-After", "120 (lunch);duration=" + HUGE),
    ("Subscription-State", "active;expires=" + HUGE), ("Subscription-State", "terminated;retry-after=" + HUGE),
])
def test_too_large_numbers_are_refused_naming_the_header(name, value):
    with pytest.raises(SipParseError, match=name.split("-")[0]):
        parse_header_values(name, value)


@pytest.mark.parametrize("name", ["Expires", "Min-Expires"])
@pytest.mark.parametrize("value", [HUGE, "4294967296", "0" * 30 + "4294967296"])
def test_expiry_is_clamped_to_2_32_minus_1(name, value):
    assert parse_header_values(name, value) == [MAX_DELTA_SECONDS]


def test_contact_expires_parameter_is_clamped_and_odd_digits_ignored():
    [contact] = parse_header_values("Contact", f"<sip:a@h>;expires={HUGE}")
    assert contact.expires == MAX_DELTA_SECONDS
    [contact] = parse_header_values("Contact", "<sip:a@h>;expires=0600")
    assert contact.expires == 600


def test_leading_zeros_are_not_a_large_number():
    assert parse_header_values("Content-Length", "0" * 40 + "5") == [5]
    assert parse_header_values("CSeq", "0" * 40 + "7 BYE")[0].seq == 7


@pytest.mark.parametrize("name,value", [
    ("Session-Expires", "1800;refresher=uas"), ("Min-SE", "90"), ("Retry-After", "18000;duration=3600"),
    ("Retry-After", "120 (I'm in a meeting)"), ("RAck", "776656 1 INVITE"), ("RSeq", "988789"),
    ("Subscription-State", "active;expires=60"), ("Subscription-State", "terminated;reason=noresource"),
])
def test_ordinary_values_still_parse(name, value):
    parse_header_values(name, value)


@pytest.mark.parametrize("extra", [
    f"Expires: {HUGE}\r\n", f"Max-Forwards: {HUGE}\r\n", f"Session-Expires: {HUGE}\r\n", f"Min-SE: {HUGE}\r\n",
    f"RSeq: {HUGE}\r\n", f"RAck: 1 {HUGE} INVITE\r\n", f"Retry-After: {HUGE}\r\n", f"Timestamp: {HUGE}\r\n",
    f"Contact: <sip:a@h>;expires={HUGE}\r\n", f"Subscription-State: active;expires={HUGE}\r\n",
    f"Via: SIP/2.0/WS h;rport={HUGE}\r\n",
])
def test_a_ua_answers_or_drops_and_never_raises(extra):
    ua = UserAgent(UaConfig(user="bob", domain="example.com", password="p"), rng=random.Random(1))
    ua.connection_made(0.0)
    data = REQUEST.format(extra=extra).encode()
    ua.receive_data(data, 0.0)
    ua.receive_data(data.replace(b"OPTIONS sip:bob@example.com SIP/2.0", b"SIP/2.0 200 OK"), 0.0)
    events = ua.events()
    answers = [m for m in ua.outgoing() if not isinstance(m, bytes)]
    refused = [e for e in events if isinstance(e, MessageRefused)]
    assert answers and all(a.status_code in (200, 400) for a in answers)
    assert all(e.answered_with in (400, None) for e in refused)


def test_status_codes_and_versions_are_bounded():
    for line in (f"SIP/2.0 {HUGE} OK", f"SIP/{HUGE}.0 200 OK"):
        with pytest.raises(SipParseError):
            parse_message(REQUEST.format(extra="").replace("OPTIONS sip:bob@example.com SIP/2.0", line).encode())


def test_dtmf_durations_are_clamped():
    assert parse_dtmf_relay(f"Signal=5\r\nDuration={HUGE}\r\n".encode()) == ("5", DTMF_MAX_DURATION)
    assert parse_dtmf_relay(b"Signal=5\r\nDuration=999999\r\n") == ("5", DTMF_MAX_DURATION)
    assert parse_dtmf_relay(b"Signal=5\r\nDuration=160\r\n") == ("5", 160)
    assert parse_dtmf_relay(b"Signal=5\r\nDuration=-1\r\n") == ("5", 100)


def test_sipfrag_status_codes_are_three_digits():
    assert parse_sipfrag_status(f"SIP/2.0 {HUGE} OK".encode()) is None
    assert parse_sipfrag_status(b"SIP/2.0 180 Ringing\r\n") == (180, "Ringing")


@pytest.mark.parametrize("line", [
    f"o=- 1 {HUGE} IN IP4 h", f"m=audio {HUGE} RTP/AVP 0", "m=audio 65536 RTP/AVP 0", f"m=audio 1/{HUGE} RTP/AVP 0",
])
def test_sdp_numbers_are_bounded(line):
    with pytest.raises(SdpParseError):
        parse_sdp(f"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n{line}\r\n")


def test_sdp_rtpmap_with_huge_numbers_is_skipped():
    sdp = parse_sdp(f"v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0 {HUGE}\r\n"
                    f"a=rtpmap:{HUGE} x/{HUGE}\r\n")
    assert list(sdp.media[0].rtpmap) == [0]


# str.isdigit() is true of "²" (which int() refuses) and of other scripts' digits
# (which int() reads): every number read from a peer is ASCII digits, bounded.
NOT_ASCII_DIGITS = ["²", "١٢", "１２", "2²"]


@pytest.mark.parametrize("text", NOT_ASCII_DIGITS + ["", " 1", "1_0", "+1", "12345678901"])
def test_plain_numbers_are_ascii_digits_only(text):
    from webvoice.sip.syntax._abnf import plain_number
    assert plain_number(text, 10) is None
    assert plain_number("0042", 4) == 42 and plain_number("12345", 4) is None


@pytest.mark.parametrize("digits", NOT_ASCII_DIGITS)
@pytest.mark.parametrize("code", [481, 503])
def test_a_subscribe_refused_with_odd_retry_after_digits_is_retried_later(code, digits):
    from tests.sip.test_subscription import Notifier
    n = Notifier()
    sub, request = n.subscribe()
    n.answer(request, code, headers=[("Retry-After", digits)])  # kept as text by the parser
    assert sub.state is not None  # no exception out of receive_data
    n.advance(3600)
    assert n.subscribes(), "tried again (the default wait: the odd number is ignored)"


def test_a_retry_after_with_a_comment_is_honoured():
    from tests.sip.test_subscription import Notifier
    n = Notifier()
    sub, request = n.subscribe()
    n.answer(request, 503, headers=[("Retry-After", "20 (maintenance);duration=60")])
    n.advance(19.9)
    assert n.subscribes() == []
    n.advance(0.2)
    assert len(n.subscribes()) == 1


@pytest.mark.parametrize("digits", NOT_ASCII_DIGITS)
def test_odd_digits_elsewhere_are_no_number(digits):
    from webvoice.sip.event._dialog_info import parse_dialog_info
    from webvoice.sip.event._notify import int_param
    from webvoice.sip.event._xml import XmlRefused
    assert int_param({"expires": digits}, "expires") is None
    document = (f'<?xml version="1.0"?><dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" '
                f'version="{digits}" state="full" entity="sip:bob@example.com"/>').encode()
    with pytest.raises(XmlRefused, match="version"):
        parse_dialog_info(document)
    with pytest.raises(SdpParseError, match="format"):  # not even a token
        parse_sdp("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
                  f"m=audio 4000 RTP/AVP 0 {digits}\r\n")
    assert parse_dtmf_relay(f"Signal=1\r\nDuration={digits}\r\n".encode()) == ("1", 100)
