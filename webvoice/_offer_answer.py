"""A call's offer/answer with the browser: answers applied, re-offers made and answered.

A part owned by each :class:`~webvoice._calls.Call`, with its own state: the
re-offer in flight (at most one; RFC 3264 allows no second offer before the
answer), whether the peer's answer to our offer is still to come (an INVITE
without SDP), and the early answer already applied (a 183 with SDP). It knows
the call only through the functions it is given, as
:mod:`webvoice._media_recovery` does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from ._call_event_records import SdpEvent
from ._media import MediaError, MediaSession
from .sip import CallSession, ReofferAnswered, ReofferFailed

__all__ = ["OfferAnswer"]

log = logging.getLogger("webvoice")

#: How long (in 0.1 s steps) a re-offer waits for an exchange in progress to finish.
_READY_STEPS = 50


class OfferAnswer:
    """SDP between the core and the media session of one call (see the module doc).

    ``media()`` and ``core()`` are the call's sessions (they raise before they
    exist); ``run_core(action)`` runs an action on the core; ``emit(name, event)``
    raises a call event; ``ended()`` says whether the call is over;
    ``terminate()`` hangs up; ``spawn(coro)`` runs a task of the call.
    """

    def __init__(self, *, line_id: str, media: Callable[[], MediaSession], core: Callable[[], CallSession],
                 run_core: Callable[[Callable[[float], object]], None], emit: Callable[[str, object], object],
                 ended: Callable[[], bool], terminate: Callable[[], None],
                 spawn: Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]]) -> None:
        self._line_id = line_id
        self._media = media
        self._core = core
        self._run_core = run_core
        self._emit = emit
        self._ended = ended
        self._terminate = terminate
        self._spawn = spawn
        self._waiter: asyncio.Future[ReofferAnswered | ReofferFailed] | None = None
        #: We offered in our answer's place (an INVITE without SDP): the ACK brings the answer.
        self.remote_answer_pending = False
        self._early_applied: str | None = None

    @property
    def reoffering(self) -> bool:
        return self._waiter is not None

    # --- answers from the peer --------------------------------------------------------------------

    def provisional_answer(self, sdp: str) -> None:
        """A 18x with SDP (early media): applied as a provisional answer."""
        self._early_applied = sdp
        self._emit("sdp", SdpEvent("remote", "pranswer", sdp))
        self._spawn(self.apply_answer(sdp, provisional=True))

    def call_answered(self, sdp: str | None, *, outgoing: bool) -> None:
        """The call is confirmed: apply the final answer (the 200's, else the early one),
        or the ACK's answer to the offer we made in our 200."""
        if outgoing:
            answer = sdp or self._early_applied
            if answer is not None:
                self._emit("sdp", SdpEvent("remote", "answer", answer))
                self._spawn(self.apply_answer(answer))
        elif self.remote_answer_pending and sdp is not None:
            self.remote_answer_pending = False
            self._spawn(self.apply_answer(sdp))

    async def apply_answer(self, sdp: str, provisional: bool = False) -> None:
        try:
            await self._media().apply_answer(sdp, provisional=provisional)
        except MediaError as exc:
            log.warning("webvoice: the answer could not be applied on line %s: %s", self._line_id, exc)
            if not provisional and not self._ended():
                self._terminate()

    # --- offers from the peer ---------------------------------------------------------------------

    async def answer_remote_offer(self, sdp: str | None) -> None:
        """A re-INVITE or UPDATE: answer its offer (or, without one, offer in the answer)."""
        core = self._core()
        try:
            if sdp is None:
                local = await self._media().create_offer()
                self.remote_answer_pending = True
            else:
                self._emit("sdp", SdpEvent("remote", "offer", sdp))
                local = await self._media().create_answer(sdp)
        except MediaError as exc:
            log.warning("webvoice: cannot answer the re-offer on line %s: %s", self._line_id, exc)
            self._run_core(lambda now: core.reject_offer(488, now))
            return
        if self._ended():
            return
        self._emit("sdp", SdpEvent("local", "offer" if sdp is None else "answer", local))
        self._run_core(lambda now: core.answer_offer(local, now))

    # --- our re-offers ----------------------------------------------------------------------------

    async def reoffer(self, ready: Callable[[], bool], *, use_update: bool, ice_restart: bool = False) -> bool:
        """Send a new offer once ``ready()`` (bounded wait); True when it was answered and applied."""
        for _ in range(_READY_STEPS):  # wait (bounded) for a pending offer exchange to finish
            if ready():
                break
            if self._ended():
                return False
            await asyncio.sleep(0.1)
        else:
            return False
        media, core = self._media(), self._core()
        try:
            offer = await media.create_offer(ice_restart=ice_restart)
        except MediaError as exc:
            log.warning("webvoice: cannot re-offer on line %s: %s", self._line_id, exc)
            return False
        self._emit("sdp", SdpEvent("local", "offer", offer))
        # Not loop.create_future(): Pyodide's adds a done-callback, a turn of its own.
        waiter = self._waiter = asyncio.Future(loop=asyncio.get_running_loop())
        self._run_core(lambda now: core.reoffer(offer, now, use_update=use_update))
        result = await waiter
        if isinstance(result, ReofferAnswered) and result.sdp is not None:
            self._emit("sdp", SdpEvent("remote", "answer", result.sdp))
            await media.apply_answer(result.sdp)
            return True
        await media.rollback()
        return False

    def reoffer_settled(self, event: ReofferAnswered | ReofferFailed) -> None:
        """The core says how our re-offer ended."""
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(event)

    def call_ended(self, core: CallSession | None, cause: str) -> None:
        """The call ended: a re-offer still waiting fails."""
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done() and core is not None:  # a re-offer needs a core
            waiter.set_result(ReofferFailed(core, None, cause))
