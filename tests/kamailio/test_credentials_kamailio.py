"""Credentials go only where they were asked for, against the real Kamailio.

The config's REGISTER route checks the digest with ``pv_auth_check`` (as stock
Kamailio configs do) and its INVITE route challenges with 407. Kamailio 5.6.3
dies with SIGSEGV when a REGISTER carries ``Proxy-Authorization`` beside its
``Authorization``, which is what webvoice's first registration refresh after a
call used to send (the proxy's nonce from the INVITE's 407, pre-authorized on
the REGISTER). This drives webvoice's own sans-IO ``UserAgent`` over a real
WebSocket: register, call (407, then the call fails at the unregistered callee),
refresh the registration, unregister; the server must answer 200 each time and
still be running.
"""

from __future__ import annotations

import time

from websockets.exceptions import ConnectionClosed

from devtools.kamailio_server import DOMAIN, TEST_USERS
from devtools.sipws import _ws_connect
from webvoice.sip import UaConfig, UserAgent
from webvoice.sip.session._events import CallFailed
from webvoice.sip.syntax._message import Request, Response
from webvoice.sip.syntax._uri import SipUri
from webvoice.sip.ua._registration import Registered, RegistrationFailed, Unregistered

SDP_OFFER = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"
)


class _Link:
    """webvoice's UserAgent on a real WebSocket: sent requests and received
    responses are kept, so the test can say what went on the wire."""

    def __init__(self, server, user: str) -> None:
        self.server = server
        url = server.ws_url
        self.ws, self._stack = _ws_connect(url, 5.0)
        self.ua = UserAgent(UaConfig(user=user, domain=DOMAIN, password=TEST_USERS[user],
                                     keep_alive_interval=0))
        self.now = 0.0
        self.sent: list[Request] = []
        self.events: list[object] = []
        self.ua.connection_made(self.now)
        self._flush()

    def close(self) -> None:
        self._stack.close()

    def _flush(self) -> None:
        for message in self.ua.outgoing():
            if isinstance(message, Request):
                self.sent.append(message)
            self.ws.send(bytes(message).decode("utf-8"))
        self.events.extend(self.ua.events())

    def run_until(self, done, what: str, timeout: float = 10.0) -> None:
        """Feed the UA what Kamailio sends until ``done()``; fail naming ``what``."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            assert left > 0, f"no {what} within {timeout}s; events: {self.events}"
            try:
                data = self.ws.recv(timeout=min(left, 0.5))
            except TimeoutError:
                continue
            except ConnectionClosed:
                state = "running" if self.server.running else "DEAD"
                raise AssertionError(f"Kamailio ({state}) closed the connection while we waited for {what}; "
                                     f"log tail:\n{self.server.log_text()[-1500:]}") from None
            self.ua.receive_data(data.encode("utf-8") if isinstance(data, str) else data, self.now)
            self._flush()

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.ua.handle_timer(self.now)
        self._flush()

    def register_answers(self) -> list[Response]:
        return [e.response for e in self.events if isinstance(e, Registered)]


def test_registration_refresh_after_a_407_call_keeps_the_server_alive(fresh_kamailio):
    link = _Link(fresh_kamailio, "grace")
    try:
        link.ua.register(link.now)
        link._flush()
        link.run_until(lambda: link.register_answers(), "registration")
        assert link.register_answers()[-1].status_code == 200

        session = link.ua.call(SipUri(user="heidi", host=DOMAIN), SDP_OFFER, link.now)
        link._flush()
        link.run_until(lambda: any(isinstance(e, CallFailed) for e in link.events), "call outcome")
        invites = [r for r in link.sent if r.method == "INVITE"]
        assert len(invites) == 2 and invites[1].headers.has("Proxy-Authorization"), invites
        failed = next(e for e in link.events if isinstance(e, CallFailed))
        assert failed.status_code == 480, failed  # heidi is not registered: the 407 was answered
        assert session.is_ended

        # The refresh (its timer, on the UA's clock).
        before = len(link.register_answers())
        link.advance(link.ua.registration.get_timer() - link.now)
        link.run_until(lambda: len(link.register_answers()) > before, "registration refresh")
        assert link.register_answers()[-1].status_code == 200
        refreshes = [r for r in link.sent if r.method == "REGISTER"][2:]

        link.ua.unregister(link.now)
        link._flush()
        link.run_until(lambda: any(isinstance(e, Unregistered) for e in link.events), "unregistration")
        final = [r for r in link.sent if r.method == "REGISTER"][-1]
        assert final.header("Expires") == 0
        assert not any(isinstance(e, RegistrationFailed) for e in link.events), link.events
        assert fresh_kamailio.running, fresh_kamailio.log_text()[-3000:]
        assert fresh_kamailio.lookup("grace") == []
        assert refreshes and not any(r.headers.has("Proxy-Authorization") for r in refreshes), refreshes
    finally:
        link.close()
    assert fresh_kamailio.running, fresh_kamailio.log_text()[-3000:]
