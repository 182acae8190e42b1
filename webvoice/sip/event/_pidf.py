"""Presence documents (PIDF, RFC 3863): ours to publish, others' to read.

We publish the least a watcher needs: one ``<tuple>`` whose ``<basic>`` is
``open`` or ``closed``, and an optional ``<note>`` ("away", "in a meeting").
Reading, a presentity is open when any tuple is open (RFC 3863 4.1.4 leaves
the sum to the watcher; "reachable somewhere" is what a contact list shows),
and the note is the first one found, on the presence or on a tuple.
"""

from __future__ import annotations

from ..syntax._abnf import CONTROL_CHARS
from ..util._record import record
from ._xml import XmlRefused, parse_xml

__all__ = ["CONTENT_TYPE", "MAX_NOTE", "PresenceInfo", "build_pidf", "parse_pidf"]

CONTENT_TYPE = "application/pidf+xml"
MAX_NOTE = 256
_NS = "{urn:ietf:params:xml:ns:pidf}"
_STATUSES = ("open", "closed")


@record
class PresenceInfo:
    """One presentity's state as a watcher sums it up."""

    entity: str
    status: str  # "open" or "closed"
    note: str | None


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def check_presence(status: str, note: str | None) -> None:
    """Raise ``ValueError``/``TypeError`` for a status or note we will not publish."""
    if status not in _STATUSES:
        raise ValueError(f"presence status is 'open' or 'closed', not {status!r}")
    if note is not None:
        if not isinstance(note, str):
            raise TypeError(f"a presence note is a str, not {type(note).__name__}")
        if CONTROL_CHARS.search(note) or "\t" in note:
            raise ValueError(f"the presence note contains a control character (CR, LF or similar): {note!r}")
        if len(note) > MAX_NOTE:
            raise ValueError(f"the presence note is {len(note)} characters; at most {MAX_NOTE}")


def build_pidf(entity: str, status: str, note: str | None, tuple_id: str) -> bytes:
    """Our PIDF document (checked first, see :func:`check_presence`)."""
    check_presence(status, note)
    note_xml = f"<note>{_escape(note)}</note>" if note else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="{_escape(entity)}">'
        f'<tuple id="{_escape(tuple_id)}"><status><basic>{status}</basic></status>{note_xml}</tuple>'
        f"{note_xml}</presence>"
    ).encode("utf-8")


def parse_pidf(body: bytes) -> PresenceInfo:
    """The presence document in ``body``; ``ValueError`` (an XmlRefused) saying what is wrong."""
    root = parse_xml(body)
    if root.tag != f"{_NS}presence":
        raise XmlRefused(f"not a PIDF document (root {root.tag!r})")
    statuses = []
    for basic in root.iter(f"{_NS}basic"):
        value = (basic.text or "").strip().lower()
        if value not in _STATUSES:
            raise XmlRefused(f"PIDF basic status {value!r} is not open or closed")
        statuses.append(value)
    note = None
    for element in root.iter():
        if element.tag.endswith("}note") and element.text and element.text.strip():
            note = element.text.strip()
            break
    return PresenceInfo(root.get("entity", ""), "open" if "open" in statuses else "closed", note)
