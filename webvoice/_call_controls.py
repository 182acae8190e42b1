"""What an application does to a call: hold, mute, DTMF, renegotiate, transfer, hang up.

The part of :class:`~webvoice._calls.Call` that acts on it. The controls that
need the browser (hold, DTMF, renegotiation, a new microphone) start the work
at once and return an ``asyncio.Task``: await it to know the outcome, or
ignore it as JavaScript code ignores the promise. A bad argument raises before
anything is sent.

A base class of :class:`~webvoice._calls.Call`, on top of
:class:`~webvoice._call_status.CallStatus` (the state it acts on).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from ._call_event_records import EndEvent, HoldEvent, MuteEvent
from ._call_status import CallStatus
from ._errors import TransferError
from ._media import DTMF_TIMING, DTMF_TONES
from ._targets import check_target, normalize_target
from .sip import Cause, NameAddr, ReferProgress, SipUri, TelUri, Uri

__all__ = ["CallControls"]

T = TypeVar("T")


class CallControls(CallStatus):
    """A call's controls (see the module doc)."""

    _refer_waiter: asyncio.Future[ReferProgress] | None

    if TYPE_CHECKING:  # defined by Call
        def _spawn(self, coro: Coroutine[Any, Any, T],
                   done: Callable[..., Any] | None = None) -> asyncio.Task[T]: ...

        def _finish(self, status: str, event: EndEvent) -> None: ...

    # --- controls -----------------------------------------------------------------------------------

    def mute(self) -> bool:
        """Stop sending microphone audio; ``muted`` fires once (idempotent)."""
        return self._set_muted(True)

    def unmute(self) -> bool:
        return self._set_muted(False)

    def mute_with_constraints(self, constraints: Mapping[str, Any] | None = None) -> bool:
        """JS ``muteWithConstraints({audio: true})``: audio is all webvoice carries."""
        return self.mute() if _audio_asked(constraints) else False

    def unmute_with_constraints(self, constraints: Mapping[str, Any] | None = None) -> bool:
        return self.unmute() if _audio_asked(constraints) else False

    def _set_muted(self, muted: bool) -> bool:
        if self._muted == muted or self._ended:
            return False
        self._muted = muted
        if self.media is not None:
            self.media.set_muted(muted)
        self._emit("muted" if muted else "unmuted", MuteEvent())
        return True

    def hold(self) -> asyncio.Task[Any]:
        """Put the call on hold by re-INVITE with ``a=sendonly``; resolves to True when held."""
        return self._spawn(self._set_hold(True, use_update=False))

    def unhold(self) -> asyncio.Task[Any]:
        return self._spawn(self._set_hold(False, use_update=False))

    def hold_with_options(self, options: Mapping[str, Any] | None = None, done: Callable[..., Any] | None = None) -> asyncio.Task[Any]:
        """JS ``holdWithOptions({useUpdate}, done)``: ``{"use_update": True}`` holds by UPDATE."""
        return self._spawn(self._set_hold(True, use_update=_use_update(options)), done)

    def unhold_with_options(self, options: Mapping[str, Any] | None = None, done: Callable[..., Any] | None = None) -> asyncio.Task[Any]:
        return self._spawn(self._set_hold(False, use_update=_use_update(options)), done)

    def renegotiate(self, *, ice_restart: bool = False, use_update: bool = False) -> asyncio.Task[Any]:
        """Send a fresh offer (e.g. after a network change); resolves to True when answered."""
        return self._spawn(self._reoffer(use_update=use_update, ice_restart=ice_restart))

    def reset_local_media(self) -> asyncio.Task[Any]:
        """Capture the microphone again (same constraints) and send from it."""
        return self._spawn(self._reset_local_media())

    async def send_message(self, text: str, content_type: str = "text/plain") -> int:
        """An instant message in this call (RFC 3428; beyond the JS SDK). The peer's
        come as the ``message`` event; errors as for ``SipInstance.send_message``."""
        return await self._instance._send_message_in_call(self, text, content_type)

    def send_dtmf(self, tones: str, duration: int = 100, inter_tone_gap: int = 70,
                  transport_type: str = "RFC2833") -> asyncio.Task[Any]:
        """Send DTMF: RFC 4733 events through the browser ("RFC2833") or SIP INFO ("INFO").

        ``tones`` is 0-9, A-D, * and #, with ``,`` for a two-second pause. Bad
        arguments raise ValueError at once.
        """
        if not isinstance(tones, str) or not tones or not set(tones) <= DTMF_TONES:
            raise ValueError(f"DTMF tones are 0-9, A-D, *, # and ',' only, not {tones!r}")
        limits = DTMF_TIMING
        for name, value, low, high in (("duration", duration, limits.min_duration_ms, limits.max_duration_ms),
                                       ("inter_tone_gap", inter_tone_gap, limits.min_gap_ms, limits.max_duration_ms)):
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer number of ms in {low}..{high}, not {value!r}")
        if transport_type not in ("RFC2833", "INFO"):
            raise ValueError(f"transport_type must be 'RFC2833' or 'INFO', not {transport_type!r}")
        if not self.is_established():
            raise RuntimeError(f"DTMF needs an established call; this one is {self.get_status()}")
        return self._spawn(self._send_dtmf(tones.upper(), duration, inter_tone_gap, transport_type))

    def refer(self, target: str | Uri) -> asyncio.Task[Any]:
        """Ask the other party to call ``target`` (REFER, RFC 3515). The task resolves
        to the final status the new call reached, or raises TransferError."""
        if isinstance(target, (SipUri, TelUri)):
            uri = check_target(target)
        elif isinstance(target, str):
            uri = normalize_target(target, self._instance._settings.domain)
        else:
            raise TypeError(f"a transfer target is a string or a sip:/tel: URI, not {target!r}")
        if not self.is_established():
            raise RuntimeError(f"a transfer needs an established call; this one is {self.get_status()}")
        return self._spawn(self._refer(NameAddr(uri)))

    async def _refer(self, refer_to: NameAddr) -> int:
        if self._refer_waiter is not None:
            raise RuntimeError("a transfer is already in progress on this call")
        self._refer_waiter = asyncio.get_running_loop().create_future()
        waiter = self._refer_waiter
        try:
            self._instance._run_core(lambda now: self.started_core().refer(refer_to, now))
            progress: ReferProgress = await waiter
        finally:
            self._refer_waiter = None
        if progress.status_code >= 300 or progress.refused:
            raise TransferError(f"transfer failed: {progress.status_code} {progress.reason}".strip(),
                                status_code=progress.status_code, reason=progress.reason)
        return progress.status_code

    def terminate(self) -> None:
        """Hang up: CANCEL before an answer, BYE after, 486 for an unanswered incoming call."""
        if self._ended:
            return
        if self.core is None:  # still getting the microphone or the offer
            self._finish("failed", EndEvent(Cause.CANCELED, "local"))
            return
        self._instance._run_core(lambda now: self.started_core().terminate(now))

    def _end_here(self) -> None:
        """End a call whose hang-up had no answer before the connection closed for
        good (:meth:`SipInstance.close`: a CANCEL's 487 that never came): here only,
        as a local cancel ends, its media released. Nothing, if it ended."""
        self._finish("failed", EndEvent(Cause.CANCELED, "local"))

    # --- the work that needs the browser ------------------------------------------------------------------

    async def _set_hold(self, held: bool, *, use_update: bool) -> bool:
        if self._local_hold == held or not self.is_established():
            return False
        self._started_media().set_hold(held)
        ok = await self._reoffer(use_update=use_update)
        if ok:
            self._local_hold = held
            self._emit("held" if held else "unheld", HoldEvent("local"))
        else:
            self._started_media().set_hold(not held)
        return ok

    async def _reoffer(self, *, use_update: bool, ice_restart: bool = False) -> bool:
        return await self._sdp.reoffer(self.is_ready_to_reoffer, use_update=use_update, ice_restart=ice_restart)

    async def _send_dtmf(self, tones: str, duration: int, gap: int, transport_type: str) -> bool:
        if transport_type == "RFC2833":
            await self._started_media().send_dtmf(tones, duration, gap)
            return True
        for tone in tones:
            if self._ended:
                return False
            if tone == ",":
                await asyncio.sleep(2.0)
                continue
            core, body = self.started_core(), f"Signal={tone}\r\nDuration={duration}\r\n".encode()
            self._instance._run_core(partial(core.send_info, "application/dtmf-relay", body))
            await asyncio.sleep((duration + gap) / 1000)
        return True

    async def _reset_local_media(self) -> bool:
        await self._started_media().reset_local_media()
        if self._muted:
            self._started_media().set_muted(True)
        return True


def _audio_asked(constraints: Mapping[str, Any] | None) -> bool:
    """Whether ``{"audio": ...}`` (absent: all media) names audio, the only kind webvoice carries."""
    if constraints is not None and not isinstance(constraints, Mapping):
        raise TypeError("constraints must be a dict such as {'audio': True}")
    return bool((constraints or {"audio": True}).get("audio", False))


def _use_update(options: Mapping[str, Any] | None) -> bool:
    if options is None:
        return False
    if not isinstance(options, Mapping):
        raise TypeError("options must be a dict such as {'use_update': True}")
    return bool(options.get("use_update", options.get("useUpdate", False)))
