"""A tiny raw SIP-over-WebSocket (RFC 7118) client for tests.

Test support only, never product code: it deliberately does not import
``webvoice.sip`` so that the SIP server configuration can be tested on its
own.  It speaks SIP as plain text over a synchronous ``websockets`` connection
with the ``sip`` subprotocol, like a browser would (Contact/Via host
``<random>.invalid``, ``transport=ws``).

Typical use::

    with SipWsClient(server.ws_url, "alice", "alice-secret") as alice:
        assert alice.register().status == 200
        invite = alice.request("INVITE", "sip:bob@webvoice.test", body=SDP,
                               content_type="application/sdp")
        alice.send(invite)
        reply = alice.expect_response(invite)          # 407
        invite = alice.authorize(invite, reply)         # ACKs the 407 too
        ...

Pieces: :class:`SipMessage` (parse/build/edit one message),
:func:`digest_authorization` (MD5 digest, qop=auth), :class:`SipWsClient`
(connection + request/response builders + REGISTER with auth) and
:class:`Dialog` (route set / remote target / CSeq for in-dialog requests).
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import re
import secrets
import time
from dataclasses import dataclass, field

__all__ = [
    "Dialog",
    "SipMessage",
    "SipUdpClient",
    "SipWsClient",
    "digest_authorization",
    "parse_challenge",
    "split_header_values",
    "tag_of",
    "uri_of",
]

# Compact header forms (RFC 3261 7.3.3 and friends) -> canonical lower name.
_COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "s": "subject",
    "e": "content-encoding",
    "o": "event",
    "r": "refer-to",
    "b": "referred-by",
    "u": "allow-events",
    "x": "session-expires",
}

# Headers whose values may be comma-joined on one line.
_LIST_HEADERS = {"via", "route", "record-route", "contact", "allow", "supported", "require"}


def _canon(name: str) -> str:
    name = name.strip().lower()
    return _COMPACT.get(name, name)


def split_header_values(value: str) -> list[str]:
    """Split a comma-joined header value, ignoring commas inside <> and quotes."""
    parts, cur, depth, quoted = [], [], 0, False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "<":
            depth += 1
        elif not quoted and ch == ">":
            depth -= 1
        if ch == "," and depth == 0 and not quoted:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if "".join(cur).strip():
        parts.append("".join(cur).strip())
    return parts


def uri_of(value: str) -> str:
    """The URI of a name-addr (``"Bob" <sip:b@x;transport=ws>;tag=1``) or addr-spec."""
    m = re.search(r"<([^>]*)>", value)
    if m:
        return m.group(1)
    return value.split(";", 1)[0].strip()


def tag_of(value: str) -> str | None:
    """The ``tag`` parameter of a From/To header value, if any."""
    rest = value.rsplit(">", 1)[-1] if ">" in value else value
    m = re.search(r";\s*tag=([^;\s,]+)", rest, re.IGNORECASE)
    return m.group(1) if m else None


class SipMessage:
    """One SIP request or response: first line, ordered headers and body.

    Headers keep their order and original names; look-ups are
    case-insensitive and understand compact forms.  ``str(msg)`` serialises
    with a recomputed Content-Length.
    """

    def __init__(self, first_line: str, headers=None, body: str = ""):
        self.first_line = first_line
        self.headers: list[tuple[str, str]] = list(headers or [])
        self.body = body

    # --- parsing -------------------------------------------------------
    @classmethod
    def parse(cls, text: str | bytes) -> SipMessage:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        head, sep, body = text.partition("\r\n\r\n")
        if not sep:
            head, sep, body = text.partition("\n\n")
        lines = re.split(r"\r?\n", head)
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and headers:  # folded line
                name, value = headers[-1]
                headers[-1] = (name, value + " " + line.strip())
            elif ":" in line:
                name, value = line.split(":", 1)
                headers.append((name.strip(), value.strip()))
        return cls(lines[0], headers, body)

    # --- first line ----------------------------------------------------
    @property
    def is_request(self) -> bool:
        return not self.first_line.startswith("SIP/2.0 ")

    @property
    def method(self) -> str | None:
        """Request method, or for a response the CSeq method."""
        if self.is_request:
            return self.first_line.split(" ", 1)[0]
        return self.cseq[1]

    @property
    def uri(self) -> str | None:
        return self.first_line.split(" ")[1] if self.is_request else None

    @property
    def status(self) -> int | None:
        return None if self.is_request else int(self.first_line.split(" ")[1])

    @property
    def reason(self) -> str | None:
        return None if self.is_request else self.first_line.split(" ", 2)[2]

    # --- headers -------------------------------------------------------
    def header(self, name: str) -> str | None:
        """First value of header ``name`` (first element if comma-joined)."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        """All values of ``name``, comma-joined lists split for list headers."""
        key = _canon(name)
        out: list[str] = []
        for n, v in self.headers:
            if _canon(n) == key:
                out.extend(split_header_values(v) if key in _LIST_HEADERS else [v])
        return out

    def set_header(self, name: str, value: str) -> SipMessage:
        """Replace all ``name`` headers by one (at the first one's place)."""
        key = _canon(name)
        idx = next((i for i, (n, _) in enumerate(self.headers) if _canon(n) == key), None)
        self.remove_header(name)
        if idx is None:
            self.headers.append((name, value))
        else:
            self.headers.insert(idx, (name, value))
        return self

    def add_header(self, name: str, value: str, first: bool = False) -> SipMessage:
        if first:
            self.headers.insert(0, (name, value))
        else:
            self.headers.append((name, value))
        return self

    def remove_header(self, name: str) -> SipMessage:
        key = _canon(name)
        self.headers = [(n, v) for n, v in self.headers if _canon(n) != key]
        return self

    @property
    def call_id(self) -> str | None:
        return self.header("Call-ID")

    @property
    def cseq(self) -> tuple[int, str]:
        num, method = self.header("CSeq").split()
        return int(num), method

    @property
    def from_tag(self) -> str | None:
        return tag_of(self.header("From") or "")

    @property
    def to_tag(self) -> str | None:
        return tag_of(self.header("To") or "")

    @property
    def branch(self) -> str | None:
        via = self.header("Via") or ""
        m = re.search(r";\s*branch=([^;\s,]+)", via, re.IGNORECASE)
        return m.group(1) if m else None

    @property
    def contact_uri(self) -> str | None:
        c = self.header("Contact")
        return uri_of(c) if c else None

    # --- serialisation -------------------------------------------------
    def copy(self) -> SipMessage:
        return SipMessage(self.first_line, list(self.headers), self.body)

    def __str__(self) -> str:
        body = self.body or ""
        lines = [self.first_line]
        lines += [f"{n}: {v}" for n, v in self.headers if _canon(n) != "content-length"]
        lines.append(f"Content-Length: {len(body.encode('utf-8'))}")
        return "\r\n".join(lines) + "\r\n\r\n" + body

    def __repr__(self) -> str:
        return f"<SipMessage {self.first_line!r} {self.call_id!r}>"


# --- digest authentication (RFC 2617/7616, MD5, qop=auth) --------------------


def parse_challenge(value: str) -> dict[str, str]:
    """Parse ``Digest realm="x", nonce="y", qop="auth"`` into a dict."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError(f"not a Digest challenge: {value!r}")
    params = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]+)', rest):
        params[m.group(1).lower()] = m.group(3) if m.group(3) is not None else m.group(2)
    return params


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def digest_authorization(
    challenge: str | dict,
    method: str,
    uri: str,
    username: str,
    password: str,
    *,
    cnonce: str | None = None,
    nc: int = 1,
) -> str:
    """The ``Authorization``/``Proxy-Authorization`` value answering a challenge.

    ``challenge`` is the WWW-/Proxy-Authenticate value (or its parsed dict).
    Uses qop=auth when offered, else the RFC 2069 form.
    """
    ch = parse_challenge(challenge) if isinstance(challenge, str) else challenge
    realm, nonce = ch["realm"], ch["nonce"]
    ha1 = _md5(f"{username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{uri}")
    qops = [q.strip() for q in ch.get("qop", "").split(",") if q.strip()]
    parts = [
        f'username="{username}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
    ]
    if "auth" in qops:
        cnonce = cnonce or secrets.token_hex(8)
        ncv = f"{nc:08x}"
        response = _md5(f"{ha1}:{nonce}:{ncv}:{cnonce}:auth:{ha2}")
        parts += [f'response="{response}"', "qop=auth", f'cnonce="{cnonce}"', f"nc={ncv}"]
    else:
        parts.append(f'response="{_md5(f"{ha1}:{nonce}:{ha2}")}"')
    parts.append("algorithm=MD5")
    if "opaque" in ch:
        parts.append(f'opaque="{ch["opaque"]}"')
    return "Digest " + ", ".join(parts)


# --- the client -----------------------------------------------------------


def _ws_connect(url: str, timeout: float):
    """Open a sync websockets connection with subprotocol "sip".

    Works with websockets >= 12: newer versions warn unless connect() is used
    as a context manager, so we enter it through an ExitStack; no HTTP proxy
    (loopback only) and no compression (Kamailio does not negotiate it).
    """
    from websockets.sync.client import connect

    kwargs = {"subprotocols": ["sip"], "open_timeout": timeout, "compression": None,
              "close_timeout": 2, "ping_interval": None}
    if "proxy" in inspect.signature(connect).parameters:
        kwargs["proxy"] = None
    stack = contextlib.ExitStack()
    ws = stack.enter_context(connect(url, **kwargs))
    return ws, stack


def _same_transaction(method: str, req: SipMessage, *, to: str | None) -> SipMessage:
    """``method`` (ACK or CANCEL) in ``req``'s transaction: its Via (same branch),
    Route, From, Call-ID and CSeq number, with ``to`` as To (RFC 3261 9.1, 17.1.1.3)."""
    message = SipMessage(f"{method} {req.uri} SIP/2.0", [], "")
    message.add_header("Via", req.header("Via"))
    for v in req.header_values("Route"):
        message.add_header("Route", v)
    message.add_header("Max-Forwards", "70")
    message.add_header("From", req.header("From"))
    message.add_header("To", to)
    message.add_header("Call-ID", req.call_id)
    message.add_header("CSeq", f"{req.cseq[0]} {method}")
    return message


class SipWsClient:
    """One browser-like SIP user agent on one WebSocket connection.

    ``user``/``password``/``domain`` give the AoR ``sip:user@domain`` and the
    digest credentials.  Messages that :meth:`expect` skips are kept and
    returned by later :meth:`recv`/:meth:`expect` calls (except 100 Trying,
    dropped unless asked for).
    """

    def __init__(self, url: str, user: str, password: str | None = None,
                 domain: str = "webvoice.test", *, timeout: float = 5.0,
                 connect: bool = True):
        self.url = url
        self.user = user
        self.password = password
        self.domain = domain
        self.timeout = timeout
        self.host = secrets.token_hex(6) + ".invalid"
        self.aor = f"sip:{user}@{domain}"
        self.contact_uri = f"sip:{user}@{self.host};transport=ws"
        self.from_tag = self.new_tag()
        self.reg_call_id = self.new_call_id()
        self._cseq = 0
        self._pending: list[SipMessage] = []
        self.ws = None
        self._stack = None
        if connect:
            self.connect()

    # --- connection ----------------------------------------------------
    def connect(self) -> SipWsClient:
        self.ws, self._stack = _ws_connect(self.url, self.timeout)
        if self.ws.subprotocol != "sip":
            raise AssertionError(f"server chose subprotocol {self.ws.subprotocol!r}")
        return self

    def close(self) -> None:
        if self._stack is not None:
            with contextlib.suppress(Exception):
                self._stack.close()
        self.ws = self._stack = None

    def __enter__(self) -> SipWsClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- ids -----------------------------------------------------------
    @staticmethod
    def new_branch() -> str:
        return "z9hG4bK" + secrets.token_hex(8)

    @staticmethod
    def new_tag() -> str:
        return secrets.token_hex(5)

    def new_call_id(self) -> str:
        return f"{secrets.token_hex(10)}@{self.host}"

    def next_cseq(self) -> int:
        self._cseq += 1
        return self._cseq

    def via(self, branch: str | None = None) -> str:
        return f"SIP/2.0/WS {self.host};branch={branch or self.new_branch()}"

    @property
    def contact(self) -> str:
        return f"<{self.contact_uri}>"

    # --- building ------------------------------------------------------
    def request(self, method: str, uri: str, *, to: str | None = None,
                to_tag: str | None = None, from_tag: str | None = None,
                call_id: str | None = None, cseq: int | None = None,
                headers=(), body: str = "", content_type: str | None = None,
                contact: bool | str = True) -> SipMessage:
        """Build an out-of-dialog request (not sent)."""
        to_hdr = f"<{to or uri}>" + (f";tag={to_tag}" if to_tag else "")
        msg = SipMessage(f"{method} {uri} SIP/2.0", [
            ("Via", self.via()),
            ("Max-Forwards", "70"),
            ("From", f"<{self.aor}>;tag={from_tag or self.from_tag}"),
            ("To", to_hdr),
            ("Call-ID", call_id or self.new_call_id()),
            ("CSeq", f"{cseq if cseq is not None else self.next_cseq()} {method}"),
        ], body)
        if contact and method not in ("ACK", "CANCEL"):
            msg.add_header("Contact", self.contact if contact is True else contact)
        for name, value in headers:
            msg.add_header(name, value)
        if content_type:
            msg.add_header("Content-Type", content_type)
        msg.add_header("User-Agent", "webvoice-test-sipws")
        return msg

    def reply(self, req: SipMessage, status: int, reason: str, *,
              to_tag: str | None = None, headers=(), body: str = "",
              content_type: str | None = None, contact: bool = False) -> SipMessage:
        """Build a response to ``req``: Via/From/To/Call-ID/CSeq/Record-Route copied."""
        msg = SipMessage(f"SIP/2.0 {status} {reason}", [], body)
        for name, value in req.headers:
            if _canon(name) in ("via", "from", "call-id", "cseq", "record-route"):
                msg.add_header(name, value)
            elif _canon(name) == "to":
                if to_tag and not tag_of(value):
                    value = f"{value};tag={to_tag}"
                msg.add_header(name, value)
        if contact:
            msg.add_header("Contact", self.contact)
        for name, value in headers:
            msg.add_header(name, value)
        if content_type:
            msg.add_header("Content-Type", content_type)
        return msg

    def ack_for(self, req: SipMessage, resp: SipMessage) -> SipMessage:
        """ACK for a non-2xx final response (same branch, hop-by-hop)."""
        return _same_transaction("ACK", req, to=resp.header("To"))

    def cancel_for(self, req: SipMessage) -> SipMessage:
        """CANCEL for a pending INVITE (same branch and CSeq number)."""
        return _same_transaction("CANCEL", req, to=req.header("To"))

    def authorize(self, req: SipMessage, challenge: SipMessage, *,
                  password: str | None = None, username: str | None = None,
                  send_ack: bool = True) -> SipMessage:
        """Answer a 401/407: ACK it (INVITE only) and build the retried request.

        The retry has a new branch, CSeq + 1 and an Authorization (401) or
        Proxy-Authorization (407) header.  It is returned, not sent.
        """
        if challenge.status == 401:
            ch_name, auth_name = "WWW-Authenticate", "Authorization"
        elif challenge.status == 407:
            ch_name, auth_name = "Proxy-Authenticate", "Proxy-Authorization"
        else:
            raise ValueError(f"not a challenge: {challenge.first_line}")
        if send_ack and req.method == "INVITE":
            self.send(self.ack_for(req, challenge))
        value = digest_authorization(
            challenge.header(ch_name), req.method, req.uri,
            username or self.user, password if password is not None else self.password)
        retry = req.copy()
        retry.set_header("Via", self.via())
        num = req.cseq[0] + 1
        self._cseq = max(self._cseq, num)
        retry.set_header("CSeq", f"{num} {req.method}")
        retry.remove_header("Authorization").remove_header("Proxy-Authorization")
        retry.add_header(auth_name, value)
        return retry

    # --- I/O -----------------------------------------------------------
    def send(self, msg: SipMessage | str) -> None:
        self.ws.send(str(msg))

    def recv(self, timeout: float | None = None) -> SipMessage:
        """Next SIP message (CRLF keep-alive frames are skipped).

        Raises TimeoutError when nothing arrives in time.
        """
        if self._pending:
            return self._pending.pop(0)
        return self._recv_new(self.timeout if timeout is None else timeout)

    def _recv_new(self, timeout: float) -> SipMessage:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.user}: no SIP message within {timeout}s")
            data = self.ws.recv(timeout=left)
            if isinstance(data, bytes):
                data = data.decode("utf-8")
            if data.strip() == "":
                continue  # RFC 5626 CRLF keep-alive answer
            return SipMessage.parse(data)

    def expect(self, method: str | None = None, status: int | None = None, *,
               call_id: str | None = None, cseq: int | None = None,
               final: bool = False, timeout: float | None = None) -> SipMessage:
        """Wait for a message matching all given criteria.

        ``method`` matches a request method (or, with ``status``/``final``,
        the CSeq method of a response); ``final`` waits for a response >= 200.
        Non-matching messages are kept for later calls, except unrequested
        100 Trying which is dropped.
        """
        want_response = status is not None or final

        def matches(m: SipMessage) -> bool:
            if want_response == m.is_request:
                return False
            if method and m.method != method:
                return False
            if status is not None and m.status != status:
                return False
            if final and m.status < 200:
                return False
            if call_id and m.call_id != call_id:
                return False
            if cseq is not None and m.cseq[0] != cseq:
                return False
            return True

        for i, m in enumerate(self._pending):
            if matches(m):
                return self._pending.pop(i)
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            try:
                m = self._recv_new(max(left, 0.001))
            except TimeoutError:
                raise TimeoutError(
                    f"{self.user}: nothing matching method={method} status={status} "
                    f"final={final} within {timeout}s; saw {seen}") from None
            if matches(m):
                return m
            seen.append(m.first_line)
            if not (m.status == 100 and status != 100):
                self._pending.append(m)

    def expect_response(self, req: SipMessage, status: int | None = None, *,
                        final: bool = True, timeout: float | None = None) -> SipMessage:
        """The (final, by default) response to ``req``, matched on Call-ID and CSeq."""
        resp = self.expect(req.method, status, call_id=req.call_id, cseq=req.cseq[0],
                           final=final and status is None, timeout=timeout)
        return resp

    def no_message(self, timeout: float = 0.3) -> None:
        """Assert that nothing arrives within ``timeout``."""
        if self._pending:
            raise AssertionError(f"{self.user}: unexpected {self._pending[0].first_line}")
        try:
            m = self._recv_new(timeout)
        except TimeoutError:
            return
        raise AssertionError(f"{self.user}: unexpected {m.first_line}")

    # --- registration --------------------------------------------------
    def register(self, expires: int | None = 600, *, contact: str | None = None,
                 headers=(), auth: bool = True) -> SipMessage:
        """REGISTER (answering one 401 if a password is set); final response.

        ``contact`` overrides the Contact value (e.g. ``"*"`` or one with
        ``+sip.instance``); ``expires=None`` sends no Expires header.
        """
        hdrs = list(headers)
        if expires is not None:
            hdrs.append(("Expires", str(expires)))
        req = self.request("REGISTER", f"sip:{self.domain}", to=self.aor,
                           call_id=self.reg_call_id, headers=hdrs,
                           contact=contact or True)
        self.send(req)
        resp = self.expect_response(req)
        if resp.status == 401 and auth and self.password is not None:
            req = self.authorize(req, resp)
            self.send(req)
            resp = self.expect_response(req)
        return resp

    def unregister(self) -> SipMessage:
        """Remove this client's own binding (Contact with Expires: 0)."""
        return self.register(0)


class SipUdpClient(SipWsClient):
    """The same user agent over plain UDP on 127.0.0.1 (for mixed-transport
    tests: a sipp-like peer).  ``url`` is ``(host, port)`` of the server's
    SIP port; Contact/Via carry the real local address, as non-browser UAs do.
    """

    def __init__(self, server: tuple[str, int], user: str, password: str | None = None,
                 domain: str = "webvoice.test", *, timeout: float = 5.0):
        import socket

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.server = server
        self.local_port = self.sock.getsockname()[1]
        super().__init__(f"udp:{server[0]}:{server[1]}", user, password, domain,
                         timeout=timeout, connect=False)
        self.host = f"127.0.0.1:{self.local_port}"
        self.contact_uri = f"sip:{user}@{self.host}"
        self.reg_call_id = self.new_call_id()

    def connect(self) -> SipUdpClient:
        return self

    def close(self) -> None:
        self.sock.close()

    @property
    def ws(self):  # "connected" marker used by fixtures
        return None if self.sock.fileno() < 0 else self.sock

    @ws.setter
    def ws(self, value) -> None:
        pass

    def via(self, branch: str | None = None) -> str:
        return f"SIP/2.0/UDP {self.host};branch={branch or self.new_branch()};rport"

    def send(self, msg: SipMessage | str) -> None:
        self.sock.sendto(str(msg).encode("utf-8"), self.server)

    def _recv_new(self, timeout: float) -> SipMessage:

        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.user}: no SIP message within {timeout}s")
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            if data.strip():
                return SipMessage.parse(data)


