"""Credentials go only where they were asked for (issue 15).

A challenge's kind says who asked: WWW-Authenticate comes from the request's
destination (the registrar, or the UAS at the Request-URI), Proxy-Authenticate
from a proxy on the way. Answers are cached to pre-authorize later requests;
they must never land on a request toward someone else. Stock Kamailio 5.6.3
crashes on a REGISTER carrying the Proxy-Authorization an INVITE's 407 asked
for, which is how this class was found.

First the DigestClient alone, then every request the UA builds (REGISTER,
INVITE, CANCEL, both ACKs, BYE, re-INVITE, UPDATE, INFO, REFER) over a fake
wire whose proxy challenges like Kamailio.
"""

from __future__ import annotations

import random

import pytest

from webvoice.sip import parse_message
from webvoice.sip.auth._client import (
    MAX_CHALLENGES_READ,
    MAX_REALMS_ANSWERED,
    MAX_SESSIONS,
    DigestClient,
    parse_credentials,
    verify_digest,
)
from webvoice.sip.auth._retry import AuthenticationError
from webvoice.sip.session._events import CallFailed, IncomingCall, RemoteOffer
from webvoice.sip.syntax._header_values import NameAddr
from webvoice.sip.syntax._uri import parse_uri
from webvoice.sip.ua._registration import Registered
from webvoice.sip.ua._ua import UaConfig, UserAgent

REG = {"method": "REGISTER", "uri": "sip:webvoice.test"}
INVITE_BOB = {"method": "INVITE", "uri": "sip:bob@webvoice.test"}
AUTH_HEADERS = ("Authorization", "Proxy-Authorization")


def chal(nonce: str, realm: str = "webvoice.test") -> str:
    return f'Digest realm="{realm}", nonce="{nonce}", qop="auth"'


def names(fields) -> list[str]:
    return [f.name for f in fields]


# --- DigestClient ------------------------------------------------------------------------


def test_register_is_never_preauthorized_with_an_invites_proxy_challenge() -> None:
    client = DigestClient("alice", "pa")
    client.respond(www_authenticate=chal("reg"), **REG)
    client.respond(proxy_authenticate=chal("inv"), **INVITE_BOB)  # same realm, same server
    fields = client.preauthorize(**REG)
    assert names(fields) == ["Authorization"]
    assert parse_credentials(fields[0].value).nonce == "reg"
    assert verify_digest(fields[0].value, password="pa", **REG)


def test_register_is_never_preauthorized_for_a_uas_that_challenged_a_call() -> None:
    client = DigestClient("alice", "pa")
    client.respond(www_authenticate=chal("uas", realm="bob-phone"), **INVITE_BOB)
    assert client.preauthorize(**REG) == ()
    client.respond(www_authenticate=chal("reg"), **REG)
    (field,) = client.preauthorize(**REG)
    assert field.realm == "webvoice.test"


def test_uas_credentials_go_only_to_that_uas() -> None:
    client = DigestClient("alice", "pa")
    client.respond(www_authenticate=chal("uas", realm="bob-phone"), **INVITE_BOB)
    assert client.preauthorize(method="INVITE", uri="sip:carol@webvoice.test") == ()
    assert client.preauthorize(method="MESSAGE", uri="sip:carol@webvoice.test") == ()
    (field,) = client.preauthorize(method="MESSAGE", uri="sip:bob@webvoice.test")
    assert field.name == "Authorization" and field.realm == "bob-phone"


def test_proxy_credentials_go_on_requests_through_the_proxy_but_register() -> None:
    client = DigestClient("alice", "pa")
    client.respond(proxy_authenticate=chal("inv"), **INVITE_BOB)
    for method, uri in (("INVITE", "sip:carol@webvoice.test"), ("MESSAGE", "sip:dave@webvoice.test"),
                        ("SUBSCRIBE", "sip:bob@webvoice.test")):
        assert names(client.preauthorize(method=method, uri=uri)) == ["Proxy-Authorization"]
    assert client.preauthorize(**REG) == ()


def test_a_registrars_proxy_challenge_stays_with_register() -> None:
    """An outbound proxy that challenges REGISTER with 407 gets Proxy-Authorization
    on later REGISTERs (it asked for them there), and nothing else does."""
    client = DigestClient("alice", "pa")
    client.respond(proxy_authenticate=chal("obp"), **REG)
    assert names(client.preauthorize(**REG)) == ["Proxy-Authorization"]
    assert client.preauthorize(**INVITE_BOB) == ()
    assert client.preauthorize(method="REGISTER", uri="sip:other.example") == ()


