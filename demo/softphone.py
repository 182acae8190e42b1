"""The webvoice demo softphone: a PyScript page driving webvoice through the DOM.

Reading order: the page's state and DOM helpers; errors; sign in and out;
placing, answering and ending calls; the line list and its actions (hold,
mute, switch, transfer); the dial pad; audio devices; the once-a-second tick
(call timers and the quality panel); start-up.

Every DOM handler is a small synchronous function that starts a coroutine
with :func:`spawn`, which turns any exception into a readable message in the
page (the traceback goes to the browser console only).
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

STATUS_TEXT = {
    "connecting": "Calling…",
    "progress": "Ringing…",
    "ringing": "Incoming call",
    "confirmed": "Connected",
    "ended": "Ended",
    "failed": "Failed",
}

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


def render_lines() -> None:
    """Draw the line list, the transfer panel and the call buttons from webvoice's state."""
    pairs = lines_with_calls()
    current = phone.sip.get_current_line() if phone.sip else None
    current_id = current.id if current else None
    listing = el("lines")
    listing.innerHTML = "".join(line_html(line, call, line.id == current_id) for line, call in pairs) \
        or '<li class="empty">No calls</li>'
    render_transfer(pairs)
    render_call_summary(current_id, pairs)


def line_html(line: webvoice.CallLine, call: webvoice.Call, active: bool) -> str:
    hold = call.is_on_hold()
    badges = []
    if active:
        badges.append('<span class="badge active">Active</span>')
    if hold.local:
        badges.append('<span class="badge held">On hold</span>')
    if hold.remote:
        badges.append('<span class="badge held">Held by them</span>')
    if call.is_muted():
        badges.append('<span class="badge muted">Muted</span>')
    media = line.media_state  # beyond the JS SDK: whether audio can flow
    if media == "interrupted":
        badges.append('<span class="badge held">Reconnecting</span>')
    elif media == "failed":
        badges.append('<span class="badge muted">No audio</span>')
    direction = "Incoming" if line.direction == "incoming" else "Outgoing"
    status = STATUS_TEXT.get(line.status, line.status)
    return (
        f'<li class="line{" active" if active else ""}" data-line="{line.id}" data-status="{line.status}" '
        f'data-held="{str(hold.local).lower()}" data-remote-held="{str(hold.remote).lower()}" '
        f'data-muted="{str(bool(call.is_muted())).lower()}" data-media="{media}">'
        f'<span class="line-no" title="Line {line.id}">{line.id}</span>'
        f'<div class="line-who"><strong title="{html.escape(line.target)}">{html.escape(who(call.get_remote_identity()))}'
        f'</strong>{"".join(badges)}<div>{direction} · {status}</div></div>'
        f'<span class="line-time" id="line-time-{line.id}">{duration(call)}</span>'
        f'<div class="line-buttons">{line_buttons(line, call, active)}</div></li>'
    )


def line_buttons(line: webvoice.CallLine, call: webvoice.Call, active: bool) -> str:
    def button(action: str, label: str, style: str = "") -> str:
        return f'<button type="button" class="btn small {style}" data-action="{action}" data-line="{line.id}">{label}</button>'

    if line.status == "ringing":
        return button("answer", "Answer", "green") + button("decline", "Decline", "red")
    if not call.is_established():
        return button("hangup", "Cancel", "red")
    buttons = []
    if call.is_on_hold().local:
        buttons.append(button("resume", "Resume", "on"))
    else:
        buttons.append(button("hold", "Hold"))
    buttons.append(button("unmute", "Unmute", "on") if call.is_muted() else button("mute", "Mute"))
    if not active:
        buttons.append(button("switch", "Switch to"))
    buttons.append(button("hangup", "Hang up", "red"))
    return "".join(buttons)


def duration(call: webvoice.Call) -> str:
    start = call.get_start_time()
    if start is None or call.is_ended():
        return ""
    seconds = int(time.time() - start.timestamp())
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def render_call_summary(current_id: str | None, pairs) -> None:
    call = next((c for line, c in pairs if line.id == current_id), None)
    in_call = call is not None and call.is_established()
    enable("hangup-btn", call is not None)
    el("dialpad").classList.toggle("in-call", in_call)
    if call is None:
        set_text("call-summary", idle_summary(pairs))
        set_text("dtmf-sent", "")
        return
    status = STATUS_TEXT.get(call.get_status(), call.get_status())
    held = " · on hold" if call.is_on_hold() else ""
    el("call-summary").innerHTML = (f"{status} <b>{html.escape(who(call.get_remote_identity()))}</b>{held}"
                                    f' <span id="summary-time">{duration(call)}</span>')
    set_text("dtmf-sent", f"Sent: {phone.dtmf_sent}" if phone.dtmf_sent else "")


