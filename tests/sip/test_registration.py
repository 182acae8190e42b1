"""Registration: digest, refresh, expiry warning, failures, unregister, recovery."""

from __future__ import annotations

import pytest

from webvoice.sip import NameAddr, Response, SipUri, Via, parse_message, parse_uri
from webvoice.sip.auth._client import DigestClient, parse_credentials, verify_digest
from webvoice.sip.syntax._causes import Cause
from webvoice.sip.ua._registration import (
    Registered,
    Registration,
    RegistrationExpiring,
    RegistrationFailed,
    RegistrationState,
    Unregistered,
)

AOR = SipUri(user="alice", host="webvoice.test")
CONTACT = NameAddr(
    parse_uri("sip:k2j3h4@x9y8.invalid;transport=ws"),
    params=[("+sip.instance", '"<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>"'), ("reg-id", "1")],
)

VIA = Via("WS", "x9y8.invalid", params=[("branch", "z9hG4bKreg")])


def make(password="secret", expires=600) -> Registration:
    return Registration(
        aor=AOR, registrar=SipUri(host="webvoice.test"), contact=CONTACT,
        auth=DigestClient("alice", password, cnonce_factory=lambda: "c0ffee"),
        call_id="reg-1@x9y8.invalid", from_tag="ft1", expires=expires,
    )


class Registrar:
    """Answers REGISTER like Kamailio: 401 first, then checks the digest."""

    def __init__(self, password="secret", nonce="n1", grant=None):
        self.password, self.nonce, self.grant = password, nonce, grant

    def answer(self, request) -> Response:
        # What goes on the wire is what counts; the UA core adds the Via.
        request = parse_message(bytes(request.replace(headers=request.headers.prepend("Via", VIA))))
        auth = request.header("Authorization")
        if auth is None or parse_credentials(auth).nonce != self.nonce:
            return request.response(401, headers=[(
                "WWW-Authenticate", f'Digest realm="webvoice.test", nonce="{self.nonce}", qop="auth"')])
        if not verify_digest(auth, method="REGISTER", uri=str(request.uri), password=self.password):
            return request.response(401, headers=[(
                "WWW-Authenticate", f'Digest realm="webvoice.test", nonce="{self.nonce}", qop="auth"')])
        expires = request.expires if self.grant is None else self.grant
        contact = request.contact.with_params(expires=str(expires))
        return request.response(200, to_tag="srv", headers=[("Contact", contact), ("Contact", "<sip:alice@other.invalid>;expires=99")])


def run(reg: Registration, registrar: Registrar, now: float) -> list:
    """Exchange until no REGISTER is outstanding; return the events."""
    sent = 0
    while True:
        requests = reg.requests_to_send()
        if not requests:
            return reg.events()
        for request in requests:
            sent += 1
            assert sent < 10
            reg.receive_response(request, registrar.answer(request), now)


def test_register_with_digest_then_refresh_before_expiry():
    reg, server = make(expires=300), Registrar()
    reg.register(0.0)
    first = reg.pending_request
    assert first.method == "REGISTER" and str(first.uri) == "sip:webvoice.test"
    assert first.header("Authorization") is None and first.expires == 300
    assert first.contact.params.get("reg-id") == "1" and first.contact.params.get("expires") == "300"
    events = run(reg, server, 0.0)
    assert [type(e) for e in events] == [Registered]
    assert events[0].expires == 300 and events[0].contact.uri == CONTACT.uri
    assert reg.is_registered and reg.expires_at == 300.0
    assert reg.get_timer() == 270.0
    reg.handle_timer(270.0)
    refresh = reg.pending_request
    assert refresh.header("Authorization") is not None  # pre-authorized with the cached nonce
    assert refresh.call_id == first.call_id and refresh.cseq.seq > first.cseq.seq
    events = reg.events() + run(reg, server, 270.0)
    assert [type(e) for e in events] == [RegistrationExpiring, Registered]
    assert events[0].expires_at == 300.0


def test_granted_expiry_comes_from_our_contact():
    reg = make(expires=3600)
    reg.register(0.0)
    events = run(reg, Registrar(grant=120), 0.0)
    assert events[0].expires == 120 and reg.get_timer() == 90.0


def test_short_expiry_refreshes_at_half():
    reg = make(expires=40)
    reg.register(0.0)
    run(reg, Registrar(), 0.0)
    assert reg.get_timer() == 20.0


