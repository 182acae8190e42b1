"""The demo softphone's calls: placing, answering, declining and ending them.

Each call gets the handlers of :func:`call_events` (what the page says when it
rings, connects, is held, ends or is transferred); ringing calls wait in
``phone.ringing`` and the incoming banner shows the oldest. Used by
softphone.py (signing in gives webvoice :func:`on_incoming_call`) and
line_actions.py (a line's answer and decline buttons).
"""

from __future__ import annotations

from lines_view import render_lines
from page import activity, current_call, el, hide_error, phone, realm, set_text, show, show_error, spawn, value, who
from pyscript import document, when

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
