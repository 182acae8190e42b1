"""The demo softphone's page: its state, DOM helpers and error reporting.

Shared by softphone.py and the modules of the page's logic and views
(calling.py, line_actions.py, lines_view.py, controls.py): :data:`phone` is what the page knows besides the
DOM, :func:`spawn` runs a DOM handler's coroutine and turns its exception into
a readable message in the page (the traceback goes to the browser console).
"""

from __future__ import annotations

import asyncio
import html
import time
import traceback

import js
from contacts import ContactsPanel
from pyscript import document, when
from quality import QualityPanel
from tones import Tones

import webvoice

FALLBACK_CONFIG = {  # when the page is not served by demo/serve.py
    "ws_url": "ws://127.0.0.1:5066",
    "realm": "webvoice.test",
    "users": [{"login": name, "password": f"{name}-secret"} for name in ("alice", "bob", "carol", "dave")],
}
MAX_LINES = 4
ACTIVITY_LIMIT = 60

class Phone:
    """What the page knows besides the DOM."""

    def __init__(self) -> None:
        self.config: dict = FALLBACK_CONFIG
        self.sip: webvoice.SipInstance | None = None
        self.ringing: dict[str, webvoice.IncomingCallRequest] = {}  # line id -> incoming call
        self.dtmf_sent = ""
        self.tones = Tones()
        self.quality: QualityPanel | None = None
        self.contacts: ContactsPanel | None = None


phone = Phone()


# --- DOM helpers -------------------------------------------------------------------------------------------


def el(element_id: str):
    return document.getElementById(element_id)


def set_text(element_id: str, text: str) -> None:
    el(element_id).textContent = text


def show(element_id: str, visible: bool = True) -> None:
    el(element_id).hidden = not visible


def enable(element_id: str, enabled: bool = True) -> None:
    el(element_id).disabled = not enabled


def value(element_id: str) -> str:
    return str(el(element_id).value).strip()


def fill_select(element_id: str, options: list[tuple[str, str]], selected: str | None = None) -> None:
    """Replace a <select>'s options with (value, label) pairs, keeping the choice if it is still there."""
    select = el(element_id)
    keep = selected if selected is not None else str(select.value)
    select.innerHTML = "".join(
        f'<option value="{html.escape(v)}">{html.escape(label)}</option>' for v, label in options)
    if any(v == keep for v, _ in options):
        select.value = keep


def who(identity_or_uri) -> str:
    """A party's short name: its display name, or the user of a sip: URI in our realm."""
    if identity_or_uri is None:
        return "unknown"
    name = getattr(identity_or_uri, "display_name", None)
    if name:
        return name
    uri = str(getattr(identity_or_uri, "uri", identity_or_uri))
    scheme, _, rest = uri.partition(":")
    user, at, host = rest.partition("@")
    host = host.split(";")[0].split("?")[0].split(":")[0]
    if scheme in ("sip", "sips") and at and host.lower() == realm().lower():
        return user
    return uri


def realm() -> str:
    return value("realm") or phone.config["realm"]


def activity(text: str, kind: str = "") -> None:
    """Add a line at the top of the Activity card."""
    item = document.createElement("li")
    if kind:
        item.className = kind
    stamp = document.createElement("time")
    stamp.textContent = time.strftime("%H:%M:%S")
    words = document.createElement("span")
    words.textContent = text
    item.append(stamp, words)
    listing = el("activity")
    listing.prepend(item)
    while listing.children.length > ACTIVITY_LIMIT:
        listing.lastElementChild.remove()


# --- errors ------------------------------------------------------------------------------------------------


def friendly(exc: BaseException) -> str:
    """What to tell a person about an exception."""
    if isinstance(exc, webvoice.RegistrationError):
        if exc.status_code in (401, 403, 407):
            return "Sign-in refused: check the login and the password."
        if exc.status_code is None:
            return (f"Cannot reach the SIP server at {value('ws-url')}. "
                    "Is `make demo` still running?")
        return f"Sign-in failed: {exc.status_code} ({exc.cause})."
    if isinstance(exc, webvoice.MediaPermissionError):
        return "The browser denied access to the microphone: allow it (address bar) and try again."
    if isinstance(exc, webvoice.NotSupportedError):
        return f"This browser cannot do that: {exc}"
    if isinstance(exc, webvoice.TransferError):
        return f"The transfer failed{f' ({exc.status_code})' if exc.status_code else ''}: {exc}"
    if isinstance(exc, webvoice.NotConnectedError):
        return "Not connected to the SIP server."
    if isinstance(exc, (*EXPECTED_ERRORS, TypeError)):
        text = str(exc).strip() or type(exc).__name__
        return text[0].upper() + text[1:]
    return f"Something went wrong: {type(exc).__name__}: {exc}"


EXPECTED_ERRORS = (webvoice.WebVoiceError, webvoice.MediaError, ValueError, RuntimeError, LookupError)


def show_error(message: str) -> None:
    set_text("error-text", message)
    show("error")
    activity(message, "error")


def hide_error() -> None:
    show("error", False)


def spawn(coro) -> asyncio.Task:
    """Run a coroutine for a DOM handler; its exception becomes a message in the page."""
    task = asyncio.ensure_future(coro)

    def finished(task: asyncio.Task) -> None:
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        if isinstance(exc, EXPECTED_ERRORS):  # told in the page; no traceback needed
            js.console.warn(f"softphone: {type(exc).__name__}: {exc}")
        else:
            js.console.error("".join(traceback.format_exception(exc)))
        show_error(friendly(exc))

    task.add_done_callback(finished)
    return task


@when("click", "#error-close")
def on_error_close() -> None:
    hide_error()


# --- what webvoice says about the lines ----------------------------------------------------------------------


def current_call() -> webvoice.Call | None:
    """The call on the active line, if any."""
    if phone.sip is None:
        return None
    line = phone.sip.get_current_line()
    if line is None:
        return None
    try:
        return phone.sip.get_line(line.id)
    except webvoice.LineNotFoundError:
        return None


def lines_with_calls() -> list[tuple[webvoice.CallLine, webvoice.Call]]:
    if phone.sip is None:
        return []
    pairs = []
    for line in phone.sip.get_call_lines():
        try:
            pairs.append((line, phone.sip.get_line(line.id)))
        except webvoice.LineNotFoundError:
            continue
    return pairs
