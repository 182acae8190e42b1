"""What the UA's parts see of it: the one context of calls, messages, subscriptions and publications.

A call (:class:`~..session._call.CallSession`), a MESSAGE, a subscription and
a publication each send requests, answer them and report events through a
context (:class:`~..session._context.CallContext` and the smaller protocols
beside each part). This module is that context, carried for the
:class:`~._ua.UserAgent`: the timers and policy the parts are told, the sending
and answering they may do, the dialogs of all calls, and which part owns each
client transaction it started (so that the transaction's answer goes back to
it).

Apart from :mod:`._ua` because a page that only registers needs none of it:
the UA makes its context with its first part (:attr:`UserAgent.parts`), and
this module loads with the call machinery (webvoice/_preload.py), off the
page's start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..dialog._store import DialogStore
from ..transaction._events import ResponseReceived, TransactionTerminated, TransactionTimeout, TransportFailed
from ..transaction._transaction import ClientTransaction, ServerTransaction

if TYPE_CHECKING:
    from ..auth._client import DigestClient
    from ..session._call import CallSession
    from ..syntax._header_values import NameAddr, Via
    from ..syntax._message import Request, Response
    from ..transaction._transaction import InviteClientTransaction, TransactionUser
    from ._ua import UserAgent

__all__ = ["PartsContext"]


class PartsContext:
    """The UA core as its parts see it (the calls' :class:`CallContext`, and the
    subscriptions' and messages' contexts, which ask for less)."""

    __slots__ = ("_ua", "dialogs", "_owners")

    def __init__(self, ua: UserAgent) -> None:
        self._ua = ua
        #: The dialogs of all calls.
        self.dialogs = DialogStore()
        # Which part owns each client transaction it started.
        self._owners: dict[ClientTransaction, TransactionUser] = {}

    def __repr__(self) -> str:
        return f"<PartsContext of {self._ua.config.aor}: {len(self._owners)} transactions owned>"

    # --- what the parts are told ---------------------------------------------------------

    @property
    def auth(self) -> DigestClient:
        return self._ua.auth

    @property
    def connected(self) -> bool:
        return self._ua.connected

    @property
    def t1(self) -> float:
        return self._ua.config.timers.t1

    @property
    def t2(self) -> float:
        return self._ua.config.timers.t2

    @property
    def user_agent(self) -> str:
        return self._ua.config.user_agent

    @property
    def allow(self) -> str:
        return self._ua.config.policy.allow_value()

    @property
    def supported(self) -> str:
        return ", ".join(sorted(self._ua.config.policy.extensions))

    @property
    def session_timers(self) -> bool:
        return self._ua.config.session_timers

    @property
    def min_se(self) -> int:
        return self._ua.config.session_min_se

    def new_via(self) -> Via:
        return self._ua.new_via()

    def new_tag(self) -> str:
        return self._ua.transactions.new_tag()

    def new_call_id(self) -> str:
        return self._ua.new_call_id()

    def contact(self) -> NameAddr:
        return self._ua.contact()

    # --- what the parts may do --------------------------------------------------------------

    def send_request(self, request: Request, now: float, owner: TransactionUser) -> ClientTransaction | None:
        if not self._ua.connected:
            return None
        tx = self._ua.transactions.send_request(request, now)
        self._owners[tx] = owner
        return tx

    def send_response(self, transaction: ServerTransaction, response: Response, now: float) -> None:
        """Answer in ``transaction``; a call's answer may outlive it.

        A transport error ends server transactions while their calls go on (a
        2xx waiting for its ACK, an incoming call still ringing). The UAS core
        owns the 2xx's resends until the ACK (RFC 3261 13.3.1.4), so a 2xx to an
        INVITE goes out statelessly on the new flow; any other answer has no
        transaction left to carry it and is dropped (the peer's own timers end
        that request). Either way nothing raises out of a timer or an event."""
        if not self._ua.connected:
            return
        transactions = self._ua.transactions
        if transactions.is_running(transaction):
            transactions.send_response(transaction, response, now)
        elif response.is_success and response.cseq is not None and response.cseq.method == "INVITE":
            transactions.send_stateless(response)

    def send_stateless(self, message: Request | Response) -> None:
        if self._ua.connected:
            self._ua.transactions.send_stateless(message)

    def cancel(self, transaction: InviteClientTransaction, now: float) -> None:
        if self._ua.connected and not transaction.terminated:
            cancel_tx = self._ua.transactions.cancel(transaction, now)
            if cancel_tx is not None:
                self._owners.pop(cancel_tx, None)

    def emit(self, event: object) -> None:
        self._ua.emit(event)

    def forget(self, session: CallSession) -> None:
        if session in self._ua.sessions:
            self._ua.sessions.remove(session)

    # --- what the transactions report -------------------------------------------------------

    def transaction_event(self, event: ResponseReceived | TransactionTimeout | TransportFailed | TransactionTerminated,
                          now: float) -> None:
        """A response, failure or end of a transaction that is not a REGISTER's:
        to the part that owns it (a failed server transaction: to the call it serves)."""
        tx = event.transaction
        if isinstance(event, ResponseReceived):
            if (owner := self._owners.get(event.transaction)) is not None:
                owner.receive_response(event.transaction, event.response, now)
        elif isinstance(event, TransactionTerminated):
            if isinstance(tx, ClientTransaction):
                self._owners.pop(tx, None)
        elif isinstance(tx, ClientTransaction):
            if (owner := self._owners.pop(tx, None)) is not None:
                owner.transaction_failed(tx, now, timeout=isinstance(event, TransactionTimeout))
        elif isinstance(tx, ServerTransaction):
            for served in list(self._ua.sessions):
                if served.serves(tx):
                    served.server_transaction_failed(now)
