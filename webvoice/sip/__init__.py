"""The sans-IO SIP core of webvoice: parsing, building, auth, transactions, dialogs.

Pure Python and standard library only: no I/O, no ``js``, no clock of its own.
Bytes and events go in, bytes and events come out; time comes in as ``now``.

Importing this package is cheap: each name below is imported from its module
on first use (PEP 562), so a page that only registers never pays for the call
machinery's modules (in Pyodide every module's import is counted in the
page's start-up).
"""

from __future__ import annotations

import sys
from typing import Any

from .util._lazy import lazy_attributes

# Private module (under a layer's folder) -> the public names it defines.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "auth._client": ("AuthenticationError", "DigestClient"),
    "auth._digest": ("redact_authorization", "verify_digest"),
    "auth._values": ("AuthParseError", "Challenge", "Credentials", "parse_challenges", "parse_credentials"),
    "dialog._dialog": ("Dialog",),
    "dialog._forking": ("InviteDialogs",),
    "dialog._state": ("DialogId", "DialogState", "RequestRejected"),
    "dialog._store": ("DialogStore",),
    "syntax._causes": ("Cause", "cause_for_status"),
    "syntax._errors": ("SipParseError",),
    "syntax._headers": ("canonical_name", "CSeq", "Headers", "MediaType", "NameAddr", "STAR", "Via"),
    "syntax._message": ("build_request", "Message", "REASON_PHRASES", "Request", "Response"),
    "syntax._parser": ("MessageReader", "parse_message", "ParserLimits"),
    "syntax._uri": ("AbsoluteUri", "Params", "parse_uri", "SipUri", "TelUri", "Uri"),
    "transaction._events": (
        "AckReceived",
        "CancelReceived",
        "MessageDropped",
        "RequestReceived",
        "ResponseReceived",
        "StrayResponse",
        "TransactionTerminated",
        "TransactionTimeout",
        "TransportFailed",
    ),
    "transaction._layer": ("TransactionLayer",),
    "transaction._timers": ("TimerConfig",),
    "transaction._transaction": ("build_ack", "build_cancel", "TransactionStateError"),
    "ua._registration": ("Registered", "Registration", "RegistrationExpiring", "RegistrationFailed", "Unregistered"),
    "ua._ua": ("UaConfig", "UserAgent"),
    "ua._uas": ("check_request", "response_for_parse_error", "SERVED_METHODS", "UasPolicy", "without_peer_controls"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

# --- What the driver (webvoice/*.py, webvoice/browser/) uses ------------------------------------
# The driver imports only names exported here, never a private webvoice.sip._x
# module (tests/driver/test_boundary.py checks it). The call machinery and the
# event records are exported like the rest, loaded on first use. A name given
# as "module:attribute" is exported under a new name (several modules call
# their media type CONTENT_TYPE).
_DRIVER_EXPORTS: dict[str, tuple[str, ...]] = {
    "syntax._abnf": ("CONTROL_CHARS",),
    "util._backoff": ("Backoff", "ReconnectPolicy"),
    "session._call": ("CallSession", "CallState"),
    "session._events": (
        "CallConfirmed",
        "CallEnded",
        "CallFailed",
        "CallProgress",
        "DtmfReceived",
        "IncomingCall",
        "InfoReceived",
        "ReferProgress",
        "ReferReceived",
        "RemoteAnswer",
        "RemoteHold",
        "RemoteOffer",
        "ReofferAnswered",
        "ReofferFailed",
    ),
    "event._dialog_info": ("DIALOG_INFO_CONTENT_TYPE=CONTENT_TYPE", "LineState", "parse_dialog_info"),
    "util._lazy": ("lazy_attributes",),
    "ua._message_method": ("MessageDelivered", "MessageFailed", "MessageReceived", "message_body"),
    "event._mwi": ("MESSAGE_SUMMARY_CONTENT_TYPE=CONTENT_TYPE", "parse_message_summary"),
    "event._pidf": ("PIDF_CONTENT_TYPE=CONTENT_TYPE", "build_pidf", "parse_pidf"),
    "event._publication": ("PublicationDone", "PublicationFailed"),
    "util._record": ("record",),
    "ua._registration": ("UnregisterFailed",),
    "event._subscription": ("SubscriptionEnded", "SubscriptionNotified"),
    "ua._ua": ("MessageRefused", "parse_replaces=_parse_replaces"),
}
for _module, _names in _DRIVER_EXPORTS.items():
    for _name in _names:
        _public, _, _attribute = _name.partition("=")
        _MODULE_OF[_public] = f"{_module}:{_attribute}" if _attribute else _module
del _module, _names, _name, _public, _attribute


def loaded_export(name: str) -> Any:
    """Exported ``name`` if the module defining it is already imported, else None.

    Never imports: the driver asks "could this event be a message event?"
    without loading the message machinery for a page that never used it.
    """
    module, _, attribute = _MODULE_OF[name].partition(":")
    loaded = sys.modules.get(f"{__name__}.{module}")
    return None if loaded is None else getattr(loaded, attribute or name)


#: The core's call machinery, in dependency order: what webvoice._preload
#: imports one module per event-loop turn once a page is registered.
CALL_MODULES: tuple[str, ...] = tuple(f"{__name__}.{module}" for module in (
    "session._events", "syntax._sdp", "dialog._dialog", "dialog._forking", "session._common", "session._timer",
    "session._info", "session._requests", "session._reoffer", "session._refer", "session._outgoing", "session._call",
))


# --- end of the driver's exports --------------------------------------------------------------

__all__ = sorted([*_MODULE_OF, "CALL_MODULES", "loaded_export"], key=str.lower)


__getattr__, __dir__ = lazy_attributes(globals(), _MODULE_OF)
