"""Instant messages for :class:`~webvoice.SipInstance` and :class:`~webvoice.Call` (RFC 3428).

Beyond the JS SDK, which offers messages only through JsSIP's raw UA. The
protocol is the core's (:func:`webvoice.sip.message_body` and its message events, imported on the
first message sent or received); this module turns its outcome into an
awaitable result or a :class:`MessageError`, and a received message into an
:class:`IncomingMessage` for the ``on_message`` listeners (or the call's
``message`` event, for a MESSAGE inside a call).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._errors import MessageError
from ._handlers import call_handler
from ._instance_base import InstanceBase
from ._targets import normalize_target
from .sip import loaded_export, record

if TYPE_CHECKING:
    from ._calls import Call

__all__ = ["IncomingMessage", "MessagingMethods"]



@record
class IncomingMessage:
    """A message we accepted: who sent it, what, and when (UTC).

    ``sender`` is the sender's URI (``sip:bob@example.org``), ``body`` the text
    (decoded; undecodable bytes replaced), ``content_type`` e.g. ``text/plain``,
    ``time`` a timezone-aware ``datetime`` of its arrival, ``call`` the
    :class:`~webvoice.Call` it came in, or None.
    """

    sender: str
    display_name: str | None
    body: str
    content_type: str
    time: Any
    call: Any = None


class MessagingMethods(InstanceBase):
    """``send_message`` and ``on_message`` (mixed into SipInstance, which owns the core
    and sets ``_message_handlers`` (a list) and ``_message_waiters`` (a dict))."""

    _message_handlers: list[Callable[..., Any]]
    _message_waiters: dict[object, asyncio.Future[int]]

    async def send_message(self, target: str, text: str, content_type: str = "text/plain") -> int:
        """Send ``text`` to ``target`` (a user, number or SIP URI, as for ``call``).

        Returns the final status (200 or 202: the server or the peer accepted
        it; RFC 3428 promises no more than that). Raises
        :class:`~webvoice.MessageError` with ``status_code`` (e.g. 404 for an
        unknown user, 480 for one who is not signed in; None for no answer or
        a lost connection) and ``cause``. Bad arguments (control characters,
        an unsupported ``content_type``, more than 8 KiB) raise ``ValueError``
        before anything is sent.
        """
        from .sip import message_body

        uri = normalize_target(target, self._settings.domain)
        body, media = message_body(text, content_type)
        if not self._connected:
            await self.connect()
        return await self._message_outcome(lambda now: self._ua.send_message(uri, body, media, now))

    def on_message(self, handler: Callable[..., Any]) -> Callable[[], None]:
        """Add a listener for messages received outside calls: ``handler(message)``
        with an :class:`IncomingMessage`; plain or ``async def``. Returns a
        function that removes it. Without listeners, messages are still
        accepted (200) and dropped."""
        if not callable(handler):
            raise TypeError("on_message takes a callable")
        listeners = self._message_handlers
        listeners.append(handler)

        def unsubscribe() -> None:
            for i, known in enumerate(listeners):
                if known is handler:
                    del listeners[i]
                    break

        return unsubscribe

    # --- for Call.send_message --------------------------------------------------------------

    async def _send_message_in_call(self, call: Call, text: str, content_type: str) -> int:
        from .sip import message_body

        body, media = message_body(text, content_type)
        core = call.started_core()
        return await self._message_outcome(lambda now: self._ua.send_message_in_call(core, body, media, now))

    # --- inside -------------------------------------------------------------------------------

    async def _message_outcome(self, start: Callable[[float], Any]) -> int:
        waiter: asyncio.Future[int] = self._loop.create_future()
        message = start(self._now())
        self._message_waiters[message] = waiter
        self._pump()
        return await waiter

    def _deliver_message_event(self, event: object) -> bool:
        """Handle a core message event; False for any other event."""
        delivered = loaded_export("MessageDelivered")
        if delivered is None:  # nothing loaded the message machinery: no message event can exist
            return False
        failed, received = loaded_export("MessageFailed"), loaded_export("MessageReceived")
        if isinstance(event, (delivered, failed)):
            waiter = self._message_waiters.pop(event.message, None)
            if waiter is not None and not waiter.done():
                if isinstance(event, delivered):
                    waiter.set_result(event.status_code)
                else:
                    waiter.set_exception(MessageError(
                        f"message to {event.message.request.to.uri} failed: "
                        f"{event.status_code or ''} {event.reason}".replace("  ", " "),
                        status_code=event.status_code, reason=event.reason, cause=event.cause))
            return True
        if isinstance(event, received):
            import datetime

            call = self._calls.get(event.session) if event.session is not None else None
            public = IncomingMessage(str(event.sender.uri), event.sender.display_name, event.text,
                                     event.content_type, datetime.datetime.now(datetime.UTC), call)
            if call is not None:
                call._emit("message", public)
            else:
                for handler in tuple(self._message_handlers):
                    call_handler(handler, public, what="the on_message handler")
            return True
        return False
