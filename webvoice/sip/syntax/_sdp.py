"""SDP (RFC 8866, formerly RFC 4566): just enough to carry the browser's descriptions.

The browser's RTCPeerConnection writes and reads the real offers and answers;
the SIP core only carries them in INVITE, 200, ACK and UPDATE, and needs a few
facts from them: is the other side holding us (RFC 3264 8.4), which direction
an answer takes (RFC 3264 6.1), whether RFC 4733 DTMF was negotiated, whether a
re-offer changed anything (the o= version, RFC 3264 8).

So the model is the lines themselves, in order, with helpers that read them.
Nothing is normalised, because the browser must get back exactly what it wrote:
``str(parse_sdp(text))`` gives back the same lines with CRLF line ends. The only
rewrites are the ones asked for (:meth:`SessionDescription.with_direction`,
:meth:`SessionDescription.bump_version`).

What RFC 3264 reads from a description (the direction of an answer, whether
it holds us) is :mod:`._sdp_offer_answer`'s.

Parsing checks what the helpers rely on (v= first; the m=, o= and c= lines) and
nothing more of the grammar: browsers and servers differ in line ends, line
order, padding and empty s= lines, and all of that is accepted. Anything we
cannot read gives :class:`SdpParseError` naming the line, never another error.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import field

from . import _abnf
from ..util._record import record
from ..util._regex import compile_regex

__all__ = [
    "DIRECTIONS", "MAX_SDP_LINES", "MAX_SDP_SIZE", "MediaSection", "RtpMap", "SdpLine",
    "SdpParseError", "SessionDescription", "parse_sdp", "session_version",
]

#: The direction attributes (RFC 8866 6.7, RFC 3264 5.1); sendrecv is the default.
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")

#: Limits on a description from the network. A SIP message is at most 64 KiB in
#: this core (``_parser.Limits``); a browser's audio offer is 2-6 KiB, 30-80 lines.
MAX_SDP_SIZE = 65536
MAX_SDP_LINES = 2048

# --- grammar (RFC 8866 section 9) ---------------------------------------------------

# token-char = %x21 / %x23-27 / %x2A-2B / %x2D-2E / %x30-39 / %x41-5A / %x5E-7E
_TOKEN = r"[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+"
_TOKEN_RE = compile_regex(_TOKEN)
# <type>=<value>: one case-significant letter, no white space around "=".
_LINE = compile_regex(r"([A-Za-z])=(.*)", re.DOTALL)
# byte-string = 1*(%x01-09 / %x0B-0C / %x0E-FF). Departure: every C0 control but
# HTAB is refused, and DEL: no field a UA reads holds one, and a stray CR or NUL
# means a broken or hostile peer. Surrogates are refused too, except the ones
# surrogateescape makes of non-UTF-8 octets, so that to_bytes() always works.
_FORBIDDEN = compile_regex("[\x00-\x08\x0a-\x1f\x7f\ud800-\udc7f\udd00-\udfff]")
# Fields are separated by SP. Departure: runs of spaces and tabs are accepted.
_SPACES = compile_regex(r"[ \t]+")
# media-field = %s"m" "=" media SP port ["/" integer] SP proto 1*(SP fmt)
# media = token; port = 1*DIGIT; integer = POS-DIGIT *DIGIT; fmt = token
_PORT = compile_regex(r"([0-9]{1,5})(?:/([1-9][0-9]{0,4}))?")
# proto = token *("/" token)  (token-char excludes "/", so this is unambiguous)
_PROTO = compile_regex(rf"{_TOKEN}(?:/{_TOKEN})*")
# sess-version = 1*DIGIT, representable in 64 bits (RFC 3264 5): at most 20 digits.
_VERSION = compile_regex(r"[0-9]{1,20}")
# a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]
_RTPMAP = compile_regex(rf"([0-9]{{1,3}})[ \t]+({_TOKEN})/([0-9]{{1,10}})(?:/([0-9]{{1,3}}))?")


class SdpParseError(ValueError):
    """A session description from the network does not follow the grammar.

    ``line_number`` (from 1) is the line at fault, None when it is the whole
    description (over a limit). ``status_code`` is what a UAS answers an offer it
    cannot read with: 400, the body is malformed (488 is for descriptions that
    are readable but unacceptable).
    """

    status_code = 400

    def __init__(self, reason: str, line_number: int | None = None) -> None:
        super().__init__(reason if line_number is None else f"SDP line {line_number}: {reason}")
        self.reason = reason
        self.line_number = line_number

    def __reduce__(self) -> tuple[type[SdpParseError], tuple[str, int | None]]:
        return (SdpParseError, (self.reason, self.line_number))


@record
class SdpLine:
    """One ``<type>=<value>`` line, the value kept exactly as received."""

    type: str
    value: str

    def __post_init__(self) -> None:
        if not (len(self.type) == 1 and self.type.isascii() and self.type.isalpha()) or _FORBIDDEN.search(self.value):
            raise ValueError(f"not an SDP line: {self.type!r}={self.value!r}")

    def __str__(self) -> str:
        return f"{self.type}={self.value}"


@record
class RtpMap:
    """What a payload type stands for (RFC 8866 6.6); ``channels`` None when not given."""

    payload_type: int
    encoding: str
    clock_rate: int
    channels: int | None = None


# Static payload types (RFC 3551 tables 4 and 5), for m= formats without a=rtpmap.
_STATIC = {
    pt: RtpMap(pt, name, rate, channels)
    for pt, name, rate, channels in (
        (0, "PCMU", 8000, None), (3, "GSM", 8000, None), (4, "G723", 8000, None),
        (5, "DVI4", 8000, None), (6, "DVI4", 16000, None), (7, "LPC", 8000, None),
        (8, "PCMA", 8000, None), (9, "G722", 8000, None), (10, "L16", 44100, 2),
        (11, "L16", 44100, 1), (12, "QCELP", 8000, None), (13, "CN", 8000, None),
        (14, "MPA", 90000, None), (15, "G728", 8000, None), (16, "DVI4", 11025, None),
        (17, "DVI4", 22050, None), (18, "G729", 8000, None), (26, "JPEG", 90000, None),
        (31, "H261", 90000, None), (32, "MPV", 90000, None), (34, "H263", 90000, None),
    )
}


def _fields(value: str) -> list[str]:
    return _SPACES.split(value.strip(" \t"))


def _attributes(lines: tuple[SdpLine, ...], name: str) -> list[str]:
    """Values of ``a=name:value`` (and ``""`` for the flag ``a=name``), in order."""
    found = []
    for line in lines:
        if line.type == "a":
            key, _, value = line.value.partition(":")
            if key.strip(" \t") == name:
                found.append(value.strip(" \t"))
    return found


def _is_direction(line: SdpLine) -> bool:
    return line.type == "a" and line.value.strip(" \t") in DIRECTIONS


def _direction(lines: tuple[SdpLine, ...]) -> str | None:
    """The first direction attribute (several in one place is invalid; the first wins)."""
    return next((line.value.strip(" \t") for line in lines if _is_direction(line)), None)


def _connection(lines: tuple[SdpLine, ...]) -> str | None:
    # c=<nettype> <addrtype> <connection-address>; a multicast "/ttl/count" is cut off.
    for line in lines:
        if line.type == "c" and len(fields := _fields(line.value)) == 3:
            return fields[2].split("/")[0]
    return None


def _session_facts(lines: tuple[SdpLine, ...]) -> tuple[str | None, str | None, bool]:
    """What every media section takes from the session level: its direction,
    its connection address, and whether it uses ICE. Read once per description,
    not once per section: a peer's description with many sections and many
    session lines must not cost sections x lines."""
    return _direction(lines), _connection(lines), bool(_attributes(lines, "candidate") or _attributes(lines, "ice-ufrag"))


def _origin(lines: tuple[SdpLine, ...]) -> tuple[int, list[str]] | None:
    """Index and fields of the first well-formed o= line (RFC 8866 5.2)."""
    for index, line in enumerate(lines):
        fields = _fields(line.value)
        if line.type == "o" and len(fields) == 6 and _VERSION.fullmatch(fields[2]):
            return index, fields
    return None


def _media_fields(value: str, number: int | None) -> tuple[str, int, int | None, str, tuple[str, ...]]:
    """The m= line read as (media, port, port count, proto, formats)."""
    fields = _fields(value)
    if len(fields) < 3:
        raise SdpParseError("an m= line is '<media> <port> <proto> <fmt> ...'", number)
    kind, port_text, proto, *formats = fields
    port = _PORT.fullmatch(port_text)
    if not _TOKEN_RE.fullmatch(kind):
        raise SdpParseError(f"bad media type {kind!r} in the m= line", number)
    if port is None or int(port[1]) > 65535 or (port[2] is not None and int(port[2]) > 65535):
        raise SdpParseError(f"bad port {port_text!r} in the m= line", number)
    if not _PROTO.fullmatch(proto):
        raise SdpParseError(f"bad transport protocol {proto!r} in the m= line", number)
    if not formats:
        raise SdpParseError("the m= line has no formats", number)
    if bad := next((f for f in formats if not _TOKEN_RE.fullmatch(f)), None):
        raise SdpParseError(f"bad format {bad!r} in the m= line", number)
    count = int(port[2]) if port[2] is not None else None
    return kind, int(port[1]), count, proto, tuple(formats)


@record
class MediaSection:
    """One m= section: ``lines[0]`` is its m= line, the rest follow in order.

    ``kind``, ``port``, ``port_count``, ``proto`` and ``formats`` are read from the
    m= line when built. ``session_lines`` are the session-level lines the
    section falls back on (direction, c=); a :class:`SessionDescription` fills
    them in, and they take no part in comparisons.
    """

    lines: tuple[SdpLine, ...]
    session_lines: tuple[SdpLine, ...] = field(default=(), compare=False, repr=False)
    #: ``_session_facts(session_lines)``, filled in by SessionDescription and parse_sdp.
    session_facts: tuple[str | None, str | None, bool] | None = field(default=None, compare=False, repr=False)
    kind: str = field(init=False, compare=False)
    port: int = field(init=False, compare=False)
    port_count: int | None = field(init=False, compare=False)
    proto: str = field(init=False, compare=False)
    formats: tuple[str, ...] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        lines = tuple(self.lines)
        if not lines or lines[0].type != "m" or any(line.type in "mv" for line in lines[1:]):
            raise ValueError("a media section is one m= line and the lines after it")
        kind, port, port_count, proto, formats = _media_fields(lines[0].value, None)
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "port", port)
        object.__setattr__(self, "port_count", port_count)
        object.__setattr__(self, "proto", proto)
        object.__setattr__(self, "formats", formats)

    def attributes(self, name: str) -> list[str]:
        """Values of the section's ``a=name:value`` lines (``""`` for a flag)."""
        return _attributes(self.lines, name)

    @property
    def direction(self) -> str:
        """The section's direction attribute, else the session's, else sendrecv (RFC 8866 6.7)."""
        return _direction(self.lines) or self._session()[0] or "sendrecv"

    @property
    def connection_address(self) -> str | None:
        """The address of the section's c= line, else of the session's (RFC 8866 5.7)."""
        return _connection(self.lines) or self._session()[1]

    def _session(self) -> tuple[str | None, str | None, bool]:
        facts = self.session_facts
        return facts if facts is not None else _session_facts(self.session_lines)

    @property
    def mid(self) -> str | None:
        """The a=mid identification tag (RFC 9143 BUNDLE, RFC 5888)."""
        return next(iter(self.attributes("mid")), None)

    @property
    def rtpmap(self) -> dict[int, RtpMap]:
        """Payload type -> encoding, for the RTP formats on the m= line, in its order.

        Malformed a=rtpmap lines and those for types not on the m= line are
        skipped: a strange line for a codec nobody picks should not fail a
        call. A static type without a=rtpmap gets its RFC 3551 encoding.
        """
        declared: dict[int, RtpMap] = {}
        for value in self.attributes("rtpmap"):
            if m := _RTPMAP.fullmatch(value):
                pt = int(m[1])
                declared.setdefault(pt, RtpMap(pt, m[2], int(m[3]), int(m[4]) if m[4] else None))
        found = {}
        for fmt in self.formats if "RTP" in self.proto else ():
            number = _abnf.plain_number(fmt, 3)
            if number is not None and (entry := declared.get(number) or _STATIC.get(number)):
                found[number] = entry
        return found

    @property
    def has_telephone_event(self) -> bool:
        """Whether RFC 4733 events are offered at 8000 or 48000 Hz, the rates a
        browser's RTCDTMFSender can send (with PCMU/PCMA and with opus)."""
        return any(
            r.encoding.lower() == "telephone-event" and r.clock_rate in (8000, 48000)
            for r in self.rtpmap.values()
        )

    def _with_direction(self, direction: str) -> MediaSection:
        """The section with one direction attribute, where its first one was, else last."""
        marks = [_is_direction(line) for line in self.lines]
        lines = [line for line, mark in zip(self.lines, marks) if not mark]
        lines.insert(marks.index(True) if True in marks else len(lines), SdpLine("a", direction))
        return dataclasses.replace(self, lines=tuple(lines))


