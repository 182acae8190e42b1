"""The webvoice demo softphone: a PyScript page driving webvoice through the DOM.

Reading order: sign in and out; the once-a-second tick (call timers and the
quality panel); the contacts panel's handlers; start-up. Its modules:
calling.py (placing, answering and ending calls), line_actions.py (the line
buttons: hold, mute, switch; transfers), page.py (the page's state, DOM
helpers, errors), lines_view.py (the line list, call summary and transfer
panel), controls.py (dial pad, audio devices), contacts.py, quality.py and
tones.py.

Every DOM handler is a small synchronous function that starts a coroutine
with :func:`spawn`, which turns any exception into a readable message in the
page (the traceback goes to the browser console only).
"""

from __future__ import annotations

import asyncio

import js
from calling import on_incoming_call, update_incoming_banner
from contacts import ContactsPanel
from controls import on_device_change, refresh_devices
from line_actions import line_events
from lines_view import duration, render_lines
from page import (
    FALLBACK_CONFIG,
    MAX_LINES,
    activity,
    current_call,
    el,
    enable,
    fill_select,
    hide_error,
    lines_with_calls,
    phone,
    show,
    spawn,
    value,
    who,
)
from pyscript import document, when
from quality import QualityPanel

import webvoice

# --- signing in and out ---------------------------------------------------------------------------------------


def set_registration(state: str, text: str) -> None:
    pill = el("reg-state")
    pill.dataset.state = state
    pill.textContent = text


def fill_user_picker() -> None:
    users = [(u["login"], f"{u['login']} ({u['login']}@{phone.config['realm']})") for u in phone.config["users"]]
    fill_select("user-picker", users + [("", "Someone else…")])
    choose_user(users[0][0] if users else "")


def choose_user(login: str) -> None:
    user = next((u for u in phone.config["users"] if u["login"] == login), None)
    el("user-picker").value = login
    el("login").value = user["login"] if user else ""
    el("password").value = user["password"] if user else ""


@when("change", "#user-picker")
def on_user_picked() -> None:
    choose_user(value("user-picker"))


@when("submit", "#signin-form")
def on_sign_in(event) -> None:
    event.preventDefault()
    phone.tones.unlock()  # a click: the browser now lets the page play sounds
    spawn(sign_in())


@when("click", "#signout-btn")
def on_sign_out() -> None:
    spawn(sign_out())


async def sign_in() -> None:
    if phone.sip is not None:
        return
    hide_error()
    sip = webvoice.create_sip_instance(
        sip_login=value("login"), sip_password=str(el("password").value), ws_url=value("ws-url"),
        realm=value("realm"), max_lines=MAX_LINES, line_events=line_events(),
    )
    sip.on_connection_event(connection_events())
    sip.on_incoming_call(on_incoming_call)
    phone.sip = sip
    set_signed_in_controls(busy=True)
    try:
        await sip.register()
    except BaseException:
        phone.sip = None
        await sip.close()
        set_signed_in_controls()
        set_registration("failed", "Not signed in")
        raise
    set_signed_in_controls()
    activity(f"Signed in as {value('login')}@{value('realm')}")
    el("target").focus()
    sip.on_device_change(on_device_change)
    phone.contacts = ContactsPanel(document, sip, value("login"), [u["login"] for u in phone.config["users"]], spawn)
    await phone.contacts.start()
    await refresh_devices()


async def sign_out() -> None:
    sip, phone.sip = phone.sip, None
    if sip is None:
        return
    if phone.contacts is not None:
        phone.contacts.stop()
        phone.contacts = None
    sip.terminate_sessions()
    phone.ringing.clear()
    update_incoming_banner()
    await sip.close()
    set_registration("idle", "Signed out")
    set_signed_in_controls()
    render_lines()
    activity("Signed out")


def set_signed_in_controls(busy: bool = False) -> None:
    signed_in = phone.sip is not None and not busy
    for element_id in ("user-picker", "login", "password", "ws-url", "realm"):
        enable(element_id, phone.sip is None)
    enable("signin-btn", phone.sip is None)
    show("signin-btn", not signed_in)
    show("signout-btn", signed_in)
    enable("call-btn", signed_in)


def connection_events() -> dict:
    def registered(event) -> None:
        set_registration("registered", f"Registered as {value('login')}@{value('realm')}")

    def disconnected(event) -> None:
        if phone.sip is not None:
            set_registration("disconnected", "Disconnected: reconnecting…")
            activity(f"Lost the connection to the SIP server ({event.cause})", "error")

    return {
        "connecting": lambda event: set_registration("connecting", "Connecting…"),
        "connected": lambda event: set_registration("connected", "Connected, registering…"),
        "registered": registered,
        "disconnected": disconnected,
        "registration_failed": lambda event: set_registration("failed", "Registration failed"),
    }


# --- once a second ---------------------------------------------------------------------------------------------------


async def tick_forever() -> None:
    while True:
        await asyncio.sleep(1.0)
        try:
            await tick()
        except Exception as exc:  # noqa: BLE001 - never let the clock stop
            js.console.error(f"softphone tick: {exc!r}")


async def tick() -> None:
    """Advance the call timers and the quality panel."""
    pairs = lines_with_calls()
    for line, call in pairs:
        timer = el(f"line-time-{line.id}")
        if timer:
            timer.textContent = duration(call)
    summary_time = el("summary-time")
    call = current_call()
    if summary_time and call is not None:
        summary_time.textContent = duration(call)
    if call is None or not call.is_established():
        call = next((c for _, c in pairs if c.is_established()), None)
    if call is None:
        phone.quality.idle()
        return
    stats = await call.get_stats()
    title = f"· line {call.get_line_id()}, {who(call.get_remote_identity())}"
    phone.quality.show(call.get_line_id(), title, stats)


# --- contacts (busy lamps, presence, chat, voicemail: demo/contacts.py) ------------------------------------------


@when("click", "#contacts")
def on_contacts_click(event) -> None:
    if phone.contacts is not None:
        phone.contacts.on_click(event)


@when("submit", "#chat-form")
def on_chat_send(event) -> None:
    if phone.contacts is not None:
        phone.contacts.on_send(event)
    else:
        event.preventDefault()


@when("change", "#my-note")
def on_my_note() -> None:
    if phone.contacts is not None:
        spawn(phone.contacts.publish())


# --- start-up -------------------------------------------------------------------------------------------------------


async def load_config() -> dict:
    """/demo-config.json, written by demo/serve.py; the defaults if it is missing."""
    try:
        response = await js.fetch("/demo-config.json", cache="no-store")
        if response.ok:
            return (await response.json()).to_py()
    except Exception as exc:  # noqa: BLE001
        js.console.warn(f"no /demo-config.json ({exc}); using the defaults")
    return FALLBACK_CONFIG


async def main() -> None:
    phone.config = await load_config()
    el("ws-url").value = phone.config["ws_url"]
    el("realm").value = phone.config["realm"]
    fill_user_picker()
    phone.quality = QualityPanel(document)
    render_lines()
    set_registration("idle", "Not signed in")
    set_signed_in_controls()
    asyncio.ensure_future(tick_forever())
    document.body.dataset.ready = "yes"
    activity(f"webvoice {webvoice.__version__} ready: pick a user and sign in")


await main()  # noqa: F704, PLE1142 - PyScript runs this module with top-level await
