"""The demo softphone's dial pad (DTMF in a call, digits into the number field
otherwise) and its microphone and speaker pickers.
"""

from __future__ import annotations

import js
from page import (
    activity,
    current_call,
    el,
    enable,
    fill_select,
    phone,
    set_text,
    show,
    spawn,
    value,
)
from pyscript import when

import webvoice

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
    for kind, _device_id in event.fallback:
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
