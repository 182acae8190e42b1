"""Requests from the network, routed to what serves them: the UAS side of the UA core.

The transaction layer hands the UA a request (or an ACK, a CANCEL, a 2xx
retransmission that no transaction owns any more); :func:`receive` decides
who answers it: the checks of :mod:`._uas` first, then OPTIONS, a new call
(with RFC 3891 Replaces, the RFC 4028 interval floor and the line limit), a
MESSAGE, a NOTIFY of a subscription, or a request inside a call's dialog.
Nothing but a request from the network needs this, so it is apart from
:mod:`._ua` and loaded with the first one (a page that only registers reads
no request; webvoice/_preload.py preloads it with the call machinery).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

from ..dialog._state import RequestRejected
from ..session._interval import session_interval_refusal
from ..syntax._message import Request, Response
from ..transaction._events import AckReceived, CancelReceived, RequestReceived, StrayResponse
from ._uas import SERVED_METHODS, check_request

if TYPE_CHECKING:
    from ..session._call import CallSession
    from ..transaction._transaction import ServerTransaction
    from ._ua import UserAgent

__all__ = ["IncomingEvent", "parse_replaces", "receive"]

#: What the transaction layer reports that this module serves.
IncomingEvent = Union[RequestReceived, AckReceived, CancelReceived, StrayResponse]


def receive(ua: UserAgent, event: IncomingEvent, now: float) -> None:
    """Route one request-side event of the transaction layer."""
    if isinstance(event, RequestReceived):
        _on_request(ua, event, now)
    elif isinstance(event, AckReceived):
        ack = event.request
        session = _session_for(ua, ack.call_id, ack.to.tag if ack.to else None)
        if session is not None:
            session.ack_received(ack, now)
    elif isinstance(event, CancelReceived):
        invite = event.transaction.request
        session = next((s for s in ua.sessions if s.serves(event.transaction)), None)
        if session is not None:
            session.cancel_received(now)
        else:
            ua.transactions.send_response(
                event.transaction, invite.response(487, to_tag=event.transaction.to_tag), now)
    else:
        response = event.response
        session = _session_for(ua, response.call_id, response.from_.tag if response.from_ else None)
        if session is not None:
            session.stray_2xx(response, now)


def parse_replaces(value: str) -> tuple[str, str, str] | None:
    """``call-id;to-tag=X;from-tag=Y`` (RFC 3891 6.1) as (call-id, to-tag, from-tag)."""
    call_id, _, rest = value.strip().partition(";")
    params = {}
    for part in rest.split(";"):
        name, _, val = part.strip().partition("=")
        params[name.strip().lower()] = val.strip()
    if not call_id or "to-tag" not in params or "from-tag" not in params:
        return None
    return call_id.strip(), params["to-tag"], params["from-tag"]


def _session_for(ua: UserAgent, call_id: str | None, local_tag: str | None) -> CallSession | None:
    for session in ua.sessions:
        if session.call_id == call_id and session.local_tag == local_tag:
            return session
    return None


def _on_request(ua: UserAgent, event: RequestReceived, now: float) -> None:
    request, tx = event.request, event.transaction
    refusal = check_request(request, ua.config.policy)
    if refusal is not None:
        ua.transactions.send_response(tx, refusal, now)
        return
    if request.to is not None and request.to.tag:
        _on_dialog_request(ua, tx, request, now)
    elif request.method == "OPTIONS":
        ua.transactions.send_response(tx, _options_answer(ua, request), now)
    elif request.method == "INVITE":
        _on_new_invite(ua, tx, request, now)
    elif request.method == "MESSAGE":
        from ._message_method import receive_message

        receive_message(ua.parts, tx, request, now, to_tag=tx.to_tag)
    elif SERVED_METHODS.get(request.method) == "dialog":
        # Served only inside a dialog, and there is none.
        ua.transactions.send_response(tx, request.response(481), now)
    else:  # registered as served anywhere, but no handler here: say so, never pretend
        ua.transactions.send_response(tx, request.response(501), now)


def _on_new_invite(ua: UserAgent, tx: ServerTransaction, request: Request, now: float) -> None:
    if tx.to_tag is None:
        tx.to_tag = ua.transactions.new_tag()  # every final answer below carries it (8.2.6.2)
    replaced = None
    if request.headers.has("Replaces"):
        # RFC 3891: the new call takes an existing dialog's place, or is refused.
        parsed = parse_replaces(request.header_text("Replaces") or "")
        if parsed is None:
            ua.transactions.send_response(tx, request.response(400, "Bad Replaces"), now)
            return
        replaced = next((s for s in ua.sessions if not s.is_ended and s.matches_replaces(*parsed)), None)
        if replaced is None:
            ua.transactions.send_response(tx, request.response(481, to_tag=tx.to_tag), now)
            return
    if ua.config.session_timers:
        refusal = session_interval_refusal(request, ua.config.session_min_se, to_tag=tx.to_tag)
        if refusal is not None:  # RFC 4028 9: Session-Expires below our floor
            ua.transactions.send_response(tx, refusal, now)
            return
    limit = ua.config.max_calls
    if replaced is None and limit is not None and len(ua.sessions) >= limit:
        ua.transactions.send_response(tx, request.response(486, to_tag=tx.to_tag), now)
        return
    from ..session._call import CallSession

    session = CallSession.incoming_call(ua.parts, tx, request, now, ua.config.no_answer_timeout, replaces=replaced)
    ua.sessions.append(session)


def _on_dialog_request(ua: UserAgent, tx: ServerTransaction, request: Request, now: float) -> None:
    if request.method == "NOTIFY":
        sub = next((s for s in ua.subscriptions if s.matches(request)), None)
        if sub is not None:  # its dialog may not exist yet (RFC 6665 4.1.2.4): the subscription decides
            sub.receive_notify(tx, request, now)
            return
    found = ua.parts.dialogs.receive_request(request)
    if isinstance(found, RequestRejected):
        if found.response is not None:
            ua.transactions.send_response(tx, found.response, now)
        return
    assert request.to is not None, "the caller checked its tag"
    session = _session_for(ua, request.call_id, request.to.tag) if found is not None else None
    if session is None:
        ua.transactions.send_response(tx, request.response(481), now)
        return
    if request.method == "MESSAGE":  # RFC 3428: in a call's dialog, with no effect on it
        from ._message_method import receive_message

        receive_message(ua.parts, tx, request, now, session=session)
        return
    session.receive_request(tx, request, now)


def _options_answer(ua: UserAgent, request: Request) -> Response:
    policy = ua.config.policy
    return request.response(
        200,
        to_tag=ua.transactions.new_tag(),
        headers=[
            ("Allow", policy.allow_value()),
            ("Accept", ", ".join(sorted(policy.body_types))),
            ("Supported", ", ".join(sorted(policy.extensions))),
            ("User-Agent", ua.config.user_agent),
        ],
    )