def idle_summary(pairs) -> str:
    ringing = [c for line, c in pairs if line.status == "ringing"]
    if ringing:
        return f"Incoming call from {who(ringing[0].get_remote_identity())}"
    if pairs:
        return "No active line: pick one under Lines"
    return "Not in a call"


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


def render_transfer(pairs) -> None:
    established = [(line, call) for line, call in pairs if call.is_established()]
    show("transfer", bool(established))
    if not established:
        return
    options = [(line.id, f"Line {line.id}: {who(call.get_remote_identity())}") for line, call in established]
    fill_select("xfer-line", options)
    chosen = value("xfer-line")
    others = [(v, label) for v, label in options if v != chosen]
    fill_select("xfer-with", others)
    show("xfer-attended-row", bool(others))


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


# --- dial pad ----------------------------------------------------------------------------------------------------


@when("click", "#dialpad")
def on_dialpad(event) -> None:
    button = event.target.closest("button[data-digit]")
    if button:
        press(str(button.dataset.digit))


@when("keydown", "body")
def on_key(event) -> None:
    """Digit keys work as the dial pad during a call, unless the user is typing in a field."""
    typing = str(event.target.tagName) in ("INPUT", "SELECT", "TEXTAREA")
    call = current_call()
    if typing or call is None or not call.is_established() or event.ctrlKey or event.metaKey or event.altKey:
        return
    key = str(event.key).upper()
    if len(key) == 1 and key in "0123456789*#":
        event.preventDefault()
        press(key)


def press(digit: str) -> None:
    """In a call: send the digit as DTMF. Otherwise: type it into the number field."""
    phone.tones.unlock()
    phone.tones.key(digit)
    call = current_call()
    if call is None or not call.is_established():
        el("target").value = str(el("target").value) + digit
        return
    mode = value("dtmf-mode")
    phone.dtmf_sent = (phone.dtmf_sent + digit)[-16:]
    set_text("dtmf-sent", f"Sent: {phone.dtmf_sent}")
    spawn(send_dtmf(call, digit, mode))


async def send_dtmf(call: webvoice.Call, digit: str, mode: str) -> None:
    await call.send_dtmf(digit, transport_type=mode)
    activity(f"Sent DTMF {digit} ({'SIP INFO' if mode == 'INFO' else 'RFC 2833'})")


# --- audio devices ------------------------------------------------------------------------------------------------


async def refresh_devices() -> None:
    sip = phone.sip
    if sip is None:
        return
    devices = await sip.get_audio_devices()
    inputs = [(d.device_id, d.label or "Microphone") for d in devices if d.kind == "audioinput"]
    outputs = [(d.device_id, d.label or "Speaker") for d in devices if d.kind == "audiooutput"]
    fill_select("mic-select", inputs, sip.get_current_microphone() or "default")
    fill_select("speaker-select", outputs, sip.get_current_speaker() or "default")
    can_choose_speaker = hasattr(js.HTMLMediaElement.prototype, "setSinkId")
    enable("mic-select", bool(inputs))
    enable("speaker-select", bool(outputs) and can_choose_speaker)
    show("speaker-note", not can_choose_speaker)


def on_device_change(event) -> None:
    for kind, device_id in event.fallback:
        activity(f"The chosen {kind} was unplugged: using the default one")
    spawn(refresh_devices())


@when("change", "#mic-select")
def on_microphone_chosen() -> None:
    spawn(choose_device("microphone", value("mic-select")))


@when("change", "#speaker-select")
def on_speaker_chosen() -> None:
    spawn(choose_device("speaker", value("speaker-select")))


async def choose_device(kind: str, device_id: str) -> None:
    select = el("mic-select" if kind == "microphone" else "speaker-select")
    label = select.options[select.selectedIndex].text
    if kind == "microphone":
        await phone.sip.set_microphone(device_id)
    else:
        await phone.sip.set_speaker(device_id)
    activity(f"{kind.capitalize()}: {label}")


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