@dataclass
class Dialog:
    """The state needed to send in-dialog requests (RFC 3261 12.2.1.1).

    Build it with :meth:`from_uac` (caller, from the 2xx) or :meth:`from_uas`
    (callee, from the INVITE).
    """

    client: SipWsClient
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str
    remote_uri: str
    remote_target: str
    route_set: list[str] = field(default_factory=list)
    local_cseq: int = 1

    @classmethod
    def from_uac(cls, client: SipWsClient, invite: SipMessage, resp: SipMessage) -> Dialog:
        return cls(client, invite.call_id, invite.from_tag, resp.to_tag,
                   uri_of(invite.header("From")), uri_of(invite.header("To")),
                   resp.contact_uri, list(reversed(resp.header_values("Record-Route"))),
                   invite.cseq[0])

    @classmethod
    def from_uas(cls, client: SipWsClient, invite: SipMessage, local_tag: str) -> Dialog:
        return cls(client, invite.call_id, local_tag, invite.from_tag,
                   uri_of(invite.header("To")), uri_of(invite.header("From")),
                   invite.contact_uri, invite.header_values("Record-Route"), 0)

    def request(self, method: str, *, body: str = "", content_type: str | None = None,
                headers=(), cseq: int | None = None) -> SipMessage:
        """Build an in-dialog request (ACK reuses the INVITE CSeq via ``cseq``)."""
        if cseq is None:
            if method == "ACK":
                cseq = self.local_cseq
            else:
                self.local_cseq += 1
                cseq = self.local_cseq
        msg = SipMessage(f"{method} {self.remote_target} SIP/2.0", [
            ("Via", self.client.via()),
            ("Max-Forwards", "70"),
        ], body)
        for r in self.route_set:
            msg.add_header("Route", r)
        msg.add_header("From", f"<{self.local_uri}>;tag={self.local_tag}")
        msg.add_header("To", f"<{self.remote_uri}>;tag={self.remote_tag}")
        msg.add_header("Call-ID", self.call_id)
        msg.add_header("CSeq", f"{cseq} {method}")
        if method in ("INVITE", "UPDATE", "REFER", "SUBSCRIBE", "NOTIFY"):
            msg.add_header("Contact", self.client.contact)
        for name, value in headers:
            msg.add_header(name, value)
        if content_type:
            msg.add_header("Content-Type", content_type)
        return msg
