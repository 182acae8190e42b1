"""The dialog event package (RFC 4235): what a watched line is doing, for busy lamps.

:func:`parse_dialog_info` reads an ``application/dialog-info+xml`` body (with
:mod:`._xml`'s limits) into :class:`DialogInfo`; :class:`LineState` keeps the
dialogs of one watched entity across full and partial notifications
(RFC 4235 4.1: ``version`` orders them, a partial one changes only the
dialogs it names) and sums them up as one lamp: the state of the line's most
advanced live dialog (:data:`STATE_RANK`), ``terminated`` when none is live.

The other way, for servers that do not derive our calls' states from the
calls they proxy: :func:`own_dialog` describes one of our calls as a
:class:`DialogEntry`, and :class:`DialogPublisher` turns the calls we have
into the document to PUBLISH (:func:`build_dialog_info`) each time what a
watcher would see changes, with a call that went away reported once as
terminated (so the lamp goes dark) before it is forgotten.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..syntax import _abnf
from ..util._record import record
from ._xml import XmlRefused, parse_xml

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

__all__ = ["CONTENT_TYPE", "DialogEntry", "DialogInfo", "DialogPublisher", "LineState", "STATE_RANK",
           "build_dialog_info", "own_dialog", "parse_dialog_info"]

CONTENT_TYPE = "application/dialog-info+xml"
_NS = "{urn:ietf:params:xml:ns:dialog-info}"

#: The dialog states of RFC 4235 3.7.1, from idle to busy: a line shows its
#: highest-ranked live dialog.
STATE_RANK = {"terminated": 0, "trying": 1, "proceeding": 2, "early": 3, "confirmed": 4}


@record
class DialogEntry:
    """One ``<dialog>``: its state, who started it, and the party on the other end."""

    id: str
    state: str
    direction: str | None  # "initiator" (the watched user called) or "recipient", when given
    remote: str | None  # the remote party's URI, when the server gives it
    remote_display: str | None = None
    call_id: str | None = None
    event: str | None = None  # why it ended (cancelled, rejected, replaced...), when given
    local_tag: str | None = None
    remote_tag: str | None = None


@record
class DialogInfo:
    """One notification's ``<dialog-info>``."""

    entity: str
    version: int
    full: bool
    dialogs: tuple[DialogEntry, ...]


def _text(element: Element | None) -> str | None:
    text = element.text if element is not None else None
    return text.strip() if text and text.strip() else None


def parse_dialog_info(body: bytes) -> DialogInfo:
    """The dialog-info document in ``body``; ``ValueError`` (an XmlRefused) saying what is wrong."""
    root = parse_xml(body)
    if root.tag != f"{_NS}dialog-info":
        raise XmlRefused(f"not a dialog-info document (root {root.tag!r})")
    version_text = root.get("version", "")
    version = _abnf.plain_number(version_text, 10)
    if version is None:
        raise XmlRefused(f"dialog-info version {version_text!r} is not a number")
    full = root.get("state", "full") != "partial"
    dialogs = []
    for element in root.findall(f"{_NS}dialog"):
        state_element = element.find(f"{_NS}state")
        state = _text(state_element)
        if state is None or state.lower() not in STATE_RANK:
            raise XmlRefused(f"dialog state {state!r} is not one of {', '.join(STATE_RANK)}")
        remote = element.find(f"{_NS}remote")
        identity = remote.find(f"{_NS}identity") if remote is not None else None
        target = remote.find(f"{_NS}target") if remote is not None else None
        remote_uri = _text(identity) or (target.get("uri") if target is not None else None)
        dialogs.append(DialogEntry(
            id=element.get("id") or element.get("call-id") or "",
            state=state.lower(),
            direction=element.get("direction"),
            remote=remote_uri,
            remote_display=identity.get("display") if identity is not None else None,
            call_id=element.get("call-id"),
            event=state_element.get("event") if state_element is not None else None,
        ))
    return DialogInfo(root.get("entity", ""), version, full, tuple(dialogs))


class LineState:
    """The dialogs of one watched entity, kept across notifications (RFC 4235 4.1)."""

    def __init__(self) -> None:
        self.dialogs: dict[str, DialogEntry] = {}
        self._version: int | None = None

    def reset(self) -> None:
        """A new subscription: versions start again (RFC 4235 4.1)."""
        self.dialogs.clear()
        self._version = None

    def apply(self, info: DialogInfo) -> bool:
        """Take a notification; False when it is older than what we have (ignored)."""
        if self._version is not None and info.version <= self._version and not info.full:
            return False
        if self._version is not None and info.version < self._version:
            return False
        self._version = info.version
        if info.full:
            self.dialogs = {d.id: d for d in info.dialogs}
        else:
            for dialog in info.dialogs:
                self.dialogs[dialog.id] = dialog
        return True

    def lamp(self) -> DialogEntry | None:
        """The dialog the line shows: the most advanced live one, else the last ended one, else None."""
        if not self.dialogs:
            return None
        return max(self.dialogs.values(), key=lambda d: STATE_RANK[d.state])

    def forget_ended(self) -> None:
        """Drop terminated dialogs once shown (a partial notification may not repeat them)."""
        self.dialogs = {k: d for k, d in self.dialogs.items() if d.state != "terminated"}


