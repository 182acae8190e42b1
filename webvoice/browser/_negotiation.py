"""The offer/answer of one line's media (JSEP on an ``RTCPeerConnection``), for the engine's session.

:class:`~webvoice.browser._engine.EngineSession` owns a line's media (the
microphone, the peer connection, the ``<audio>`` element, hold and mute, the
browser's events); making and applying descriptions is this module's
:class:`Negotiation`, with the state only that needs: one step at a time, the
last remote answer, our DTLS role and the hold of the last completed
exchange. Apart so that the rules of a description read on their own.

ICE for SIP carries no trickle, so :meth:`Negotiation.offer` and
:meth:`Negotiation.answer` set the local description, then wait for
candidates before returning it (one waiter, armed before the description is
set, settled in the browser):

* without ICE servers, until gathering completes or ``HOST_GRACE`` (30 ms)
  after the first host candidate, whichever comes first: the UDP host
  candidates arrive together within a few milliseconds, while gathering only
  completes with the TCP ones about 120 ms later, which a call does not need;
* with STUN/TURN servers, until gathering completes, at most ``GATHER_LIMIT``
  (1.5 s) in all (an unreachable STUN server costs 1.5 s, not Chrome's ~10 s).

An ICE restart that gathers no candidate at all (the network or the TURN
server is still down) is rolled back and fails with a MediaError instead of
being offered: it could not connect, and the recovery loop's next try comes
sooner than an answer's settling would.

Later offers and answers without an ICE restart keep the candidates gathered
(JSEP: the local description carries them): the description is read as soon
as it is set, and a waiter (two listeners, a timer, four crossings to arm and
as many to release) is armed only should it hold none. Hold and the peer's
re-INVITEs are such exchanges.

Hold (RFC 3264 section 8.4, as JSEP directions): while held, our offers say
``sendonly`` (``inactive`` when the peer already holds us) and our answers are
``sendonly``/``inactive`` (the browser intersects our ``sendonly`` with the
offer). A later answer keeps the DTLS role we have (:func:`keep_dtls_role`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any

from .._media import MediaError
from ._realm import Realm, Ref, Until

__all__ = ["GATHER_LIMIT", "HOST_GRACE", "Negotiation", "dtls_setup", "ice_ufrag", "keep_dtls_role"]

log = logging.getLogger("webvoice")

#: Seconds to wait for more candidates after the first host one (no ICE servers).
HOST_GRACE = 0.03
#: Seconds an offer or answer may wait for ICE gathering, in all.
GATHER_LIMIT = 1.5


def _has_candidates(sdp: str) -> bool:
    return "\na=candidate:" in sdp


_SETUP = re.compile(r"^a=setup:(\w+)", re.MULTILINE)


_UFRAG = re.compile(r"^a=ice-ufrag:(\S+)", re.MULTILINE)


def ice_ufrag(sdp: str) -> str | None:
    """The first ``a=ice-ufrag`` of a description: a new one from the peer is an ICE restart (RFC 8839 4.4.1.1.1)."""
    match = _UFRAG.search(sdp)
    return match.group(1) if match else None


def dtls_setup(sdp: str) -> str | None:
    """The first ``a=setup`` value of a description (RFC 4145: active, passive, actpass)."""
    match = _SETUP.search(sdp)
    return match.group(1) if match else None


def keep_dtls_role(answer: str, offer: str, role: str | None) -> str:
    """Our answer to a subsequent ``actpass`` offer, with the DTLS ``role`` we already
    have (RFC 8842 5.5: an answerer keeps its role). Firefox answers an ICE restart
    ``active`` whatever its role was, and Chromium, if it was the client, then refuses
    the answer ("Failed to set SSL role for the transport")."""
    if role not in ("active", "passive") or dtls_setup(offer) != "actpass" or dtls_setup(answer) == role:
        return answer
    return _SETUP.sub(f"a=setup:{role}", answer)


def _same_sdp(a: str | None, b: str) -> bool:
    if a is None:
        return False
    return a.replace("\r\n", "\n").strip() == b.replace("\r\n", "\n").strip()


class Negotiation:
    """The descriptions of one peer connection (see the module doc).

    ``check_open`` raises once the session is closed: it is called after every
    wait, so a session closed meanwhile stops the step. ``held`` is asked of
    the session at each step (hold is the session's flag)."""

    def __init__(self, realm: Realm, pc: Ref, transceiver: Ref, *, line_id: str, ice_servers: bool,
                 offer_options: dict[str, Any], held: Callable[[], bool], check_open: Callable[[], None]) -> None:
        self._realm = realm
        self._pc = pc
        self._transceiver = transceiver
        self._line_id = line_id
        self._ice_servers = ice_servers
        self._offer_options = offer_options
        self._held = held
        self._check_open = check_open
        self._lock = asyncio.Lock()  # one offer/answer step at a time
        self._remote_answer: str | None = None
        self._dtls_role: str | None = None  # ours once negotiated: "active" (client) or "passive"
        #: The hold of the last completed offer/answer (what a rollback returns to).
        self.negotiated_hold = False
        #: Candidates gathered by an earlier exchange: a later one without an ICE restart has them.
        self._gathered = False
        self._remote_ufrag: str | None = None  # the peer's ICE username fragment, last seen
        #: The transceiver's direction as last set (addTrack makes it sendrecv): setting it
        #: is a blocking hop to the browser's WebRTC thread even for the same value
        #: (~0.4 ms of the page's main thread in Chromium), so only a change is set.
        self._direction = "sendrecv"

    async def offer(self, *, ice_restart: bool = False) -> str:
        async with self._lock:
            self._check_open()
            await self._set_direction(offer=True)
            restart = bool(ice_restart or self._offer_options.get("iceRestart"))
            waiter = None if self._gathered and not restart else self._arm_gathering()
            try:
                if restart or any(name != "iceRestart" for name in self._offer_options):
                    options = {**self._offer_options, "iceRestart": restart}
                    offer = await self._realm.invoke(self._pc, "createOffer", options, doing="createOffer")
                    try:
                        self._check_open()
                        await self._realm.invoke(self._pc, "setLocalDescription", offer,
                                                 doing="setLocalDescription", keep=False)
                    finally:  # refused or not, the description is not needed again
                        self._realm.release(offer)
                else:  # JSEP's implicit description: the offer made and set in one step, one wait
                    await self._realm.invoke(self._pc, "setLocalDescription", doing="setLocalDescription(offer)",
                                             keep=False)
                # An explicit restart's lack of candidates is its failure, reported by the
                # caller (one warning per try, not two).
                sdp = await self._gathered_sdp(waiter, warn=not ice_restart)
                if ice_restart and not _has_candidates(sdp):
                    # An ICE restart without a candidate cannot connect (the network or the
                    # TURN server is still unreachable): offering it would only cost the peer
                    # a re-INVITE, and glare with its own restart. Undone, and failed, so the
                    # recovery loop tries again after its delay instead of awaiting an answer.
                    await self._roll_back()
                    raise MediaError(f"no ICE candidate gathered in {GATHER_LIMIT:g} s for the ICE restart "
                                     "(the network or the TURN server is unreachable)")
                return sdp
            finally:
                if waiter is not None:
                    self._realm.release(waiter)

    async def answer(self, remote_offer: str) -> str:
        async with self._lock:
            self._check_open()
            realm = self._realm
            await realm.invoke(self._pc, "setRemoteDescription", {"type": "offer", "sdp": remote_offer},
                               doing="setRemoteDescription(offer)", keep=False)
            self._check_open()
            await self._set_direction(offer=False)
            ufrag, self._remote_ufrag = self._remote_ufrag, ice_ufrag(remote_offer)
            restart = ufrag != self._remote_ufrag  # the peer restarts ICE: so do we, gathering anew
            waiter = None if self._gathered and not restart else self._arm_gathering()
            try:
                if self._dtls_role is None:  # the first answer: made and set in one step (implicit description)
                    await realm.invoke(self._pc, "setLocalDescription", doing="setLocalDescription(answer)",
                                       keep=False)
                else:  # a later one keeps our DTLS role: read it before setting it
                    answer = await realm.invoke(self._pc, "createAnswer", doing="createAnswer")
                    try:
                        self._check_open()
                        created = await realm.get(answer, "sdp")
                        kept = keep_dtls_role(created, remote_offer, self._dtls_role)
                        description: Any = answer if kept == created else {"type": "answer", "sdp": kept}
                        await realm.invoke(self._pc, "setLocalDescription", description,
                                           doing="setLocalDescription", keep=False)
                    finally:  # refused or not, the description is not needed again
                        realm.release(answer)
                sdp = await self._gathered_sdp(waiter)
            finally:
                if waiter is not None:
                    realm.release(waiter)
            self._dtls_role = dtls_setup(sdp)
            self.negotiated_hold = self._held()
            self._remote_answer = None
            return sdp

    async def apply_answer(self, sdp: str, *, provisional: bool = False) -> bool:
        """Set the peer's answer (or provisional answer); False when it was already
        applied (a retransmitted 200, or a late 18x after it)."""
        async with self._lock:
            self._check_open()
            state = await self._realm.get(self._pc, "signalingState")
            if state == "stable" and (provisional or _same_sdp(self._remote_answer, sdp)):
                return False
            if state == "have-remote-pranswer" and provisional and _same_sdp(self._remote_answer, sdp):
                return False
            kind = "pranswer" if provisional else "answer"
            await self._realm.call(self._pc, "setRemoteDescription", {"type": kind, "sdp": sdp},
                                   doing=f"setRemoteDescription({kind})")
            self._remote_answer = sdp
            self._remote_ufrag = ice_ufrag(sdp)
            if not provisional:
                self.negotiated_hold = self._held()
                self._dtls_role = {"active": "passive", "passive": "active"}.get(dtls_setup(sdp) or "")
            return True

    async def rollback(self) -> bool:
        """Undo our pending offer or the peer's; False when none was pending. The
        caller then returns to :attr:`negotiated_hold` (the refused offer's hold,
        or resume, did not happen)."""
        async with self._lock:
            state = await self._realm.get(self._pc, "signalingState")
            if state == "stable":
                return False
            if state not in ("have-local-offer", "have-remote-offer"):
                raise MediaError(f"cannot roll back in signaling state {state} (after a provisional answer)")
            await self._roll_back()
            return True

    async def _roll_back(self) -> None:
        """Undo the pending description (the lock held by the caller)."""
        await self._realm.call(self._pc, "setLocalDescription", {"type": "rollback"}, doing="rollback")

    async def _set_direction(self, *, offer: bool) -> None:
        if not self._held():
            direction = "sendrecv"
        elif offer and await self._realm.get(self._transceiver, "currentDirection") in ("recvonly", "inactive"):
            direction = "inactive"  # the peer holds us already (RFC 3264 section 8.4)
        else:
            direction = "sendonly"
        if direction != self._direction:
            self._realm.set(self._transceiver, "direction", direction)
            self._direction = direction

    def _arm_gathering(self) -> Ref:
        # "complete" with candidates in the description: right after an ICE restart's
        # setLocalDescription the state may still say "complete" from before.
        until = [Until("icegatheringstatechange", prop="iceGatheringState", equals="complete",
                       text="localDescription.sdp", contains="\na=candidate:")]
        if not self._ice_servers:
            until.append(Until("icecandidate", field="candidate.type", equals="host", grace=HOST_GRACE))
        return self._realm.arm(self._pc, until, GATHER_LIMIT)

    async def _gathered_sdp(self, waiter: Ref | None, *, warn: bool = True) -> str:
        """Our local description once it holds candidates (see the module doc);
        without a waiter (candidates gathered before), at once unless it has none.
        ``warn``: log when none came (a caller that fails on it says so itself)."""
        if waiter is None:
            sdp = await self._realm.get(self._pc, "localDescription.sdp") or ""
            self._check_open()
            if _has_candidates(sdp):
                return sdp
            waiter = self._arm_gathering()  # none after all: wait as a first exchange does
            try:
                return await self._gathered_sdp(waiter, warn=warn)
            finally:
                self._realm.release(waiter)
        _, read = await self._realm.settle(waiter, ("localDescription.sdp",))
        self._check_open()
        sdp = read.get("localDescription.sdp") or ""
        if _has_candidates(sdp):
            self._gathered = True
        elif warn:
            log.warning("line %s: no ICE candidate gathered in %.1f s", self._line_id, GATHER_LIMIT)
        return sdp
