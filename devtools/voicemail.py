"""A stand-in voicemail server for the tests: PUBLISHes a user's message summary
(RFC 3842 via RFC 3903) to the project's Kamailio over UDP, as a voicemail
system beside the proxy would; Kamailio's presence_mwi then NOTIFYs the
user's message-summary subscriptions."""

from __future__ import annotations

import os
import socket

__all__ = ["publish_message_summary"]


def publish_message_summary(server, user: str, new: int, old: int, *, urgent_new: int = 0, urgent_old: int = 0,
                            timeout: float = 5.0) -> int:
    """Send the summary for ``user``; returns Kamailio's final status (200 expected)."""
    waiting = "yes" if new else "no"
    body = (f"Messages-Waiting: {waiting}\r\nMessage-Account: sip:{user}@{server.domain}\r\n"
            f"Voice-Message: {new}/{old} ({urgent_new}/{urgent_old})\r\n").encode()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(timeout)
    try:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        tag, call_id = os.urandom(4).hex(), os.urandom(8).hex()
        request = (
            f"PUBLISH sip:{user}@{server.domain} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};rport;branch=z9hG4bK-vm{os.urandom(4).hex()}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:voicemail@vm.example>;tag={tag}\r\n"
            f"To: <sip:{user}@{server.domain}>\r\n"
            f"Call-ID: vm-{call_id}\r\n"
            "CSeq: 1 PUBLISH\r\n"
            "Event: message-summary\r\n"
            "Expires: 600\r\n"
            "Content-Type: application/simple-message-summary\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        sock.sendto(request, ("127.0.0.1", server.sip_port))
        while True:
            data, _ = sock.recvfrom(65535)
            status = int(data.split(b" ", 2)[1])
            if status >= 200:
                return status
    finally:
        sock.close()
