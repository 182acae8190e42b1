"""Lines: the calls of one instance as a call-centre agent sees them.

Each call occupies a line; one line at a time is *active*, the others are held
or ringing. A line id is the lowest free number ("1", "2", ...), as a person
reading "line 1 / line 2" expects: it is taken when a call starts (outgoing, or
an incoming one that rings) and free again once that call has ended, so a call
that failed to start uses up no number. This module keeps the
registry and fires the JS SDK's line events, each exactly once per change and
in order: added, changed..., removed; and active-line changes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._handlers import call_handler
from .sip import SipUri, TelUri, Uri, parse_uri, record

if TYPE_CHECKING:
    from ._calls import Call

__all__ = ["CallLine", "LineNotFoundError", "LineRegistry", "same_party"]

log = logging.getLogger("webvoice")


class LineNotFoundError(LookupError):
    """No line has the id asked for."""


@record
class CallLine:
    """A snapshot of a line (JS: ``{id, target, direction, status, isHeld}``; ``media_state``,
    beyond the JS SDK, is the call's :meth:`~webvoice.Call.get_media_state`)."""

    id: str
    target: str
    direction: str
    status: str
    is_held: bool
    media_state: str = "new"


def _party(uri: Uri) -> tuple[str, str]:
    if isinstance(uri, SipUri):
        return ((uri.user_text or "").lower(), uri.host.lower())
    if isinstance(uri, TelUri):
        return (uri.digits, "")
    return (str(uri).lower(), "")


def same_party(a: Uri, b: Uri) -> bool:
    """Whether two targets name the same party: user and host, whatever the
    scheme, port or parameters (``sip:bob@x``, ``sip:bob@x;transport=ws``)."""
    pa, pb = _party(a), _party(b)
    if isinstance(a, TelUri) or isinstance(b, TelUri):
        return pa[0] == pb[0]
    return pa == pb


class LineRegistry:
    """The lines of an instance and the active one."""

    def __init__(self, handlers: Mapping[str, Callable[..., Any]]) -> None:
        self._handlers = dict(handlers)
        self._calls: dict[str, Call] = {}
        self._snapshots: dict[str, CallLine] = {}
        self.active: str | None = None

    def new_id(self) -> str:
        """The lowest number no live line holds (take it with :meth:`add` at once)."""
        n = 1
        while str(n) in self._calls:
            n += 1
        return str(n)

    def __len__(self) -> int:
        return len(self._calls)

    def __contains__(self, line_id: object) -> bool:
        return line_id in self._calls

    def calls(self) -> list[Call]:
        return list(self._calls.values())

    def get(self, line_id: str) -> Call:
        if not isinstance(line_id, str):
            line_id = str(line_id)
        call = self._calls.get(line_id)
        if call is None:
            raise LineNotFoundError(f"no line {line_id!r}; lines: {', '.join(self._calls) or 'none'}")
        return call

    def snapshot(self, call: Call) -> CallLine:
        remote = call.get_remote_identity()
        return CallLine(call.get_line_id(), remote.uri if remote else "", call.get_direction(),
                        call.get_status(), call.is_on_hold().local,
                        call.get_media_state())

    def lines(self) -> list[CallLine]:
        return [self.snapshot(call) for call in self._calls.values()]

    def add(self, call: Call) -> None:
        line_id = call.get_line_id()
        if line_id in self._calls:
            raise RuntimeError(f"line {line_id} is taken")  # new_id() and add() must not be apart
        self._calls[line_id] = call
        self._snapshots[line_id] = self.snapshot(call)
        self._fire("on_line_added", self._snapshots[line_id])

    def holds(self, call: Call) -> bool:
        """Whether ``call`` is on its line (not ended and replaced by a newer call)."""
        return self._calls.get(call.get_line_id()) is call

    def changed(self, call: Call) -> None:
        line_id = call.get_line_id()
        if not self.holds(call):  # ended: its number may already be another call's
            return
        now = self.snapshot(call)
        if now != self._snapshots.get(line_id):
            self._snapshots[line_id] = now
            self._fire("on_line_changed", now)

    def remove(self, call: Call) -> None:
        line_id = call.get_line_id()
        if self._calls.get(line_id) is not call:
            return
        del self._calls[line_id]
        self._snapshots.pop(line_id, None)
        # No active line while on_line_removed runs: its handler may well ask for it.
        was_active = self.active == line_id
        if was_active:
            self.active = None
        self._fire("on_line_removed", line_id)
        if was_active and self.active is None:
            self._fire("on_active_line_changed", None)

    def set_active(self, line_id: str | None) -> None:
        if line_id != self.active:
            self.active = line_id
            self._fire("on_active_line_changed", line_id)

    def find(self, target: Uri) -> CallLine | None:
        for call in self._calls.values():
            remote = call.get_remote_identity()
            if remote is None:
                continue
            try:
                uri = parse_uri(remote.uri)
            except ValueError:
                continue
            if same_party(uri, target):
                return self.snapshot(call)
        return None

    def _fire(self, name: str, *args: object) -> None:
        handler = self._handlers.get(name)
        if handler is not None:
            call_handler(handler, *args, what=f"the {name!r} line handler")