@record
class SessionDescription:
    """A whole description: the session-level lines (``v=0`` first), then the media."""

    lines: tuple[SdpLine, ...]
    media: tuple[MediaSection, ...] = ()

    def __post_init__(self) -> None:
        lines = tuple(self.lines)
        if not lines or lines[0].type != "v" or lines[0].value.strip(" \t") != "0":
            raise ValueError("a session description starts with v=0")
        if any(line.type in "mv" for line in lines[1:]):
            raise ValueError("session-level lines hold no m= or second v= line")
        facts = None
        sections: list[MediaSection] = []
        for m in self.media:
            if m.session_lines is not lines or m.session_facts is None:
                facts = facts or _session_facts(lines)
                m = dataclasses.replace(m, session_lines=lines, session_facts=facts)
            sections.append(m)
        media = tuple(sections)
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "media", media)

    def __str__(self) -> str:
        all_lines = [*self.lines, *(line for m in self.media for line in m.lines)]
        return "".join(f"{line}\r\n" for line in all_lines)

    def to_bytes(self) -> bytes:
        """The wire form; octets that were not UTF-8 come back as they were received."""
        return str(self).encode("utf-8", "surrogateescape")

    __bytes__ = to_bytes

    def attributes(self, name: str) -> list[str]:
        """Values of the session-level ``a=name:value`` lines (``""`` for a flag)."""
        return _attributes(self.lines, name)

    def with_direction(self, direction: str, kinds: tuple[str, ...] | str = ("audio",)) -> SessionDescription:
        """A copy whose sections of these kinds carry exactly one direction attribute.

        It replaces the first one there (the others are dropped) or is appended
        to the section. For hold offers made by the call layer (RFC 3264 8.4):
        ``sendonly``, or ``inactive`` when the other side already holds us.
        Session-level direction lines are left alone: media-level ones win.
        """
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
        kinds = (kinds,) if isinstance(kinds, str) else kinds
        media = tuple(m._with_direction(direction) if m.kind in kinds else m for m in self.media)
        return SessionDescription(self.lines, media)

    def bump_version(self, previous: int | None = None) -> SessionDescription:
        """A copy whose o= version is ``previous + 1`` (default: its own version + 1).

        RFC 3264 8: a new offer in a session carries the version of the last
        description we sent plus one, every other o= field unchanged. Pass
        ``previous`` when the browser's count does not know of a description we
        rewrote after it.
        """
        if (origin := _origin(self.lines)) is None:
            raise ValueError("the description has no o= line with a version to bump")
        index, fields = origin
        fields[2] = str((int(fields[2]) if previous is None else previous) + 1)
        lines = (*self.lines[:index], SdpLine("o", " ".join(fields)), *self.lines[index + 1:])
        return SessionDescription(lines, self.media)


