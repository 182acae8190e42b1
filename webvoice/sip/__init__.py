"""The sans-IO SIP core of webvoice: parsing, building, auth, transactions, dialogs.

Pure Python and standard library only: no I/O, no ``js``, no clock of its own.
Bytes and events go in, bytes and events come out; time comes in as ``now``.
"""

from ._errors import SipParseError
from ._headers import STAR, CSeq, Headers, MediaType, NameAddr, Via, canonical_name
from ._message import REASON_PHRASES, Message, Request, Response, build_request
from ._parser import MessageReader, ParserLimits, parse_message
from ._uas import UasPolicy, check_request, response_for_parse_error
from ._uri import AbsoluteUri, Params, SipUri, TelUri, Uri, parse_uri

__all__ = [
    "AbsoluteUri", "CSeq", "Headers", "MediaType", "Message", "MessageReader", "NameAddr",
    "Params", "ParserLimits", "REASON_PHRASES", "Request", "Response", "STAR", "SipParseError",
    "SipUri", "TelUri", "UasPolicy", "Uri", "Via", "build_request", "canonical_name",
    "check_request", "parse_message", "parse_uri", "response_for_parse_error",
]
