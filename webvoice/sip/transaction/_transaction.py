"""SIP transactions (RFC 3261 17, RFC 6026) over a reliable transport.

A transaction is a small state machine driven by the tables in
:mod:`._tables`. It holds no reference to the layer that owns it:
each input returns what came out (messages for the wire and events for the
TU), and :class:`~._layer.TransactionLayer` queues them. Time only
comes in as ``now``; a transaction runs at most one timer, exposed as
``deadline``.

Also here: the two requests the transaction layer builds itself, the ACK for
a non-2xx final response (17.1.1.3) and the CANCEL of an INVITE (9.1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar, Protocol, TypeAlias

from ..syntax._header_values import CSeq, HeaderValue, NameAddr, Via
from ..syntax._message import Message, Request, Response, build_request
from ._events import (
    AckReceived,
    ResponseReceived,
    TransactionEvent,
    TransactionTerminated,
    TransactionTimeout,
    TransportFailed,
    check_type,
)
from ._tables import (
    INVITE_CLIENT,
    INVITE_CLIENT_TIMERS,
    INVITE_SERVER,
    INVITE_SERVER_TIMERS,
    NON_INVITE_CLIENT,
    NON_INVITE_CLIENT_TIMERS,
    NON_INVITE_SERVER,
    NON_INVITE_SERVER_TIMERS,
    Table,
    TransactionAction,
    TransactionInput,
    TransactionState,
)
from ._timers import TimerConfig

__all__ = [
    "ClientTransaction",
    "InviteClientTransaction",
    "InviteServerTransaction",
    "NonInviteClientTransaction",
    "NonInviteServerTransaction",
    "ServerTransaction",
    "Transaction",
    "TransactionStateError",
    "TransactionUser",
    "build_ack",
    "build_cancel",
]

class TransactionUser(Protocol):
    """What starts a client transaction through the UA core and hears how it
    ends (a call session, a subscription, a publication, a MESSAGE)."""

    def receive_response(self, transaction: ClientTransaction, response: Response, now: float) -> None: ...
    def transaction_failed(self, transaction: ClientTransaction, now: float, *, timeout: bool) -> None: ...


State, Input, Action = TransactionState, TransactionInput, TransactionAction


class TransactionStateError(ValueError):
    """The TU asked a transaction for something its state forbids (a second final
    response, a response on a finished transaction): local misuse."""


# --- the requests the transaction layer builds ---------------------------------------------


def identifiers(message: Message) -> tuple[Via, CSeq, str]:
    """The top Via, CSeq and Call-ID that transactions key on. ``parse_message``
    guarantees them; a hand-built message lacking one raises ValueError."""
    via, cseq, call_id = message.top_via, message.cseq, message.call_id
    if via is None or cseq is None or call_id is None:
        missing = [n for n, v in (("Via", via), ("CSeq", cseq), ("Call-ID", call_id)) if v is None]
        raise ValueError(f"the message has no {' or '.join(missing)} header")
    return via, cseq, call_id


def _addresses(invite: Request) -> tuple[NameAddr, NameAddr]:
    if invite.from_ is None or invite.to is None:
        raise ValueError("the INVITE has no From or To header")
    return invite.from_, invite.to


def build_ack(invite: Request, response: Response) -> Request:
    """The ACK for a non-2xx final ``response`` to ``invite`` (RFC 3261 17.1.1.3).

    Same Request-URI, Call-ID, From and CSeq number as the INVITE, To from the
    response (with its tag), one Via equal to the INVITE's top Via, and the
    INVITE's Route headers. The ACK for a 2xx is the dialog's job (13.2.2.4).
    """
    if invite.method != "INVITE":
        raise ValueError(f"only an INVITE is acknowledged, not a {invite.method}")
    if response.status_code < 300:
        raise ValueError("the ACK for a 2xx is built by the dialog (RFC 3261 13.2.2.4), not the transaction")
    via, cseq, call_id = identifiers(invite)
    from_, _ = _addresses(invite)
    if response.to is None:
        raise ValueError("the response has no To header")
    return build_request(
        "ACK", invite.uri, from_=from_, to=response.to, call_id=call_id, cseq=cseq.seq, via=via,
        route=invite.route,
    )


def build_cancel(invite: Request, *, headers: Iterable[tuple[str, HeaderValue]] = ()) -> Request:
    """The CANCEL for ``invite`` (RFC 3261 9.1).

    Same Request-URI, Call-ID, From, To (as sent: no tag added) and CSeq
    number, method CANCEL, one Via equal to the INVITE's top Via (same branch),
    the INVITE's Route headers; ``headers`` adds e.g. a Reason (RFC 3326).
    """
    if invite.method != "INVITE":
        raise ValueError(f"a UA only cancels an INVITE, not a {invite.method}")
    via, cseq, call_id = identifiers(invite)
    from_, to = _addresses(invite)
    return build_request(
        "CANCEL", invite.uri, from_=from_, to=to, call_id=call_id, cseq=cseq.seq, via=via,
        route=invite.route, headers=headers,
    )


Output: TypeAlias = Request | Response | TransactionEvent


# --- the machines ----------------------------------------------------------------------------


class Transaction:
    """What all four transaction kinds share: state, request, one timer."""

    __slots__ = ("_config", "_timer", "cseq", "request", "state", "top_via")

    TABLE: ClassVar[Table]
    TIMERS: ClassVar[Mapping[TransactionState, TransactionInput]]
    INITIAL: ClassVar[TransactionState]
    is_client: ClassVar[bool]
    is_invite: ClassVar[bool]

    def __init__(self, request: Request, now: float, config: TimerConfig) -> None:
        self.request = request
        self.top_via, self.cseq, _ = identifiers(request)
        self.state = self.INITIAL
        self._config = config
        self._timer: tuple[TransactionInput, float] | None = None
        timer = self.TIMERS.get(self.INITIAL)
        if timer is not None:
            self._start(timer, now)

    @property
    def branch(self) -> str | None:
        """The branch of the request's top Via (the transaction's identifier)."""
        return self.top_via.branch

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def deadline(self) -> float | None:
        """When the running timer fires, if one runs."""
        return None if self._timer is None else self._timer[1]

    @property
    def timer(self) -> str | None:
        """The letter of the running timer ("B", "M"...), if one runs."""
        return None if self._timer is None else self._timer[0].timer_letter

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method} {self.branch} {self.state.value}>"

    # -- driving the table --

    def _start(self, timer: TransactionInput, now: float) -> None:
        self._timer = (timer, now + self._config.duration(timer.timer_letter or ""))

    def _step(self, inp: TransactionInput, now: float, message: Message | None = None) -> list[Output]:
        """Feed one input; then fire whatever timer is due at ``now`` (the zero timers)."""
        out: list[Output] = []
        self._run(inp, now, message, out)
        self._fire_due(now, out)
        return out

    def _handle_timer(self, now: float) -> list[Output]:
        out: list[Output] = []
        self._fire_due(now, out)
        return out

    def _transport_error(self, now: float) -> list[Output]:
        return self._step(Input.TRANSPORT_ERROR, now)

    def _fire_due(self, now: float, out: list[Output]) -> None:
        while self._timer is not None and self._timer[1] <= now:
            timer, self._timer = self._timer[0], None
            self._run(timer, now, None, out)

    def _run(self, inp: TransactionInput, now: float, message: Message | None, out: list[Output]) -> None:
        entry = self.TABLE.get((self.state, inp))
        if entry is None:
            if inp.from_tu:
                raise TransactionStateError(
                    f"cannot send a {inp.value.split()[0]} response on {self!r}: "
                    "its final response was already sent"
                )
            return  # not reachable from the layer: the tables list every network input
        new_state, actions = entry
        for action in actions:
            self._perform(action, message, out)
        if new_state is not self.state:
            timer = self.TIMERS.get(new_state)
            self.state = new_state
            if timer is None:
                self._timer = None
            elif self._timer is None or self._timer[0] is not timer:
                self._start(timer, now)
            if new_state is State.TERMINATED:
                out.append(TransactionTerminated(self))

    def _perform(self, action: TransactionAction, message: Message | None, out: list[Output]) -> None:
        if action is Action.REPORT_TIMEOUT:
            out.append(TransactionTimeout(self))
        elif action is Action.REPORT_TRANSPORT_ERROR:
            out.append(TransportFailed(self))
        else:
            raise AssertionError(f"{type(self).__name__} cannot {action.value}")


def _received(status_code: int) -> TransactionInput:
    if status_code < 200:
        return Input.RECV_1XX
    return Input.RECV_2XX if status_code < 300 else Input.RECV_3XX_6XX


def _sent(status_code: int) -> TransactionInput:
    if status_code < 200:
        return Input.SEND_1XX
    return Input.SEND_2XX if status_code < 300 else Input.SEND_3XX_6XX


class ClientTransaction(Transaction):
    """A request we sent, waiting for its responses."""

    __slots__ = ("final_response", "got_provisional")
    is_client = True

    def __init__(self, request: Request, now: float, config: TimerConfig) -> None:
        super().__init__(request, now, config)
        self.got_provisional = False
        self.final_response: Response | None = None

    def _receive_response(self, response: Response, now: float) -> list[Output]:
        if response.status_code < 200 and self.state in (State.CALLING, State.TRYING, State.PROCEEDING):
            self.got_provisional = True
        return self._step(_received(response.status_code), now, response)

    def _perform(self, action: TransactionAction, message: Message | None, out: list[Output]) -> None:
        if action is Action.PASS_TO_TU:
            assert isinstance(message, Response)
            if message.status_code >= 200 and self.final_response is None:
                self.final_response = message
            out.append(ResponseReceived(self, message))
        elif action is Action.SEND_ACK:
            assert isinstance(message, Response)
            out.append(build_ack(self.request, message))
        else:
            super()._perform(action, message, out)


class InviteClientTransaction(ClientTransaction):
    """RFC 3261 17.1.1 with RFC 6026's Accepted state. Also keeps the CANCEL rule of
    9.1: ``cancel_pending`` while a CANCEL waits for the first provisional response,
    ``cancel_transaction`` once it was sent."""

    __slots__ = ("_cancel_headers", "cancel_pending", "cancel_transaction")
    TABLE, TIMERS, INITIAL = INVITE_CLIENT, INVITE_CLIENT_TIMERS, State.CALLING
    is_invite = True

    def __init__(self, request: Request, now: float, config: TimerConfig) -> None:
        super().__init__(request, now, config)
        self.cancel_pending = False
        self.cancel_transaction: NonInviteClientTransaction | None = None
        self._cancel_headers: tuple[tuple[str, HeaderValue], ...] = ()

    def _cancel_sent(self, cancel: NonInviteClientTransaction, now: float) -> None:
        """9.1: with no final response 64*T1 after the CANCEL, give the INVITE up (Timer B)."""
        self.cancel_pending = False
        self.cancel_transaction = cancel
        self._start(Input.TIMER_B, now)


class NonInviteClientTransaction(ClientTransaction):
    """RFC 3261 17.1.2."""

    __slots__ = ()
    TABLE, TIMERS, INITIAL = NON_INVITE_CLIENT, NON_INVITE_CLIENT_TIMERS, State.TRYING
    is_invite = False


class ServerTransaction(Transaction):
    """A request we received; the TU answers through the layer's ``send_response``."""

    __slots__ = ("last_response", "to_tag")
    is_client = False

    def __init__(self, request: Request, now: float, config: TimerConfig) -> None:
        super().__init__(request, now, config)
        self.last_response: Response | None = None
        #: The To tag of this transaction's responses: the last one sent with a tag,
        #: or the one the layer chose when it answered a CANCEL first.
        self.to_tag: str | None = request.to.tag if request.to is not None else None

    def _check_response(self, response: Response) -> None:
        """The response must be for this request (8.2.6.2: Via, CSeq, Call-ID copied)."""
        check_type(response, Response, "response")
        mine, theirs = self.top_via, response.top_via
        problems = []
        if theirs is None or theirs.branch != mine.branch or theirs.sent_by.lower() != mine.sent_by.lower():
            problems.append(f"top Via {theirs} is not the request's {mine}")
        if response.cseq != self.cseq:
            problems.append(f"CSeq {response.cseq} is not the request's {self.cseq}")
        if response.call_id != self.request.call_id:
            problems.append(f"Call-ID {response.call_id!r} is not the request's")
        if problems:
            raise ValueError(f"response does not belong to {self!r}: " + "; ".join(problems))

    def _send_response(self, response: Response, now: float) -> list[Output]:
        self._check_response(response)
        return self._step(_sent(response.status_code), now, response)

    def _receive_request(self, request: Request, now: float) -> list[Output]:
        return self._step(Input.ACK if request.method == "ACK" else Input.REQUEST, now, request)

    def _perform(self, action: TransactionAction, message: Message | None, out: list[Output]) -> None:
        if action is Action.SEND_RESPONSE:
            assert isinstance(message, Response)
            self.last_response = message
            if message.to is not None and message.to.tag is not None:
                self.to_tag = message.to.tag
            out.append(message)
        elif action is Action.RESEND_RESPONSE:
            if self.last_response is not None:
                out.append(self.last_response)
        elif action is Action.PASS_TO_TU:
            assert isinstance(message, Request) and isinstance(self, InviteServerTransaction)
            out.append(AckReceived(self, message))
        else:
            super()._perform(action, message, out)


class InviteServerTransaction(ServerTransaction):
    """RFC 3261 17.2.1 with RFC 6026's Accepted state. ``cancelled`` once a CANCEL
    for it arrived before its final response."""

    __slots__ = ("cancelled",)
    TABLE, TIMERS, INITIAL = INVITE_SERVER, INVITE_SERVER_TIMERS, State.PROCEEDING
    is_invite = True

    def __init__(self, request: Request, now: float, config: TimerConfig) -> None:
        super().__init__(request, now, config)
        self.cancelled = False


class NonInviteServerTransaction(ServerTransaction):
    """RFC 3261 17.2.2."""

    __slots__ = ()
    TABLE, TIMERS, INITIAL = NON_INVITE_SERVER, NON_INVITE_SERVER_TIMERS, State.TRYING
    is_invite = False
