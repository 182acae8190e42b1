"""Transfers as the instance offers them: attended (REFER with Replaces, RFC
5589), blind, and following a transfer the other side asks for (RFC 3515).

A mixin of :class:`webvoice._instance.SipInstance`, kept in its own module
because transfer is one idea with its own RFCs; it uses the instance's lines,
its core and its call placing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._instance_base import InstanceBase
from ._targets import normalize_target, refer_target
from .sip import NameAddr, SipUri, Uri

if TYPE_CHECKING:
    from ._call_requests import ReferRequest
    from ._calls import Call

__all__ = ["TransferMethods"]

log = logging.getLogger("webvoice")


class TransferMethods(InstanceBase):
    """``transfer_call``, ``blind_transfer`` and following a received REFER."""

    async def transfer_call(self, from_line_id: str, to_line_id: str) -> None:
        """Attended transfer: connect the party on ``from_line_id`` with the one on
        ``to_line_id`` (REFER with Replaces, RFC 5589), then drop both local lines.
        Raises TransferError (with the target's status) and leaves the lines as they were."""
        source, target = self._lines.get(from_line_id), self._lines.get(to_line_id)
        if source is target:
            raise ValueError("a line cannot be transferred to itself")
        for call in (source, target):
            if not call.is_established():
                raise RuntimeError(f"line {call.get_line_id()} is not an established call")
        target_core = target.started_core()
        replaces = target_core.replaces_value()
        remote = target_core.remote_identity.uri if target_core.remote_identity is not None else None
        if not isinstance(remote, SipUri):
            raise RuntimeError("the transfer target has no SIP address to send the transferee to")
        refer_to = SipUri(remote.scheme, remote.user, remote.host, remote.port,
                          headers=(("Replaces", _uri_escape(replaces)),))
        await source._refer(NameAddr(refer_to))
        source.terminate()
        for _ in range(40):  # the target hangs up the replaced dialog itself (RFC 3891)
            if target.is_ended():
                break
            await asyncio.sleep(0.05)
        target.terminate()

    async def blind_transfer(self, line_id: str, target: str) -> None:
        """Blind transfer: ask the party on ``line_id`` to call ``target``; on success
        (a 2xx in the NOTIFY) the line ends. Raises TransferError otherwise."""
        uri = normalize_target(target, self._settings.domain)
        call = self._lines.get(line_id)
        if not call.is_established():
            raise RuntimeError(f"line {line_id} is not an established call")
        await call._refer(NameAddr(uri))
        call.terminate()

    async def _follow_refer(self, referred: Call, refer_to: Uri, events: Mapping[str, Any] | None,
                            request: ReferRequest | None = None) -> Call | None:
        """We accepted a REFER: place the call and report its progress by NOTIFY.

        The target is checked before any line or microphone is taken (only a
        Replaces header may ride in it); a call that fails to start leaves
        nothing behind (see ``_place_call``) and is reported as failed.

        The new call gets ``events``: those given to ``ReferRequest.accept``, or
        else the handlers of the call the REFER came on, so that an application
        sees the call it did not place itself (its line appears through the line
        events as any other). Returns the new call, or None if it could not start."""
        outcome = asyncio.get_running_loop().create_future()

        def report(final_status: int, reason: str) -> None:
            if not outcome.done():
                outcome.set_result(None)
            core = referred.core
            if core is not None:
                self._run_core(lambda now: core.notify_refer(final_status, reason, now, final=True))

        handlers = {"confirmed": lambda *_: report(200, "OK"),
                    "failed": lambda e=None: report(getattr(e, "status_code", None) or 503,
                                                    getattr(e, "cause", "") or "Service Unavailable")}
        try:
            refer_to, headers = refer_target(refer_to)
        except ValueError as exc:
            log.warning("webvoice: will not follow the transfer to %s: %s", refer_to, exc)
            report(400, "Bad Request")
            return None
        try:
            new_call = await self._place_call(refer_to, events, extra_headers=headers)
        except Exception as exc:  # noqa: BLE001  (any failure is reported to the transferor)
            log.warning("webvoice: could not follow the transfer to %s: %s", refer_to, exc)
            report(503, "Service Unavailable")
            return None
        if request is not None:
            request.new_call = new_call
        new_call.add_handlers(handlers)
        if new_call.is_ended():
            report(487, "Request Terminated")
        return new_call


# urllib.parse is imported where it is used: it is not preloaded in Pyodide and
# importing it costs ~100 ms, which start-up should not pay for transfers.


def _uri_escape(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")

