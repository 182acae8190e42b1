"""The webvoice demo softphone: a PyScript page driving webvoice through the DOM.

Reading order: sign in and out; placing, answering and ending calls; the
line actions (hold, mute, switch, transfer); the once-a-second tick (call
timers and the quality panel); start-up. Its modules: page.py (the page's
state, DOM helpers, errors), lines_view.py (the line list, call summary and
transfer panel), controls.py (dial pad, audio devices), contacts.py,
quality.py and tones.py.

Every DOM handler is a small synchronous function that starts a coroutine
with :func:`spawn`, which turns any exception into a readable message in the
page (the traceback goes to the browser console only).
"""

from __future__ import annotations

import asyncio

import js
from contacts import ContactsPanel
from controls import on_device_change, refresh_devices
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
    realm,
    set_text,
    show,
    show_error,
    spawn,
    value,
    who,
)
from pyscript import document, when
from quality import QualityPanel

import webvoice

END_MESSAGES = {  # the JS SDK's causes, as a person would say them
    "Busy": "{who} is busy.",
    "Rejected": "{who} declined the call.",
    "Not Found": "{who} is not known to the server.",
    "Unavailable": "{who} is not available (not signed in?).",
    "Canceled": "The call to {who} was cancelled.",
    "No Answer": "{who} did not answer.",
    "Request Timeout": "{who} did not answer in time.",
    "User Denied Media Access": "The browser denied access to the microphone: allow it and try again.",
    "WebRTC Error": "The browser's audio connection failed.",
    "Connection Error": "The connection to the SIP server was lost.",
    "Authentication Error": "The server refused our credentials for this call.",
    "SIP Failure Code": "The call to {who} failed ({code}).",
}


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


# --- calls ---------------------------------------------------------------------------------------------------------


def call_events(name: str, incoming: bool = False) -> dict:
    """Handlers for one call's events; ``name`` is the other party, for messages."""

    def ended(event) -> None:
        if incoming and event.cause == "Canceled":
            activity(f"Missed call from {name}")
        elif event.cause in ("Bye", "Terminated", "Canceled") or (
                event.originator == "local" and event.cause in ("Rejected", "Busy")):
            activity(f"Call with {name} ended" + (" (hung up by them)" if event.originator == "remote" else ""))
        else:
            message = END_MESSAGES.get(event.cause, "The call with {who} ended: {cause}.")
            show_error(message.format(who=name, cause=event.cause, code=event.status_code or event.reason))
        call_finished()

    def held(event) -> None:
        if event.originator == "remote":
            activity(f"{name} put the call on hold")
        render_lines()

    def unheld(event) -> None:
        if event.originator == "remote":
            activity(f"{name} resumed the call")
        render_lines()

    def refer(request: webvoice.ReferRequest) -> None:
        """The other party transfers us: follow a transfer to a user of our realm, and say so."""
        target = who(request.refer_to)
        if request.is_number or who(request.target) == str(request.target):
            request.reject()
            show_error(f"{name} tried to transfer you to {target}: refused (not a user of {realm()}).")
            return
        activity(f"{name} transferred you to {target}", "call")
        request.accept(call_events(target))

    return {
        "progress": lambda event: (activity(f"{name} is ringing"), render_lines()),
        "confirmed": lambda event: (activity(f"Connected with {name}", "call"), render_lines()),
        "ended": ended,
        "failed": ended,
        "held": held,
        "unheld": unheld,
        "new_dtmf": lambda event: activity(f"{name} pressed {event.tone} (DTMF)"),
        "refer": refer,
    }


def call_finished() -> None:
    for line_id in [i for i, incoming in phone.ringing.items() if incoming.call.is_ended()]:
        del phone.ringing[line_id]
    update_incoming_banner()
    render_lines()


@when("click", "#call-btn")
def on_call() -> None:
    spawn(place_call())


@when("keydown", "#target")
def on_target_key(event) -> None:
    if event.key == "Enter":
        event.preventDefault()
        spawn(place_call())


async def place_call() -> None:
    target = value("target")
    if phone.sip is None:
        raise RuntimeError("Sign in first.")
    if not target:
        raise ValueError("Type who to call: a user such as bob, a number, or a sip: address.")
    hide_error()
    name = who(target) if target.startswith(("sip:", "sips:")) else target
    activity(f"Calling {name}…")
    events = call_events(name)
    confirmed = events["confirmed"]

    def clear_target(event) -> None:  # once connected; after a failure the number stays, to retry
        if value("target") == target:
            el("target").value = ""
        confirmed(event)

    events["confirmed"] = clear_target
    await phone.sip.call(target, events)
    phone.dtmf_sent = ""
    render_lines()


