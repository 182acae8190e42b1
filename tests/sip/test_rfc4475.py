"""The RFC 4475 torture messages, driven by the manifest in tests/data/rfc4475.

Every `valid` message parses with the fields the RFC describes; every `invalid`
one raises SipParseError and nothing else; for the transaction, application and
compat kinds the UAS core gives the response the manifest names.
"""

from __future__ import annotations

import json
import pathlib

import pytest

from webvoice.sip import (
    AbsoluteUri,
    NameAddr,
    Request,
    Response,
    SipParseError,
    SipUri,
    check_request,
    parse_message,
    response_for_parse_error,
)

CORPUS = pathlib.Path(__file__).resolve().parents[1] / "data" / "rfc4475"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())


def load(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


def rows(*kinds: str):
    return [pytest.param(r, id=r["file"]) for r in MANIFEST if r["kind"] in kinds]


def test_manifest_is_complete():
    assert len(MANIFEST) == 49
    assert {r["kind"] for r in MANIFEST} == {"valid", "invalid", "transaction", "application", "compat"}


@pytest.mark.parametrize("row", rows("valid"))
def test_valid_messages_parse_and_round_trip(row):
    message = parse_message(load(row["file"]))
    assert parse_message(bytes(message)) == message


@pytest.mark.parametrize("row", rows("invalid"))
def test_invalid_messages_are_refused(row):
    with pytest.raises(SipParseError) as info:
        parse_message(load(row["file"]))
    assert type(info.value) is SipParseError
    assert str(info.value)


# --- the fields the RFC describes, a few per valid message ----------------------------


def test_wsinv_unknown_headers_folding_and_odd_spacing():
    m = parse_message(load("wsinv.dat"))
    assert m.method == "INVITE"
    assert m.to.tag == "1918181833n"
    assert m.from_.display_name == 'J Rosenberg \\"'
    assert m.from_.tag == "98asjd8"
    assert m.max_forwards == 68
    assert (m.cseq.seq, m.cseq.method) == (9, "INVITE")
    assert [v.transport for v in m.via] == ["UDP", "TCP", "UDP"]
    assert [v.branch for v in m.via] == ["390skdjuw", "z9hG4bK9ikj8", "z9hG4bK30239"]
    assert m.header("NewFangledHeader") == "newfangled value continued newfangled value"
    assert m.header("UnknownHeaderWithUnusualValue") == ";;,,;;,;"
    assert m.header("Subject") == ""
    assert m.contact.display_name == 'Quoted string ""'
    assert m.contact.params.get("q") == "0.33" and m.contact.params.get("secondparam") == ""
    assert m.route[0].uri.params.has("lr")
    assert len(m.body) == 150
    # unknown headers stay in order between the known ones
    names = list(m.headers.names())
    assert names.index("NewFangledHeader") < names.index("UnknownHeaderWithUnusualValue") < names.index("Route")


def test_intmeth_unusual_method_and_characters():
    m = parse_message(load("intmeth.dat"))
    assert m.method == "!interesting-Method0123456789_*+`.%indeed'~"
    assert m.cseq.method == m.method
    assert m.uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert m.uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert m.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert m.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert m.from_.tag == "_token~1'+`*%!-."
    assert m.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert m.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    assert m.header("extensionHeader-!.%*+_`'~") == "\ufeff大停電"


def test_esc01_escaped_user_part():
    m = parse_message(load("esc01.dat"))
    assert m.uri.user == "sips%3Auser%40example.com"
    assert m.uri.user_text == "sips:user@example.com"
    assert m.from_.uri.user_text == "I have spaces"
    assert m.to.uri.user == "%75se%72" and m.to.uri.user_text == "user"
    assert m.to.uri.equivalent(SipUri(user="user", host="example.com"))


def test_escnull_escaped_nul():
    m = parse_message(load("escnull.dat"))
    assert m.to.uri.user_text == "null-\x00-null"
    assert [c.uri.user_text for c in m.contacts] == ["\x00", "\x00\x00"]


def test_esc02_percent_in_quoted_string_and_escaped_uri():
    m = parse_message(load("esc02.dat"))
    assert m.method == "RE%47IST%45R"
    assert m.from_.display_name == "%Z%45"
    assert m.top_via.branch == "z9hG4bK209%fzsnel234"
    # C%6Fntact is an unknown header name, not an escaped Contact
    assert [c.uri.user for c in m.contacts] == ["alias1", "alias3"]
    assert m.header("C%6Fntact") == "<sip:alias2@host2.example.com>"


def test_lwsdisp_display_name_without_space():
    m = parse_message(load("lwsdisp.dat"))
    assert m.from_.display_name == "caller"
    assert m.from_.uri == SipUri(user="caller", host="example.com")


def test_longreq_long_values_and_many_vias():
    m = parse_message(load("longreq.dat"))
    assert len(m.via) == 34
    assert m.via[0].host == "sip33.example.com"
    assert m.to.display_name.startswith("I have a user name of extremeextreme")
    assert len(m.from_.uri.user) == 115 and m.from_.params.has("unknownValuelessparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamnameparamname")
    long_name = [n for n in m.headers.names() if n.startswith("Unknown-LongLong")]
    assert len(long_name) == 1 and len(m.header(long_name[0])) == 306


def test_dblreq_only_first_message():
    data = load("dblreq.dat")
    m = parse_message(data)
    assert m.method == "REGISTER"
    assert m.body == b""
    assert len(bytes(m)) < len(data)


def test_semiuri_semicolons_in_user_part():
    m = parse_message(load("semiuri.dat"))
    assert m.uri.user == "user;par=u%40example.net"
    assert m.uri.host == "example.com"
    assert not m.uri.params
    assert [a.mime for a in m.header_all("Accept")] == [
        "application/sdp", "application/pkcs7-mime", "multipart/mixed",
        "multipart/signed", "message/sip", "message/sipfrag",
    ]


def test_transports_unknown_via_transports():
    m = parse_message(load("transports.dat"))
    assert [v.transport for v in m.via] == ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]