def session_version(sdp: SessionDescription) -> int | None:
    """The o= sess-version (RFC 3264 8: unchanged means the description is unchanged)."""
    origin = _origin(sdp.lines)
    return int(origin[1][2]) if origin else None


def _read_line(text: str, number: int) -> SdpLine:
    """One line (its line end removed), with the checks that need its number."""
    if bad := _FORBIDDEN.search(text):
        raise SdpParseError(f"control character {bad.group()!r} at column {bad.start() + 1}", number)
    if not text:
        raise SdpParseError("empty line inside the description", number)
    if (m := _LINE.fullmatch(text)) is None:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise SdpParseError(f"expected <letter>=<value>, got {shown!r}", number)
    line = SdpLine(m[1], m[2])
    fields = _fields(line.value) if line.type in "oc" else []
    if number == 1 and (line.type != "v" or line.value.strip(" \t") != "0"):
        raise SdpParseError("a session description starts with v=0", number)
    if number > 1 and line.type == "v":
        raise SdpParseError("a second v= line (one session description per body)", number)
    if line.type == "m":
        _media_fields(line.value, number)
    if line.type == "o" and (len(fields) != 6 or not _VERSION.fullmatch(fields[2])):
        raise SdpParseError("an o= line is '<username> <sess-id> <sess-version> <nettype> <addrtype> <address>'", number)
    if line.type == "c" and len(fields) != 3:
        raise SdpParseError("a c= line is '<nettype> <addrtype> <connection-address>'", number)
    return line


