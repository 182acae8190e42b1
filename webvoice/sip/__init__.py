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

import sys
from typing import TYPE_CHECKING, Any

from .util._lazy import lazy_attributes

# Private module (under a layer's folder) -> the public names it defines.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "auth._client": ("DigestClient",),
    "auth._digest": ("redact_authorization", "verify_digest"),
    "auth._retry": ("AuthenticationError",),
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
    "ua._ua": ("FlowFailed", "PONG_TIMEOUT", "UserAgent"),
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
    "event._dialog_info": (
        "DIALOG_INFO_CONTENT_TYPE=CONTENT_TYPE", "DialogPublisher", "LineState", "own_dialog", "parse_dialog_info"),
    "util._lazy": ("lazy_attributes",),
    "ua._message_method": ("MessageDelivered", "MessageFailed", "MessageReceived", "message_body"),
    "event._mwi": ("MESSAGE_SUMMARY_CONTENT_TYPE=CONTENT_TYPE", "parse_message_summary"),
    "event._pidf": ("PIDF_CONTENT_TYPE=CONTENT_TYPE", "build_pidf", "parse_pidf"),
    "event._publication": ("PublicationDone", "PublicationFailed"),
    "util._record": ("record",),
    "util._regex": ("compile_regex",),
    "ua._registration": ("UnregisterFailed",),
    "event._subscription_state": ("SubscriptionEnded", "SubscriptionNotified"),
    "ua._ua": ("MessageRefused",),
    "ua._incoming": ("parse_replaces",),
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
#: imports in short event-loop turns once a page is registered.
CALL_MODULES: tuple[str, ...] = tuple(f"{__name__}.{module}" for module in (
    "session._events", "syntax._sdp", "syntax._sdp_offer_answer", "dialog", "dialog._state", "dialog._store",
    "dialog._requests", "dialog._dialog", "dialog._forking", "session._common", "session._state",
    "session._requests", "session._timer", "session._info", "session._reoffer", "session._prack_uas",
    "session._incoming", "event", "event._notify", "session._refer", "session._prack_uac", "session._outgoing",
    "session._context", "session._call", "ua._parts", "ua._incoming",
))


