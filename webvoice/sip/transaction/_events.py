"""The events the transaction layer hands to the TU: small frozen dataclasses.

Each refers to the transaction concerned (or None for what belongs to none),
and to the message when there is one. A transaction's last event is always
:class:`TransactionTerminated`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from ..syntax._message import Message, Request, Response
from ..util._record import record

if TYPE_CHECKING:
    from ._transaction import (
        ClientTransaction,
        InviteServerTransaction,
        ServerTransaction,
        Transaction,
    )

__all__ = [
    "AckReceived",
    "CancelReceived",
    "MessageDropped",
    "RequestReceived",
    "ResponseReceived",
    "StrayResponse",
    "TransactionEvent",
    "TransactionTerminated",
    "TransactionTimeout",
    "TransportFailed",
]


def check_type(value: object, kind: type | tuple[type, ...], what: str) -> None:
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise TypeError(f"{what} must be a {names}, not {type(value).__name__}")


@record
class RequestReceived:
    """A new request: the TU answers it with ``layer.send_response(transaction, ...)``."""

    transaction: ServerTransaction
    request: Request

    def __post_init__(self) -> None:
        check_type(self.request, Request, "request")


@record
class ResponseReceived:
    """A response for a client transaction (for an INVITE: every 2xx, retransmissions
    and forks included, which the TU acknowledges itself)."""

    transaction: ClientTransaction
    response: Response

    def __post_init__(self) -> None:
        check_type(self.response, Response, "response")


@record
class AckReceived:
    """An ACK the transaction layer does not absorb: the ACK for a 2xx, which has no
    transaction of its own (``transaction`` is None), or one reusing the INVITE's
    branch while its server transaction is Accepted (RFC 6026)."""

    transaction: InviteServerTransaction | None
    request: Request

    def __post_init__(self) -> None:
        check_type(self.request, Request, "request")


@record
class CancelReceived:
    """The peer cancelled ``transaction`` (still without a final response). The layer
    has already answered the CANCEL with 200; the TU now sends 487 on ``transaction``."""

    transaction: InviteServerTransaction
    request: Request

    def __post_init__(self) -> None:
        check_type(self.request, Request, "request")


@record
class StrayResponse:
    """A 2xx to an INVITE that matches no transaction (Timer M has run out): a late
    retransmission or fork that the dialog layer must still ACK (or ACK and BYE)."""

    response: Response

    def __post_init__(self) -> None:
        check_type(self.response, Response, "response")


@record
class TransactionTimeout:
    """Timer B or F (no final response), Timer H (no ACK) or the CANCEL wait of 9.1."""

    transaction: Transaction


@record
class TransportFailed:
    """The connection was lost while the transaction's outcome was still open: a
    client transaction without a final response (treat as 503, 8.1.3.1), a server
    transaction the TU has not answered, or one waiting for an ACK."""

    transaction: Transaction


@record
class TransactionTerminated:
    """The transaction is over and forgotten; always its last event."""

    transaction: Transaction


@record
class MessageDropped:
    """A received message the layer discarded, and why (no answer is sent). For
    logs: e.g. a response that matches no transaction (RFC 4475 3.3.10)."""

    message: Message
    reason: str


TransactionEvent: TypeAlias = (
    RequestReceived | ResponseReceived | AckReceived | CancelReceived | StrayResponse
    | TransactionTimeout | TransportFailed | TransactionTerminated | MessageDropped
)
