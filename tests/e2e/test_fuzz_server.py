"""A hostile server: over a thousand malformed and random SIP messages at a UA in Chromium.

The server in this test accepts the UA's REGISTER (200 OK), then sends 1,200
frames made from valid requests and the RFC 4475 torture messages by seeded
mutation (flipped, inserted and deleted octets, duplicated and truncated
pieces, oversized and empty frames). Afterwards the UA must be registered and
usable (it answers a final OPTIONS), nothing must have escaped as an uncaught
error in the page.

What the answers must be comes from an oracle written by hand, not from the
code under test: :data:`HAND_REFUSALS` lists malformed requests (one defect
each, on an otherwise valid OPTIONS) with the status RFC 3261 asks for (400;
505 for a SIP version other than 2.0, 8.2.1 and 21.5.6); they are mixed into
the hostile stream and each must be answered with exactly that status.  The
parser's own decisions about the random mutations are then only checked for
consistency (every request it refuses and can answer is answered as it says).
"""

from __future__ import annotations

import pathlib
import random
import re
import threading

from devtools.browser import ConsoleLog, boot_webvoice
from devtools.pyrun import py
from devtools.ws_standin import WsStandIn
from webvoice.sip import SipParseError, parse_message, response_for_parse_error, without_peer_controls

CORPUS = pathlib.Path(__file__).resolve().parents[1] / "data" / "rfc4475"
COUNT = 1200


def valid_seeds() -> list[bytes]:
    common = ("Via: SIP/2.0/WS fuzz.invalid;branch=z9hG4bK{b}\r\nMax-Forwards: 70\r\n"
              "From: <sip:fuzzer@webvoice.test>;tag=f{b}\r\nTo: <sip:alice@webvoice.test>{totag}\r\n"
              "Call-ID: fuzz-{b}\r\nCSeq: 1 {m}\r\n")
    sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\n"
    seeds = []
    for method, totag, body, ctype in (
        ("OPTIONS", "", "", None), ("INVITE", "", sdp, "application/sdp"), ("MESSAGE", "", "hi", "text/plain"),
        ("INFO", ";tag=x1", "Signal=5\r\nDuration=100\r\n", "application/dtmf-relay"), ("BYE", ";tag=x2", "", None),
        ("NOTIFY", ";tag=x3", "SIP/2.0 200 OK\r\n", "message/sipfrag"),
    ):
        head = f"{method} sip:alice@webvoice.test SIP/2.0\r\n" + common.format(b="{b}", totag=totag, m=method)
        if ctype:
            head += f"Content-Type: {ctype}\r\n"
        seeds.append((head + f"Content-Length: {len(body)}\r\n\r\n" + body).encode())
    seeds.append(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/WS other.invalid;branch=z9hG4bKstray\r\nFrom: <sip:a@b>;tag=1\r\n"
                 b"To: <sip:c@d>;tag=2\r\nCall-ID: stray\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n")
    return seeds


def fuzz_messages(count: int, seed: int = 4475) -> list[bytes]:
    rng = random.Random(seed)
    seeds = valid_seeds() + [p.read_bytes() for p in sorted(CORPUS.glob("*.dat"))]
    out = []
    for i in range(count):
        # A branch of its own for every frame, so that each answer can be matched.
        data = bytearray(rng.choice(seeds).replace(b"{b}", str(i).encode()).replace(b"branch=", b"branch=u%d-" % i, 1))
        kind = rng.random()
        if kind < 0.05:
            data = bytearray(rng.randbytes(rng.randint(0, 400)))
        elif kind < 0.07:
            data = bytearray(data + b"X-Pad: " + b"a" * 70000 + b"\r\n")
        elif kind < 0.08:
            data = bytearray(b"\r\n" * rng.randint(0, 3))
        else:
            for _ in range(rng.randint(0, 6)):
                at = rng.randrange(max(1, len(data)))
                action = rng.random()
                if action < 0.3:
                    data[at] = rng.randrange(256)
                elif action < 0.55:
                    data[at:at] = rng.choice([b"\r\n", b",", b";", b"<", b">", b'"', b"\\", b":", b" ", b"\x00", b"%",
                                              b"\r\nVia: SIP/2.0/WS x;branch=z9hG4bKdup\r\n", b"\r\nContent-Length: 5"])
                elif action < 0.8:
                    del data[at:at + rng.randint(1, 30)]
                else:
                    end = min(len(data), at + rng.randint(1, 60))
                    data[at:at] = data[at:end]
        out.append(bytes(data))
    return out


