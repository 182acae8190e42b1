"""The demo softphone's line actions: the buttons of the line list and the transfer panel.

Hold, resume, mute, switch and hang up a line (:func:`line_action`, from the
buttons lines_view.py draws), the line events that redraw the list, and
blind and attended transfers.
"""

from __future__ import annotations

from calling import answer, decline, update_incoming_banner
from lines_view import render_lines
from page import activity, el, hide_error, phone, spawn, value, who
from pyscript import when

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
