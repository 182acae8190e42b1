"""webvoice: a SIP/WebRTC softphone SDK in Python for the browser.

The protocol core lives in :mod:`webvoice.sip` (pure Python, sans-IO); the
browser glue in :mod:`webvoice.browser` (the only code touching ``js``); this
package's top level is the API of the JavaScript Web Voice SDK in Python names.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._config import make_settings
from ._connection import (
    ConnectedEvent,
    ConnectingEvent,
    DisconnectedEvent,
    ExpiringEvent,
    RegisteredEvent,
    RegistrationFailedEvent,
    UnregisteredEvent,
)
from ._errors import (
    MessageError,
    NotConnectedError,
    PresenceError,
    RegistrationError,
    TransferError,
    UnregisterError,
    WebVoiceError,
)
from ._instance import SipInstance
from ._lines import CallLine, LineNotFoundError
from ._media import (
    AudioDevice,
    DeviceNotFoundError,
    MediaBackend,
    MediaError,
    MediaPermissionError,
    NotSupportedError,
)
from ._transport import TransportFactory
from .sip import Cause, lazy_attributes

if TYPE_CHECKING:  # the lazily exported names below, for type checkers and IDEs
    from ._call_event_records import (
        CallConnectingEvent,
        ConfirmedEvent,
        DtmfEvent,
        EndEvent,
        HoldEvent,
        HoldState,
        IceCandidateEvent,
        Identity,
        MuteEvent,
        ProgressEvent,
        ReplacesEvent,
        SdpEvent,
    )
    from ._call_requests import IncomingCallRequest, ReferRequest
    from ._calls import Call
    from ._messaging import IncomingMessage
    from ._presence import LineEvent, PresenceEvent, VoicemailEvent, Watch

__version__ = "0.1.0"

__all__ = [
    "AudioDevice",
    "Call",
    "CallConnectingEvent",
    "CallLine",
    "Cause",
    "ConfirmedEvent",
    "ConnectedEvent",
    "ConnectingEvent",
    "DeviceNotFoundError",
    "DtmfEvent",
    "EndEvent",
    "ExpiringEvent",
    "HoldEvent",
    "HoldState",
    "IceCandidateEvent",
    "MuteEvent",
    "ProgressEvent",
    "ReferRequest",
    "RegistrationFailedEvent",
    "ReplacesEvent",
    "SdpEvent",
    "UnregisteredEvent",
    "Identity",
    "IncomingCallRequest",
    "IncomingMessage",
    "LineEvent",
    "LineNotFoundError",
    "MediaBackend",
    "MediaError",
    "MediaPermissionError",
    "MessageError",
    "NotSupportedError",
    "PresenceError",
    "PresenceEvent",
    "DisconnectedEvent",
    "NotConnectedError",
    "RegisteredEvent",
    "RegistrationError",
    "SipInstance",
    "TransferError",
    "UnregisterError",
    "VoicemailEvent",
    "Watch",
    "WebVoiceError",
    "__version__",
    "create_sip_instance",
]

# The call classes load on first use (see webvoice._preload): importing
# webvoice should cost a page no more than registering needs.
_LAZY = {name: "_call_event_records" for name in (
    "CallConnectingEvent", "ConfirmedEvent", "DtmfEvent", "EndEvent", "HoldEvent", "HoldState",
    "IceCandidateEvent", "Identity", "MuteEvent", "ProgressEvent", "ReplacesEvent", "SdpEvent")}
_LAZY.update({"Call": "_calls", "IncomingCallRequest": "_call_requests", "ReferRequest": "_call_requests"})

# Messages, presence, busy lamps and voicemail (beyond the JS SDK): their records load on first use too.
_LAZY.update({"IncomingMessage": "_messaging", "LineEvent": "_presence", "Watch": "_presence", "PresenceEvent": "_presence", "VoicemailEvent": "_presence"})

__getattr__, __dir__ = lazy_attributes(globals(), _LAZY)


# A library logs; the application decides what is shown. Without debug=True
# nothing of webvoice's reaches the console.
logging.getLogger("webvoice").addHandler(logging.NullHandler())


def create_sip_instance(
    *,
    sip_login: str,
    sip_password: str,
    ws_url: str | None = None,
    realm: str | None = None,
    ssl: bool = False,
    max_lines: int | None = None,
    debug: bool = False,
    stun_servers: list[str] | None = None,
    ua_config: Mapping[str, Any] | None = None,
    call_options: Mapping[str, Any] | None = None,
    line_events: Mapping[str, Callable[..., Any]] | None = None,
    transport_factory: TransportFactory | None = None,
    media_backend: MediaBackend | None = None,
) -> SipInstance:
    """Create a SIP account instance (JS: ``createSipInstance``). Nothing is sent yet.

    Every argument is checked now: a bad one raises ``ValueError``/``TypeError``
    naming it. Without ``ws_url`` the server is ``wss://<realm>`` (``ws://``
    when ``ssl`` is False). ``transport_factory`` replaces the browser's
    WebSocket (for running outside a browser, e.g. tests). ``media_backend``
    chooses how media is handled: by default the page's WebRTC directly, or,
    in a Web Worker, ``webvoice.browser.BridgedMediaBackend()`` talking to the
    page's media agent (pass one with its own ``channel_name`` to pair a
    worker with one page's agent).
    """
    settings = make_settings(
        sip_login=sip_login, sip_password=sip_password, ws_url=ws_url, realm=realm, ssl=ssl,
        max_lines=max_lines, debug=debug, stun_servers=stun_servers, ua_config=ua_config,
        call_options=call_options, line_events=line_events,
    )
    if transport_factory is None:
        if sys.platform != "emscripten":
            raise RuntimeError("outside a browser, pass transport_factory= (webvoice runs in Pyodide)")
        from .browser import WebSocketTransport

        transport_factory = WebSocketTransport
    return SipInstance(settings, transport_factory, media_backend)