def test_mpart01_multipart_body_kept_intact():
    data = load("mpart01.dat")
    m = parse_message(data)
    assert m.content_type.mime == "multipart/mixed"
    assert m.content_type.param("boundary") == "7a9cbec02ceef655"
    assert data.endswith(m.body)
    assert len(m.body) == 553


def test_unreason_and_noreason_phrases():
    m = parse_message(load("unreason.dat"))
    assert isinstance(m, Response) and m.status_code == 200
    assert m.reason == "= 2**3 * 5**2 но сто девяносто девять - простое"  # UTF-8 survives
    m = parse_message(load("noreason.dat"))
    assert m.status_code == 100 and m.reason == ""


# --- the UAS core on the other kinds ------------------------------------------------------


def uas_response(name: str):
    try:
        message = parse_message(load(name))
    except SipParseError as exc:
        return response_for_parse_error(exc)
    return check_request(message) if isinstance(message, Request) else None


@pytest.mark.parametrize(
    "name, status",
    [
        ("insuf.dat", 400),
        ("unkscm.dat", 416),
        ("novelsc.dat", 416),
        ("bext01.dat", 420),
        ("invut.dat", 415),
        ("multi01.dat", 400),
        ("mcl01.dat", 400),
        ("sdp01.dat", 406),
        ("badvers.dat", 505),
        ("mismatch01.dat", 400),
        ("mismatch02.dat", 400),
    ],
)
def test_uas_answers(name, status):
    response = uas_response(name)
    assert response is not None and response.status_code == status
    reparsed = parse_message(bytes(response)) if name != "insuf.dat" else None
    if reparsed is not None:
        assert reparsed.status_code == status


def test_bext01_unsupported_lists_the_option_tags():
    response = uas_response("bext01.dat")
    assert response.header_all("Unsupported") == ["nothingSupportsThis", "nothingSupportsThisEither"]
    assert b"Unsupported: nothingSupportsThis, nothingSupportsThisEither\r\n" in bytes(response)


def test_invut_415_carries_accept():
    response = uas_response("invut.dat")
    assert "application/sdp" in [a.mime for a in response.header_all("Accept")]


@pytest.mark.parametrize("name", ["zeromf.dat", "inv2543.dat", "badbranch.dat", "cparam01.dat"])
def test_served_requests(name):
    message = parse_message(load(name))
    response = check_request(message)
    assert response is None or response.status_code == 405  # REGISTER: we are no registrar


def test_zeromf_served_with_max_forwards_zero():
    m = parse_message(load("zeromf.dat"))
    assert m.max_forwards == 0 and check_request(m) is None


def test_unksm2_unknown_schemes_carried():
    m = parse_message(load("unksm2.dat"))
    assert m.to.uri == AbsoluteUri("isbn", "2983792873")
    assert m.from_.uri == AbsoluteUri("http", "//www.example.com")
    assert str(m.contact.uri) == "name:John_Smith"


def test_regaut01_unknown_auth_scheme_kept():
    m = parse_message(load("regaut01.dat"))
    assert m.header("Authorization") == "NoOneKnowsThisScheme opaque-data=here"


def test_cparam01_contact_params_apart_from_uri_params():
    m = parse_message(load("cparam01.dat"))
    assert m.contact.uri == SipUri(user="+19725552222", host="gw1.example.net")
    assert m.contact.params.has("unknownparam")


def test_cparam02_uri_params_inside_brackets():
    m = parse_message(load("cparam02.dat"))
    assert m.contact.uri.params.has("unknownparam")
    assert not m.contact.params.has("unknownparam")


def test_regescrt_escaped_headers_in_contact_kept():
    m = parse_message(load("regescrt.dat"))
    assert m.contact.uri.headers == (("Route", "%3Csip:sip.example.com%3E"),)
    assert b"<sip:user@example.com?Route=%3Csip:sip.example.com%3E>" in bytes(m)


def test_bcast_is_a_response():
    m = parse_message(load("bcast.dat"))
    assert isinstance(m, Response) and m.via[1].host == "255.255.255.255"


def test_inv2543_rfc2543_syntax_accepted():
    m = parse_message(load("inv2543.dat"))
    assert m.top_via.branch is None and m.max_forwards is None
    # addr-spec form: ";user=phone" is a header parameter (RFC 3261 20.10)
    assert isinstance(m.to, NameAddr) and m.to.params.get("user") == "phone"
    assert m.from_.uri.params.get("user") == "phone"


def test_refused_requests_carry_what_a_response_needs():
    with pytest.raises(SipParseError) as info:
        parse_message(load("badvers.dat"))
    assert info.value.status_code == 505 and info.value.method == "OPTIONS"
    response = response_for_parse_error(info.value)
    assert response.call_id == "badvers.31417@c.example.com"
    assert response.header("Warning").startswith("399 webvoice")


def test_refused_responses_get_no_answer():
    with pytest.raises(SipParseError) as info:
        parse_message(load("scalarlg.dat"))
    assert response_for_parse_error(info.value) is None
