"""The message-summary body (RFC 3842 5.2)."""

from __future__ import annotations

import pytest

from webvoice.sip.event._mwi import MAX_SUMMARY, MessageCounts, parse_message_summary


def test_rfc_3842_example():
    body = (b"Messages-Waiting: yes\r\nMessage-Account: sip:alice@vmail.example.com\r\n"
            b"Voice-Message: 4/8 (1/2)\r\n\r\n"
            b"To: <alice@atlanta.example.com>\r\nFrom: <bob@biloxi.example.com>\r\n")
    summary = parse_message_summary(body)
    assert summary.waiting and summary.account == "sip:alice@vmail.example.com"
    assert summary.counts == {"voice-message": MessageCounts(4, 8, 1, 2)}


def test_several_classes_no_urgent_counts_and_lf_lines():
    summary = parse_message_summary(b"messages-waiting: no\nFax-Message: 0/3\nVoice-Message: 0/0\n")
    assert not summary.waiting and summary.account is None
    assert summary.counts["fax-message"] == MessageCounts(0, 3) and summary.counts["voice-message"].new == 0


@pytest.mark.parametrize("body, error", [
    (b"Voice-Message: 1/2\r\n", "no Messages-Waiting"),
    (b"Messages-Waiting: maybe\r\n", "yes or no"),
    (b"Messages-Waiting: yes\r\nVoice-Message: lots\r\n", "counts"),
    (b"Messages-Waiting: yes\r\ngarbage line\r\n", "no colon"),
    (b"Messages-Waiting: yes\r\nVoice-Message: 1/1\r\n" + b"X: y\r\n" * MAX_SUMMARY, "at most"),
])
def test_bad_summaries_are_refused(body, error):
    with pytest.raises(ValueError, match=error):
        parse_message_summary(body)
