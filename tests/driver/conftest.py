"""The driver tier: SipInstance, Call, lines and transfers in CPython, with an
in-memory transport (a test plays the server) and a fake media backend. No
browser, no Kamailio: these tests run in a second or two and pin the driver's
own decisions (line ids, clean-up after a failed start, option checking,
unregister outcomes)."""

from __future__ import annotations

import asyncio

import pytest

import webvoice
from devtools.fake_media import FakeMediaBackend, _sdp
from devtools.fake_transport import FakeTransport
from webvoice.sip import Request, Response, parse_message

REALM = "a.test"


def make_instance(media: FakeMediaBackend | None = None, **kwargs) -> webvoice.SipInstance:
    kwargs.setdefault("sip_login", "alice")
    kwargs.setdefault("sip_password", "secret")
    kwargs.setdefault("realm", REALM)
    return webvoice.create_sip_instance(transport_factory=FakeTransport,
                                        media_backend=media if media is not None else FakeMediaBackend(), **kwargs)


def transport_of(sip: webvoice.SipInstance) -> FakeTransport | None:
    """The newest connection ``sip`` opened through the test's transport factory (the
    factory is handed the instance's transport link as its callbacks), or None before the first."""
    mine = [t for t in FakeTransport.instances if getattr(t.callbacks, "forwards_to", None) is sip._link]
    return mine[-1] if mine else None


def drop_connection(sip: webvoice.SipInstance) -> FakeTransport:
    """The connection drops as a network failure would (close code 1006); returns it."""
    transport = transport_of(sip)
    transport.opened = False
    transport.callbacks.on_close(1006, "dropped")
    return transport