def test_a_challenged_register_is_retried_with_its_own_credentials_only() -> None:
    """After a call's 407, the REGISTER's 401 retry carries Authorization alone."""
    client = DigestClient("alice", "pa")
    client.respond(proxy_authenticate=chal("inv"), **INVITE_BOB)
    fields = client.respond(www_authenticate=chal("reg"), **REG)
    assert names(fields) == ["Authorization"]
    stale = client.respond(www_authenticate=chal("reg2") + ', stale=true', authorization=fields[0].value, **REG)
    assert names(stale) == ["Authorization"]


def test_cached_sessions_are_bounded_and_keep_the_newest() -> None:
    client = DigestClient("alice", "pa")
    client.respond(www_authenticate=chal("reg"), **REG)
    for n in range(3 * MAX_SESSIONS):
        client.respond(www_authenticate=chal(f"u{n}", realm=f"phone{n}"),
                       method="INVITE", uri=f"sip:user{n}@webvoice.test")
    assert len(client._sessions) == MAX_SESSIONS
    last = 3 * MAX_SESSIONS - 1
    assert client.preauthorize(method="INVITE", uri=f"sip:user{last}@webvoice.test")


def test_a_challenge_naming_many_realms_answers_the_first_few_and_reads_no_further() -> None:
    """Each proxy on the path may challenge, and real paths have a few: a peer
    listing a thousand realms (found by fuzzing: a thousand digests, and a retry
    too large for any parser) gets the first MAX_REALMS_ANSWERED answered, and
    what follows the first MAX_CHALLENGES_READ challenges is not even parsed."""
    client = DigestClient("alice", "pa")
    many = ", ".join(chal(f"n{n}", realm=f"r{n}") for n in range(1000))
    fields = client.respond(proxy_authenticate=[many, "Digest realm=broken, , ,"], **INVITE_BOB)
    assert [f.realm for f in fields] == [f"r{n}" for n in range(MAX_REALMS_ANSWERED)]
    # Only Basic in the challenges read: the Digest one after them is never reached.
    with pytest.raises(AuthenticationError):
        client.respond(proxy_authenticate=["Basic realm=x"] * MAX_CHALLENGES_READ + [chal("late", realm="late")],
                       **INVITE_BOB)