_BASE = ("OPTIONS sip:alice@webvoice.test SIP/2.0", "Via: SIP/2.0/WS fuzz.invalid;branch=z9hG4bKhand-{n}",
         "Max-Forwards: 70", "From: <sip:fuzzer@webvoice.test>;tag=h{n}", "To: <sip:alice@webvoice.test>",
         "Call-ID: hand-{n}", "CSeq: 1 OPTIONS", "Content-Length: 0")


def _replace(prefix: str, line: str):
    return lambda lines: [line if l.startswith(prefix) else l for l in lines]


def _drop(prefix: str):
    return lambda lines: [l for l in lines if not l.startswith(prefix)]


def _insert(at: int, line: str):
    return lambda lines: lines[:at] + [line] + lines[at:]


#: (what is wrong, edit of _BASE, the status RFC 3261 asks for): the oracle.
HAND_REFUSALS = [
    ("SIP version 3.0", _replace("OPTIONS", "OPTIONS sip:alice@webvoice.test SIP/3.0"), 505),
    ("SIP version 2.1", _replace("OPTIONS", "OPTIONS sip:alice@webvoice.test SIP/2.1"), 505),
    ("no Call-ID", _drop("Call-ID"), 400),
    ("no CSeq", _drop("CSeq"), 400),
    ("no From", _drop("From"), 400),
    ("no To", _drop("To"), 400),
    ("CSeq number is not a number", _replace("CSeq", "CSeq: one OPTIONS"), 400),
    ("CSeq method is not the request's", _replace("CSeq", "CSeq: 1 INVITE"), 400),
    ("CSeq number beyond 2**31", _replace("CSeq", "CSeq: 99999999999999999999 OPTIONS"), 400),
    ("Max-Forwards is not a number", _replace("Max-Forwards", "Max-Forwards: seventy"), 400),
    ("Content-Length is not a number", _replace("Content-Length", "Content-Length: x"), 400),
    ("Content-Length is negative", _replace("Content-Length", "Content-Length: -1"), 400),
    ("From has no URI", _replace("From", "From: ;tag=h{n}"), 400),
    ("To has an empty sip: URI", _replace("To", "To: <sip:>"), 400),
    ("two Call-IDs", _insert(5, "Call-ID: other-{n}"), 400),
    ("two CSeqs", _insert(6, "CSeq: 2 OPTIONS"), 400),
    ("Request-URI is not a URI", _replace("OPTIONS", "OPTIONS not-a-uri SIP/2.0"), 400),
]


def hand_refusals() -> dict[str, tuple[str, bytes, int]]:
    """Branch -> (what is wrong, the request, the status it must get)."""
    out = {}
    for n, (what, edit, status) in enumerate(HAND_REFUSALS):
        data = ("\r\n".join(edit(list(_BASE))) + "\r\n\r\n").replace("{n}", str(n)).encode()
        out[f"z9hG4bKhand-{n}"] = (what, data, status)
    return out


def expected_refusals(messages: list[bytes]) -> dict[str, int]:
    """Branch -> status for each refused request a response can be routed for,
    as the parser decides (a consistency check of the answering path; the
    oracle for what the answers should be is HAND_REFUSALS)."""
    expected = {}
    for data in messages:
        try:
            parse_message(data)
        except SipParseError as exc:
            answer = response_for_parse_error(exc)
            # An answer that would carry the peer's control octets back is withheld.
            answer = without_peer_controls(answer) if answer is not None else None
            if answer is not None and answer.top_via is not None and answer.top_via.branch:
                expected[answer.top_via.branch] = answer.status_code
    return expected


