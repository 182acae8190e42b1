"""The demo softphone's contacts panel: a busy lamp, presence and a small chat per demo user,
and the voicemail indicator. It shows webvoice's features beyond the JS SDK.

For each other demo user the panel watches the line (``sip.watch_line``: idle,
ringing, talking) and the presence (``sip.watch_presence``: online, the note,
offline), and keeps a chat (``sip.send_message`` / ``sip.on_message``).
Signing in publishes our own presence, "open" with the note chosen in the
panel; the voicemail lamp follows ``sip.watch_voicemail``. softphone.py
creates a :class:`ContactsPanel` after registering and stops it before
signing out.
"""

from __future__ import annotations

import html
import time

import webvoice

LAMP_TEXT = {"trying": "calling", "proceeding": "calling", "early": "ringing", "confirmed": "on a call",
             "terminated": "idle", "unknown": "unknown"}
CHAT_LIMIT = 50


class Contact:
    def __init__(self, login: str) -> None:
        self.login = login
        self.lamp = "unknown"
        self.lamp_detail = ""
        self.status = "unknown"
        self.note: str | None = None
        self.chat: list[tuple[str, str, str]] = []  # (time, who, text)
        self.unread = 0


class ContactsPanel:
    """The contacts card; ``spawn`` runs coroutines with the page's error reporting."""

    def __init__(self, document, sip: webvoice.SipInstance, me: str, logins: list[str], spawn) -> None:
        self.document = document
        self.sip = sip
        self.me = me
        self.spawn = spawn
        self.contacts = {login: Contact(login) for login in logins if login != me}
        self.open_chat: str | None = None
        self.watches: list[webvoice.Watch] = []
        self.voicemail: webvoice.VoicemailEvent | None = None
        self._unsubscribe = None

    # --- life ---------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._unsubscribe = self.sip.on_message(self._on_message)
        for login in self.contacts:
            self.watches.append(self.sip.watch_line(login, lambda e, who=login: self._on_lamp(who, e)))
            self.watches.append(self.sip.watch_presence(login, lambda e, who=login: self._on_presence(who, e)))
        self.watches.append(self.sip.watch_voicemail(self._on_voicemail))
        self.el("contacts-card").hidden = False
        self.render()
        await self.publish()

    def stop(self) -> None:
        for watch in self.watches:
            watch.stop()
        self.watches.clear()
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.el("contacts-card").hidden = True

    async def publish(self) -> None:
        note = str(self.el("my-note").value).strip() or None
        await self.sip.publish_presence("open", note)

    # --- events from webvoice ---------------------------------------------------------------------

    def _on_lamp(self, login: str, event: webvoice.LineEvent) -> None:
        contact = self.contacts[login]
        contact.lamp = event.state
        other = _user(event.remote) if event.remote else ""
        contact.lamp_detail = f"with {other}" if other and event.state not in ("terminated", "unknown") else ""
        self.render()

    def _on_presence(self, login: str, event: webvoice.PresenceEvent) -> None:
        contact = self.contacts[login]
        contact.status, contact.note = event.status, event.note
        self.render()

    def _on_voicemail(self, event: webvoice.VoicemailEvent) -> None:
        self.voicemail = event
        badge = self.el("voicemail")
        badge.dataset.waiting = "yes" if event.waiting else "no"
        badge.textContent = (f"Voicemail: {event.new} new, {event.old} old" if event.waiting
                             else "No new voicemail")

    def _on_message(self, message: webvoice.IncomingMessage) -> None:
        login = _user(message.sender)
        contact = self.contacts.get(login)
        if contact is None:
            return
        self._add(contact, login, message.body)
        if self.open_chat != login:
            contact.unread += 1
        self.render()

    # --- the page's actions -----------------------------------------------------------------------

    def on_click(self, event) -> None:
        target = event.target.closest("[data-chat]")
        if target is not None:
            login = str(target.dataset.chat)
            self.open_chat = None if self.open_chat == login else login
            if self.open_chat:
                self.contacts[login].unread = 0
            self.render()

    def on_send(self, event) -> None:
        event.preventDefault()
        text = str(self.el("chat-input").value).strip()
        if not text or self.open_chat is None:
            return
        self.el("chat-input").value = ""
        self.spawn(self.send(self.open_chat, text))

    async def send(self, login: str, text: str) -> None:
        contact = self.contacts[login]
        self._add(contact, "me", text)
        self.render()
        try:
            await self.sip.send_message(login, text)
        except webvoice.MessageError as exc:
            why = "not signed in" if exc.status_code == 480 else f"{exc.status_code} {exc.reason}".strip()
            self._add(contact, "!", f"not delivered: {why}")
            self.render()

    # --- drawing ---------------------------------------------------------------------------------------

    def _add(self, contact: Contact, who: str, text: str) -> None:
        contact.chat.append((time.strftime("%H:%M"), who, text))
        del contact.chat[:-CHAT_LIMIT]

    def render(self) -> None:
        rows = []
        for login, c in self.contacts.items():
            presence = {"open": "online", "closed": "offline"}.get(c.status, "…")
            note = f" · {html.escape(c.note)}" if c.note and c.status == "open" else ""
            unread = f'<span class="unread">{c.unread}</span>' if c.unread else ""
            rows.append(
                f'<li class="contact" data-login="{html.escape(login)}">'
                f'<span class="lamp" data-lamp="{html.escape(c.lamp)}" title="line: {LAMP_TEXT.get(c.lamp, c.lamp)}"></span>'
                f'<span class="contact-who"><b>{html.escape(login)}</b>'
                f'<small class="presence" data-status="{html.escape(c.status)}">{presence}{note}</small>'
                f'<small class="line-state">{LAMP_TEXT.get(c.lamp, c.lamp)} {html.escape(c.lamp_detail)}</small></span>'
                f'<button type="button" class="btn small" data-chat="{html.escape(login)}">Chat{unread}</button></li>')
        self.el("contacts").innerHTML = "".join(rows) or '<li class="empty">No other demo users</li>'
        chat = self.el("chat")
        chat.hidden = self.open_chat is None
        if self.open_chat is not None:
            contact = self.contacts[self.open_chat]
            self.el("chat-with").textContent = f"Chat with {self.open_chat}"
            self.el("chat-log").innerHTML = "".join(
                f'<li class="{"mine" if who == "me" else "error" if who == "!" else "theirs"}">'
                f"<time>{stamp}</time> {html.escape(text)}</li>" for stamp, who, text in contact.chat)

    def el(self, element_id: str):
        return self.document.getElementById(element_id)


def _user(uri: str | None) -> str:
    """``sip:bob@webvoice.test`` -> ``bob``."""
    text = str(uri or "")
    return text.partition(":")[2].partition("@")[0] or text

