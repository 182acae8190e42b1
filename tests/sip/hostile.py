"""A scripted two-UA story and the hostile inputs the robustness tests throw at it.

The story (register, call, ring, early media, answer, re-offer, hold, REFER,
DTMF, hang up) runs over a fake wire with a fake clock and seeded randomness,
so every run makes the same Call-IDs, tags and branches: a message recorded in
one run matches the dialogs and transactions of another run stopped earlier.
That lets a test take the UA in any named state and feed it mutated copies of
real messages, in and out of dialog, from the past and from the future.
"""

from __future__ import annotations

import copy
import random

from webvoice.sip import parse_message
from webvoice.sip.syntax._header_values import NameAddr
from webvoice.sip.syntax._uri import parse_uri
from webvoice.sip.ua._ua import UaConfig, UserAgent

OFFER = ("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
         "m=audio 4000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")
ANSWER = OFFER.replace("192.0.2.1", "192.0.2.2").replace("4000", "5000")
HOLD = OFFER.replace("o=- 1 1", "o=- 1 2").replace("a=sendrecv", "a=sendonly")
HOLD_ANSWER = ANSWER.replace("o=- 1 1", "o=- 1 2").replace("a=sendrecv", "a=recvonly")

#: The UA states of issue 15, in the order the story reaches them.
STATES = ("idle", "registering", "registered", "calling", "ringing", "early", "confirmed",
          "re-offering", "holding", "transferring", "terminating")


class Story:
    """Alice (``a``) and Bob (``b``) on one wire; a registrar answers Alice's REGISTERs."""

    def __init__(self) -> None:
        self.now = 0.0
        self.a = UserAgent(UaConfig(user="alice", domain="webvoice.test", password="pa"), rng=random.Random(1))
        self.b = UserAgent(UaConfig(user="bob", domain="webvoice.test", password="pb"), rng=random.Random(2))
        for ua in (self.a, self.b):
            ua.connection_made(self.now)
        self.log: list[tuple[str, bytes]] = []  # (receiver "a"/"b", wire bytes)
        self.events: list[object] = []
        self.hold_back = False  # keep what is sent on the wire (a state "in flight")
        self.alice = self.bob = None
        self._challenged = False

    def deliver(self, side: str, data: bytes) -> None:
        self.log.append((side, data))
        (self.a if side == "a" else self.b).receive_data(data, self.now)

    def flush(self, rounds: int = 30) -> None:
        for _ in range(rounds):
            moved = False
            for name, ua in (("a", self.a), ("b", self.b)):
                for item in ua.outgoing():
                    if isinstance(item, bytes):
                        continue
                    moved = True
                    data = bytes(item)
                    message = parse_message(data)
                    if getattr(message, "method", None) == "REGISTER":
                        self.deliver("a", bytes(self._registrar(message)))
                    else:
                        self.deliver("b" if name == "a" else "a", data)
                self.events.extend(ua.events())
            if not moved:
                return

    def _registrar(self, request):
        if not self._challenged:
            self._challenged = True
            return request.response(401, to_tag="reg", headers=[(
                "WWW-Authenticate", 'Digest realm="webvoice.test", nonce="n1", qop="auth", algorithm=MD5')])
        contact = request.contact
        return request.response(200, to_tag="reg", headers=[("Contact", contact), ("Expires", 600)])

    def pump(self) -> None:
        for ua in (self.a, self.b):
            ua._pump(self.now)
        if not self.hold_back:
            self.flush()

    # --- the story, one state at a time ----------------------------------------------------

    def step(self, state: str) -> None:
        """Move from the state before ``state`` to ``state``."""
        getattr(self, "_to_" + state.replace("-", "_"))()

    def _to_idle(self) -> None:
        pass

    def _to_registering(self) -> None:
        self.a.register(self.now)  # the REGISTER waits on the wire

    def _to_registered(self) -> None:
        self.flush()

    def _to_calling(self) -> None:
        self.alice = self.a.call(parse_uri("sip:bob@webvoice.test"), OFFER, self.now)

    def _to_ringing(self) -> None:
        self.flush()
        from webvoice.sip.session._events import IncomingCall
        self.bob = [e for e in self.events if isinstance(e, IncomingCall)][-1].session

    def _to_early(self) -> None:
        # Early media sent reliably (Alice supports 100rel): the story carries a
        # 183 with RSeq and Require, Alice's PRACK with RAck, and its 200.
        self.bob.progress(ANSWER, self.now)
        self.pump()

    def _to_confirmed(self) -> None:
        self.bob.accept(ANSWER, self.now)
        self.pump()

    def _to_re_offering(self) -> None:
        self.alice.reoffer(HOLD, self.now)
        self.pump()

    def _to_holding(self) -> None:
        self.bob.answer_offer(HOLD_ANSWER, self.now)
        self.pump()

    def _to_transferring(self) -> None:
        self.bob.send_info("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n", self.now)
        self.pump()
        self.bob.refer(NameAddr(parse_uri("sip:carol@webvoice.test")), self.now)
        self.pump()
        self.alice.accept_refer(self.now)
        self.pump()

    def _to_terminating(self) -> None:
        self.alice.terminate(self.now)
        self.b._pump(self.now)


def story_until(state: str) -> Story:
    story = Story()
    for name in STATES[: STATES.index(state) + 1]:
        story.step(name)
    return story


