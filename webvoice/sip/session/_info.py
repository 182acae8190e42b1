"""INFO in an established call (RFC 6086), mostly DTMF relay: a part of :class:`~._call.CallSession`.

INFO is its own small protocol on top of the dialog: we send an INFO of any
type the application gives, and take the peer's, turning the two DTMF bodies
seen in the wild (``application/dtmf-relay``, the
``Signal=``/``Duration=`` form, and ``application/dtmf``, a bare digit) into
:class:`~._events.DtmfReceived` and anything else into
:class:`~._events.InfoReceived`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..syntax import _abnf
from ..syntax._message import Request
from ._events import DtmfReceived, InfoReceived
from ._state import CallState
from ..util._regex import compile_regex

if TYPE_CHECKING:
    from ..transaction._transaction import ServerTransaction
    from ._call import CallSession

__all__ = ["Info", "parse_dtmf", "parse_dtmf_relay"]

# One line of an application/dtmf-relay body: ``Signal=5``, ``Duration=160``.
# Matched line by line, never across lines: a multi-line pattern such as
# ``(?m)^\s*signal`` retries its ``\s*`` from every line start over every
# following blank line, quadratic in a body of newlines.
_DTMF_LINE = compile_regex(r"[ \t]*+([A-Za-z]++)[ \t]*+=[ \t]*+([^ \t]*+)[ \t]*+")
_DTMF_TONE = compile_regex(r"[0-9A-Da-d*#]")
_DTMF_DIGIT = compile_regex(r"[ \t\r\n]*+([0-9A-Da-d*#])[ \t\r\n]*+")
#: Durations (ms) a peer may announce: RFC 4733 events last at most a few
#: seconds in practice; longer values are clamped, not trusted.
DTMF_DEFAULT_DURATION = 100
DTMF_MAX_DURATION = 8000


def parse_dtmf_relay(body: bytes) -> tuple[str, int] | None:
    """(tone, duration in ms) of an ``application/dtmf-relay`` body, None without
    a valid Signal. A missing or unreadable Duration gives the default; a
    larger one is clamped to :data:`DTMF_MAX_DURATION`. Linear in the body."""
    signal, duration = None, None
    for line in body.decode("utf-8", "replace").splitlines():
        m = _DTMF_LINE.fullmatch(line)
        if m is None:
            continue
        name, value = m.group(1).lower(), m.group(2)
        if name == "signal" and signal is None:
            if not _DTMF_TONE.fullmatch(value):
                return None
            signal = value.upper()
        elif name == "duration" and duration is None and _abnf.DIGITS.fullmatch(value):
            duration = DTMF_MAX_DURATION if len(value) > 6 else min(int(value), DTMF_MAX_DURATION)
    if signal is None:
        return None
    return signal, DTMF_DEFAULT_DURATION if duration is None else duration


def parse_dtmf(body: bytes) -> str | None:
    """The tone of an ``application/dtmf`` body (one digit, white space around)."""
    m = _DTMF_DIGIT.fullmatch(body.decode("utf-8", "replace"))
    return m.group(1).upper() if m else None


class Info:
    """INFO both ways in one call, DTMF relay included. It keeps no state of
    its own: an INFO we send is followed by the in-dialog requests part, and
    one we receive is answered at once."""

    def __init__(self, session: CallSession) -> None:
        self._session = session
        self._ctx = session.ctx

    def send(self, content_type: str, body: bytes, now: float) -> None:
        """An INFO in the dialog (DTMF relay)."""
        session = self._session
        if session.state is not CallState.ESTABLISHED or session.dialog is None:
            raise RuntimeError(f"INFO needs an established call; this one is {session.state.value}")
        request = session.dialog.create_request("INFO", via=self._ctx.new_via(), body=body, content_type=content_type)
        session.requests.send(request, now)

    def receive(self, transaction: ServerTransaction, request: Request, now: float) -> None:
        """The peer's INFO: 200 and DtmfReceived or InfoReceived; 400 for a dtmf-relay without a Signal."""
        session, ctx = self._session, self._ctx
        content_type = request.content_type.mime if request.content_type else None
        if content_type == "application/dtmf-relay":
            relay = parse_dtmf_relay(request.body)
            if relay is None:
                ctx.send_response(transaction, request.response(400, "Missing Signal"), now)
                return
            ctx.send_response(transaction, request.response(200), now)
            ctx.emit(DtmfReceived(session, *relay))
        elif content_type == "application/dtmf" and (tone := parse_dtmf(request.body)) is not None:
            ctx.send_response(transaction, request.response(200), now)
            ctx.emit(DtmfReceived(session, tone, DTMF_DEFAULT_DURATION))
        else:
            ctx.send_response(transaction, request.response(200), now)
            ctx.emit(InfoReceived(session, content_type, request.body))
