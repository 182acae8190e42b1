"""Presence and busy lamps (beyond the JS SDK), on the core's subscriptions and publications.

Each ``watch_*`` method starts one subscription of the core
(:class:`webvoice.sip.UserAgent`'s subscriptions, which refreshes it, retries it and
subscribes again after a reconnect by itself) and returns a :class:`Watch`
to stop it. This module reads the NOTIFY bodies with the package's parser
and calls the application's handler with a small event when what it shows
changes. Our own presence goes out as a publication of the core
(PUBLISH with PIDF), refreshed by it and
withdrawn when we unregister. With ``ua_config={"publish_dialogs": True}``
our own calls go out the same way (PUBLISH with dialog-info+xml, built by the
core's ``DialogPublisher``), for servers that do not derive them from the
calls they proxy. The core modules load on first use.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ._errors import PresenceError
from ._handlers import call_handler
from ._instance_base import InstanceBase
from ._targets import normalize_target
from .sip import loaded_export, record

__all__ = ["LineEvent", "PresenceEvent", "PresenceMethods", "VoicemailEvent", "Watch"]

log = logging.getLogger("webvoice")

#: How long each subscription is asked for (seconds); the core refreshes it before then.
WATCH_EXPIRES = 600


@record
class LineEvent:
    """What a watched line shows now (``watch_line``).

    ``state``: ``"trying"``, ``"proceeding"``, ``"early"`` (ringing),
    ``"confirmed"`` (talking), ``"terminated"`` (idle: no call, or the last one
    ended), or ``"unknown"`` when the server refused the watch for good
    (``reason`` says why). ``direction`` is ``"initiator"`` (the watched user
    called) or ``"recipient"``, and ``remote`` / ``remote_display`` the other
    party, when the server tells.
    """

    target: str
    state: str
    direction: str | None = None
    remote: str | None = None
    remote_display: str | None = None
    reason: str | None = None


@record
class PresenceEvent:
    """A watched user's presence (``watch_presence``): ``status`` is ``"open"``
    (signed in, reachable), ``"closed"``, or ``"unknown"`` when the server
    refused the watch for good (``reason`` says why); ``note`` is the user's
    text ("away", "in a meeting") or None."""

    target: str
    status: str
    note: str | None = None
    reason: str | None = None


@record
class VoicemailEvent:
    """Our voicemail (``watch_voicemail``, RFC 3842): ``waiting`` is the lamp;
    ``new``/``old`` (and ``urgent_new``/``urgent_old``) count voice messages;
    ``counts`` has every message class the server named (``"voice-message"``,
    ``"fax-message"``...) as ``(new, old, urgent_new, urgent_old)``;
    ``account`` the mailbox when given. ``reason`` is set (and ``waiting``
    False) when the server refused the watch for good."""

    waiting: bool
    new: int = 0
    old: int = 0
    urgent_new: int = 0
    urgent_old: int = 0
    account: str | None = None
    counts: Any = None
    reason: str | None = None


class Watch:
    """One watch the application started: ``stop()`` ends it (the subscription is ended politely)."""

    def __init__(self, instance: Any, kind: str, target: str, handler: Callable[..., Any]) -> None:
        self._instance = instance
        self.kind = kind
        self.target = target
        self._handler = handler
        self._subscription: Any = None
        self._stopped = False
        self._last: object = None  # the last event sent, so a repeat is not sent again
        self._state: Any = None  # the package's memory (a LineState for lines)

    def __repr__(self) -> str:
        return f"<Watch {self.kind} {self.target}{' stopped' if self._stopped else ''}>"

    @property
    def active(self) -> bool:
        """False once stopped, or once the server refused it for good."""
        return not self._stopped and self._subscription is not None and not self._subscription.is_terminated

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        instance, sub = self._instance, self._subscription
        instance._run_core(lambda now: instance._ua.unsubscribe(sub, now))

    def _emit(self, event: object) -> None:
        call_handler(self._handler, event, what=f"the {self.kind} watch handler")


class PresenceMethods(InstanceBase):
    """``watch_line``, ``watch_presence``, ``publish_presence`` (mixed into SipInstance,
    which owns the core and sets ``_watches`` and ``_publish_waiters``)."""

    _watches: dict[object, Watch]
    _publish_waiters: list[tuple[str, asyncio.Future[None]]]  # (event package, future), see _publication_outcome
    _dialog_publisher: Any = None  # publish_dialogs: what we told the server of our calls

    async def publish_presence(self, status: str = "open", note: str | None = None) -> None:
        """Publish our presence (PIDF, RFC 3863, by PUBLISH, RFC 3903): ``status``
        ``"open"`` or ``"closed"`` and an optional ``note`` ("away"). webvoice
        refreshes it, publishes it again after a reconnect and withdraws it
        when unregistering. Raises :class:`~webvoice.PresenceError` with the
        status when the server refuses; bad arguments raise before anything is sent."""
        from .sip import PIDF_CONTENT_TYPE as CONTENT_TYPE
        from .sip import build_pidf

        body = build_pidf(str(self._ua.config.aor), status, note, self._ua.config.instance_id[:8])
        if not self._connected:
            await self.connect()
        await self._publication_outcome(lambda pub, now: pub.publish(body, now), CONTENT_TYPE)

    async def unpublish_presence(self) -> None:
        """Withdraw our published presence (watchers see us closed)."""
        if "presence" not in self._ua.publications:
            return
        from .sip import PIDF_CONTENT_TYPE as CONTENT_TYPE

        await self._publication_outcome(lambda pub, now: pub.remove(now), CONTENT_TYPE)

    def watch_presence(self, target: str, handler: Callable[..., Any]) -> Watch:
        """Watch ``target``'s presence (RFC 3856): ``handler(PresenceEvent)`` with
        its status and note as soon as the server tells, then on each change.
        Renewed by itself like ``watch_line``; returns the :class:`Watch`."""
        from .sip import PIDF_CONTENT_TYPE as CONTENT_TYPE

        return self._start_watch("presence", target, handler, "presence", (CONTENT_TYPE,))

    def watch_line(self, target: str, handler: Callable[..., Any]) -> Watch:
        """Watch ``target``'s line (busy lamp field): ``handler(LineEvent)`` at once
        with its current state, then on each change (ringing, talking, idle).

        A dialog-event subscription (RFC 4235) that webvoice refreshes and
        renews by itself, also across reconnects, until ``watch.stop()``.
        Returns the :class:`Watch`. A bad target raises ``ValueError`` at once.
        """
        from .sip import DIALOG_INFO_CONTENT_TYPE as CONTENT_TYPE
        from .sip import LineState

        watch = self._start_watch("line", target, handler, "dialog", (CONTENT_TYPE,))
        watch._state = LineState()
        return watch

    def watch_voicemail(self, handler: Callable[..., Any], target: str | None = None) -> Watch:
        """Watch our voicemail (RFC 3842 message-summary, for our own account unless
        ``target`` names another mailbox): ``handler(VoicemailEvent)`` as soon as
        the server tells, then on each change. Renewed by itself like
        ``watch_line``; returns the :class:`Watch`."""
        from .sip import MESSAGE_SUMMARY_CONTENT_TYPE as CONTENT_TYPE

        return self._start_watch("voicemail", target or str(self._ua.config.aor), handler,
                                 "message-summary", (CONTENT_TYPE,))

    # --- inside ------------------------------------------------------------------------------

    async def _publication_outcome(self, action: Callable[..., Any], content_type: str,
                                   event: str = "presence") -> None:
        waiter = self._loop.create_future()
        self._publish_waiters.append((event, waiter))

        def run(now: float) -> None:
            pub = self._ua.publication(event, content_type)
            action(pub, now)
            self._ua.pump(now)

        self._run_core(run)
        await waiter

    async def _withdraw_publications(self) -> None:
        """On unregistering: take our presence and our published calls away,
        bounded (the server may be gone)."""
        dialogs = self._ua.publications.get("dialog")
        if dialogs is not None and dialogs.body is not None and self._connected:
            from .sip import DIALOG_INFO_CONTENT_TYPE as CONTENT_TYPE

            try:
                await asyncio.wait_for(self._publication_outcome(
                    lambda pub, now: pub.remove(now), CONTENT_TYPE, "dialog"), 5.0)
            except (TimeoutError, PresenceError):
                pass
        self._dialog_publisher = None  # a call after signing in again starts a new account of them
        pub = self._ua.publications.get("presence")
        if pub is None or pub.body is None or not self._connected:
            return
        try:
            await asyncio.wait_for(self.unpublish_presence(), 5.0)
        except (TimeoutError, PresenceError):
            pass

    def _publish_own_dialogs(self) -> None:
        """``publish_dialogs``: PUBLISH our calls' states when a watcher would see
        them change (called after each turn of the core, while registered)."""
        if not self._settings.ua.get("publish_dialogs") or not self._ua.registration.is_registered:
            return
        if self._dialog_publisher is None and not self._ua.sessions:
            return  # nothing to tell yet: the server shows an unpublished line as idle
        from .sip import DIALOG_INFO_CONTENT_TYPE as CONTENT_TYPE
        from .sip import DialogPublisher, own_dialog

        if self._dialog_publisher is None:
            self._dialog_publisher = DialogPublisher(str(self._ua.config.aor))
        calls = []
        for session in self._ua.sessions:
            remote = session.remote_identity
            calls.append(own_dialog(
                call_id=session.call_id, local_tag=session.local_tag,
                remote_tag=session.dialog.remote_tag if session.dialog is not None else None,
                direction=session.direction, call_state=session.state.value,
                remote=str(remote.uri) if remote is not None else None,
                remote_display=remote.display_name if remote is not None else None))
        body = self._dialog_publisher.update(calls)
        if body is None:
            return
        now = self._now()
        self._ua.publication("dialog", CONTENT_TYPE).publish(body, now)
        self._ua.pump(now)
        self._pump()

    def _start_watch(self, kind: str, target: str, handler: Callable[..., Any], event: str,
                     accept: tuple[str, ...]) -> Watch:
        if not callable(handler):
            raise TypeError(f"watch_{kind} takes a callable handler")
        uri = normalize_target(target, self._settings.domain)
        watch = Watch(self, kind, str(uri), handler)

        def start(now: float) -> None:
            watch._subscription = self._ua.subscribe(uri, event, accept, now, expires=WATCH_EXPIRES)
            self._watches[watch._subscription] = watch

        self._run_core(start)
        return watch

    def _deliver_subscription_event(self, event: object) -> bool:
        """Handle a core subscription or publication event; False for any other event."""
        done, failed = loaded_export("PublicationDone"), loaded_export("PublicationFailed")
        if done is not None and isinstance(event, (done, failed)):
            # Each publication's waiters are resolved in order: one PUBLISH of it is in flight at a time.
            package = event.publication.event
            waiters = [(e, w) for e, w in self._publish_waiters if not w.done()]
            mine = [w for e, w in waiters if e == package]
            self._publish_waiters[:] = [(e, w) for e, w in waiters if w is not (mine[0] if mine else None)]
            what = "presence" if package == "presence" else "our calls' states"
            if isinstance(event, failed) and not mine:
                log.warning("webvoice: publishing %s failed: %s %s", what, event.status_code or "", event.reason)
            if mine:
                if isinstance(event, done):
                    mine[0].set_result(None)
                else:
                    mine[0].set_exception(PresenceError(
                        f"publishing {what} failed: {event.status_code or ''} {event.reason}".replace("  ", " "),
                        status_code=event.status_code, reason=event.reason))
            return True
        notified, ended = loaded_export("SubscriptionNotified"), loaded_export("SubscriptionEnded")
        if notified is None:
            return False
        if isinstance(event, notified):
            watch = self._watches.get(event.subscription)
            if watch is not None and not watch._stopped:
                getattr(self, f"_on_{watch.kind}_notify")(watch, event)
            return True
        if isinstance(event, ended):
            watch = self._watches.get(event.subscription)
            if watch is None:
                return True
            if event.will_retry:
                if watch._state is not None and hasattr(watch._state, "reset"):
                    watch._state.reset()
            else:
                del self._watches[event.subscription]
                if not watch._stopped:
                    log.warning("webvoice: watching %s of %s ended: %s", watch.kind, watch.target, event.reason)
                    if watch.kind == "voicemail":
                        watch._emit(VoicemailEvent(False, reason=event.reason))
                    else:
                        kind = LineEvent if watch.kind == "line" else PresenceEvent
                        watch._emit(kind(watch.target, "unknown", reason=event.reason))
            return True
        return False

    def _on_line_notify(self, watch: Watch, event: Any) -> None:
        from .sip import parse_dialog_info

        if not event.body:
            # No document: nothing is known of any call, the line is idle
            # (Kamailio says so with an empty NOTIFY before anything was published).
            if event.state == "active" and watch._last is None:
                watch._last = ("terminated", None)
                watch._emit(LineEvent(watch.target, "terminated"))
            return
        try:
            info = parse_dialog_info(event.body)
        except ValueError as exc:
            log.warning("webvoice: unreadable dialog-info for %s: %s", watch.target, exc)
            return
        line = watch._state
        if not line.apply(info):
            return
        lamp = line.lamp()
        key = ("terminated", None) if lamp is None else (lamp.state, lamp.id)
        if key != watch._last:
            watch._last = key
            if lamp is None:
                watch._emit(LineEvent(watch.target, "terminated"))
            else:
                watch._emit(LineEvent(watch.target, lamp.state, lamp.direction, lamp.remote, lamp.remote_display))
        line.forget_ended()

    def _on_presence_notify(self, watch: Watch, event: Any) -> None:
        from .sip import parse_pidf

        if event.state == "pending":
            return  # not authorised yet: nothing known
        if not event.body:
            # No document: nobody has published; the user shows as closed.
            status, note = "closed", None
        else:
            try:
                info = parse_pidf(event.body)
            except ValueError as exc:
                log.warning("webvoice: unreadable presence document for %s: %s", watch.target, exc)
                return
            status, note = info.status, info.note
        if event.state == "terminated" and watch._last is not None:
            return  # the subscription is being renewed; its next NOTIFY tells
        key = (status, note)
        if key != watch._last:
            watch._last = key
            watch._emit(PresenceEvent(watch.target, status, note))

    def _on_voicemail_notify(self, watch: Watch, event: Any) -> None:
        from .sip import parse_message_summary

        if event.state == "pending" or (event.state == "terminated" and watch._last is not None):
            return
        if not event.body:
            public = VoicemailEvent(False, counts={})  # nothing published for the mailbox yet
        else:
            try:
                summary = parse_message_summary(event.body)
            except ValueError as exc:
                log.warning("webvoice: unreadable message summary for %s: %s", watch.target, exc)
                return
            voice = summary.counts.get("voice-message")
            counts = {name: (c.new, c.old, c.urgent_new, c.urgent_old) for name, c in summary.counts.items()}
            public = VoicemailEvent(summary.waiting, voice.new if voice else 0, voice.old if voice else 0,
                                    voice.urgent_new if voice else 0, voice.urgent_old if voice else 0,
                                    summary.account, counts)
        if public != watch._last:
            watch._last = public
            watch._emit(public)
