"""The sans-IO SIP core of webvoice: parsing, building, auth, transactions, dialogs.

Pure Python and standard library only: no I/O, no ``js``, no clock of its own.
Bytes and events go in, bytes and events come out; time comes in as ``now``.

Importing this package is cheap: each name below is imported from its module
on first use (PEP 562), so a page that only registers never pays for the call
machinery's modules (in Pyodide every module's import is counted in the
page's start-up).
"""

from __future__ import annotations

from ._lazy import lazy_attributes

# Public name -> the private module that defines it.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "_auth": ("AuthenticationError", "DigestClient"),
    "_auth_values": ("AuthParseError", "Challenge", "Credentials", "parse_challenges", "parse_credentials"),
    "_causes": ("Cause", "cause_for_status"),
    "_dialog": ("Dialog",),
    "_dialog_state": ("DialogId", "DialogState", "RequestRejected"),
    "_dialog_store": ("DialogStore",),
    "_digest": ("redact_authorization", "verify_digest"),
    "_errors": ("SipParseError",),
    "_forking": ("InviteDialogs",),
    "_headers": ("canonical_name", "CSeq", "Headers", "MediaType", "NameAddr", "STAR", "Via"),
    "_message": ("build_request", "Message", "REASON_PHRASES", "Request", "Response"),
    "_parser": ("MessageReader", "parse_message", "ParserLimits"),
    "_registration": (
        "Registered",
        "Registration",
        "RegistrationExpiring",
        "RegistrationFailed",
        "Unregistered",
    ),
    "_timers": ("TimerConfig",),
    "_transaction": ("build_ack", "build_cancel", "TransactionStateError"),
    "_transaction_events": (
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
    "_transaction_layer": ("TransactionLayer",),
    "_ua": ("UaConfig", "UserAgent"),
    "_uas": ("check_request", "response_for_parse_error", "SERVED_METHODS", "UasPolicy", "without_peer_controls"),
    "_uri": ("AbsoluteUri", "Params", "parse_uri", "SipUri", "TelUri", "Uri"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_MODULE_OF, key=str.lower)


__getattr__, __dir__ = lazy_attributes(globals(), _MODULE_OF)
