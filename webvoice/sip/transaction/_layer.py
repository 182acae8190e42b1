"""The transaction layer: matching messages to transactions, and the queues around them.

The UA core (the TU) drives it, sans-IO:

- in: ``send_request``, ``send_response``, ``cancel``, ``send_stateless`` from the
  TU; ``receive`` for every parsed message off the wire; ``transport_error`` when
  the connection is lost; ``handle_timer`` at ``get_timer()``;
- out: ``messages_to_send()`` (Request/Response objects for the transport to
  serialise) and ``next_event()``/``events()`` for the TU.

Matching: responses by top-Via branch and CSeq method (RFC 3261 17.1.3), requests
by branch, sent-by and method, ACK and CANCEL looking for the INVITE (17.2.3, 9.2),
with the RFC 2543 rules for a branch without the magic cookie.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Protocol, cast

from ..syntax._header_values import HeaderValue, NameAddr, Via
from ..syntax._message import Message, Request, Response, not_an_answer
from ._events import (
    AckReceived,
    CancelReceived,
    MessageDropped,
    RequestReceived,
    StrayResponse,
    TransactionEvent,
)
from ._tables import TransactionState as State
from ._timers import TimerConfig
from ._transaction import (
    ClientTransaction,
    InviteClientTransaction,
    InviteServerTransaction,
    NonInviteClientTransaction,
    NonInviteServerTransaction,
    Output,
    ServerTransaction,
    Transaction,
    TransactionStateError,
    build_cancel,
    identifiers,
)

__all__ = ["MAGIC_COOKIE", "TransactionLayer", "is_rfc3261_branch"]

#: The prefix of an RFC 3261 branch (8.1.1.7).
MAGIC_COOKIE = "z9hG4bK"


def is_rfc3261_branch(branch: str | None) -> bool:
    """Whether ``branch`` identifies a transaction by itself: the magic cookie and then
    something (RFC 4475 3.2.1: a bare cookie identifies nothing, so RFC 2543 rules apply)."""
    return branch is not None and branch.startswith(MAGIC_COOKIE) and len(branch) > len(MAGIC_COOKIE)


class RandomSource(Protocol):
    def getrandbits(self, k: int, /) -> int: ...


ServerKey = tuple[object, ...]


def _tag(addr: NameAddr | None) -> str | None:
    return None if addr is None else addr.tag


def _server_key(request: Request, method: str) -> ServerKey:
    """The key of the server transaction ``request`` belongs to, for ``method``
    (INVITE when matching an ACK or a CANCEL to its INVITE)."""
    via = identifiers(request)[0]
    if is_rfc3261_branch(via.branch):
        return ("3261", via.branch, via.sent_by.lower(), method)
    return ("2543", *_rfc2543_parts(request), _tag(request.to), method)


def _rfc2543_parts(request: Request) -> tuple[object, ...]:
    """17.2.3's RFC 2543 fields but the To tag: Request-URI, From tag, Call-ID, CSeq number, top Via."""
    via, cseq, call_id = identifiers(request)
    return (str(request.uri), _tag(request.from_), call_id, cseq.seq, str(via))


