"""Instant messages (RFC 3428): MESSAGE sent and received, outside or inside a dialog.

A MESSAGE is a lone non-INVITE transaction: no dialog is made (RFC 3428 4), so
sending one is a request, perhaps a digest answer to the proxy's 407, and a
final response. :class:`OutgoingMessage` owns that exchange and reports it as
:class:`MessageDelivered` or :class:`MessageFailed`; :func:`receive_message`
checks an incoming MESSAGE (size, content type), answers it and reports
:class:`MessageReceived`. Inside a call, the same two are used with the call's
dialog (RFC 3428 allows MESSAGE within a dialog, with no effect on it).

The bodies are what a chat needs: text (``text/plain``, ``text/html``) or
``application/json``, at most :data:`MAX_BODY` bytes. Over a WebSocket the
1300-byte limit of RFC 3428 for unreliable transports does not apply; the
limit here keeps a message well inside the 16 KiB a proxy such as Kamailio
reads per TCP message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from ..auth._client import DigestClient
from ..auth._retry import ChallengeRetry, resend_with
from ..syntax._abnf import CONTROL_CHARS
from ..syntax._causes import Cause, cause_for_status
from ..syntax._header_values import HeaderValue, MediaType, NameAddr, Via
from ..syntax._header_parsers import parse_header_values
from ..syntax._message import Request, Response, build_request
from ..syntax._uri import Uri
from ..util._record import record
from ..util._regex import compile_regex

if TYPE_CHECKING:
    from ..dialog._dialog import Dialog
    from ..transaction._transaction import (
        ClientTransaction,
        ServerTransaction,
        TransactionUser,
    )

__all__ = [
    "MAX_BODY",
    "MESSAGE_TYPES",
    "MessageContext",
    "MessageDelivered",
    "MessageFailed",
    "MessageReceived",
    "OutgoingMessage",
    "message_body",
    "receive_message",
]

#: Largest body sent or accepted, in bytes (after UTF-8 encoding). Larger
#: incoming ones are answered 413 (RFC 3428 7: a UAS may refuse a size).
MAX_BODY = 8192

#: Body types sent and accepted; another incoming type is answered 415 with
#: ``Accept`` listing these (RFC 3428 7, RFC 3261 21.4.13).
MESSAGE_TYPES = frozenset({"text/plain", "text/html", "application/json"})

# Text may hold line breaks and tabs; other C0 controls and DEL have no place
# in a chat message and are refused when sending (NUL breaks many displays).
_BAD_TEXT = compile_regex(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class MessageContext(Protocol):
    """What messages need from the UA core (the call's context has the same)."""

    @property
    def auth(self) -> DigestClient: ...
    @property
    def user_agent(self) -> str: ...

    def new_via(self) -> Via: ...
    def new_tag(self) -> str: ...
    def new_call_id(self) -> str: ...
    def send_request(self, request: Request, now: float, owner: TransactionUser) -> ClientTransaction | None: ...
    def send_response(self, transaction: ServerTransaction, response: Response, now: float) -> None: ...
    def emit(self, event: object) -> None: ...


@record
class MessageReceived:
    """A MESSAGE we accepted (200 sent). ``session`` is the call it came in, or None."""

    sender: NameAddr
    body: bytes
    content_type: str
    text: str
    request: Request
    session: object = None


@record
class MessageDelivered:
    """Our MESSAGE got a 2xx (RFC 3428 says: accepted, not necessarily read)."""

    message: "OutgoingMessage"
    status_code: int


@record
class MessageFailed:
    """Our MESSAGE was refused, or got no answer (``status_code`` None)."""

    message: "OutgoingMessage"
    status_code: int | None
    reason: str | None
    cause: str


def message_body(text: str, content_type: str) -> tuple[bytes, MediaType]:
    """The wire body and Content-Type for ``text``; raises before anything is sent.

    ``content_type`` must be one of :data:`MESSAGE_TYPES` (parameters allowed,
    no CR/LF); text types get ``charset=UTF-8`` when they name none, and only
    UTF-8 is sent.
    """
    if not isinstance(text, str):
        raise TypeError(f"a message's text is a str, not {type(text).__name__}")
    if not isinstance(content_type, str):
        raise TypeError(f"content_type is a str, not {type(content_type).__name__}")
    if CONTROL_CHARS.search(content_type):
        raise ValueError(f"content_type contains a control character (CR, LF or similar): {content_type!r}")
    try:
        (media,) = parse_header_values("Content-Type", content_type)
    except ValueError:
        raise ValueError(f"content_type {content_type!r} is not a media type such as 'text/plain'") from None
    assert isinstance(media, MediaType), "Content-Type values parse to MediaType"
    if media.mime not in MESSAGE_TYPES:
        raise ValueError(f"content_type {media.mime!r} is not sent; one of {', '.join(sorted(MESSAGE_TYPES))}")
    charset = media.param("charset")
    if charset is not None and charset.lower() not in ("utf-8", "utf8"):
        raise ValueError(f"only UTF-8 text is sent, not charset {charset!r}")
    if media.type.lower() == "text" and charset is None:
        media = MediaType(media.type, media.subtype, media.params.set("charset", "UTF-8"))
    bad = _BAD_TEXT.search(text)
    if bad:
        raise ValueError(f"the message contains the control character {bad.group()!r} (only tab and line breaks)")
    body = text.encode("utf-8")
    if not body:
        raise ValueError("the message is empty")
    if len(body) > MAX_BODY:
        raise ValueError(f"the message is {len(body)} bytes in UTF-8; at most {MAX_BODY} are sent")
    return body, media


class OutgoingMessage:
    """One MESSAGE of ours until its final response: the request, digest answers, the outcome.

    The UA core routes this message's transaction events here (as it does a
    call's): :meth:`receive_response` and :meth:`transaction_failed`.
    """

    def __init__(self, ctx: MessageContext, request: Request, dialog: Dialog | None = None) -> None:
        self.ctx = ctx
        self.request = request
        self.dialog = dialog
        self.done = False
        self._challenges = ChallengeRetry(ctx.auth)

    def __repr__(self) -> str:
        return f"<OutgoingMessage to {self.request.to.uri if self.request.to else '?'} {'done' if self.done else 'pending'}>"

    @classmethod
    def out_of_dialog(cls, ctx: MessageContext, *, from_: NameAddr, target: Uri, body: bytes,
                      content_type: MediaType, now: float,
                      headers: tuple[tuple[str, HeaderValue], ...] = ()) -> "OutgoingMessage":
        """A MESSAGE to ``target`` with its own Call-ID (RFC 3428 4: no dialog)."""
        request = build_request(
            "MESSAGE", target, from_=from_.with_tag(ctx.new_tag()), to=NameAddr(target), call_id=ctx.new_call_id(),
            cseq=1, via=ctx.new_via(), headers=[("User-Agent", ctx.user_agent), *headers],
            body=body, content_type=content_type)
        message = cls(ctx, request)
        message._send(request, now)
        return message

    @classmethod
    def in_dialog(cls, ctx: MessageContext, dialog: Dialog, *, body: bytes, content_type: MediaType,
                  now: float) -> "OutgoingMessage":
        """A MESSAGE in an established call's dialog (next CSeq, the dialog's route)."""
        request = dialog.create_request("MESSAGE", via=ctx.new_via(), body=body, content_type=content_type,
                                        headers=[("User-Agent", ctx.user_agent)])
        message = cls(ctx, request, dialog)
        message._send(request, now)
        return message

    # --- from the UA core ------------------------------------------------------------------

    def receive_response(self, transaction: ClientTransaction, response: Response, now: float) -> None:
        code = response.status_code
        if code < 200 or self.done:
            return
        if code in (401, 407) and self._answer_challenge(response, now):
            return
        if code < 300:
            self._finish(MessageDelivered(self, code))
        else:
            self._finish(MessageFailed(self, code, response.reason, cause_for_status(code)))

    def transaction_failed(self, transaction: ClientTransaction, now: float, *, timeout: bool) -> None:
        if not self.done:
            self._finish(MessageFailed(self, 408 if timeout else None,
                                       "no answer" if timeout else "connection lost",
                                       Cause.REQUEST_TIMEOUT if timeout else Cause.CONNECTION_ERROR))

    # --- inside ------------------------------------------------------------------------------

    def _send(self, request: Request, now: float) -> None:
        self.request = request
        if self.ctx.send_request(request, now, self) is None:
            self._finish(MessageFailed(self, None, "not connected to the SIP server", Cause.CONNECTION_ERROR))

    def _answer_challenge(self, response: Response, now: float) -> bool:
        request, dialog = self.request, self.dialog
        fields = self._challenges.answer(request, response)
        if fields is None:
            return False
        if dialog is None:
            self._send(resend_with(request, fields, self.ctx.new_via()), now)
        else:  # in the dialog: the dialog numbers it (RFC 3261 12.2.1.1)
            self._send(dialog.create_request(
                "MESSAGE", via=self.ctx.new_via(), body=request.body, content_type=request.content_type,
                headers=[("User-Agent", self.ctx.user_agent), *((f.name, f.value) for f in fields)]), now)
        return True

    def _finish(self, event: object) -> None:
        self.done = True
        self.ctx.emit(event)


def receive_message(ctx: MessageContext, transaction: ServerTransaction, request: Request, now: float,
                    *, session: object = None, to_tag: str | None = None) -> None:
    """Answer an incoming MESSAGE and report it (RFC 3428 7).

    413 when the body is over :data:`MAX_BODY`, 415 (with ``Accept``) for a
    type we do not show, 400 without a body; else 200 and
    :class:`MessageReceived`. Text is decoded as UTF-8 (or the charset named,
    if Python knows it), with undecodable bytes replaced: a display never
    fails on a stranger's bytes.
    """
    body = request.body
    media = request.content_type
    mime = media.mime if media is not None else None
    tag: dict[str, Any] = {"to_tag": to_tag or ctx.new_tag()}  # used only when To has none (out of dialog)
    if len(body) > MAX_BODY:
        ctx.send_response(transaction, request.response(413, **tag), now)
        return
    if mime not in MESSAGE_TYPES:
        ctx.send_response(transaction, request.response(
            415, headers=[("Accept", ", ".join(sorted(MESSAGE_TYPES)))], **tag), now)
        return
    if not body:
        ctx.send_response(transaction, request.response(400, "Empty MESSAGE", **tag), now)
        return
    charset = (media.param("charset") or "utf-8") if media is not None else "utf-8"
    try:
        text = body.decode(charset, "replace")
    except LookupError:
        text = body.decode("utf-8", "replace")
    ctx.send_response(transaction, request.response(200, **tag), now)
    sender = request.from_ if request.from_ is not None else NameAddr(request.uri)
    ctx.emit(MessageReceived(sender, body, mime, text, request, session))
