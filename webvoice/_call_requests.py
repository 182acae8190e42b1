"""What the peer asks of the application: an incoming call, a transfer (REFER).

:class:`IncomingCallRequest` is what ``on_incoming_call`` handlers get;
:class:`ReferRequest` what ``refer`` handlers get, and :func:`receive_refer`
how a REFER reaches them: only with consent, the handlers first, then
``ua_config["refer_policy"]`` (see :mod:`webvoice._refer_policy`). Both sit on
top of :class:`~webvoice._calls.Call`: the call module never imports this one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from ._call_event_records import Identity, check_call_events
from ._calls import Call, SessionView
from ._refer_policy import DEFAULT_REFER_POLICY, is_number, policy_allows
from ._targets import refer_target
from .sip import CallState, Cause, NameAddr, ReferReceived, Uri, record

__all__ = ["IncomingCallRequest", "ReferRequest", "receive_refer", "REFER_DECISION_TIMEOUT"]

log = logging.getLogger("webvoice")

# How long an ``async def`` refer handler may take to accept or reject before
# refer_policy decides (the transferor's REFER transaction times out at 32 s).
REFER_DECISION_TIMEOUT = 10.0


class ReferRequest:
    """What ``refer`` handlers get: the other side asks us to call ``refer_to``.

    ``accept(events)`` follows the transfer (the new call gets ``events``, or
    else the handlers of the call it comes from) and ``reject(status)``
    declines it. ``is_number`` says whether the target is a telephone number
    (think twice: premium-rate fraud). ``accepted`` is None until decided;
    ``new_call`` is the call placed to follow it, once placed.
    """

    def __init__(self, call: Call, event: ReferReceived) -> None:
        self.call = call
        self._event = event
        refer_to = event.refer_to
        assert isinstance(refer_to, NameAddr)  # the core parsed the Refer-To
        self.target: Uri = refer_to.uri
        self.refer_to = Identity.of(refer_to)
        self.referred_by = Identity.of(event.referred_by) if isinstance(event.referred_by, NameAddr) else None
        self.is_number = is_number(self.target)
        self.accepted: bool | None = None
        self.refused_by_policy = False
        self.new_call: Call | None = None
        #: Why the Refer-To cannot be followed (a URI header other than Replaces,
        #: an escaped CR/LF...), or None.
        self.invalid: str | None = None
        try:
            refer_target(self.target)
        except ValueError as exc:
            self.invalid = str(exc)

    @property
    def decided(self) -> bool:
        return self.accepted is not None

    def accept(self, events: Mapping[str, Any] | None = None) -> asyncio.Task[Call | None] | None:
        """Follow the transfer: call the target, reporting progress to the transferor.

        Returns the task placing the new call (it resolves to the :class:`Call`,
        or None if it could not be placed). Raises RuntimeError if the request
        was already declined (by ``reject()``, by ``refer_policy`` "never", or
        after the decision timeout), ValueError if the target cannot be followed."""
        if self.accepted is False:
            why = " by refer_policy 'never'" if self.refused_by_policy else ""
            raise RuntimeError(f"this transfer to {self.target} was already declined{why}")
        if self.accepted:
            return None
        if self.invalid is not None:
            raise ValueError(f"this transfer cannot be followed: {self.invalid}")
        check_call_events(events)
        self.accepted = True
        call = self.call
        core = call.started_core()
        host = call._instance
        host._run_core(lambda now: core.accept_refer(now))
        handlers = events if events is not None else call._handler_lists()
        return call._spawn(host._follow_refer(call, self.target, handlers, self))

    def reject(self, status_code: int = 603) -> None:
        """Decline the transfer (603 Decline unless another 4xx-6xx status is given)."""
        if isinstance(status_code, bool) or not isinstance(status_code, int) or not 400 <= status_code <= 699:
            raise ValueError(f"a REFER is rejected with a 4xx-6xx status, not {status_code!r}")
        if self.decided:
            return
        self.accepted = False
        core = self.call.started_core()
        self.call._instance._run_core(lambda now: core.reject_refer(status_code, now))

    def __repr__(self) -> str:
        state = {None: "undecided", True: "accepted", False: "declined"}[self.accepted]
        return f"<ReferRequest to {self.target} from line {self.call.get_line_id()} {state}>"


def receive_refer(call: Call, event: ReferReceived) -> ReferRequest:
    """The peer of ``call`` asks us to call someone (RFC 3515): only with consent.

    The ``refer`` handlers decide (``request.accept()`` / ``reject()``); an
    ``async def`` handler may take up to REFER_DECISION_TIMEOUT seconds.
    Without a decision, ``ua_config["refer_policy"]`` does.
    """
    policy: str = call._instance._settings.ua.get("refer_policy", DEFAULT_REFER_POLICY)
    request = ReferRequest(call, event)
    if request.invalid is not None:  # never offered to the application, never followed
        log.warning("webvoice: refused a REFER on line %s: %s", call.get_line_id(), request.invalid)
        request.reject(400)
        return request
    if policy == "never":
        request.reject(603)
        request.refused_by_policy = True
    tasks = call._emit("refer", request)
    if request.decided:
        return request
    if tasks:
        call._spawn(_decide_later(request, policy, tasks))
    else:
        _decide(request, policy)
    return request


async def _decide_later(request: ReferRequest, policy: str, tasks: list[asyncio.Future[Any]]) -> None:
    await asyncio.wait(tasks, timeout=REFER_DECISION_TIMEOUT)
    _decide(request, policy)


def _decide(request: ReferRequest, policy: str) -> None:
    call = request.call
    if request.decided or call.is_ended():
        return
    request.refused_by_policy = not policy_allows(policy, request.target, call._instance._settings.domain)
    if request.refused_by_policy:
        log.info("webvoice: declined a transfer to %s on line %s (refer_policy %r, no accept())",
                 request.target, call.get_line_id(), policy)
        request.reject(603)
    else:
        request.accept()


@record
class _IncomingEvent:
    session: SessionView
    request: Any


class IncomingCallRequest:
    """What ``on_incoming_call`` handlers get: ``accept()``, ``decline()``, ``event``, ``call``."""

    def __init__(self, call: Call, offer: str | None, request: Any) -> None:
        self.call = call
        self._offer = offer
        self.event = _IncomingEvent(call.session, request)

    @property
    def remote_identity(self) -> Identity | None:
        return self.call.get_remote_identity()

    def accept(self, events: Mapping[str, Callable[..., Any]] | None = None) -> asyncio.Task[None]:
        """Answer: get the microphone, answer the offer, send 200 OK."""
        if events:
            self.call.add_handlers(events)
        if self.call.core is None or self.call.core.state is not CallState.INCOMING:
            raise RuntimeError(f"this call can no longer be accepted (it is {self.call.get_status()})")
        return self.call._spawn(self.call._instance._accept_incoming(self.call, self._offer))

    def progress(self) -> asyncio.Task[bool]:
        """Early media before ``accept()``: get the microphone and answer the offer
        in a 183 Session Progress, so that both sides hear each other while the
        call is not answered yet (sent reliably, PRACKed, when the caller
        supports 100rel, RFC 3262). ``accept()`` then sends the 200 with the same
        SDP. Await the task for the outcome (``True`` once the 183 is sent)."""
        call = self.call
        if call.core is None or call.core.state is not CallState.INCOMING:
            raise RuntimeError(f"early media needs a ringing incoming call (it is {call.get_status()})")
        if call._progress_task is not None:
            raise RuntimeError("early media was already started on this call")
        if not call.core.early_media_possible:
            raise RuntimeError("early media needs the caller's SDP offer, or 100rel to send ours")
        call._progress_task = call._spawn(call._progress(self._offer))
        return call._progress_task

    def decline(self) -> None:
        """Refuse with 486 Busy Here."""
        core = self.call.core
        if core is not None and core.state is CallState.INCOMING:
            self.call._instance._run_core(lambda now: core.reject(486, now, cause=Cause.REJECTED))
