"""How long webvoice.sip takes to parse a typical INVITE and 200 OK, on this Python.

Prints microseconds per message (best of several rounds, so that a busy
machine shows less noise). Not a test: figures, never assertions. The browser
comparison against JsSIP lives with the other benchmarks.

    python3 -m bench.parse [--rounds 7] [--number 2000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import timeit
from pathlib import Path

from webvoice.sip import parse_message

# A WebRTC INVITE as a browser softphone sends it through a proxy: SDP with ICE
# candidates and DTLS fingerprint, Record-Route added on the way.
SDP = (
    "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=group:BUNDLE 0\r\na=msid-semantic: WMS stream\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\n"
    "a=rtcp:9 IN IP4 0.0.0.0\r\n"
    "a=candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host generation 0\r\n"
    "a=candidate:435653019 1 tcp 1845501695 192.168.0.196 9 typ host tcptype active generation 0\r\n"
    "a=ice-ufrag:Oyef\r\na=ice-pwd:7ouxbGxXXFz2usa1kLW0Pz5a\r\na=ice-options:trickle\r\n"
    "a=fingerprint:sha-256 49:66:12:17:0D:1C:91:AE:57:4C:C6:36:DD:D5:97:D2:7D:62:C9:9A:7F:B9:A3:F4:70:03:E7:43:91:73:23:5E\r\n"
    "a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\n"
    "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"
    "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:126 telephone-event/8000\r\n"
)
INVITE = (
    "INVITE sip:bob@webvoice.test SIP/2.0\r\n"
    "Record-Route: <sip:127.0.0.1:5060;transport=ws;r2=on;lr=on>\r\n"
    "Record-Route: <sip:127.0.0.1;r2=on;lr=on>\r\n"
    "Via: SIP/2.0/WS 127.0.0.1:5060;branch=z9hG4bK1cbc.5d5a7e0b2f0f4c1e0d7e1c6b1b8a1c0e.0\r\n"
    "Via: SIP/2.0/WS 4v2d6k3hs1pa.invalid;rport=51234;received=127.0.0.1;branch=z9hG4bK2217641\r\n"
    "Max-Forwards: 69\r\n"
    "To: <sip:bob@webvoice.test>\r\n"
    'From: "Alice" <sip:alice@webvoice.test>;tag=6pl8r3ll8v\r\n'
    "Call-ID: 1fo1sq4s9e8gfqakrf1n\r\n"
    "CSeq: 8371 INVITE\r\n"
    "Contact: <sip:9tgmcmf3@4v2d6k3hs1pa.invalid;transport=ws;ob>\r\n"
    "Content-Type: application/sdp\r\n"
    "Session-Expires: 90\r\n"
    "Allow: INVITE,ACK,CANCEL,BYE,UPDATE,MESSAGE,OPTIONS,REFER,INFO,NOTIFY\r\n"
    "Supported: timer,ice,replaces,outbound\r\n"
    "User-Agent: webvoice\r\n"
    f"Content-Length: {len(SDP)}\r\n\r\n{SDP}"
)
OK = (
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/WS 4v2d6k3hs1pa.invalid;rport=51234;received=127.0.0.1;branch=z9hG4bK2217641\r\n"
    "Record-Route: <sip:127.0.0.1:5060;transport=ws;r2=on;lr=on>\r\n"
    "Record-Route: <sip:127.0.0.1;r2=on;lr=on>\r\n"
    "To: <sip:bob@webvoice.test>;tag=h7g4esbg_\r\n"
    'From: "Alice" <sip:alice@webvoice.test>;tag=6pl8r3ll8v\r\n'
    "Call-ID: 1fo1sq4s9e8gfqakrf1n\r\n"
    "CSeq: 8371 INVITE\r\n"
    "Contact: <sip:bob@127.0.0.1:51300;transport=ws;alias=127.0.0.1~51300~5>\r\n"
    "Supported: timer,ice,replaces,outbound\r\n"
    "Content-Type: application/sdp\r\n"
    f"Content-Length: {len(SDP)}\r\n\r\n{SDP}"
)
MESSAGES = {"INVITE": INVITE.encode(), "200 OK": OK.encode()}


def measure(data: bytes, rounds: int, number: int) -> float:
    """Best microseconds per parse over ``rounds`` runs of ``number`` parses."""
    parse_message(data)  # warm caches and make sure it parses
    timer = timeit.Timer(lambda: parse_message(data))
    return min(timer.repeat(repeat=rounds, number=number)) / number * 1e6


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    results = {name: measure(data, args.rounds, args.number) for name, data in MESSAGES.items()}
    print(f"webvoice.sip.parse_message on {platform.python_implementation()} {platform.python_version()}")
    for name, usec in results.items():
        print(f"  {name:8} {len(MESSAGES[name]):5d} octets  {usec:8.1f} us/message")
    if args.json:
        args.json.write_text(json.dumps({"python": platform.python_version(), "us_per_message": results}, indent=2))
    return results


if __name__ == "__main__":
    main()
