"""Voicemail waiting (RFC 3842): the ``message-summary`` event package's body.

An ``application/simple-message-summary`` body is a few header-like lines:
``Messages-Waiting: yes``, an optional ``Message-Account``, and one line per
message class (``Voice-Message: 2/8 (0/2)``: new/old, then urgent new/old).
:func:`parse_message_summary` reads it, within :data:`MAX_SUMMARY` bytes;
the optional message headers that may follow a blank line are ignored.
"""

from __future__ import annotations


from ..util._record import record
from ..util._regex import compile_regex

__all__ = ["CONTENT_TYPE", "MAX_SUMMARY", "MessageCounts", "MessageSummary", "parse_message_summary"]

CONTENT_TYPE = "application/simple-message-summary"
MAX_SUMMARY = 8192
#: The message classes of RFC 3842 5.2 (RFC 3458 message-context-class).
_CLASSES = ("voice-message", "fax-message", "pager-message", "multimedia-message", "text-message", "none")
_LINE_BREAK = compile_regex(r"\r?\n")
_COUNTS = compile_regex(r"([0-9]{1,9})\s*/\s*([0-9]{1,9})(?:\s*\(\s*([0-9]{1,9})\s*/\s*([0-9]{1,9})\s*\))?\s*")


@record
class MessageCounts:
    new: int
    old: int
    urgent_new: int = 0
    urgent_old: int = 0


@record
class MessageSummary:
    waiting: bool
    account: str | None
    counts: dict[str, MessageCounts]  # message class ("voice-message", ...) -> MessageCounts


def parse_message_summary(body: bytes) -> MessageSummary:
    """The summary in ``body``; ``ValueError`` saying what is wrong."""
    if len(body) > MAX_SUMMARY:
        raise ValueError(f"the message summary is {len(body)} bytes; at most {MAX_SUMMARY} are read")
    text = body.decode("utf-8", "replace")
    waiting, account, counts = None, None, {}
    for line in _LINE_BREAK.split(text):
        if not line.strip():
            if waiting is not None:
                break  # the optional message headers follow (RFC 3842 5.2): not ours to read
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"message summary line {line[:60]!r} has no colon")
        name, value = name.strip().lower(), value.strip()
        if name == "messages-waiting":
            if value.lower() not in ("yes", "no"):
                raise ValueError(f"Messages-Waiting is yes or no, not {value[:20]!r}")
            waiting = value.lower() == "yes"
        elif name == "message-account":
            account = value or None
        elif name in _CLASSES:
            match = _COUNTS.fullmatch(value)
            if match is None:
                raise ValueError(f"{name} counts {value[:40]!r} are not 'new/old (urgent new/urgent old)'")
            new, old, unew, uold = (int(g) if g else 0 for g in match.groups())
            counts[name] = MessageCounts(new, old, unew, uold)
    if waiting is None:
        raise ValueError("the message summary has no Messages-Waiting line")
    return MessageSummary(waiting, account, counts)
