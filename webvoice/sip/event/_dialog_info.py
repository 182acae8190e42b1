"""The dialog event package (RFC 4235): what a watched line is doing, for busy lamps.

:func:`parse_dialog_info` reads an ``application/dialog-info+xml`` body (with
:mod:`._xml`'s limits) into :class:`DialogInfo`; :class:`LineState` keeps the
dialogs of one watched entity across full and partial notifications
(RFC 4235 4.1: ``version`` orders them, a partial one changes only the
dialogs it names) and sums them up as one lamp: the state of the line's most
advanced live dialog (:data:`STATE_RANK`), ``terminated`` when none is live.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..util._record import record
from ._xml import XmlRefused, parse_xml

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

__all__ = ["CONTENT_TYPE", "DialogEntry", "DialogInfo", "LineState", "STATE_RANK", "parse_dialog_info"]

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
    if not version_text.isdigit() or len(version_text) > 10:
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
    return DialogInfo(root.get("entity", ""), int(version_text), full, tuple(dialogs))


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
