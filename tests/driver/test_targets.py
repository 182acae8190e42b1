"""What a person types, and the URI webvoice dials (or the reason it refuses).

RFC 3261 25.1: ``user = 1*(unreserved / escaped / user-unreserved)``; anything
else in a user part is sent %-escaped (UTF-8), as JsSIP's normalizeTarget
does. sips: and tel: stay what they are.
"""

from __future__ import annotations

import pytest

from webvoice._targets import normalize_target, refer_target
from webvoice.sip.syntax._uri import SipUri, TelUri, parse_uri

REALM = "example.com"


@pytest.mark.parametrize(
    "typed, uri",
    [
        ("alice", "sip:alice@example.com"),
        ("iñaki", "sip:i%C3%B1aki@example.com"),
        ("иван", "sip:%D0%B8%D0%B2%D0%B0%D0%BD@example.com"),
        ("Zoë Müller", "sip:Zo%C3%AB%20M%C3%BCller@example.com"),
        ("sip:iñaki@example.org", "sip:i%C3%B1aki@example.org"),
        ("sips:iñaki@example.org", "sips:i%C3%B1aki@example.org"),
        ("sip:iñaki", "sip:i%C3%B1aki@example.com"),
        ("*21#", "sip:*21%23@example.com"),
        ("12#", "sip:12%23@example.com"),
        ("a@b@example.org", "sip:a%40b@example.org"),
        ("user:password@example.org", "sip:user:password@example.org"),
        ("user:password", "sip:user:password@example.com"),
        ("+1 (555) 010-9999", "sip:+15550109999@example.com"),
        ("555.010.9999", "sip:5550109999@example.com"),
        ("bob%20smith", "sip:bob%20smith@example.com"),  # already escaped: kept, not doubled
        ("100%", "sip:100%25@example.com"),
        ("bob@example.org:5070;transport=ws", "sip:bob@example.org:5070;transport=ws"),
        ("bob@[2001:db8::1]:5060", "sip:bob@[2001:db8::1]:5060"),
        ("iñaki@bücher.example", "sip:i%C3%B1aki@xn--bcher-kva.example"),
        ("  carol  ", "sip:carol@example.com"),
        ("sip:bob@example.org", "sip:bob@example.org"),
        ("SIP:bob@example.org", "sip:bob@example.org"),
        ("sips:bob@example.org", "sips:bob@example.org"),
        ("tel:+1-555-010-9999", "tel:+1-555-010-9999"),
        ("tel:+1 555 010 9999", "tel:+15550109999"),
        ("tel:*21#", "tel:*21#"),
    ],
)
def test_what_people_type_is_dialled(typed, uri):
    result = normalize_target(typed, REALM)
    assert str(result) == uri
    assert str(parse_uri(str(result))) == uri  # what is sent parses back to itself


def test_escaped_users_decode_to_what_was_typed():
    for typed, user in (("iñaki", "iñaki"), ("иван", "иван"), ("12#", "12#"), ("a@b@example.org", "a@b")):
        uri = normalize_target(typed, REALM)
        assert isinstance(uri, SipUri) and uri.user_text == user


def test_sips_and_tel_are_never_rewritten_to_sip():
    assert normalize_target("sips:iñaki@example.org", REALM).scheme == "sips"
    assert isinstance(normalize_target("tel:+15550109999", REALM), TelUri)


@pytest.mark.parametrize(
    "typed, words",
    [
        ("", "empty"),
        ("   ", "empty"),
        ("bob\r\nX-Evil: 1", "control character"),
        ("bob\x00", "control character"),
        ("bob\tsmith", "control character"),
        ("bob\x85", "control character"),
        ("bob\u2028", "control character"),
        ("bob%0D%0AX-Evil:%201", "escaped control character"),
        ("sip:bob%00@example.org", "escaped control character"),
        ("@example.org", "user part is empty"),
        (":pw@example.org", "user part is empty"),
        ("sip:", "user part is empty"),
        ("bob@", "host is missing"),
        ("bob@bad host", "is not a host"),
        ("bob@exa_mple..org:99999", "is not a host"),
        ("sip:bob@example.org?Subject=hi", "URI headers"),
        ("bob@example.org?Replaces=x", "URI headers"),
        ("tel:not-a-number", "not a telephone number"),
        ("http://example.org/", "http: URL"),
    ],
)
def test_what_cannot_be_a_target_is_refused_with_the_reason(typed, words):
    with pytest.raises(ValueError) as info:
        normalize_target(typed, REALM)
    assert words in str(info.value)


def test_a_target_must_be_text():
    with pytest.raises(TypeError):
        normalize_target(42, REALM)


_REPLACES = "abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2"


@pytest.mark.parametrize(
    "refer_to, target, headers",
    [
        ("sip:carol@example.com", "sip:carol@example.com", ()),
        ("tel:+15550109999", "tel:+15550109999", ()),
        (f"sip:carol@example.com?Replaces={_REPLACES}", "sip:carol@example.com",
         (("Replaces", "abc@host;to-tag=1;from-tag=2"),)),
        (f"sip:carol@example.com?replaces={_REPLACES}", "sip:carol@example.com",
         (("Replaces", "abc@host;to-tag=1;from-tag=2"),)),
    ],
)
def test_refer_to_targets_that_are_followed(refer_to, target, headers):
    uri, extra = refer_target(parse_uri(refer_to))
    assert str(uri) == target and extra == headers


@pytest.mark.parametrize(
    "refer_to, words",
    [
        ("sip:carol@example.com?Subject=hi", "only Replaces"),
        (f"sip:carol@example.com?Replaces={_REPLACES}&Subject=x", "only Replaces"),
        (f"sip:carol@example.com?Replaces={_REPLACES}&Replaces={_REPLACES}", "more than one"),
        ("sip:carol@example.com?Replaces=abc%0D%0AX-Evil%3A%201%3Bto-tag%3D1%3Bfrom-tag%3D2", "escaped control"),
        ("sip:carol@example.com?Replaces=abc%00%3Bto-tag%3D1%3Bfrom-tag%3D2", "escaped control"),
        ("sip:carol@example.com?Replaces=abc", "to-tag"),
        ("sip:carol%0D%0A@example.com", "escaped control"),
        ("http://example.com/x", "sip:, sips: or tel:"),
    ],
)
def test_refer_to_targets_that_are_refused(refer_to, words):
    with pytest.raises(ValueError) as info:
        refer_target(parse_uri(refer_to))
    assert words in str(info.value)


@pytest.mark.parametrize("login, user", [
    ("iñaki", "i%C3%B1aki"),
    ("иван@example.org", "%D0%B8%D0%B2%D0%B0%D0%BD"),
    ("i%C3%B1aki", "i%C3%B1aki"),
    ("alice", "alice"),
])
def test_a_login_is_escaped_like_a_target(login, user):
    import webvoice
    from devtools.fake_transport import FakeTransport

    sip = webvoice.create_sip_instance(sip_login=login, sip_password="x", realm="example.org",
                                       transport_factory=FakeTransport)
    assert sip.get_local_identity().uri == f"sip:{user}@example.org"