# --- our own calls, to publish --------------------------------------------------------------------

#: Our call states (webvoice.sip.session._state.CallState values) as RFC 4235 3.7.1
#: dialog states: an INVITE out with nothing back is trying, ringing either way
#: is early, a 2xx sent or received is confirmed.
CALL_STATE_TO_DIALOG = {
    "calling": "trying",
    "ringing": "early",
    "incoming": "early",
    "answered": "confirmed",
    "established": "confirmed",
    "terminated": "terminated",
}
#: Characters XML 1.0 does not allow in a document (a display name is the peer's text).
_NOT_XML = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF])


def _escape(text: str) -> str:
    text = text.translate(_NOT_XML)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def own_dialog(*, call_id: str, local_tag: str, remote_tag: str | None, direction: str, call_state: str,
               remote: str | None, remote_display: str | None = None) -> DialogEntry:
    """One of our calls as a dialog of RFC 4235: ``direction`` is the call's
    (``"outgoing"``: we are the initiator), ``call_state`` a CallState value."""
    if direction not in ("outgoing", "incoming"):
        raise ValueError(f"a call's direction is 'outgoing' or 'incoming', not {direction!r}")
    if call_state not in CALL_STATE_TO_DIALOG:
        raise ValueError(f"unknown call state {call_state!r}")
    return DialogEntry(
        id=f"{call_id};{local_tag}", state=CALL_STATE_TO_DIALOG[call_state],
        direction="initiator" if direction == "outgoing" else "recipient",
        remote=remote, remote_display=remote_display, call_id=call_id, local_tag=local_tag, remote_tag=remote_tag)


def build_dialog_info(entity: str, version: int, dialogs: "list[DialogEntry] | tuple[DialogEntry, ...]") -> bytes:
    """A full ``dialog-info`` document (RFC 4235 4.1) of ``entity``'s dialogs."""
    if not isinstance(version, int) or not 0 <= version < 2**32:
        raise ValueError(f"dialog-info version {version!r} is not a 32-bit count")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="{version}" state="full" '
             f'entity="{_escape(entity)}">']
    for d in dialogs:
        if d.state not in STATE_RANK:
            raise ValueError(f"dialog state {d.state!r} is not one of {', '.join(STATE_RANK)}")
        attrs = f'id="{_escape(d.id)}"'
        if d.call_id:
            attrs += f' call-id="{_escape(d.call_id)}"'
        if d.local_tag:
            attrs += f' local-tag="{_escape(d.local_tag)}"'
        if d.remote_tag:
            attrs += f' remote-tag="{_escape(d.remote_tag)}"'
        if d.direction:
            attrs += f' direction="{d.direction}"'
        event = f' event="{_escape(d.event)}"' if d.event else ""
        lines.append(f"<dialog {attrs}><state{event}>{d.state}</state>")
        if d.remote:
            display = f' display="{_escape(d.remote_display)}"' if d.remote_display else ""
            lines.append(f'<remote><identity{display}>{_escape(d.remote)}</identity>'
                         f'<target uri="{_escape(d.remote)}"/></remote>')
        lines.append(f'<local><identity>{_escape(entity)}</identity></local></dialog>')
    lines.append("</dialog-info>")
    return "\n".join(lines).encode("utf-8")


class DialogPublisher:
    """What to PUBLISH of our calls: :meth:`update` with the calls we have now
    gives a new document when a watcher would see a change, else None.

    A call that is gone (ended and dropped by the UA) is reported once as
    terminated; the next document no longer names it. With no call left the
    last document (every call terminated: an idle line) stands as it is.
    ``version`` counts the documents (RFC 4235 4.1).
    """

    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.version = 0
        self._shown: dict[str, DialogEntry] = {}

    def update(self, calls: "list[DialogEntry]") -> bytes | None:
        live = {d.id: d for d in calls}
        gone = [DialogEntry(d.id, "terminated", d.direction, d.remote, d.remote_display, d.call_id, None,
                            d.local_tag, d.remote_tag)
                for key, d in self._shown.items() if key not in live and d.state != "terminated"]
        current = [*live.values(), *gone]
        if not current:
            return None  # nothing new: the idle line already shown (or never anything to show)
        if {d.id: d for d in current} == self._shown:
            return None
        self._shown = {d.id: d for d in current}
        self.version += 1
        return build_dialog_info(self.entity, self.version, current)
