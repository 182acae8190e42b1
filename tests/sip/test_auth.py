"""Tests for webvoice.sip.auth._client: digest authentication (RFC 2617, 7616, 8760, 3261 s22)."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable
from typing import TypedDict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from webvoice.sip.auth import _client as _auth
from webvoice.sip.auth._client import (
    SUPPORTED_ALGORITHMS,
    AuthenticationError,
    AuthorizationField,
    AuthParseError,
    Challenge,
    Credentials,
    DigestClient,
    parse_challenges,
    parse_credentials,
    redact_authorization,
    verify_digest,
)

HAS_SHA512_256 = "SHA-512-256" in SUPPORTED_ALGORITHMS
needs_sha512_256 = pytest.mark.skipif(not HAS_SHA512_256, reason="hashlib lacks sha512_256")


class Req(TypedDict):
    method: str
    uri: str


class Check(TypedDict):
    method: str
    uri: str
    password: str


def fixed(value: str) -> Callable[[], str]:
    return lambda: value


def counting() -> Callable[[], str]:
    numbers = itertools.count(1)
    return lambda: f"cnonce{next(numbers)}"


def h(name: str, data: str | bytes) -> str:
    """An independent H() for checking computations by hand."""
    return hashlib.new(name, data.encode() if isinstance(data, str) else data).hexdigest()


# --- RFC worked examples --------------------------------------------------------

RFC2617_CHALLENGE = (
    'Digest realm="testrealm@host.com", qop="auth,auth-int", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)
RFC2617_AUTHORIZATION = (
    'Digest username="Mufasa", realm="testrealm@host.com", '
    'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, '
    'nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", '
    'opaque="5ccc069c403ebaf9f0171e9517f40e41"'
)


def test_rfc2617_section_3_5_example() -> None:
    client = DigestClient("Mufasa", "Circle Of Life", cnonce_factory=fixed("0a4f113b"))
    (field,) = client.respond(www_authenticate=RFC2617_CHALLENGE, method="GET", uri="/dir/index.html")
    assert field.name == "Authorization"
    assert field.realm == "testrealm@host.com"
    creds = parse_credentials(field.value)
    assert creds.response == "6629fae49393a05397450978507c4ef1"
    assert (creds.username, creds.uri, creds.qop, creds.nc, creds.cnonce) == (
        "Mufasa", "/dir/index.html", "auth", "00000001", "0a4f113b",
    )
    assert creds.opaque == "5ccc069c403ebaf9f0171e9517f40e41"
    assert creds.algorithm == "MD5"


def test_rfc2617_printed_authorization_verifies() -> None:
    kwargs: Req = {"method": "GET", "uri": "/dir/index.html"}
    assert verify_digest(RFC2617_AUTHORIZATION, password="Circle Of Life", **kwargs)
    assert not verify_digest(RFC2617_AUTHORIZATION, password="Circle of Life", **kwargs)
    assert not verify_digest(RFC2617_AUTHORIZATION, password="Circle Of Life", method="POST", uri="/dir/index.html")


RFC7616_NONCE = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"
RFC7616_OPAQUE = "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"
RFC7616_CNONCE = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


def rfc7616_challenge(algorithm: str) -> str:
    return (
        f'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={algorithm}, '
        f'nonce="{RFC7616_NONCE}", opaque="{RFC7616_OPAQUE}"'
    )


@pytest.mark.parametrize(
    ("challenges", "algorithm", "response"),
    [
        # Section 3.9.1 sends both; the strongest wins whatever the order.
        (["SHA-256", "MD5"], "SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
        (["MD5", "SHA-256"], "SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
        (["MD5"], "MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ],
)
def test_rfc7616_section_3_9_1_examples(challenges: list[str], algorithm: str, response: str) -> None:
    client = DigestClient("Mufasa", "Circle of Life", cnonce_factory=fixed(RFC7616_CNONCE))
    values = [rfc7616_challenge(a) for a in challenges]
    (field,) = client.respond(www_authenticate=values, method="GET", uri="/dir/index.html")
    creds = parse_credentials(field.value)
    assert creds.algorithm == algorithm
    assert creds.response == response
    assert (creds.nonce, creds.opaque, creds.cnonce, creds.nc, creds.qop) == (
        RFC7616_NONCE, RFC7616_OPAQUE, RFC7616_CNONCE, "00000001", "auth",
    )
    assert verify_digest(field.value, method="GET", uri="/dir/index.html", password="Circle of Life")


# RFC 7616 section 3.9.2, with the hashes corrected by erratum 4897 (the
# published ones came from a draft SHA-512/256).
RFC7616_USERHASH_CHALLENGE = (
    'Digest realm="api@example.org", qop="auth", algorithm=SHA-512-256, '
    'nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", '
    'opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS", charset=UTF-8, userhash=true'
)
ERRATUM_USERHASH = "793263caabb707a56211940d90411ea4a575adeccb7e360aeb624ed06ece9b0b"
ERRATUM_RESPONSE = "3798d4131c277846293534c3edc11bd8a5e4cdcbff78b05db9d95eeb1cec68a5"


@needs_sha512_256
def test_rfc7616_section_3_9_2_userhash_example() -> None:
    client = DigestClient(
        "J\u00e4s\u00f8n Doe", "Secret, or not?", cnonce_factory=fixed("NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v")
    )
    (field,) = client.respond(www_authenticate=RFC7616_USERHASH_CHALLENGE, method="GET", uri="/doe.json")
    creds = parse_credentials(field.value)
    assert creds.username == ERRATUM_USERHASH
    assert creds.userhash
    assert creds.response == ERRATUM_RESPONSE
    assert "J\u00e4s\u00f8n" not in field.value
    common: Check = {"method": "GET", "uri": "/doe.json", "password": "Secret, or not?"}
    assert verify_digest(field.value, username="J\u00e4s\u00f8n Doe", **common)
    assert not verify_digest(field.value, username="Mufasa", **common)
    assert not verify_digest(field.value, **common)  # the hash hides the name


@needs_sha512_256
def test_rfc7616_section_3_9_2_username_star_verifies() -> None:
    value = (
        "Digest username*=UTF-8''J%C3%A4s%C3%B8n%20Doe, realm=\"api@example.org\", uri=\"/doe.json\", "
        'algorithm=SHA-512-256, nonce="5TsQWLVdgBdmrQ0XsxbDODV+57QdFR34I9HAbC/RVvkK", nc=00000001, '
        'cnonce="NTg6RKcb9boFIAS3KrFK9BGeh+iDa/sm6jUMp2wds69v", qop=auth, '
        f'response="{ERRATUM_RESPONSE}", opaque="HRPCssKJSGjCrkzDg8OhwpzCiGPChXYjwrI2QmXDnsOS"'
    )
    assert parse_credentials(value).username == "J\u00e4s\u00f8n Doe"
    assert verify_digest(value, method="GET", uri="/doe.json", password="Secret, or not?")


# --- Parsing ----------------------------------------------------------------------

PARSE_CASES: list[tuple[str, list[tuple[str, tuple[tuple[str, str], ...], str | None]]]] = [
    (
        'Digest realm="a", nonce="b", Digest realm="c", nonce="d", algorithm=SHA-256',
        [
            ("Digest", (("realm", "a"), ("nonce", "b")), None),
            ("Digest", (("realm", "c"), ("nonce", "d"), ("algorithm", "SHA-256")), None),
        ],
    ),
    (
        'Basic realm="x, y", Digest realm="a,b", nonce="n, m"',
        [("Basic", (("realm", "x, y"),), None), ("Digest", (("realm", "a,b"), ("nonce", "n, m")), None)],
    ),
    (
        r'Digest realm="say \"hi\" \\ \x", nonce="b"',
        [("Digest", (("realm", 'say "hi" \\ x'), ("nonce", "b")), None)],
    ),
    (
        # RFC 7235 section 4.1's example.
        r'Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"',
        [
            ("Newauth", (("realm", "apps"), ("type", "1"), ("title", 'Login to "apps"')), None),
            ("Basic", (("realm", "simple"),), None),
        ],
    ),
    ("NewScheme foo=bar", [("NewScheme", (("foo", "bar"),), None)]),
    ("Negotiate YIIB/w+==, Basic", [("Negotiate", (), "YIIB/w+=="), ("Basic", (), None)]),
    ("Basic, Foo ,Bar", [("Basic", (), None), ("Foo", (), None), ("Bar", (), None)]),
    (
        ' ,  digest\tREALM = "a" ,, \t Nonce=b  ,  ',
        [("digest", (("realm", "a"), ("nonce", "b")), None)],
    ),
    (
        'Digest realm="a",\r\n nonce="b",\n\tqop="auth"',
        [("Digest", (("realm", "a"), ("nonce", "b"), ("qop", "auth")), None)],
    ),
    ('Digest realm="", nonce="\u00e9t\u00e9"', [("Digest", (("realm", ""), ("nonce", "\u00e9t\u00e9")), None)]),
]


@pytest.mark.parametrize(("value", "expected"), PARSE_CASES)
def test_parse_challenges(value: str, expected: list[tuple[str, tuple[tuple[str, str], ...], str | None]]) -> None:
    assert [(c.scheme, c.params, c.token68) for c in parse_challenges(value)] == expected


MALFORMED = [
    ("", "empty"),
    (" \t, ,", "empty"),
    ('realm="a"', "without an auth-scheme"),
    ('"Digest" realm="a"', "expected an auth-scheme"),
    ('Digest realm="a', "malformed auth-param"),
    ('Digest realm="a" nonce="b"', "expected ','"),
    ("Digest realm=a b", "expected ','"),
    ('Digest realm="a", Realm="b", nonce="c"', "duplicate parameter 'realm'"),
    ('Digest nonce="b"', "without realm"),
    ('Digest realm="b"', "without nonce"),
    ('Digest realm="a\x00", nonce="b"', "malformed auth-param"),
    ('Digest realm="a\r\nInjected: yes", nonce="b"', "malformed auth-param"),
    ('Digest"x"', "expected whitespace"),
    ('Digest realm="a", nonce="b", =x', "expected an auth-scheme"),
    ("Basic abc==, def=x", "without an auth-scheme"),
    ("Digest realm=", "not a token68"),
    ("Digest realm=, nonce=x", "without an auth-scheme"),
]


@pytest.mark.parametrize(("value", "message"), MALFORMED)
def test_parse_challenges_rejects_malformed(value: str, message: str) -> None:
    with pytest.raises(AuthParseError, match=message):
        parse_challenges(value)


def test_challenge_properties() -> None:
    (ch,) = parse_challenges(
        'DIGEST Realm="sip.example.com", NONCE="n", Opaque="o", Algorithm=sha-256-sess, '
        'QOP="auth, Auth-Int ,", Stale=TRUE, userhash=True, domain="sip:a.example.com  sip:b.example.com"'
    )
    assert ch.is_digest and ch.scheme == "DIGEST"
    assert (ch.realm, ch.nonce, ch.opaque) == ("sip.example.com", "n", "o")
    assert ch.algorithm == "SHA-256-SESS"
    assert ch.qop_options == ("auth", "auth-int")
    assert ch.stale and ch.userhash
    assert ch.domain == ("sip:a.example.com", "sip:b.example.com")
    assert ch.param("QoP") == "auth, Auth-Int ,"

    (plain,) = parse_challenges('Digest realm="r", nonce="n", stale=false')
    assert plain.algorithm == "MD5"
    assert plain.qop_options == ()
    assert not plain.stale and not plain.userhash
    assert plain.opaque is None and plain.domain == ()


def test_challenges_validate_when_built_by_hand() -> None:
    with pytest.raises(AuthParseError, match="without nonce"):
        Challenge("Digest", (("realm", "a"),))
    with pytest.raises(AuthParseError, match="lower-case"):
        Challenge("Basic", (("Realm", "x"),))
    with pytest.raises(AuthParseError, match="auth-scheme"):
        Challenge("Dig est")
    with pytest.raises(AuthParseError, match="exclusive"):
        Challenge("Basic", (("realm", "x"),), token68="abc")


def test_challenge_serialize_for_test_servers() -> None:
    ch = Challenge("Digest", (("realm", "example.com"), ("nonce", "abc"), ("qop", "auth"), ("algorithm", "MD5")))
    assert ch.serialize() == 'Digest realm="example.com", nonce="abc", qop="auth", algorithm=MD5'
    assert parse_challenges(ch.serialize()) == [ch]
    with pytest.raises(ValueError, match="control character"):
        Challenge("Digest", (("realm", "a\r\nVia: evil"), ("nonce", "b"))).serialize()


def test_parse_credentials() -> None:
    # RFC 4475 section 3.1.2.1 (regaut01): an unknown scheme must parse.
    creds = parse_credentials("NoOneKnowsThisScheme opaque-data=here")
    assert creds.scheme == "NoOneKnowsThisScheme" and not creds.is_digest
    assert creds.param("opaque-data") == "here"

    basic = parse_credentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    assert basic.token68 == "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="

    digest = parse_credentials(RFC2617_AUTHORIZATION)
    assert digest.is_digest and digest.username == "Mufasa" and digest.realm == "testrealm@host.com"
    assert Credentials("Digest", digest.params).serialize() == digest.serialize()
    assert parse_credentials(digest.serialize()) == digest


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('Digest username="a", realm="r", nonce="n", uri="u"', "without response"),
        ('Digest realm="r", nonce="n", uri="u", response="x"', "exactly one of username"),
        ("Digest username=\"a\", username*=UTF-8''a, realm=r, nonce=n, uri=u, response=x", "exactly one"),
        ("Digest username*=UTF-8''%FF, realm=r, nonce=n, uri=u, response=x", "not valid UTF-8"),
        ("Digest username*=latin1''a, realm=r, nonce=n, uri=u, response=x", "malformed username"),
        ('Digest username="a", realm=r, nonce=n, uri=u, response=x, qop=auth', "need cnonce and nc"),
        ('Digest username="a", realm=r, nonce=n, uri=u, response=x, qop=auth, cnonce=c, nc=1', "8 hex"),
        ("Basic abc==, Basic def==", "expected one credentials"),
        ("", "empty"),
    ],
)
def test_parse_credentials_rejects_malformed(value: str, message: str) -> None:
    with pytest.raises(AuthParseError, match=message):
        parse_credentials(value)


def test_error_hierarchy() -> None:
    assert issubclass(AuthParseError, ValueError)
    assert not issubclass(AuthenticationError, ValueError)


# --- Hypothesis: garbage in, AuthParseError out -------------------------------------

GRAMMAR_PIECES = [
    "Digest", "Basic", "digest", " ", "\t", ",", "=", '"', "\\", "realm", "nonce", "qop", "auth",
    "a", "x", "\r\n ", "\n", "username", "username*", "UTF-8''", "%C3", "%A4", "%FF", "response",
    "uri", "nc", "00000001", "cnonce", "==", "/", "\u00e9", "\x00", "userhash", "true", "stale",
    "algorithm", "MD5-sess", "SHA-512-256", "sip:a@b",
]
grammarish = st.lists(st.sampled_from(GRAMMAR_PIECES), max_size=30).map("".join)
any_text = st.one_of(st.text(), st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF)), grammarish)


def touch_everything(value: Challenge | Credentials) -> None:
    """Every accessor must work on anything the parser accepted."""
    for prop in ("realm", "nonce", "opaque", "algorithm", "userhash", "is_digest"):
        getattr(value, prop)
    if isinstance(value, Challenge):
        _ = (value.qop_options, value.stale, value.domain)
    else:
        _ = (value.username, value.uri, value.response, value.cnonce, value.nc, value.qop)
    repr(value)


@settings(max_examples=2000, deadline=None)
@given(any_text)
def test_parse_challenges_garbage(text: str) -> None:
    try:
        challenges = parse_challenges(text)
    except AuthParseError:
        return
    assert challenges
    for ch in challenges:
        touch_everything(ch)


@settings(max_examples=2000, deadline=None)
@given(any_text)
def test_parse_credentials_garbage(text: str) -> None:
    try:
        touch_everything(parse_credentials(text))
    except AuthParseError:
        pass
    assert isinstance(verify_digest(text, method="REGISTER", uri="sip:a@b", password="p"), bool)
    redact_authorization(text)


CTLS = "".join(map(chr, [*range(0, 9), *range(10, 32), 127]))
names = st.from_regex(r"[a-z][a-z0-9\-]{0,8}", fullmatch=True)
values = st.text(alphabet=st.characters(codec="utf-8", exclude_characters=CTLS), max_size=20)


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from(["Basic", "Newauth", "X-Foo.bar"]),
    st.lists(st.tuples(names, values), max_size=6, unique_by=lambda p: p[0]),
)
def test_challenge_round_trip(scheme: str, params: list[tuple[str, str]]) -> None:
    ch = Challenge(scheme, tuple(params))
    assert parse_challenges(ch.serialize()) == [ch]
    assert parse_challenges(f"{ch.serialize()}, {ch.serialize()}") == [ch, ch]


# --- Choosing a challenge -----------------------------------------------------------


def chal(nonce: str = "n1", *, realm: str = "example.com", extra: str = ', qop="auth"') -> str:
    return f'Digest realm="{realm}", nonce="{nonce}"{extra}'


@pytest.mark.parametrize(
    "order",
    list(itertools.permutations(["MD5", "SHA-256", "SHA-512-256"])),
)
def test_strongest_algorithm_wins(order: tuple[str, ...]) -> None:
    values = [chal(f"n-{a}", extra=f', qop="auth", algorithm={a}') for a in order]
    values.insert(1, 'Basic realm="example.com"')
    values.insert(2, chal("n-sha3", extra=', qop="auth", algorithm=SHA3-256'))
    (field,) = DigestClient("alice", "pw").respond(www_authenticate=values, method="REGISTER", uri="sip:example.com")
    expected = "SHA-512-256" if HAS_SHA512_256 else "SHA-256"
    assert parse_credentials(field.value).algorithm == expected
    assert parse_credentials(field.value).nonce == f"n-{expected}"


def test_without_sha512_256_the_next_best_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(_auth._HASHLIB_NAMES, "SHA-512-256", raising=False)
    values = [chal("a", extra=', qop="auth", algorithm=SHA-512-256'), chal("b", extra=', qop="auth", algorithm=SHA-256')]
    (field,) = DigestClient("alice", "pw").respond(www_authenticate=values, method="REGISTER", uri="sip:example.com")
    assert parse_credentials(field.value).algorithm == "SHA-256"
    with pytest.raises(AuthenticationError) as info:
        DigestClient("alice", "pw").respond(www_authenticate=values[:1], method="REGISTER", uri="sip:example.com")
    assert info.value.reason == "unsupported"


def test_nothing_supported_names_what_was_offered() -> None:
    values = [
        'Basic realm="example.com"',
        chal(extra=', qop="auth", algorithm=SHA3-256'),
        chal(extra=', qop="auth-conf"'),
        chal(extra=", algorithm=MD5-sess"),  # -sess needs qop
    ]
    with pytest.raises(AuthenticationError) as info:
        DigestClient("alice", "pw").respond(www_authenticate=values, method="REGISTER", uri="sip:example.com")
    err = info.value
    assert err.reason == "unsupported"
    assert "SHA3-256" in str(err) and "Basic" in str(err) and "MD5-SESS" in str(err)
    assert "Digest SHA3-256 realm='example.com'" in err.offered


def test_no_challenge_and_malformed_challenge() -> None:
    client = DigestClient("alice", "pw")
    with pytest.raises(AuthenticationError) as info:
        client.respond(method="REGISTER", uri="sip:example.com")
    assert info.value.reason == "no-challenge"
    with pytest.raises(AuthenticationError) as info:
        client.respond(www_authenticate='Digest realm="x', method="REGISTER", uri="sip:example.com")
    assert info.value.reason == "malformed" and "malformed auth-param" in str(info.value)
    # One bad row does not spoil a good one.
    fields = client.respond(www_authenticate=['Digest realm="x', chal()], method="REGISTER", uri="sip:example.com")
    assert len(fields) == 1


def test_realm_restriction() -> None:
    client = DigestClient("alice", "pw", realm="example.com")
    with pytest.raises(AuthenticationError) as info:
        client.respond(www_authenticate=chal(realm="other.org"), method="REGISTER", uri="sip:example.com")
    assert info.value.reason == "no-challenge" and "other.org" in str(info.value)
    both = [chal(realm="other.org"), chal(realm="example.com")]
    (field,) = client.respond(www_authenticate=both, method="REGISTER", uri="sip:example.com")
    assert field.realm == "example.com"


def test_every_realm_is_answered_without_restriction() -> None:
    # RFC 3261 section 22.3: a forking proxy merges challenges from several realms.
    values = [chal("p1", realm="proxy-a.example"), chal("p2", realm="proxy-b.example")]
    fields = DigestClient("alice", "pw").respond(proxy_authenticate=values, method="INVITE", uri="sip:bob@b.example")
    assert [(f.name, f.realm) for f in fields] == [
        ("Proxy-Authorization", "proxy-a.example"),
        ("Proxy-Authorization", "proxy-b.example"),
    ]


# --- qop variants -----------------------------------------------------------------


def expected_response(
    *, alg: str = "md5", user: str, realm: str, pw: str, nonce: str, method: str, uri: str,
    qop: str | None = None, nc: str = "", cnonce: str = "", body: bytes = b"", sess: bool = False,
) -> str:
    ha1 = h(alg, f"{user}:{realm}:{pw}")
    if sess:
        ha1 = h(alg, f"{ha1}:{nonce}:{cnonce}")
    ha2 = h(alg, f"{method}:{uri}:{h(alg, body)}" if qop == "auth-int" else f"{method}:{uri}")
    if qop is None:
        return h(alg, f"{ha1}:{nonce}:{ha2}")
    return h(alg, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


SDP = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n"


def test_auth_int_when_it_is_the_only_qop() -> None:
    client = DigestClient("alice", "pw", cnonce_factory=fixed("c0ffee"))
    (field,) = client.respond(
        proxy_authenticate=chal(extra=', qop="auth-int"'), method="INVITE", uri="sip:bob@example.com", body=SDP
    )
    creds = parse_credentials(field.value)
    assert field.name == "Proxy-Authorization" and creds.qop == "auth-int"
    assert creds.response == expected_response(
        user="alice", realm="example.com", pw="pw", nonce="n1", method="INVITE", uri="sip:bob@example.com",
        qop="auth-int", nc="00000001", cnonce="c0ffee", body=SDP,
    )
    common: Check = {"method": "INVITE", "uri": "sip:bob@example.com", "password": "pw"}
    assert verify_digest(field.value, body=SDP, **common)
    assert not verify_digest(field.value, body=SDP + b"a=sendonly\r\n", **common)


@pytest.mark.parametrize(("prefer", "qop"), [(False, "auth"), (True, "auth-int")])
def test_auth_preferred_unless_asked(prefer: bool, qop: str) -> None:
    client = DigestClient("alice", "pw", prefer_auth_int=prefer)
    (field,) = client.respond(
        www_authenticate=chal(extra=', qop="auth-int,auth"'), method="MESSAGE", uri="sip:b@x", body=b"hi"
    )
    assert parse_credentials(field.value).qop == qop
    assert verify_digest(field.value, method="MESSAGE", uri="sip:b@x", password="pw", body=b"hi")


def test_md5_sess() -> None:
    client = DigestClient("alice", "pw", cnonce_factory=fixed("abc"))
    values = chal(extra=', qop="auth", algorithm=MD5-sess')
    (field,) = client.respond(www_authenticate=values, method="REGISTER", uri="sip:example.com")
    creds = parse_credentials(field.value)
    assert creds.param("algorithm") == "MD5-sess"
    assert creds.response == expected_response(
        user="alice", realm="example.com", pw="pw", nonce="n1", method="REGISTER", uri="sip:example.com",
        qop="auth", nc="00000001", cnonce="abc", sess=True,
    )
    assert verify_digest(field.value, method="REGISTER", uri="sip:example.com", password="pw")


def test_rfc2069_style_challenge_without_qop() -> None:
    # Asterisk's chan_sip style: no qop, so no cnonce and no nc either.
    client = DigestClient("alice", "pw")
    (field,) = client.respond(
        www_authenticate='Digest algorithm=MD5, realm="asterisk", nonce="1f2e3d4c"',
        method="REGISTER", uri="sip:pbx.example.com",
    )
    creds = parse_credentials(field.value)
    assert creds.qop is None and creds.nc is None and creds.cnonce is None
    assert creds.response == expected_response(
        user="alice", realm="asterisk", pw="pw", nonce="1f2e3d4c", method="REGISTER", uri="sip:pbx.example.com"
    )
    assert verify_digest(field.value, method="REGISTER", uri="sip:pbx.example.com", password="pw")
    # Without nc a reused nonce is indistinguishable from a replay: no preauthorization.
    assert client.preauthorize(method="REGISTER", uri="sip:pbx.example.com") == ()


# --- userhash and odd usernames -----------------------------------------------------


def test_userhash() -> None:
    client = DigestClient("alice", "pw")
    values = chal(extra=', qop="auth", algorithm=SHA-256, userhash=true')
    (field,) = client.respond(www_authenticate=values, method="REGISTER", uri="sip:example.com")
    creds = parse_credentials(field.value)
    assert creds.userhash and creds.username == h("sha256", "alice:example.com")
    assert "alice" not in field.value
    common: Check = {"method": "REGISTER", "uri": "sip:example.com", "password": "pw"}
    assert verify_digest(field.value, username="alice", **common)
    assert not verify_digest(field.value, username="bob", **common)


def test_username_forms() -> None:
    # UTF-8 is fine in SIP quoted strings (RFC 3261 UTF8-NONASCII) ...
    (field,) = DigestClient('J\u00e4s\u00f8n "the" \\ Doe', "pw").respond(
        www_authenticate=chal(), method="REGISTER", uri="sip:example.com"
    )
    assert 'username="J\u00e4s\u00f8n \\"the\\" \\\\ Doe"' in field.value
    assert parse_credentials(field.value).username == 'J\u00e4s\u00f8n "the" \\ Doe'
    assert verify_digest(field.value, method="REGISTER", uri="sip:example.com", password="pw")
    # ... control characters are not: RFC 7616 section 3.4.4 username*.
    (field,) = DigestClient("bob\x01\n", "pw").respond(
        www_authenticate=chal(), method="REGISTER", uri="sip:example.com"
    )
    assert "username*=UTF-8''bob%01%0A" in field.value and "\n" not in field.value
    assert parse_credentials(field.value).username == "bob\x01\n"
    assert verify_digest(field.value, method="REGISTER", uri="sip:example.com", password="pw")


def test_header_injection_through_uri_is_refused() -> None:
    client = DigestClient("alice", "pw")
    with pytest.raises(ValueError, match="control character"):
        client.respond(www_authenticate=chal(), method="REGISTER", uri="sip:a\r\nVia: evil")


# --- Retry policy, nonce counts, pre-authorization -------------------------------------

REG: Req = {"method": "REGISTER", "uri": "sip:example.com"}


def test_stale_nonce_is_retried_silently() -> None:
    client = DigestClient("alice", "pw", cnonce_factory=counting())
    (first,) = client.respond(www_authenticate=chal("n1"), **REG)
    (second,) = client.respond(
        www_authenticate=chal("n2", extra=', qop="auth", stale=TRUE'), authorization=first.value, **REG
    )
    creds = parse_credentials(second.value)
    assert (creds.nonce, creds.nc, creds.cnonce) == ("n2", "00000001", "cnonce2")
    assert verify_digest(second.value, password="pw", nonce="n2", **REG)


def test_wrong_password_is_not_retried() -> None:
    client = DigestClient("alice", "wrong")
    (first,) = client.respond(www_authenticate=chal("n1"), **REG)
    with pytest.raises(AuthenticationError) as info:
        client.respond(www_authenticate=chal("n2"), authorization=[first.value], **REG)
    err = info.value
    assert err.reason == "rejected" and err.realm == "example.com"
    assert "rejected" in str(err) and "password" in str(err)
    assert "wrong" not in str(err)


def test_stale_with_the_same_nonce_is_not_retried() -> None:
    client = DigestClient("alice", "pw")
    (first,) = client.respond(www_authenticate=chal("n1"), **REG)
    with pytest.raises(AuthenticationError, match="rejected"):
        client.respond(www_authenticate=chal("n1", extra=', qop="auth", stale=true'), authorization=first.value, **REG)


def test_proxy_rejection_and_kinds_are_separate() -> None:
    invite: Req = {"method": "INVITE", "uri": "sip:bob@example.com"}
    client = DigestClient("alice", "wrong")
    (www,) = client.respond(www_authenticate=chal("w1"), **invite)
    # Same realm, but a first Proxy-Authenticate: our Authorization does not count.
    fields = client.respond(proxy_authenticate=chal("p1"), authorization=www.value, **invite)
    assert [f.name for f in fields] == ["Authorization", "Proxy-Authorization"]
    proxy = fields[1]
    with pytest.raises(AuthenticationError) as info:
        client.respond(proxy_authenticate=chal("p2"), proxy_authorization=proxy.value, **invite)
    assert info.value.reason == "rejected"


def test_someone_elses_credentials_do_not_count_as_ours() -> None:
    other = DigestClient("mallory", "x").respond(www_authenticate=chal("n0"), **REG)[0]
    fields = DigestClient("alice", "pw").respond(www_authenticate=chal("n1"), authorization=other.value, **REG)
    assert len(fields) == 1 and parse_credentials(fields[0].value).username == "alice"


def test_nonce_count_increments_on_preauthorization() -> None:
    client = DigestClient("alice", "pw", cnonce_factory=counting())
    assert client.preauthorize(**REG) == ()
    (first,) = client.respond(www_authenticate=chal("n1"), **REG)
    seen = [parse_credentials(first.value)]
    for _ in range(2):
        (field,) = client.preauthorize(**REG)
        assert field.name == "Authorization"
        assert verify_digest(field.value, password="pw", nonce="n1", **REG)
        seen.append(parse_credentials(field.value))
    assert [c.nc for c in seen] == ["00000001", "00000002", "00000003"]
    assert {c.cnonce for c in seen} == {"cnonce1"}
    assert len({c.response for c in seen}) == 3
    assert client.preauthorize(realm="other.org", **REG) == ()
    assert len(client.preauthorize(realm="example.com", **REG)) == 1
    client.forget("example.com")
    assert client.preauthorize(**REG) == ()


def test_forgotten_nonce_after_preauthorization_is_retried_once() -> None:
    client = DigestClient("alice", "pw")
    (first,) = client.respond(www_authenticate=chal("n1"), **REG)
    (pre,) = client.preauthorize(**REG)  # nc=2
    # The registrar restarted and no longer knows n1; it does not say stale.
    (retry,) = client.respond(www_authenticate=chal("n2"), authorization=pre.value, **REG)
    assert parse_credentials(retry.value).nc == "00000001"
    with pytest.raises(AuthenticationError, match="rejected"):
        client.respond(www_authenticate=chal("n3"), authorization=retry.value, **REG)


def test_respond_returns_the_complete_set_for_the_retry() -> None:
    invite: Req = {"method": "INVITE", "uri": "sip:bob@example.com"}
    client = DigestClient("alice", "pw")
    (proxy,) = client.respond(proxy_authenticate=chal("p1", realm="proxy.example"), **invite)
    fields = client.respond(
        www_authenticate=chal("w1", realm="example.com"),
        proxy_authorization=[proxy.value, "Bearer abc.def"],
        **invite,
    )
    assert [(f.name, f.realm) for f in fields] == [
        ("Proxy-Authorization", "proxy.example"),
        ("Proxy-Authorization", None),
        ("Authorization", "example.com"),
    ]
    assert parse_credentials(fields[0].value).nc == "00000002"  # re-signed, not replayed
    assert fields[1].value == "Bearer abc.def"  # not ours: kept as is
    assert verify_digest(fields[0].value, password="pw", **invite)
    assert verify_digest(fields[2].value, password="pw", **invite)


def test_a_single_string_is_one_value() -> None:
    a = DigestClient("alice", "pw", cnonce_factory=fixed("c")).respond(www_authenticate=chal(), **REG)
    b = DigestClient("alice", "pw", cnonce_factory=fixed("c")).respond(www_authenticate=[chal()], **REG)
    assert a == b


# --- A SIP registration against a Kamailio-style registrar ----------------------------


def test_register_against_kamailio_style_challenge() -> None:
    nonce = "Y2FzZTE2OTk5OTk5OTk6NWQ3ZjAxYjM5OGFjZGE5Yw=="
    challenge = f'Digest realm="example.com", nonce="{nonce}", qop="auth"'
    client = DigestClient("alice", "s3cr3t")  # real random cnonce
    (field,) = client.respond(www_authenticate=challenge, method="REGISTER", uri="sip:example.com")
    creds = parse_credentials(field.value)
    assert len(creds.cnonce or "") == 16
    assert creds.param("algorithm") == "MD5"

    def check(method: str = "REGISTER", uri: str = "sip:example.com", password: str = "s3cr3t",
              nonce: str = nonce, username: str | None = "alice") -> bool:
        return verify_digest(field.value, method=method, uri=uri, password=password,
                             realm="example.com", nonce=nonce, username=username)

    assert check()
    assert check(username=None)
    assert not check(method="INVITE")
    assert not check(uri="sip:other.com")
    assert not check(password="guess")
    assert not check(nonce="other")
    assert not check(username="bob")


def test_verify_rejects_what_it_cannot_check() -> None:
    common: Check = {"method": "GET", "uri": "/dir/index.html", "password": "Circle Of Life"}
    assert not verify_digest("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", **common)
    assert not verify_digest("garbage ===", **common)
    assert not verify_digest(RFC2617_AUTHORIZATION.replace("qop=auth", "algorithm=SHA3-256, qop=auth"), **common)
    assert not verify_digest(RFC2617_AUTHORIZATION.replace("qop=auth", "qop=auth-conf"), **common)
    upper = RFC2617_AUTHORIZATION.replace("6629fae49393a05397450978507c4ef1", "6629FAE49393A05397450978507C4EF1")
    assert verify_digest(upper, **common)


# --- Secrets stay out of logs -----------------------------------------------------------


def test_redact_authorization() -> None:
    redacted = redact_authorization(RFC2617_AUTHORIZATION)
    assert "6629fae49393a05397450978507c4ef1" not in redacted
    assert 'response="<redacted>"' in redacted
    assert redacted.replace('response="<redacted>"', "") == RFC2617_AUTHORIZATION.replace(
        'response="6629fae49393a05397450978507c4ef1"', ""
    )
    assert redact_authorization('Digest username="a", RESPONSE = abc123, nc=1') == (
        'Digest username="a", RESPONSE = "<redacted>", nc=1'
    )
    assert redact_authorization("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==") == "Basic <redacted>"
    # A stray quote earlier in a malformed value must not hide the response.
    assert "s3cret" not in redact_authorization('Digest foo="bar, response="s3cret"')
    assert "s3cret" not in redact_authorization('Digest response="s3cret')
    assert redact_authorization('Digest rspauth="x", xresponse="y"') == 'Digest rspauth="x", xresponse="y"'


def test_reprs_never_show_secrets() -> None:
    password = "Circle Of Life"
    client = DigestClient("Mufasa", password, cnonce_factory=fixed("0a4f113b"))
    (field,) = client.respond(www_authenticate=RFC2617_CHALLENGE, method="GET", uri="/dir/index.html")
    creds = parse_credentials(field.value)
    response = "6629fae49393a05397450978507c4ef1"
    ha1 = h("md5", f"Mufasa:testrealm@host.com:{password}")
    assert response in field.value  # the wire form has it, of course
    for obj in (client, field, creds, (field,), [creds]):
        for text in (repr(obj), str(obj)):
            assert password not in text and response not in text and ha1 not in text
    assert "Mufasa" in repr(client) and "testrealm@host.com" in repr(client)
    assert "<redacted>" in repr(field) and "<redacted>" in repr(creds)
    basic = parse_credentials("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
    assert "QWxhZGRp" not in repr(basic)


def test_authorization_field_checks_its_name() -> None:
    with pytest.raises(ValueError, match="not an authorization header"):
        AuthorizationField("Contact", "x")  # type: ignore[arg-type]
