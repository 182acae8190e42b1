"""The demo softphone's line list, call summary and transfer panel, drawn from webvoice's state.

:func:`render_lines` draws them all again from ``sip.get_call_lines()`` and
each line's :class:`webvoice.Call` (status, hold, mute, media state); the
line events call it on every change, so the page never keeps a copy of its own.
"""

from __future__ import annotations

import html
import time

from page import (
    el,
    enable,
    fill_select,
    lines_with_calls,
    phone,
    set_text,
    show,
    value,
    who,
)

import webvoice

STATUS_TEXT = {
    "connecting": "Calling…",
    "progress": "Ringing…",
    "ringing": "Incoming call",
    "confirmed": "Connected",
    "ended": "Ended",
    "failed": "Failed",
}

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