def parse_sdp(
    text: str | bytes, *, max_size: int = MAX_SDP_SIZE, max_lines: int = MAX_SDP_LINES
) -> SessionDescription:
    """Read a session description from the network (a SIP body, or the browser's).

    Lines may end in CRLF or LF, the last one may lack its line end, and empty
    lines at the end are ignored. ``max_size`` counts octets of ``bytes`` and
    characters of ``str``. Raises :class:`SdpParseError` and nothing else for
    bad input (``TypeError`` for an argument that is not text at all).
    """
    if isinstance(text, (bytes, bytearray)):
        if len(text) > max_size:
            raise SdpParseError(f"description of {len(text)} octets exceeds the limit of {max_size}")
        text = bytes(text).decode("utf-8", "surrogateescape")
    elif not isinstance(text, str):
        raise TypeError(f"parse_sdp takes str or bytes, not {type(text).__name__}")
    elif len(text) > max_size:
        raise SdpParseError(f"description of {len(text)} characters exceeds the limit of {max_size}")
    raw = text.split("\n")
    while raw and raw[-1] in ("", "\r"):
        raw.pop()
    if not raw:
        raise SdpParseError("empty description, expected v=0", 1)
    if len(raw) > max_lines:
        raise SdpParseError(f"description of {len(raw)} lines exceeds the limit of {max_lines}")
    session: list[SdpLine] = []
    sections: list[list[SdpLine]] = []
    for number, item in enumerate(raw, 1):
        line = _read_line(item.removesuffix("\r"), number)
        if line.type == "m":
            sections.append([line])
        else:
            (sections[-1] if sections else session).append(line)
    session_lines = tuple(session)  # given to each section, so the description need not rebind them
    facts = _session_facts(session_lines)
    return SessionDescription(session_lines, tuple(MediaSection(tuple(s), session_lines, facts) for s in sections))