if TYPE_CHECKING:  # the lazy exports above, spelled out for type checkers and IDEs (a test keeps them equal)
    from .auth._client import DigestClient as DigestClient
    from .auth._digest import redact_authorization as redact_authorization
    from .auth._digest import verify_digest as verify_digest
    from .auth._retry import AuthenticationError as AuthenticationError
    from .auth._values import AuthParseError as AuthParseError
    from .auth._values import Challenge as Challenge
    from .auth._values import Credentials as Credentials
    from .auth._values import parse_challenges as parse_challenges
    from .auth._values import parse_credentials as parse_credentials
    from .dialog._dialog import Dialog as Dialog
    from .dialog._forking import InviteDialogs as InviteDialogs
    from .dialog._state import DialogId as DialogId
    from .dialog._state import DialogState as DialogState
    from .dialog._state import RequestRejected as RequestRejected
    from .dialog._store import DialogStore as DialogStore
    from .event._dialog_info import CONTENT_TYPE as DIALOG_INFO_CONTENT_TYPE
    from .event._dialog_info import DialogPublisher as DialogPublisher
    from .event._dialog_info import LineState as LineState
    from .event._dialog_info import own_dialog as own_dialog
    from .event._dialog_info import parse_dialog_info as parse_dialog_info
    from .event._mwi import CONTENT_TYPE as MESSAGE_SUMMARY_CONTENT_TYPE
    from .event._mwi import parse_message_summary as parse_message_summary
    from .event._pidf import build_pidf as build_pidf
    from .event._pidf import parse_pidf as parse_pidf
    from .event._pidf import CONTENT_TYPE as PIDF_CONTENT_TYPE
    from .event._publication import PublicationDone as PublicationDone
    from .event._publication import PublicationFailed as PublicationFailed
    from .event._subscription_state import SubscriptionEnded as SubscriptionEnded
    from .event._subscription_state import SubscriptionNotified as SubscriptionNotified
    from .session._call import CallSession as CallSession
    from .session._call import CallState as CallState
    from .session._events import CallConfirmed as CallConfirmed
    from .session._events import CallEnded as CallEnded
    from .session._events import CallFailed as CallFailed
    from .session._events import CallProgress as CallProgress
    from .session._events import DtmfReceived as DtmfReceived
    from .session._events import IncomingCall as IncomingCall
    from .session._events import InfoReceived as InfoReceived
    from .session._events import ReferProgress as ReferProgress
    from .session._events import ReferReceived as ReferReceived
    from .session._events import RemoteAnswer as RemoteAnswer
    from .session._events import RemoteHold as RemoteHold
    from .session._events import RemoteOffer as RemoteOffer
    from .session._events import ReofferAnswered as ReofferAnswered
    from .session._events import ReofferFailed as ReofferFailed
    from .syntax._abnf import CONTROL_CHARS as CONTROL_CHARS
    from .syntax._causes import Cause as Cause
    from .syntax._causes import cause_for_status as cause_for_status
    from .syntax._errors import SipParseError as SipParseError
    from .syntax._header_values import CSeq as CSeq
    from .syntax._header_values import MediaType as MediaType
    from .syntax._header_values import NameAddr as NameAddr
    from .syntax._header_values import STAR as STAR
    from .syntax._header_values import Via as Via
    from .syntax._headers import canonical_name as canonical_name
    from .syntax._headers import Headers as Headers
    from .syntax._message import build_request as build_request
    from .syntax._message import Message as Message
    from .syntax._message import REASON_PHRASES as REASON_PHRASES
    from .syntax._message import Request as Request
    from .syntax._message import Response as Response
    from .syntax._parser import MessageReader as MessageReader
    from .syntax._parser import parse_message as parse_message
    from .syntax._parser import ParserLimits as ParserLimits
    from .syntax._uri import AbsoluteUri as AbsoluteUri
    from .syntax._uri import Params as Params
    from .syntax._uri import parse_uri as parse_uri
    from .syntax._uri import SipUri as SipUri
    from .syntax._uri import TelUri as TelUri
    from .syntax._uri import Uri as Uri
    from .transaction._events import AckReceived as AckReceived
    from .transaction._events import CancelReceived as CancelReceived
    from .transaction._events import MessageDropped as MessageDropped
    from .transaction._events import RequestReceived as RequestReceived
    from .transaction._events import ResponseReceived as ResponseReceived
    from .transaction._events import StrayResponse as StrayResponse
    from .transaction._events import TransactionTerminated as TransactionTerminated
    from .transaction._events import TransactionTimeout as TransactionTimeout
    from .transaction._events import TransportFailed as TransportFailed
    from .transaction._layer import TransactionLayer as TransactionLayer
    from .transaction._timers import TimerConfig as TimerConfig
    from .transaction._transaction import build_ack as build_ack
    from .transaction._transaction import build_cancel as build_cancel
    from .transaction._transaction import TransactionStateError as TransactionStateError
    from .ua._config import UaConfig as UaConfig
    from .ua._incoming import parse_replaces as parse_replaces
    from .ua._message_method import message_body as message_body
    from .ua._message_method import MessageDelivered as MessageDelivered
    from .ua._message_method import MessageFailed as MessageFailed
    from .ua._message_method import MessageReceived as MessageReceived
    from .ua._registration import Registered as Registered
    from .ua._registration import Registration as Registration
    from .ua._registration import RegistrationExpiring as RegistrationExpiring
    from .ua._registration import RegistrationFailed as RegistrationFailed
    from .ua._registration import Unregistered as Unregistered
    from .ua._registration import UnregisterFailed as UnregisterFailed
    from .ua._ua import FlowFailed as FlowFailed
    from .ua._ua import MessageRefused as MessageRefused
    from .ua._ua import PONG_TIMEOUT as PONG_TIMEOUT
    from .ua._ua import UserAgent as UserAgent
    from .ua._uas import check_request as check_request
    from .ua._uas import response_for_parse_error as response_for_parse_error
    from .ua._uas import SERVED_METHODS as SERVED_METHODS
    from .ua._uas import UasPolicy as UasPolicy
    from .ua._uas import without_peer_controls as without_peer_controls
    from .util._backoff import Backoff as Backoff
    from .util._backoff import ReconnectPolicy as ReconnectPolicy
    from .util._lazy import lazy_attributes as lazy_attributes
    from .util._record import record as record
    from .util._regex import compile_regex as compile_regex


# --- end of the driver's exports --------------------------------------------------------------

__all__ = sorted([*_MODULE_OF, "CALL_MODULES", "loaded_export"], key=str.lower)


__getattr__, __dir__ = lazy_attributes(globals(), _MODULE_OF)
