"""The sans-IO SIP core of webvoice: parsing, building, auth, transactions, dialogs.

Pure Python and standard library only: no I/O, no ``js``, no clock of its own.
Bytes and events go in, bytes and events come out; time comes in as ``now``.

The modules are private and live in one folder per layer, bottom to top:
``util`` (no protocol: records, lazy exports, backoff), ``syntax`` (grammar,
URIs, headers, messages, parser, SDP), ``auth`` (digest), ``transaction``
(RFC 3261 17), ``dialog`` (RFC 3261 12, forks), ``event`` (RFC 6665/3903),
``session`` (one call, made of parts) and ``ua`` (the user agent core).
Imports point down that list only (``tests/sip/test_layers.py``). The names
below are the public ones.

Importing this package is cheap: each name below is imported from its module
on first use (PEP 562), so a page that only registers never pays for the call
machinery's modules (in Pyodide every module's import is counted in the
page's start-up).
"""

from __future__ import annotations

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
    "syntax._header_values": ("CSeq", "MediaType", "NameAddr", "STAR", "Via"),
    "syntax._headers": ("canonical_name", "Headers"),
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
    "ua._config": ("UaConfig",),
    "ua._ua": ("UserAgent",),
    "ua._uas": ("check_request", "response_for_parse_error", "SERVED_METHODS", "UasPolicy", "without_peer_controls"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF, key=str.lower)


__getattr__, __dir__ = lazy_attributes(globals(), _MODULE_OF)
