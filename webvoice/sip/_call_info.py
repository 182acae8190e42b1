"""INFO in an established call (RFC 6086), mostly DTMF relay, for :class:`~._call.CallSession`.

A mixin, because INFO is its own small protocol on top of the dialog: we send
an INFO of any type the application gives, and take the peer's, turning the
two DTMF bodies seen in the wild (``application/dtmf-relay``, the
``Signal=``/``Duration=`` form, and ``application/dtmf``, a bare digit) into
:class:`~._call_events.DtmfReceived` and anything else into
:class:`~._call_events.InfoReceived`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ._call_common import CallState
from ._call_events import DtmfReceived, InfoReceived

if TYPE_CHECKING:
    from ._message import Request
    from ._transaction import ServerTransaction

__all__ = ["InfoMethods"]

_DTMF_SIGNAL = re.compile(r"(?im)^\s*signal\s*=\s*([0-9A-D*#])\s*$")
_DTMF_DURATION = re.compile(r"(?im)^\s*duration\s*=\s*([0-9]{1,6})\s*$")


class InfoMethods:
    """INFO both ways, DTMF relay (mixed into CallSession)."""

    def send_info(self, content_type: str, body: bytes, now: float) -> None:
        """An INFO in the dialog (DTMF relay)."""
        if self.state is not CallState.ESTABLISHED:
            raise RuntimeError(f"INFO needs an established call; this one is {self.state.value}")
        request = self.dialog.create_request("INFO", via=self.ctx.new_via(), body=body, content_type=content_type)
        self._send_tracked(request, now)

    def _on_info(self, tx: ServerTransaction, request: Request, now: float) -> None:
        content_type = request.content_type.mime if request.content_type else None
        text = request.body.decode("utf-8", "replace")
        if content_type == "application/dtmf-relay":
            signal, duration = _DTMF_SIGNAL.search(text), _DTMF_DURATION.search(text)
            if signal is None:
                self.ctx.send_response(tx, request.response(400, "Missing Signal"), now)
                return
            self.ctx.send_response(tx, request.response(200), now)
            self.ctx.emit(DtmfReceived(self, signal.group(1).upper(), int(duration.group(1)) if duration else 100))
        elif content_type == "application/dtmf" and re.fullmatch(r"\s*[0-9A-Da-d*#]\s*", text):
            self.ctx.send_response(tx, request.response(200), now)
            self.ctx.emit(DtmfReceived(self, text.strip().upper(), 100))
        else:
            self.ctx.send_response(tx, request.response(200), now)
            self.ctx.emit(InfoReceived(self, content_type, request.body))