def on_incoming_call(incoming: webvoice.IncomingCallRequest) -> None:
    call = incoming.call
    name = who(incoming.event.session.remote_identity)
    call.add_handlers(call_events(name, incoming=True))
    phone.ringing[call.get_line_id()] = incoming
    activity(f"Incoming call from {name}", "call")
    update_incoming_banner()
    render_lines()


def update_incoming_banner() -> None:
    """Show the oldest ringing call in the banner (and ring), or hide it (and stop)."""
    ringing = [incoming for incoming in phone.ringing.values() if not incoming.call.is_ended()]
    if ringing:
        incoming = ringing[0]
        set_text("incoming-text", who(incoming.event.session.remote_identity))
        el("incoming").dataset.line = incoming.call.get_line_id()
        show("incoming")
        phone.tones.start_ring()
        document.title = "📞 Incoming call · webvoice"
    else:
        show("incoming", False)
        phone.tones.stop_ring()
        document.title = "webvoice softphone"


@when("click", "#answer-btn")
def on_answer() -> None:
    spawn(answer(str(el("incoming").dataset.line)))


@when("click", "#decline-btn")
def on_decline() -> None:
    decline(str(el("incoming").dataset.line))


async def answer(line_id: str) -> None:
    incoming = phone.ringing.pop(line_id, None)
    update_incoming_banner()
    if incoming is None or incoming.call.is_ended():
        return
    phone.dtmf_sent = ""
    await incoming.accept()
    render_lines()


def decline(line_id: str) -> None:
    incoming = phone.ringing.pop(line_id, None)
    update_incoming_banner()
    if incoming is not None:
        incoming.decline()
        activity(f"Declined the call from {who(incoming.event.session.remote_identity)}")
    render_lines()


@when("click", "#hangup-btn")
def on_hang_up() -> None:
    call = current_call()
    if call is not None:
        call.terminate()


# --- lines ---------------------------------------------------------------------------------------------------------


def line_events() -> dict:
    def rerender(*args) -> None:
        render_lines()

    return {"on_line_added": rerender, "on_line_removed": forget_line, "on_line_changed": rerender,
            "on_active_line_changed": rerender}


def forget_line(line_id: str) -> None:
    phone.ringing.pop(line_id, None)
    if phone.quality is not None:
        phone.quality.forget(line_id)
    update_incoming_banner()
    render_lines()


@when("click", "#lines")
def on_line_button(event) -> None:
    button = event.target.closest("button[data-action]")
    if button:
        spawn(line_action(str(button.dataset.action), str(button.dataset.line)))


async def line_action(action: str, line_id: str) -> None:
    sip = phone.sip
    if sip is None:
        return
    if action == "answer":
        await answer(line_id)
    elif action == "decline":
        decline(line_id)
    elif action == "hangup":
        sip.terminate_line(line_id)
    elif action == "switch":
        await sip.switch_line(line_id)
    elif action == "hold":
        if not await sip.get_line(line_id).hold():
            raise RuntimeError("The call could not be put on hold.")
    elif action == "resume":
        await resume(line_id)
    elif action == "mute":
        sip.get_line(line_id).mute()
    elif action == "unmute":
        sip.get_line(line_id).unmute()
    render_lines()


async def resume(line_id: str) -> None:
    """Take a line off hold; another active line goes on hold (one talks on one line at a time)."""
    sip = phone.sip
    current = sip.get_current_line()
    if current is not None and current.id == line_id:
        if not await sip.get_line(line_id).unhold():
            raise RuntimeError("The call could not be resumed.")
    else:
        await sip.switch_line(line_id)


# --- transfer --------------------------------------------------------------------------------------------------


@when("change", "#xfer-line")
def on_transfer_line_changed() -> None:
    render_lines()


@when("click", "#xfer-blind")
def on_blind_transfer() -> None:
    spawn(blind_transfer())


@when("click", "#xfer-attended")
def on_attended_transfer() -> None:
    spawn(attended_transfer())


async def blind_transfer() -> None:
    line_id, target = value("xfer-line"), value("xfer-target")
    if not target:
        raise ValueError("Type who to transfer the call to, such as carol.")
    hide_error()
    name = who(phone.sip.get_line(line_id).get_remote_identity())
    activity(f"Transferring {name} to {target}…")
    await phone.sip.blind_transfer(line_id, target)
    el("xfer-target").value = ""
    activity(f"Transferred {name} to {target}", "call")


async def attended_transfer() -> None:
    line_id, other_id = value("xfer-line"), value("xfer-with")
    hide_error()
    first = who(phone.sip.get_line(line_id).get_remote_identity())
    second = who(phone.sip.get_line(other_id).get_remote_identity())
    activity(f"Connecting {first} with {second}…")
    await phone.sip.transfer_call(line_id, other_id)
    activity(f"Connected {first} with {second}", "call")


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
