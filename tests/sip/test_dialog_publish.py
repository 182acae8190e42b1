"""Our own calls as dialog-info documents (RFC 4235) to PUBLISH (RFC 3903), on a fake clock.

The documents are read back with the watcher's own reader (parse_dialog_info,
LineState) so what we publish is what a busy lamp shows.
"""

from __future__ import annotations

import pytest

from webvoice.sip.event._dialog_info import (
    CONTENT_TYPE,
    DialogPublisher,
    LineState,
    build_dialog_info,
    own_dialog,
    parse_dialog_info,
)
from webvoice.sip.event._publication import PublicationDone, PublicationFailed
from webvoice.sip.event._subscription_state import refresh_delay

from .test_subscription import Notifier

ME = "sip:alice@webvoice.test"


def call(state, direction="outgoing", call_id="c1", remote="sip:bob@webvoice.test", display=None, remote_tag=None):
    return own_dialog(call_id=call_id, local_tag="L1", remote_tag=remote_tag, direction=direction,
                      call_state=state, remote=remote, remote_display=display)


def test_the_document_names_state_direction_remote_and_tags():
    body = build_dialog_info(ME, 3, [call("established", remote_tag="R9", display='Bob & "Co" <x>')])
    info = parse_dialog_info(body)
    assert (info.entity, info.version, info.full) == (ME, 3, True)
    (d,) = info.dialogs
    assert (d.state, d.direction, d.remote, d.remote_display) == (
        "confirmed", "initiator", "sip:bob@webvoice.test", 'Bob & "Co" <x>')
    assert d.call_id == "c1" and d.id == "c1;L1"
    assert b'local-tag="L1"' in body and b'remote-tag="R9"' in body
    assert b"<local><identity>sip:alice@webvoice.test</identity></local>" in body


def test_a_display_name_with_control_characters_still_makes_a_readable_document():
    body = build_dialog_info(ME, 1, [call("ringing", display="Bob\x01\x1b")])
    assert parse_dialog_info(body).dialogs[0].remote_display == "Bob"


@pytest.mark.parametrize("state, expected", [
    ("calling", "trying"), ("ringing", "early"), ("incoming", "early"), ("answered", "confirmed"),
    ("established", "confirmed"), ("terminated", "terminated"),
])
def test_call_states_map_to_rfc_4235_states(state, expected):
    assert call(state).state == expected


def test_bad_input_is_refused_before_anything_is_built():
    with pytest.raises(ValueError, match="direction"):
        call("calling", direction="sideways")
    with pytest.raises(ValueError, match="call state"):
        call("dancing")
    with pytest.raises(ValueError, match="version"):
        build_dialog_info(ME, -1, [])


def test_the_publisher_tells_each_change_once_and_a_gone_call_as_terminated():
    publisher = DialogPublisher(ME)
    assert publisher.update([]) is None  # nothing to tell before any call
    watcher = LineState()
    shown = []
    for calls in ([call("calling")], [call("calling")], [call("ringing")], [call("established", remote_tag="R")],
                  [call("established", remote_tag="R")], []):
        body = publisher.update(calls)
        if body is not None:
            assert watcher.apply(parse_dialog_info(body))
            lamp = watcher.lamp()
            shown.append((lamp.state, lamp.direction, lamp.remote))
    assert shown == [("trying", "initiator", "sip:bob@webvoice.test"), ("early", "initiator", "sip:bob@webvoice.test"),
                     ("confirmed", "initiator", "sip:bob@webvoice.test"),
                     ("terminated", "initiator", "sip:bob@webvoice.test")]
    assert publisher.version == 4
    assert publisher.update([]) is None  # the idle line stands
    # The next call's document no longer names the ended one.
    body = publisher.update([call("incoming", direction="incoming", call_id="c2", remote="sip:carol@webvoice.test")])
    (d,) = parse_dialog_info(body).dialogs
    assert (d.call_id, d.state, d.direction) == ("c2", "early", "recipient")
    assert parse_dialog_info(body).version == 5


def test_two_calls_show_the_busiest_and_one_ending_leaves_the_other():
    publisher = DialogPublisher(ME)
    watcher = LineState()
    one, two = call("established", call_id="a"), call("incoming", direction="incoming", call_id="b")
    watcher.apply(parse_dialog_info(publisher.update([one, two])))
    assert watcher.lamp().state == "confirmed"
    watcher.apply(parse_dialog_info(publisher.update([two])))
    states = {d.call_id: d.state for d in watcher.dialogs.values()}
    assert states == {"a": "terminated", "b": "early"}


def publishes(n):
    return [m for m in n.drain() if getattr(m, "method", None) == "PUBLISH"]


def test_published_through_the_ua_refreshed_with_sip_if_match_and_412_recovered():
    n = Notifier()
    publisher = DialogPublisher(ME)
    pub = n.ua.publication("dialog", CONTENT_TYPE)
    pub.publish(publisher.update([call("calling")]), n.now)
    n.ua.pump(n.now)
    (first,) = publishes(n)
    assert first.header("Event") == "dialog" and first.content_type.mime == CONTENT_TYPE
    assert first.header("SIP-If-Match") is None
    assert parse_dialog_info(first.body).dialogs[0].state == "trying"
    n.ua.receive_data(bytes(first.response(200, to_tag="s", headers=[("SIP-ETag", "d1"), ("Expires", 600)])), n.now)
    # The call is answered: the new document replaces the old under the same tag (RFC 3903 4.4).
    pub.publish(publisher.update([call("established")]), n.now)
    n.ua.pump(n.now)
    (modify,) = publishes(n)
    assert modify.header("SIP-If-Match") == "d1" and parse_dialog_info(modify.body).dialogs[0].state == "confirmed"
    n.ua.receive_data(bytes(modify.response(200, to_tag="s", headers=[("SIP-ETag", "d2"), ("Expires", 600)])), n.now)
    # Before expiry, a refresh: the tag only, no body (RFC 3903 4.3).
    assert n.ua.get_timer() == pytest.approx(n.now + refresh_delay(600))
    n.advance_to_timer()
    (refresh,) = publishes(n)
    assert refresh.header("SIP-If-Match") == "d2" and refresh.body == b"" and refresh.header("Expires") == 600
    # The server forgot the tag (412): the whole current document again, without a tag.
    n.ua.receive_data(bytes(refresh.response(412, to_tag="s")), n.now)
    (whole,) = publishes(n)
    assert whole.header("SIP-If-Match") is None and whole.body == modify.body
    n.ua.receive_data(bytes(whole.response(200, to_tag="s", headers=[("SIP-ETag", "d3")])), n.now)
    assert not n.of(PublicationFailed) and len(n.of(PublicationDone)) == 3
    # Signing out removes it (Expires: 0 under the latest tag).
    pub.remove(n.now)
    n.ua.pump(n.now)
    (removal,) = publishes(n)
    assert removal.header("Expires") == 0 and removal.header("SIP-If-Match") == "d3"
