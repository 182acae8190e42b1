"""ua_config["refer_policy"]: which received transfers are followed without the application.

Pure decisions (webvoice._refer_policy) and the option's checking; the
transfers themselves go through Kamailio in test_transfer_kamailio.py and
through three Chromium pages in tests/e2e/test_transfer_visible.py.
"""

from __future__ import annotations

import pytest

import webvoice
from devtools.fake_transport import FakeTransport
from webvoice._refer_policy import is_number, policy_allows
from webvoice.sip.syntax._uri import parse_uri

NUMBERS = ["tel:+19005550100", "tel:911", "sip:+19005550100@example.org", "sip:0900123456@example.org",
           "sip:1-900-555-0100@example.org", "sip:(0)900.555@example.org", "sip:*72@example.org",
           "sip:%2331%230900@example.org", "sip:carol@example.org;user=phone", "sips:112@example.org"]
USERS = ["sip:carol@example.org", "sips:carol@example.org", "sip:carol@EXAMPLE.org;transport=ws",
         "sip:c4rol@example.org", "sip:bob.smith@example.org", "sip:9lives@example.org"]


@pytest.mark.parametrize("target", NUMBERS)
def test_numbers_are_never_followed_by_policy(target):
    uri = parse_uri(target)
    assert is_number(uri)
    for policy in ("ask", "same-domain", "never"):
        assert not policy_allows(policy, uri, "example.org")


@pytest.mark.parametrize("target", USERS)
def test_same_domain_follows_users_of_our_domain_only(target):
    uri = parse_uri(target)
    assert not is_number(uri)
    assert policy_allows("same-domain", uri, "example.org")
    assert not policy_allows("same-domain", uri, "elsewhere.example")
    assert not policy_allows("ask", uri, "example.org") and not policy_allows("never", uri, "example.org")


def test_a_domain_that_ends_like_ours_is_not_ours():
    assert not policy_allows("same-domain", parse_uri("sip:carol@evil-example.org"), "example.org")
    assert not policy_allows("same-domain", parse_uri("sip:carol@example.org.evil.test"), "example.org")


@pytest.mark.parametrize("value", ["always", "", "ASK", None, True, 1])
def test_refer_policy_is_checked_by_name(value):
    with pytest.raises(ValueError, match="refer_policy"):
        webvoice.create_sip_instance(sip_login="a", sip_password="p", realm="a.test",
                                     ua_config={"refer_policy": value}, transport_factory=FakeTransport)


@pytest.mark.parametrize("value", ["ask", "same-domain", "never"])
def test_refer_policy_values(value):
    sip = webvoice.create_sip_instance(sip_login="a", sip_password="p", realm="a.test",
                                       ua_config={"refer_policy": value}, transport_factory=FakeTransport)
    assert sip._settings.ua["refer_policy"] == value