def run(coro, timeout: float = 10.0):
    """Run a test's coroutine with an outer bound (a hang fails, it never blocks the run)."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(condition, what: str) -> None:
    """Wait for ``condition()`` (the test's outer bound limits the wait)."""
    while not condition():
        await asyncio.sleep(0.005)


class FakeServer:
    """Plays registrar and proxy on the in-memory transport: ``serve()`` answers
    each request the instance sends. ``register(request)`` and
    ``invite(request)`` give the status for a REGISTER and a new INVITE (None:
    no answer, e.g. to test a timeout; for an INVITE, 180 and ringing);
    ``reinvite(request)`` the one for a re-INVITE."""

    def __init__(self, sip: webvoice.SipInstance, *, register=lambda r: 200, invite=lambda r: 200,
                 reinvite=lambda r: 200, expires: int = 600) -> None:
        self.sip = sip
        self.register = register
        self.invite = invite
        self.reinvite = reinvite
        self.expires = expires
        self.log: list[Request] = []
        self._done: dict[int, int] = {}
        self._ringing: dict[str, Request] = {}

    @property
    def transport(self) -> FakeTransport | None:
        return transport_of(self.sip)

    def frames(self) -> list[Request | Response]:
        transport = self.transport
        return [] if transport is None else [parse_message(f) for f in transport.sent if f.strip(b"\r\n")]

    def responses(self) -> list[Response]:
        return [m for m in self.frames() if isinstance(m, Response)]

    def requests(self, method: str | None = None) -> list[Request]:
        return [m for m in self.log if method is None or m.method == method]

    async def serve(self) -> None:
        while True:
            transport = self.transport
            if transport is not None:
                frames = [f for f in transport.sent if f.strip(b"\r\n")]
                done = self._done.get(id(transport), 0)
                self._done[id(transport)] = len(frames)
                for frame in frames[done:]:
                    message = parse_message(frame)
                    if isinstance(message, Request):
                        self.log.append(message)
                        self._handle(message)
            await asyncio.sleep(0.002)

    def answer(self, request: Request, status: int, *, headers=(), body: bytes = b"", content_type=None,
               to_tag: str | None = "srv1") -> Response:
        response = request.response(status, to_tag=to_tag if status > 100 else None, headers=list(headers),
                                    body=body, content_type=content_type)
        self.sip._link.on_data(bytes(response))
        return response

    def _handle(self, request: Request) -> None:
        method = request.method
        if method == "REGISTER":
            status = self.register(request)
            if status is None:
                return
            expires = 0 if request.header("Expires") == 0 else self.expires
            contact = request.header("Contact").with_params(expires=str(expires))
            self.answer(request, status, headers=[("Contact", contact)] if status == 200 else [])
        elif method == "INVITE" and request.to.params.get("tag") is None:
            status = self.invite(request)
            if status is None:
                self.answer(request, 180)
                self._ringing[request.call_id] = request
            else:
                self._answer_invite(request, status)
        elif method == "INVITE":
            self._answer_invite(request, self.reinvite(request))
        elif method == "CANCEL":
            self.answer(request, 200)
            ringing = self._ringing.pop(request.call_id, None)
            if ringing is not None:
                self.answer(ringing, 487)
        elif method == "REFER":
            self.answer(request, 202)
        elif method != "ACK":
            self.answer(request, 200)

    def _answer_invite(self, invite: Request, status: int) -> None:
        headers = [("Contact", "<sip:peer@127.0.0.1;transport=ws>")]
        if status == 200:
            self.answer(invite, 200, headers=headers, body=_sdp("sendrecv", 50000, 1).encode(),
                        content_type="application/sdp")
        else:
            self.answer(invite, status, headers=headers)

    def send_in_dialog(self, invite: Request, method: str, cseq: int, *, headers: str = "",
                       body: bytes = b"") -> None:
        """A request from the called party in the dialog of our ``invite`` (answered
        200 by :meth:`answer`); ``headers`` are more header lines, each ending in CRLF."""
        self.sip._link.on_data((
            f"{method} {invite.header('Contact').uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/WS 127.0.0.1;branch=z9hG4bK{method.lower()}{cseq}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: {invite.to};tag=srv1\r\n"
            f"To: {invite.from_}\r\n"
            f"Call-ID: {invite.call_id}\r\n"
            f"CSeq: {cseq} {method}\r\n"
            "Contact: <sip:peer@127.0.0.1;transport=ws>\r\n"
            f"{headers}Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body)

    def send_refer(self, invite: Request, refer_to: str, cseq: int = 2) -> None:
        """A REFER from the called party, in the dialog of our ``invite``."""
        self.send_in_dialog(invite, "REFER", cseq, headers=f"Refer-To: <{refer_to}>\r\n")

    def send_notify(self, invite: Request, status: int, reason: str, cseq: int = 3) -> None:
        """A NOTIFY of the transfer we asked for (RFC 3515): the new call reached ``status``."""
        state = "terminated;reason=noresource" if status >= 200 else "active;expires=60"
        self.send_in_dialog(invite, "NOTIFY", cseq, body=f"SIP/2.0 {status} {reason}\r\n".encode(), headers=(
            f"Event: refer\r\nSubscription-State: {state}\r\nContent-Type: message/sipfrag;version=2.0\r\n"))

    def send_reinvite(self, invite: Request, sdp: str, cseq: int) -> None:
        """A re-INVITE from the called party offering ``sdp``, ACKed once answered."""
        self.send_in_dialog(invite, "INVITE", cseq, headers="Content-Type: application/sdp\r\n", body=sdp.encode())

    def ack(self, invite: Request, cseq: int) -> None:
        """The ACK of our 2xx to the called party's re-INVITE ``cseq``."""
        self.send_in_dialog(invite, "ACK", cseq)

    def send_invite(self, call_id: str, *, caller: str = "<sip:carol@a.test>", sdp: str | None = None) -> None:
        """A new call to us from ``caller`` (an INVITE outside any dialog), offering ``sdp`` if given."""
        body = b"" if sdp is None else sdp.encode()
        content_type = "" if sdp is None else "Content-Type: application/sdp\r\n"
        self.sip._link.on_data((
            "INVITE sip:alice@a.test SIP/2.0\r\n"
            f"Via: SIP/2.0/WS 127.0.0.1;branch=z9hG4bK{call_id}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: {caller};tag=c1\r\n"
            "To: <sip:alice@a.test>\r\n"
            f"Call-ID: {call_id}\r\n"
            "CSeq: 1 INVITE\r\n"
            "Contact: <sip:carol@127.0.0.1;transport=ws>\r\n"
            f"{content_type}Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body)


async def serving(sip: webvoice.SipInstance, **kwargs) -> tuple[FakeServer, asyncio.Task]:
    """A connected instance and a server answering it (cancel the task at the end)."""
    server = FakeServer(sip, **kwargs)
    task = asyncio.ensure_future(server.serve())
    await sip.connect()
    return server, task


async def established(sip: webvoice.SipInstance, target: str, events=None) -> webvoice.Call:
    """Call ``target`` and wait for the answer (the server's ``invite`` must answer 200)."""
    call = await sip.call(target, events)
    await until(call.is_established, f"{target} answers")
    return call


async def ringing(server: FakeServer, call_id: str, **invite) -> webvoice.IncomingCallRequest:
    """A call to us (``server.send_invite(call_id, **invite)``) once it rings: what
    the instance's ``on_incoming_call`` handler, set here, was given."""
    incoming = []
    server.sip.on_incoming_call(incoming.append)
    server.send_invite(call_id, **invite)
    await until(lambda: incoming, f"the call {call_id} rings")
    return incoming[0]


@pytest.fixture(autouse=True)
def _fresh_transports():
    FakeTransport.instances.clear()
    yield
    FakeTransport.instances.clear()