class TransactionLayer:
    """All transactions of one UA over one reliable connection (RFC 3261 17)."""

    def __init__(
        self,
        config: TimerConfig | None = None,
        *,
        rng: RandomSource | None = None,
        send_trying: bool = True,
    ) -> None:
        """``rng`` makes branches and tags (a ``random.Random(seed)`` in tests; the
        system's CSPRNG by default). ``send_trying``: answer each new INVITE with
        100 Trying at once (17.2.1: the layer cannot know the TU answers in 200 ms)."""
        self.config = config if config is not None else TimerConfig()
        self._rng: RandomSource = rng if rng is not None else random.SystemRandom()
        self.send_trying = send_trying
        self._transactions: dict[Transaction, ServerKey] = {}  # live ones, in creation order, to key
        self._clients: dict[tuple[str, str], ClientTransaction] = {}
        self._servers: dict[ServerKey, ServerTransaction] = {}
        self._sent_by: set[str] = set()  # the top-Via sent-by values of our requests (18.1.2)
        self._wire: list[Message] = []
        self._events: deque[TransactionEvent] = deque()

    # -- identifiers --

    def new_branch(self) -> str:
        """A fresh RFC 3261 branch: the magic cookie and 64 random bits."""
        return f"{MAGIC_COOKIE}{self._rng.getrandbits(64):016x}"

    def new_tag(self) -> str:
        """A fresh From/To tag (19.3: at least 32 random bits)."""
        return f"{self._rng.getrandbits(48):012x}"

    # -- output --

    def messages_to_send(self) -> list[Message]:
        """The messages to put on the wire, oldest first; the queue is emptied."""
        out, self._wire = self._wire, []
        return out

    def next_event(self) -> TransactionEvent | None:
        return self._events.popleft() if self._events else None

    def events(self) -> Iterator[TransactionEvent]:
        """Drain the events (events raised while iterating are included)."""
        while self._events:
            yield self._events.popleft()

    @property
    def transactions(self) -> tuple[Transaction, ...]:
        """The live transactions, oldest first."""
        return tuple(self._transactions)

    # -- timers --

    def get_timer(self) -> float | None:
        """The earliest deadline of any transaction, or None."""
        best = None
        for tx in self._transactions:
            t = tx.deadline
            if t is not None and (best is None or t < best):
                best = t
        return best

    def handle_timer(self, now: float) -> None:
        """Fire every timer due at ``now``, earliest first."""
        due = [tx for tx in self._transactions if tx.deadline is not None and tx.deadline <= now]
        due.sort(key=lambda tx: tx.deadline or 0.0)
        for tx in due:
            self._collect(tx, tx._handle_timer(now))

    # -- the TU's side --

    def send_request(self, request: Request, now: float) -> ClientTransaction:
        """Start a client transaction for ``request`` and queue it for the wire.

        ``request`` already carries its top Via with a fresh branch
        (:meth:`new_branch`). Not for ACK: see :meth:`send_stateless`.
        """
        if not isinstance(request, Request):
            raise TypeError(f"send_request takes a Request, not {type(request).__name__}")
        if request.method == "ACK":
            raise ValueError(
                "an ACK has no client transaction: the INVITE transaction sends the ACK for a "
                "non-2xx itself, and the TU sends the ACK for a 2xx with send_stateless()"
            )
        via, cseq, _ = identifiers(request)
        if via.branch is None or not is_rfc3261_branch(via.branch):
            raise ValueError(f"the top Via needs a branch made by new_branch(), not {via.branch!r}")
        if cseq.method != request.method:
            raise ValueError(f"CSeq method {cseq.method} does not match {request.method}")
        key = (via.branch, request.method)
        if key in self._clients:
            raise ValueError(f"a {request.method} transaction with branch {via.branch} is already running")
        kind = InviteClientTransaction if request.method == "INVITE" else NonInviteClientTransaction
        tx = kind(request, now, self.config)
        self._clients[key] = tx
        self._transactions[tx] = key
        self._sent_by.add(via.sent_by.lower())
        self._wire.append(request)
        return tx

    def cancel(
        self,
        transaction: InviteClientTransaction,
        now: float,
        *,
        headers: Iterable[tuple[str, HeaderValue]] = (),
    ) -> NonInviteClientTransaction | None:
        """Cancel an INVITE (RFC 3261 9.1), following the rule that a CANCEL waits for
        a provisional response.

        Returns the CANCEL's client transaction once the CANCEL was sent: now, if
        a provisional response arrived, or earlier by a previous call. Returns None
        when it is deferred (``transaction.cancel_pending``: it goes out with the
        first provisional response) or pointless (a final response came: the TU
        then ACKs a 2xx and sends BYE). ``headers`` go into the CANCEL (Reason).
        """
        if not isinstance(transaction, InviteClientTransaction):
            raise TypeError(f"only an INVITE client transaction can be cancelled, not {transaction!r}")
        if transaction.cancel_transaction is not None:
            return transaction.cancel_transaction
        transaction._cancel_headers = tuple(headers)
        if transaction.state is State.CALLING:
            transaction.cancel_pending = True
            return None
        if transaction.state is State.PROCEEDING:
            return self._send_cancel(transaction, now)
        return None

    def send_response(self, transaction: ServerTransaction, response: Response, now: float) -> None:
        """Send ``response`` in ``transaction`` (it must answer its request: same top
        Via, CSeq and Call-ID, else ValueError). A response the state forbids (after
        the final one, or on a finished transaction) raises TransactionStateError."""
        if transaction not in self._transactions:
            raise TransactionStateError(f"{transaction!r} is not running here: it cannot send a response")
        self._collect(transaction, transaction._send_response(response, now))

    def is_running(self, transaction: ServerTransaction | ClientTransaction) -> bool:
        """Whether ``transaction`` still lives here (a transport error or its
        timers may have ended it while its owner still holds it)."""
        return transaction in self._transactions

    def send_stateless(self, message: Message) -> None:
        """Queue a message that belongs to no transaction: the ACK for a 2xx (RFC 3261
        13.2.2.4, built and resent by the dialog) or a stateless response."""
        if isinstance(message, Request) and message.method != "ACK":
            raise ValueError(f"a {message.method} request needs a transaction: use send_request()")
        if not isinstance(message, (Request, Response)):
            raise TypeError(f"send_stateless takes a Request or Response, not {type(message).__name__}")
        self._wire.append(message)

    # -- the wire's side --

    def receive(self, message: Message, now: float) -> None:
        """A message parsed off the wire (with :func:`parse_message`)."""
        if isinstance(message, Response):
            self._receive_response(message, now)
        elif isinstance(message, Request):
            self._receive_request(message, now)
        else:
            raise TypeError(f"receive takes a Request or Response, not {type(message).__name__}")

    def transport_error(self, now: float) -> None:
        """The connection is lost: every transaction ends (TransportFailed for those whose
        outcome was open), and messages still queued for the dead connection are dropped."""
        self._wire.clear()
        for tx in list(self._transactions):
            self._collect(tx, tx._transport_error(now))

    # -- internals --

    def _receive_response(self, response: Response, now: float) -> None:
        try:
            via, cseq, _ = identifiers(response)
        except ValueError as exc:
            return self._drop(response, str(exc))
        if len(response.via) != 1:
            return self._drop(response, "a response must carry exactly one Via (RFC 3261 8.1.3.3)")
        method = cseq.method
        tx = self._clients.get((via.branch, method)) if via.branch is not None else None
        if tx is not None and via.sent_by.lower() != tx.top_via.sent_by.lower():
            return self._drop(response, f"sent-by {via.sent_by} is not the request's (RFC 3261 18.1.2)")
        if tx is None:
            if response.is_success and method == "INVITE" and via.sent_by.lower() in self._sent_by:
                self._events.append(StrayResponse(response))
                return None
            return self._drop(response, "it matches no client transaction")
        if (mismatch := not_an_answer(tx.request, response)) is not None:
            return self._drop(response, mismatch)
        self._collect(tx, tx._receive_response(response, now))
        if isinstance(tx, InviteClientTransaction) and tx.cancel_pending:
            if tx.state is State.PROCEEDING:
                self._send_cancel(tx, now)
            elif tx.state is not State.CALLING:
                tx.cancel_pending = False  # a final response came first: nothing to cancel
        return None

    def _receive_request(self, request: Request, now: float) -> None:
        try:
            via = identifiers(request)[0]
        except ValueError as exc:
            return self._drop(request, str(exc))
        if request.method == "ACK":
            target = self._ack_target(request)
            if target is None:
                self._events.append(AckReceived(None, request))
            else:
                self._collect(target, target._receive_request(request, now))
            return None
        if request.method == "CANCEL":
            return self._receive_cancel(request, via)
        key = _server_key(request, request.method)
        existing = self._servers.get(key)
        if existing is not None:  # a retransmission
            self._collect(existing, existing._receive_request(request, now))
            return None
        kind = InviteServerTransaction if request.method == "INVITE" else NonInviteServerTransaction
        tx = kind(request, now, self.config)
        self._servers[key] = tx
        self._transactions[tx] = key
        self._events.append(RequestReceived(tx, request))
        if isinstance(tx, InviteServerTransaction) and self.send_trying:
            timestamp = request.header("Timestamp")
            trying = request.response(100, headers=[("Timestamp", timestamp)] if timestamp else ())
            self.send_response(tx, trying, now)
        return None

    def _ack_target(self, ack: Request) -> InviteServerTransaction | None:
        """17.2.3: the INVITE server transaction an ACK belongs to, if any."""
        if is_rfc3261_branch(identifiers(ack)[0].branch):
            tx = self._servers.get(_server_key(ack, "INVITE"))
            return tx if isinstance(tx, InviteServerTransaction) else None
        # RFC 2543: the INVITE's fields, and the To tag of the response we sent.
        parts, to_tag = _rfc2543_parts(ack), _tag(ack.to)
        for key, tx in self._servers.items():
            if (isinstance(tx, InviteServerTransaction) and key[0] == "2543"
                    and _rfc2543_parts(tx.request) == parts and tx.to_tag == to_tag):
                return tx
        return None

    def _receive_cancel(self, cancel: Request, via: Via) -> None:
        """9.2: answer the CANCEL ourselves and tell the TU which INVITE it cancels.

        The CANCEL's own server transaction would end at once (Timer J is zero
        over a reliable transport), so none is kept.
        """
        target = self._servers.get(_server_key(cancel, "INVITE"))
        if not isinstance(target, InviteServerTransaction):
            if self._any_server_on_branch(via):
                self._wire.append(cancel.response(200, to_tag=self.new_tag()))  # no effect on a non-INVITE
            else:
                self._wire.append(cancel.response(481, to_tag=self.new_tag()))
            return
        if target.to_tag is None:
            target.to_tag = self.new_tag()  # 9.2: the 487 should carry the same tag as this 200
        self._wire.append(cancel.response(200, to_tag=target.to_tag))
        if target.state is State.PROCEEDING and not target.cancelled:
            target.cancelled = True
            self._events.append(CancelReceived(target, cancel))

    def _any_server_on_branch(self, via: Via) -> bool:
        if not is_rfc3261_branch(via.branch):
            return False
        prefix = ("3261", via.branch, via.sent_by.lower())
        return any(key[:3] == prefix for key in self._servers)

    def _send_cancel(self, invite: InviteClientTransaction, now: float) -> NonInviteClientTransaction:
        cancel = self.send_request(build_cancel(invite.request, headers=invite._cancel_headers), now)
        assert isinstance(cancel, NonInviteClientTransaction)
        invite._cancel_sent(cancel, now)
        return cancel

    def _collect(self, tx: Transaction, outputs: list[Output]) -> None:
        for item in outputs:
            if isinstance(item, (Request, Response)):
                self._wire.append(item)
            else:
                self._events.append(item)
        if tx.terminated and tx in self._transactions:
            key = self._transactions.pop(tx)
            if isinstance(tx, ClientTransaction):
                del self._clients[cast("tuple[str, str]", key)]  # a client's key is (branch, method)
            else:
                del self._servers[key]

    def _drop(self, message: Message, reason: str) -> None:
        self._events.append(MessageDropped(message, reason))
