"""Our presence: PIDF documents (_pidf) and PUBLISH (_publication, RFC 3903) on a fake clock."""

from __future__ import annotations

import pytest

from webvoice.sip.event._pidf import MAX_NOTE, build_pidf, parse_pidf
from webvoice.sip.event._publication import PublicationDone, PublicationFailed
from webvoice.sip.event._subscription_state import refresh_delay

from .test_subscription import Notifier


def test_pidf_round_trip_with_escaping():
    body = build_pidf("sip:bob@webvoice.test", "open", 'away & <"busy">', "t1")
    info = parse_pidf(body)
    assert (info.entity, info.status, info.note) == ("sip:bob@webvoice.test", "open", 'away & <"busy">')
    assert parse_pidf(build_pidf("sip:bob@x", "closed", None, "t")).status == "closed"


@pytest.mark.parametrize("status, note, error", [
    ("busy", None, "open"), ("open", "a\r\nb", "control"), ("open", "x" * (MAX_NOTE + 1), "at most"),
    ("open", 5, "str"),
])
def test_bad_presence_is_refused_before_sending(status, note, error):
    with pytest.raises((ValueError, TypeError), match=error):
        build_pidf("sip:bob@x", status, note, "t")


def test_pidf_of_others_open_when_any_tuple_is_open():
    body = b"""<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:c@x">
      <tuple id="a"><status><basic>closed</basic></status></tuple>
      <tuple id="b"><status><basic>open</basic></status><note>on the phone</note></tuple></presence>"""
    info = parse_pidf(body)
    assert info.status == "open" and info.note == "on the phone"
    with pytest.raises(ValueError, match="basic"):
        parse_pidf(b'<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple id="a"><status><basic>maybe</basic>'
                   b"</status></tuple></presence>")
    with pytest.raises(ValueError, match="not a PIDF"):
        parse_pidf(b"<other/>")
    with pytest.raises(ValueError, match="DOCTYPE"):
        parse_pidf(b'<!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]><presence>&x;</presence>')


PIDF = "application/pidf+xml"


@pytest.fixture
def n() -> Notifier:
    return Notifier()


def publishes(n):
    return [m for m in n.drain() if getattr(m, "method", None) == "PUBLISH"]


def start(n, body=b"<p/>"):
    """Publish ``body`` as presence: the publication and the PUBLISH it sent."""
    pub = n.ua.publication("presence", PIDF)
    pub.publish(body, n.now)
    n.ua.pump(n.now)
    (first,) = publishes(n)
    return pub, first


def answer(n, publish, status, *headers, to_tag="s"):
    """The server's answer to ``publish`` (``headers`` as (name, value) pairs)."""
    n.ua.receive_data(bytes(publish.response(status, to_tag=to_tag, headers=list(headers))), n.now)


def test_publish_refresh_modify_and_remove(n):
    pub, first = start(n, b"<presence/>")
    assert first.header("Event") == "presence" and first.body == b"<presence/>"
    assert first.header("SIP-If-Match") is None and first.header("Expires") == 600
    answer(n, first, 200, ("SIP-ETag", "e1"), ("Expires", 600))
    assert [e.removed for e in n.of(PublicationDone)] == [False]
    assert n.ua.get_timer() == pytest.approx(n.now + refresh_delay(600))
    n.advance_to_timer()
    (refresh,) = publishes(n)
    assert refresh.header("SIP-If-Match") == "e1" and refresh.body == b"" and refresh.header("Expires") == 600
    answer(n, refresh, 200, ("SIP-ETag", "e2"), ("Expires", 600))
    pub.publish(b"<presence>away</presence>", n.now)
    n.ua.pump(n.now)
    (modify,) = publishes(n)
    assert modify.header("SIP-If-Match") == "e2" and modify.body == b"<presence>away</presence>"
    pub.remove(n.now)  # asked while the modify is in flight: sent after its answer
    n.ua.pump(n.now)
    assert publishes(n) == []
    answer(n, modify, 200, ("SIP-ETag", "e3"), ("Expires", 600))
    (removal,) = publishes(n)
    assert removal.header("Expires") == 0 and removal.header("SIP-If-Match") == "e3"
    answer(n, removal, 200)
    assert n.of(PublicationDone)[-1].removed and pub.etag is None and pub.body is None
    n.advance(10000)
    assert publishes(n) == []


def test_412_publishes_the_whole_state_again_and_423_the_minimum(n):
    _, first = start(n)
    answer(n, first, 423, ("Min-Expires", 1200))
    (again,) = publishes(n)
    assert again.header("Expires") == 1200 and again.body == b"<p/>"
    answer(n, again, 200, ("SIP-ETag", "e1"))
    n.advance_to_timer()
    (refresh,) = publishes(n)
    answer(n, refresh, 412)
    (whole,) = publishes(n)
    assert whole.header("SIP-If-Match") is None and whole.body == b"<p/>"
    assert not n.of(PublicationFailed)


CHALLENGE = ("Proxy-Authenticate", 'Digest realm="webvoice.test", nonce="abc", qop="auth"')


def test_publish_challenge_is_answered_and_refusal_reported(n):
    _, first = start(n)
    answer(n, first, 407, CHALLENGE, to_tag="p")
    (retry,) = publishes(n)
    assert retry.header("Proxy-Authorization") is not None and retry.cseq.seq == first.cseq.seq + 1
    answer(n, retry, 403, to_tag="p")
    (failed,) = n.of(PublicationFailed)
    assert failed.status_code == 403


def test_publish_challenged_again_with_the_same_nonce_fails(n):
    _, first = start(n)
    answer(n, first, 407, CHALLENGE, to_tag="p")
    (retry,) = publishes(n)
    answer(n, retry, 407, CHALLENGE, to_tag="p")  # the same nonce, no stale=true: a wrong password
    assert publishes(n) == []
    (failed,) = n.of(PublicationFailed)
    assert failed.status_code == 407


def test_publish_again_after_a_reconnect(n):
    _, first = start(n)
    answer(n, first, 200, ("SIP-ETag", "e1"))
    n.ua.connection_lost(n.now)
    n.ua.connection_made(n.now)
    (again,) = publishes(n)
    assert again.body == b"<p/>" and again.header("SIP-If-Match") is None