def test_wrong_password_fails_after_two_registers():
    reg = make(password="wrong")
    reg.register(0.0)
    sent = []
    server = Registrar()
    while (requests := reg.requests_to_send()):
        for request in requests:
            sent.append(request)
            reg.receive_response(request, server.answer(request), 0.0)
    events = reg.events()
    assert len(sent) == 2
    assert [type(e) for e in events] == [RegistrationFailed]
    assert events[0].status_code == 401 and events[0].cause == Cause.AUTHENTICATION_ERROR
    assert not events[0].retrying and reg.state is RegistrationState.UNREGISTERED
    assert "wrong" not in repr(events[0]) and "wrong" not in repr(reg.__dict__ if hasattr(reg, "__dict__") else reg)


@pytest.mark.parametrize("status, cause", [(403, Cause.REJECTED), (404, Cause.NOT_FOUND), (503, Cause.UNAVAILABLE), (500, Cause.SIP_FAILURE_CODE)])
def test_final_failures(status, cause):
    reg = make()
    reg.register(0.0)
    request = reg.requests_to_send()[0]
    reg.receive_response(request, request.response(status), 0.0)
    [event] = reg.events()
    assert event == RegistrationFailed(status, cause, event.reason, False)
    assert reg.get_timer() is None


def test_interval_too_brief_is_retried_with_min_expires():
    reg = make(expires=30)
    reg.register(0.0)
    request = reg.requests_to_send()[0]
    reg.receive_response(request, request.response(423, headers=[("Min-Expires", "60")]), 0.0)
    [retry] = reg.requests_to_send()
    assert retry.expires == 60 and retry.cseq.seq == request.cseq.seq + 1


def test_timeout_and_connection_error():
    reg = make()
    reg.register(0.0)
    request = reg.requests_to_send()[0]
    reg.request_failed(request, 32.0, timeout=True)
    [event] = reg.events()
    assert event.status_code is None and event.cause == Cause.REQUEST_TIMEOUT


def test_refresh_failure_is_retried_while_wanted():
    reg, server = make(expires=100), Registrar()
    reg.register(0.0)
    run(reg, server, 0.0)
    reg.handle_timer(70.0)
    reg.events()
    [refresh] = reg.requests_to_send()
    reg.receive_response(refresh, refresh.response(503), 70.0)
    [event] = reg.events()
    assert isinstance(event, RegistrationFailed) and event.retrying
    assert reg.get_timer() == 100.0
    reg.handle_timer(100.0)
    assert [type(e) for e in run(reg, server, 100.0)] == [Registered]


def test_unregister_removes_only_our_binding():
    reg, server = make(), Registrar()
    reg.register(0.0)
    run(reg, server, 0.0)
    reg.unregister(10.0)
    [request] = reg.requests_to_send()
    assert request.expires == 0 and request.contact.params.get("expires") == "0"
    assert str(request.contact.uri) == str(CONTACT.uri)  # not '*'
    reg.receive_response(request, server.answer(request), 10.0)
    assert reg.requests_to_send() == []
    assert reg.events() == [Unregistered(None)]
    assert not reg.is_registered and reg.get_timer() is None


def test_connection_loss_and_recovery():
    reg, server = make(), Registrar()
    reg.register(0.0)
    run(reg, server, 0.0)
    reg.connection_lost(5.0)
    assert reg.events() == [Unregistered(Cause.CONNECTION_ERROR)] and reg.get_timer() is None
    reg.connection_restored(7.0)
    events = run(reg, server, 7.0)
    assert [type(e) for e in events] == [Registered]


def test_register_while_pending_sends_nothing_more():
    reg = make()
    reg.register(0.0)
    reg.register(0.1)
    assert len(reg.requests_to_send()) == 1


def test_stray_and_provisional_responses_are_ignored():
    reg = make()
    reg.register(0.0)
    request = reg.requests_to_send()[0]
    reg.receive_response(request, request.response(100), 0.0)
    other = make()
    other.register(0.0)
    reg.receive_response(other.requests_to_send()[0], request.response(200), 0.0)
    assert reg.events() == [] and reg.pending_request is request


@pytest.mark.parametrize("expires", [0, -1, 2**31, 1.5, True])
def test_bad_expires(expires):
    with pytest.raises(ValueError):
        make(expires=expires)
