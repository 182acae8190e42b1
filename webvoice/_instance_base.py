"""What :class:`~webvoice._instance.SipInstance`'s parts share, declared once.

SipInstance is assembled from mixins, one per area of the API (the
connection, calls and lines, transfers, audio devices, messages, presence),
each in its own module. They all use the instance's core, connection, clock and lines; this base class
names those once, for readers and for the type checker, so that no mixin
reaches for an attribute nobody declared. At run time it holds nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._config import InstanceSettings
from ._lines import LineRegistry
from ._media import MediaBackend
from .sip import UserAgent

if TYPE_CHECKING:
    from ._calls import Call
    from .sip import CallSession, SipUri, Uri

__all__ = ["InstanceBase"]


class InstanceBase:
    """The state and the core entry points of a SipInstance (see the module doc)."""

    _settings: InstanceSettings
    _ua: UserAgent
    _connected: bool
    _lines: LineRegistry
    _calls: dict[CallSession, Call]

    if TYPE_CHECKING:  # defined by SipInstance and CallMethods
        @property
        def _loop(self) -> asyncio.AbstractEventLoop: ...

        def _now(self) -> float: ...

        def _pump(self) -> None: ...

        async def connect(self) -> None: ...

        def _run_core(self, action: Callable[[float], object]) -> None: ...

        def _aor(self) -> SipUri: ...

        def _display_name(self) -> str | None: ...

        def _media(self) -> MediaBackend: ...

        async def _place_call(self, uri: Uri, events: Mapping[str, Any] | None,
                              extra_headers: tuple[tuple[str, str], ...] = ()) -> Call: ...

        async def _follow_refer(self, referred: Call, refer_to: Uri, events: Mapping[str, Any] | None,
                                request: Any = None) -> Call | None: ...

        async def _send_message_in_call(self, call: Call, text: str, content_type: str) -> int: ...