class HostileServer(WsStandIn):
    def __init__(self, messages: list[bytes]) -> None:
        self.messages = messages
        self.received: list[bytes] = []
        self.registered = threading.Event()
        self.go = threading.Event()
        self.done = threading.Event()
        super().__init__(max_size=2**20)

    def handle(self, ws) -> None:
        for data in self.frames(ws):
            self.received.append(data)
            if data.startswith(b"REGISTER "):
                ws.send(self.register_ok(data, expires="600"))
                self.registered.set()
                break
        reader = threading.Thread(target=self._read, args=(ws,), daemon=True)
        reader.start()
        self.go.wait(60)
        for data in self.messages:
            try:
                ws.send(data.decode("utf-8"))
            except UnicodeDecodeError:
                ws.send(data)
        ws.send("OPTIONS sip:alice@webvoice.test SIP/2.0\r\nVia: SIP/2.0/WS fuzz.invalid;branch=z9hG4bKfinal\r\n"
                "Max-Forwards: 70\r\nFrom: <sip:fuzzer@webvoice.test>;tag=end\r\nTo: <sip:alice@webvoice.test>\r\n"
                "Call-ID: fuzz-final\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n")
        reader.join(60)

    def _read(self, ws) -> None:
        for data in self.frames(ws):
            self.received.append(data)
            if b"branch=z9hG4bKfinal" in data and data.startswith(b"SIP/2.0 "):
                self.done.set()


def test_ua_survives_a_thousand_hostile_messages(page, static_server):
    messages = fuzz_messages(COUNT)
    expected = expected_refusals(messages)
    assert len(messages) >= 1000 and len(expected) >= 100  # the test really exercises refusals
    oracle = hand_refusals()
    for i, (_, data, _) in enumerate(oracle.values()):  # spread through the hostile stream
        messages.insert(i * len(messages) // len(oracle), data)
    server = HostileServer(messages)
    console: ConsoleLog = page.console if hasattr(page, "console") else ConsoleLog(page)
    try:
        boot_webvoice(page, static_server)
        py(page, f"""
import asyncio, logging, webvoice
class Errors(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.records = []
    def emit(self, record):
        self.records.append(self.format(record))
errors = Errors()
logging.getLogger("webvoice").addHandler(errors)
sip = webvoice.create_sip_instance(sip_login="alice", sip_password="x", realm="webvoice.test",
                                   ws_url={server.url!r})
await sip.register()
""")
        assert server.registered.wait(10)
        server.go.set()
        assert server.done.wait(120), "the UA did not answer the final OPTIONS"
        state = py(page, "{'registered': sip.is_registered(), 'connected': sip.is_connected(), 'errors': errors.records}")
        assert state["registered"] and state["connected"], state
        assert state["errors"] == [], state["errors"]
        assert not [line for line in console.lines if line.startswith("[pageerror]")], str(console)
        # Status and branch read from the raw frames: a 400 to a request whose
        # From or CSeq was garbage carries that garbage back (never a control octet).
        answers = {}
        for data in server.received:
            status = re.match(rb"SIP/2\.0 ([0-9]{3}) ", data)
            branch = re.search(rb"(?im)^(?:via|v)[ \t]*:[^\r\n]*?;[ \t]*branch=([^;,\s]+)", data)
            if status and branch:
                answers.setdefault(branch.group(1).decode("utf-8", "surrogateescape"), int(status.group(1)))
        wrong = {what: (answers.get(b), status) for b, (what, _, status) in oracle.items()
                 if answers.get(b) != status}
        assert not wrong, f"malformed requests not answered as RFC 3261 asks (got, wanted): {wrong}"
        missing = {b: s for b, s in expected.items() if answers.get(b) != s}
        assert not missing, f"{len(missing)} refused requests not answered as expected, e.g. {list(missing.items())[:5]}"
        assert answers.get("z9hG4bKfinal") == 200
        assert not server.errors, server.errors
    finally:
        server.close()