def test_realms_over_many_challenges_are_cached_up_to_the_bound() -> None:
    client = DigestClient("alice", "pa")
    for batch in range(MAX_SESSIONS // MAX_REALMS_ANSWERED + 2):
        realms = ", ".join(chal(f"n{batch}-{n}", realm=f"r{batch}-{n}") for n in range(MAX_REALMS_ANSWERED))
        assert len(client.respond(proxy_authenticate=realms, **INVITE_BOB)) >= MAX_REALMS_ANSWERED
    client.respond(www_authenticate=chal("reg"), **REG)
    assert len(client._sessions) == MAX_SESSIONS


# --- the UA: every request it builds -------------------------------------------------------

OFFER = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendrecv\r\n"
ANSWER = OFFER.replace("192.0.2.1", "192.0.2.2").replace("4000", "5000")
UPDATE_OFFER = OFFER.replace("o=- 1 1", "o=- 1 2")


class Net:
    """alice and bob back to back, through a proxy-registrar that challenges like
    Kamailio: REGISTER gets 401, an out-of-dialog request from alice 407, and the
    in-dialog requests named in ``challenge_in_dialog`` get what is given there
    (as if bob's UAS or a proxy asked), once per request."""

    def __init__(self) -> None:
        self.now = 0.0
        self.a = UserAgent(UaConfig(user="alice", domain="webvoice.test", password="pa", keep_alive_interval=0),
                           rng=random.Random(1))
        self.b = UserAgent(UaConfig(user="bob", domain="webvoice.test", password="pb", keep_alive_interval=0),
                           rng=random.Random(2))
        for ua in (self.a, self.b):
            ua.connection_made(self.now)
        self.log: list = []  # what alice sent, as parsed from the wire
        self.challenge_in_dialog: dict[str, tuple[int, str, str]] = {}
        self.reg_nonce = "reg1"
        self.b_events: list = []

    def _proxy(self, message) -> object | None:
        """The proxy's own answer to something alice sent, or None to pass it on."""
        method = getattr(message, "method", None)
        if method == "REGISTER":
            auth = message.header("Authorization")
            if auth is None or parse_credentials(auth).nonce != self.reg_nonce:
                return message.response(401, headers=[("WWW-Authenticate", chal(self.reg_nonce))])
            return message.response(200, to_tag="reg", headers=[("Contact", message.contact)])
        if method in (None, "ACK", "CANCEL"):
            return None
        if not message.to.tag and not message.header("Proxy-Authorization"):
            return message.response(407, to_tag="proxy", headers=[("Proxy-Authenticate", chal("inv"))])
        challenge = self.challenge_in_dialog.get(method)
        if message.to.tag and challenge is not None and not message.header(challenge[1].replace("WWW-Authenticate", "Authorization").replace("Proxy-Authenticate", "Proxy-Authorization")):
            status, header, realm = challenge
            return message.response(status, headers=[(header, chal(f"dlg-{method}", realm=realm))])
        return None

    def flush(self) -> None:
        for _ in range(50):
            moved = False
            for name, ua, peer in (("a", self.a, self.b), ("b", self.b, self.a)):
                for item in ua.outgoing():
                    if isinstance(item, bytes):
                        continue
                    message = parse_message(bytes(item))
                    moved = True
                    if name == "a":
                        self.log.append(message)
                        answer = self._proxy(message)
                        if answer is not None:
                            self.a.receive_data(bytes(answer), self.now)
                            continue
                        if getattr(message, "method", None) == "REGISTER":
                            continue
                    peer.receive_data(bytes(message), self.now)
            for event in self.b.events():
                self.b_events.append(event)
                if isinstance(event, RemoteOffer) and event.sdp is not None:  # bob answers re-offers
                    answer = ANSWER.replace("o=- 1 1", f"o=- 1 {len(self.b_events) + 1}")
                    event.session.answer_offer(answer, self.now)
                    self.b._pump(self.now)
                    moved = True
            if not moved:
                return

    def run(self, ua: UserAgent, action) -> None:
        action()
        ua._pump(self.now)
        self.flush()

    def sent(self, method: str) -> list:
        return [m for m in self.log if getattr(m, "method", None) == method]

    def register(self) -> None:
        self.run(self.a, lambda: self.a.register(self.now))
        assert [e for e in self.a.events() if isinstance(e, Registered)]

    def refresh_registration(self) -> list:
        before = len(self.sent("REGISTER"))
        self.now = self.a.registration.get_timer()
        self.a.handle_timer(self.now)
        self.flush()
        assert [e for e in self.a.events() if isinstance(e, Registered)]
        return self.sent("REGISTER")[before:]

    def call(self, target: str = "sip:bob@webvoice.test"):
        session = self.a.call(parse_uri(target), OFFER, self.now)
        self.flush()
        return session

    def established(self):
        a = self.call()
        b = next(e for e in self.b_events if isinstance(e, IncomingCall)).session
        self.run(self.b, lambda: b.accept(ANSWER, self.now))
        assert a.is_established and b.is_established
        return a, b


def credentials(message) -> list[tuple[str, str | None]]:
    return [(name, parse_credentials(message.header(name)).nonce) for name in AUTH_HEADERS
            if message.header(name) is not None]


def test_registration_refresh_after_a_407_call_carries_only_the_registrars_credentials() -> None:
    net = Net()
    net.register()
    a, _ = net.established()
    invites = net.sent("INVITE")
    assert [credentials(i) for i in invites] == [[], [("Proxy-Authorization", "inv")]]
    refreshes = net.refresh_registration()
    assert [credentials(r) for r in refreshes] == [[("Authorization", "reg1")]]
    # the registrar forgot its nonce meanwhile: the 401 retry is alone as well
    net.reg_nonce = "reg2"
    refreshes = net.refresh_registration()
    assert [credentials(r) for r in refreshes] == [[("Authorization", "reg1")], [("Authorization", "reg2")]]
    net.run(net.a, lambda: net.a.unregister(net.now))
    assert credentials(net.sent("REGISTER")[-1]) == [("Authorization", "reg2")]


def test_a_new_call_carries_no_registrar_credentials() -> None:
    net = Net()
    net.register()
    net.call()
    first_invite = net.sent("INVITE")[0]
    assert credentials(first_invite) == []


def test_cancel_and_the_ack_of_a_failure_carry_no_credentials() -> None:
    net = Net()
    net.register()
    session = net.call()
    net.run(net.a, lambda: session.terminate(net.now))
    [cancel] = net.sent("CANCEL")
    assert credentials(cancel) == []
    acks = net.sent("ACK")  # to the proxy's 407, and to bob's 487
    assert len(acks) == 2 and all(credentials(ack) == [] for ack in acks)
    assert [e for e in net.a.events() if isinstance(e, CallFailed)]


def test_the_ack_of_a_2xx_carries_exactly_the_invites_credentials() -> None:
    """RFC 3261 13.2.2.4: the same credentials as the INVITE, no others."""
    net = Net()
    net.register()
    net.established()
    [ack] = net.sent("ACK")[1:]  # after the ACK of the 407
    assert credentials(ack) == [("Proxy-Authorization", "inv")]
    assert ack.header("Proxy-Authorization") == net.sent("INVITE")[-1].header("Proxy-Authorization")


def test_in_dialog_requests_carry_no_credentials_unless_challenged() -> None:
    net = Net()
    net.register()
    a, b = net.established()
    net.run(net.a, lambda: a.send_info("application/dtmf-relay", b"Signal=1\r\nDuration=100\r\n", net.now))
    net.run(net.a, lambda: a.reoffer(UPDATE_OFFER, net.now))
    net.run(net.a, lambda: a.reoffer(UPDATE_OFFER.replace("o=- 1 2", "o=- 1 3"), net.now, use_update=True))
    net.run(net.a, lambda: a.refer(NameAddr(parse_uri("sip:carol@webvoice.test")), net.now))
    net.run(net.a, lambda: a.terminate(net.now))
    in_dialog = [m for m in net.log if getattr(m, "method", None) and m.to.tag
                 and m.method not in ("ACK", "REGISTER")]
    assert {m.method for m in in_dialog} == {"INFO", "INVITE", "UPDATE", "REFER", "BYE"}
    assert all(credentials(m) == [] for m in in_dialog), [(m.method, credentials(m)) for m in in_dialog]


def test_in_dialog_challenges_are_answered_with_their_own_kind_only() -> None:
    """A 401 from bob's UAS gets Authorization (never the proxy's
    Proxy-Authorization beside it); a 407 gets Proxy-Authorization alone; and
    neither lands on the next REGISTER."""
    net = Net()
    net.register()
    a, _ = net.established()
    net.challenge_in_dialog = {
        "INFO": (401, "WWW-Authenticate", "bob-phone"),
        "INVITE": (401, "WWW-Authenticate", "bob-phone"),
        "REFER": (407, "Proxy-Authenticate", "webvoice.test"),
        "BYE": (407, "Proxy-Authenticate", "webvoice.test"),
    }
    net.run(net.a, lambda: a.send_info("application/dtmf-relay", b"Signal=1\r\nDuration=100\r\n", net.now))
    net.run(net.a, lambda: a.reoffer(UPDATE_OFFER, net.now))
    net.run(net.a, lambda: a.refer(NameAddr(parse_uri("sip:carol@webvoice.test")), net.now))
    seen = {}
    for m in net.log:
        if getattr(m, "method", None) in ("INFO", "INVITE", "REFER") and m.to.tag:
            seen.setdefault(m.method, []).append(credentials(m))
    assert seen["INFO"] == [[], [("Authorization", "dlg-INFO")]]
    assert seen["INVITE"] == [[], [("Authorization", "dlg-INVITE")]]
    assert seen["REFER"] == [[], [("Proxy-Authorization", "dlg-REFER")]]
    reinvite_ack = [m for m in net.sent("ACK") if m.to.tag and m.cseq.seq == net.sent("INVITE")[-1].cseq.seq]
    assert [credentials(m) for m in reinvite_ack] == [[("Authorization", "dlg-INVITE")]]
    refreshes = net.refresh_registration()
    assert [credentials(r) for r in refreshes] == [[("Authorization", "reg1")]]
    net.run(net.a, lambda: a.terminate(net.now))
    byes = net.sent("BYE")
    assert [credentials(m) for m in byes] == [[], [("Proxy-Authorization", "dlg-BYE")]]


def test_a_401_listing_a_thousand_realms_gets_a_register_any_parser_takes() -> None:
    ua = UserAgent(UaConfig(user="alice", domain="webvoice.test", password="pa"), rng=random.Random(1))
    ua.connection_made(0.0)
    ua.register(0.0)
    register = next(parse_message(bytes(m)) for m in ua.outgoing() if getattr(m, "method", None) == "REGISTER")
    challenges = [chal(f"n{n}", realm=f"r{n}") for n in range(1000)]
    lines = [("WWW-Authenticate", ", ".join(challenges[i:i + 200])) for i in range(0, 1000, 200)]
    ua.receive_data(bytes(register.response(401, to_tag="reg", headers=lines)), 0.1)
    [retry] = [parse_message(bytes(m)) for m in ua.outgoing() if not isinstance(m, bytes)]
    assert retry.method == "REGISTER"
    assert len(retry.header_texts("Authorization")) == MAX_REALMS_ANSWERED
    assert not retry.header_texts("Proxy-Authorization")
