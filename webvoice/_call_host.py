"""What a :class:`~webvoice._calls.Call` needs from the instance that placed or received it.

A call asks its instance to run the core, to open media, to send the INVITE,
to follow a transfer and to update the lines; this protocol names exactly
that, so the call module depends on an interface below it instead of on
:class:`~webvoice._instance.SipInstance` above it (no import circle, and a
test may host a call on anything that provides these). It is generic in the
call type ``C`` (``CallHost[Call]``) so that it need not import the call
module either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ._config import InstanceSettings
from ._media import MediaEventHandler, MediaSession

if TYPE_CHECKING:
    from .sip import CallSession, ReferReceived, SipUri, Uri

__all__ = ["CallHost"]

C = TypeVar("C")


class CallHost(Protocol[C]):
    """The instance side of a call (implemented by :class:`~webvoice._instance.SipInstance`)."""

    _settings: InstanceSettings

    def _run_core(self, action: Callable[[float], object]) -> None:
        """Run ``action(now)`` on the core, then send and deliver what it produced."""

    def _aor(self) -> SipUri: ...

    def _display_name(self) -> str | None: ...

    def _start_core_call(self, call: C, target: Uri, offer: str) -> CallSession:
        """Send the INVITE for ``call``."""
        ...

    async def _open_media(self, line_id: str, on_event: MediaEventHandler) -> MediaSession:
        """A media session for the call on ``line_id``."""
        ...

    async def _accept_incoming(self, call: C, offer: str | None) -> None: ...

    async def _follow_refer(self, referred: C, refer_to: Uri, events: Mapping[str, Any],
                            request: Any = None) -> C | None: ...

    def _refer_received(self, call: C, event: ReferReceived) -> None:
        """The peer of ``call`` asks us to call someone (RFC 3515)."""

    async def _send_message_in_call(self, call: C, text: str, content_type: str) -> int: ...

    def _line_changed(self, call: C) -> None: ...

    def _is_current(self, call: C) -> bool: ...

    def _call_finished(self, call: C) -> None: ...
