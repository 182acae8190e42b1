"""auth/_retry.py: the one rule for sending a challenged request again (RFC 3261 22.2).

Every challenged method (REGISTER, INVITE, PRACK, SUBSCRIBE, PUBLISH, MESSAGE,
in-dialog requests) counts its digest answers and rebuilds its request through
:class:`ChallengeRetry`; these tests hold the rule itself, the methods' own
tests (test_registration, test_publication, test_message_method, test_prack,
test_call...) show each of them using it.
"""

from __future__ import annotations

import pytest

from webvoice.sip import DigestClient, parse_message, verify_digest
from webvoice.sip.auth._retry import MAX_AUTH_RETRIES, ChallengeRetry, resend_with
from webvoice.sip.session._events import ReferProgress, ReofferFailed
from webvoice.sip.syntax._header_values import NameAddr, Via
from webvoice.sip.syntax._message import Request, Response, build_request
from webvoice.sip.syntax._uri import parse_uri

from .test_credentials_scope import UPDATE_OFFER, Net

TARGET = parse_uri("sip:bob@webvoice.test")


class Branches:
    """A Via factory with numbered branches (each retry is a new transaction)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> Via:
        self.count += 1
        return Via("WS", "client.invalid", params=(("branch", f"z9hG4bK-{self.count}"),))


def message(via: Via, cseq: int = 7) -> Request:
    return build_request(
        "MESSAGE", TARGET, from_=NameAddr(parse_uri("sip:alice@webvoice.test"), params=(("tag", "a1"),)),
        to=NameAddr(TARGET), call_id="c1", cseq=cseq, via=via, headers=[("User-Agent", "test")],
        body=b"hi", content_type="text/plain")


def challenge(request: Request, nonce: str, *, status: int = 407, stale: bool = False) -> Response:
    name = "Proxy-Authenticate" if status == 407 else "WWW-Authenticate"
    value = f'Digest realm="webvoice.test", nonce="{nonce}", qop="auth"' + (", stale=true" if stale else "")
    return request.response(status, headers=[(name, value)])


def test_a_retry_is_a_new_transaction_with_the_next_cseq_and_valid_credentials():
    branches = Branches()
    first = message(branches())
    retry = ChallengeRetry(DigestClient("alice", "secret")).retry(first, challenge(first, "n1"), branches)
    assert retry is not None
    assert retry.cseq is not None and (retry.cseq.seq, retry.cseq.method) == (8, "MESSAGE")
    assert retry.top_via is not None and retry.top_via.branch == "z9hG4bK-2" and len(retry.headers.get_all("Via")) == 1
    assert (retry.call_id, retry.from_, retry.to, retry.body) == (first.call_id, first.from_, first.to, first.body)
    (value,) = retry.header_texts("Proxy-Authorization")
    assert verify_digest(value, method="MESSAGE", uri=str(TARGET), password="secret", nonce="n1")
    # The retry goes on the wire and comes back as the same request.
    assert parse_message(bytes(retry)).cseq == retry.cseq


def test_the_credentials_of_the_challenged_request_are_replaced_not_added():
    branches = Branches()
    retries = ChallengeRetry(DigestClient("alice", "secret"))
    first = message(branches())
    second = retries.retry(first, challenge(first, "n1"), branches)
    assert second is not None
    third = retries.retry(second, challenge(second, "n2", stale=True), branches)
    assert third is not None and third.cseq is not None and third.cseq.seq == 9
    (value,) = third.header_texts("Proxy-Authorization")
    assert 'nonce="n2"' in value and not third.header_texts("Authorization")


def test_retries_are_capped_even_when_the_server_says_stale_forever():
    branches = Branches()
    retries = ChallengeRetry(DigestClient("alice", "secret"))
    request = message(branches())
    for n in range(MAX_AUTH_RETRIES):
        retry = retries.retry(request, challenge(request, f"n{n}", stale=True), branches)
        assert retry is not None, n
        request = retry
    assert retries.count == MAX_AUTH_RETRIES
    assert retries.retry(request, challenge(request, "fresh", stale=True), branches) is None
    assert "challenged again" in retries.refusal
    retries.reset()  # a new request of the application's starts from none
    assert retries.answer(request, challenge(request, "fresher", stale=True)) is not None


def test_a_second_challenge_with_the_same_nonce_and_no_stale_stops():
    branches = Branches()
    retries = ChallengeRetry(DigestClient("alice", "wrong"))
    first = message(branches())
    second = retries.retry(first, challenge(first, "n1"), branches)
    assert second is not None
    assert retries.retry(second, challenge(second, "n1"), branches) is None
    assert retries.count == 1 and "rejected" in retries.refusal


@pytest.mark.parametrize("stale", [False, True])
def test_the_same_nonce_again_stops_even_with_stale(stale):
    retries = ChallengeRetry(DigestClient("alice", "secret"))
    branches = Branches()
    first = message(branches())
    second = retries.retry(first, challenge(first, "n1", status=401), branches)
    assert second is not None and second.header_texts("Authorization")
    assert retries.answer(second, challenge(second, "n1", status=401, stale=stale)) is None


def test_a_fresh_answer_refused_with_a_new_nonce_but_no_stale_is_a_wrong_password():
    retries = ChallengeRetry(DigestClient("alice", "wrong"))
    branches = Branches()
    first = message(branches())
    second = retries.retry(first, challenge(first, "n1"), branches)
    assert second is not None
    assert retries.retry(second, challenge(second, "n2"), branches) is None
    assert "check username and password" in retries.refusal


def test_only_a_challenge_is_answered():
    retries = ChallengeRetry(DigestClient("alice", "secret"))
    request = message(Branches()())
    assert retries.answer(request, request.response(403)) is None and retries.count == 0
    unanswerable = request.response(401, headers=[("WWW-Authenticate", 'Basic realm="x"')])
    assert retries.answer(request, unanswerable) is None and "no supported challenge" in retries.refusal
    assert retries.count == 0


def test_resend_with_keeps_foreign_headers_and_the_body():
    request = message(Branches()(), cseq=41)
    retry = resend_with(request, (), Via("WS", "client.invalid", params=(("branch", "z9hG4bK-x"),)))
    assert retry.cseq is not None and retry.cseq.seq == 42
    assert retry.header_text("User-Agent") == "test" and retry.body == b"hi"
    assert retry.content_type == request.content_type


# --- the methods: each stops after the same number of answers -----------------------------------


class StaleForever(Net):
    """bob's phone challenges each request named in ``stale`` with a new nonce and
    stale=true, every time: only the count of answers can stop the retries."""

    def __init__(self) -> None:
        super().__init__()
        self.stale: set[str] = set()
        self.nonces = 0

    def _proxy(self, message):
        if getattr(message, "method", None) in self.stale and message.to.tag:
            self.nonces += 1
            value = f'Digest realm="bob-phone", nonce="s{self.nonces}", qop="auth", stale=true'
            return message.response(401, headers=[("WWW-Authenticate", value)])
        return super()._proxy(message)


@pytest.mark.parametrize("method", ["INVITE", "REFER", "INFO"])
def test_in_dialog_requests_stop_after_the_same_number_of_answers(method):
    net = StaleForever()
    net.register()
    a, _ = net.established()
    before = len(net.sent(method))
    net.stale = {method}
    action = {
        "INVITE": lambda: a.reoffer(UPDATE_OFFER, net.now),
        "REFER": lambda: a.refer(NameAddr(parse_uri("sip:carol@webvoice.test")), net.now),
        "INFO": lambda: a.send_info("application/dtmf-relay", b"Signal=1\r\nDuration=100\r\n", net.now),
    }[method]
    net.run(net.a, action)
    sent = net.sent(method)[before:]
    assert len(sent) == 1 + MAX_AUTH_RETRIES
    assert [m.cseq.seq for m in sent] == [sent[0].cseq.seq + i for i in range(len(sent))]
    events = net.a.events()
    if method == "INVITE":
        assert [e.status_code for e in events if isinstance(e, ReofferFailed)] == [401]
    elif method == "REFER":
        assert [(e.status_code, e.refused) for e in events if isinstance(e, ReferProgress)] == [(401, True)]
