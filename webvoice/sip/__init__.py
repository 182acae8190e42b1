"""The sans-IO SIP core of webvoice: parsing, building, auth, transactions, dialogs.

Pure Python and standard library only: no I/O, no ``js``, no clock of its own.
Bytes and events go in, bytes and events come out; time comes in as ``now``.
"""

from ._auth import (
    AuthenticationError,
    AuthParseError,
    Challenge,
    Credentials,
    DigestClient,
    parse_challenges,
    parse_credentials,
    redact_authorization,
    verify_digest,
)
from ._causes import Cause, cause_for_status
from ._dialog import Dialog
from ._dialog_state import DialogId, DialogState, RequestRejected
from ._dialog_store import DialogStore
from ._errors import SipParseError
from ._forking import InviteDialogs
from ._headers import STAR, CSeq, Headers, MediaType, NameAddr, Via, canonical_name
from ._message import REASON_PHRASES, Message, Request, Response, build_request
from ._parser import MessageReader, ParserLimits, parse_message
from ._registration import (
    Registered,
    Registration,
    RegistrationExpiring,
    RegistrationFailed,
    Unregistered,
)
from ._timers import TimerConfig
from ._transaction import TransactionStateError, build_ack, build_cancel
from ._transaction_events import (
    AckReceived,
    CancelReceived,
    MessageDropped,
    RequestReceived,
    ResponseReceived,
    StrayResponse,
    TransactionTerminated,
    TransactionTimeout,
    TransportFailed,
)
from ._transaction_layer import TransactionLayer
from ._ua import UaConfig, UserAgent
from ._uas import UasPolicy, check_request, response_for_parse_error
from ._uri import AbsoluteUri, Params, SipUri, TelUri, Uri, parse_uri

__all__ = [
    "AbsoluteUri",
    "AckReceived",
    "AuthenticationError",
    "AuthParseError",
    "build_ack",
    "build_cancel",
    "build_request",
    "CancelReceived",
    "canonical_name",
    "Cause",
    "cause_for_status",
    "Challenge",
    "check_request",
    "Credentials",
    "CSeq",
    "Dialog",
    "DialogId",
    "DialogState",
    "DialogStore",
    "DigestClient",
    "Headers",
    "InviteDialogs",
    "MediaType",
    "Message",
    "MessageDropped",
    "MessageReader",
    "NameAddr",
    "Params",
    "parse_challenges",
    "parse_credentials",
    "parse_message",
    "parse_uri",
    "ParserLimits",
    "REASON_PHRASES",
    "redact_authorization",
    "Registered",
    "Registration",
    "RegistrationExpiring",
    "RegistrationFailed",
    "Request",
    "RequestReceived",
    "RequestRejected",
    "Response",
    "response_for_parse_error",
    "ResponseReceived",
    "SipParseError",
    "SipUri",
    "STAR",
    "StrayResponse",
    "TelUri",
    "TimerConfig",
    "TransactionLayer",
    "TransactionStateError",
    "TransactionTerminated",
    "TransactionTimeout",
    "TransportFailed",
    "UaConfig",
    "UasPolicy",
    "Unregistered",
    "Uri",
    "UserAgent",
    "verify_digest",
    "Via",
]