def recorded_messages() -> list[tuple[str, bytes]]:
    """Every message the whole story carried, with the side that received it."""
    story = story_until(STATES[-1])
    story.flush()
    return story.log


_SNAPSHOTS: dict[str, Story] = {}


def fresh(state: str) -> Story:
    """A story stopped at ``state`` (a deep copy of a cached one: cheap)."""
    if state not in _SNAPSHOTS:
        _SNAPSHOTS[state] = story_until(state)
    return copy.deepcopy(_SNAPSHOTS[state])


# --- hostile values --------------------------------------------------------------------------

HUGE = "9" * 5000
HOSTILE_VALUES = (
    "", " ", ",", ",,", " , ", ";", "=", "<>", "<", ">", "\"", "\\", "\"\\", "@", ":", "*",
    "0", "-1", "4294967296", "2147483648", "99999999999999999999", HUGE, "1" + "0" * 4400, "²", "١٢",
    "1 INVITE", f"{HUGE} INVITE", "1 ", "INVITE", "1 BYE",
    "<sip:>", "sip:", "<sip:@>", "<sip:a@>", "<sip:[::1>", "<sip:[::1]:99999>", "<sip:a@[1::2::3]>",
    "<sip:a@[zz::1]>", "<sip:a@[]>", "sip:a@h;expires=" + HUGE, "<sip:a@h>;expires=" + HUGE,
    "<sip:a@h>;expires=4294967296", "<sip:a@h>;expires=²", "<sip:a@h>;tag=", "<sip:a@h>;tag",
    "<tel:+1>", "<mailto:a@b>", "<sip:a@h?Replaces=x%3Bto-tag%3D1%3Bfrom-tag%3D2>", "<sip:a@h?X=%0d%0a>",
    "SIP/2.0/WS", "SIP/2.0/WS h;branch", "SIP/2.0/WS h;received=::1", "SIP/2.0/WS [::1]:5060;maddr=[::1",
    "SIP/2.0/UDP h:99999", "SIP/2.0/WS h;rport=" + HUGE, "x/y", "application/sdp;", "text/plain;charset=\"",
    "Digest", "Digest realm", "Digest realm=\"a\", nonce=", "Digest realm=\"" + "\\" * 50,
    "Digest realm=\"x\", nonce=\"y\", algorithm=SHA-512-256, qop=\"auth-int\"", "Basic abc",
    "Digest nc=" + HUGE, "nextnonce=\"x\", nc=zz",
    "1;refresher=uac", HUGE + ";refresher=uas", "0", "90;refresher=", ";refresher=uac",
    "refer", "refer;id=" + HUGE, "terminated;expires=" + HUGE, "active;expires=-1", "terminated;retry-after=x",
    "1 1 INVITE", f"1 {HUGE} INVITE", "a;to-tag=;from-tag=", ";to-tag=1;from-tag=2", "x;to-tag=1",
    "timer, , replaces", "100rel", "precondition", "x" * 20000, "a\\", "\"a\\\"",
)
HEADER_NAMES = (
    "Via", "From", "To", "Call-ID", "CSeq", "Contact", "Route", "Record-Route", "Max-Forwards",
    "Content-Type", "Content-Length", "Expires", "Min-Expires", "Retry-After", "RSeq", "RAck", "Require",
    "Supported", "Allow", "Accept", "Session-Expires", "Min-SE", "Event", "Subscription-State", "Refer-To",
    "Referred-By", "Replaces", "WWW-Authenticate", "Proxy-Authenticate", "Authentication-Info",
    "Proxy-Authentication-Info", "Unsupported", "Reason", "Date", "Timestamp", "Path", "Service-Route",
    "P-Asserted-Identity", "Warning", "Accept-Encoding", "Content-Encoding", "Call-Info", "Alert-Info",
    "v", "f", "t", "m", "i", "l", "c", "r", "x", "o",
)
SDP_BODIES = (
    "", "v=0", "v=0\r\n" * 3, "v=0\r\no=- 1 " + HUGE + " IN IP4 h\r\ns=-\r\nt=0 0\r\n",
    "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 99999 RTP/AVP 0\r\n",
    "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP6 ::\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\na=inactive\r\n",
    "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nm=audio 1 RTP/AVP " + HUGE + "\r\na=rtpmap:" + HUGE + " x/1\r\n",
    "v=0\r\no=- 1 18446744073709551616 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 1/2 RTP/AVP 0\r\n",
    OFFER.replace("\r\n", "\n"), OFFER.replace("m=audio", "m=video"), OFFER * 2,
)
DTMF_BODIES = (
    "", "Signal=", "Signal=1\r\nDuration=" + HUGE, "Signal=1\r\nDuration=-5", "Signal=11", "Signal=²",
    "\r\n" * 5000, "Signal=1\r\n" + " " * 5000 + "Duration=1", "signal = # \n duration = 160",
)
SIPFRAG_BODIES = (
    "", "SIP/2.0", "SIP/2.0 200", "SIP/2.0 99999 OK", "SIP/2.0 200 " + "x" * 5000, "\r\n" * 5000,
    "SIP/2.0 180 Ringing\r\nContent-Length: " + HUGE + "\r\n", " " * 5000 + "SIP/2.0 200 OK",
)
CONTENT_TYPES = ("application/sdp", "application/dtmf-relay", "application/dtmf", "message/sipfrag;version=2.0",
                 "text/plain", "multipart/mixed;boundary=x", "application/sdp;charset=\"")
