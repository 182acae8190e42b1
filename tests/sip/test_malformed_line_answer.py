"""A request with one line that is no header is still answered 400.

The parser reads every other line before refusing the message, so the error
carries the Via, From, To, Call-ID and CSeq a response needs; the bad line's
own continuation lines are not folded into a neighbour.
"""

from __future__ import annotations

import random

import pytest

from webvoice.sip import parse_message
from webvoice.sip.syntax._errors import SipParseError
from webvoice.sip.ua._ua import UaConfig, UserAgent

HEAD = (b"OPTIONS sip:alice@webvoice.test SIP/2.0\r\n"
        b"Via: SIP/2.0/WS x.invalid;branch=z9hG4bK1\r\n"
        b"From: <sip:bob@webvoice.test>;tag=1\r\n")
TAIL = (b"To: <sip:alice@webvoice.test>\r\nCall-ID: abc\r\nCSeq: 1 OPTIONS\r\n"
        b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize("bad", [
    b"This line has no colon\r\n",
    b"This line has no colon\r\n and a continuation\r\n",
    b"@@@: not a token name\r\n",
    b": no name\r\n",
])
def test_a_request_with_a_line_that_is_no_header_is_answered_400(bad):
    with pytest.raises(SipParseError) as caught:
        parse_message(HEAD + bad + TAIL)
    names = [name for name, _ in caught.value.headers]
    assert {"Via", "From", "To", "Call-ID", "CSeq"} <= set(names)
    assert dict(caught.value.headers)["CSeq"] == "1 OPTIONS"  # nothing folded into it

    ua = UserAgent(UaConfig(user="alice", domain="webvoice.test", password="x"), rng=random.Random(1))
    ua.connection_made(0.0)
    list(ua.outgoing())
    ua.receive_data(HEAD + bad + TAIL, 0.0)
    [answer] = [parse_message(bytes(o)) for o in ua.outgoing()]
    assert answer.status_code == 400
    assert answer.header("Call-ID") is not None and answer.cseq.method == "OPTIONS"
    assert "malformed header line" in str(answer.header("Warning"))
