"""XML bodies from the network (dialog-info, PIDF), read with the standard library, safely.

The bodies of NOTIFY come from a server, but they describe what strangers
published, so they are read as hostile: at most :data:`MAX_XML` bytes and
:data:`MAX_ELEMENTS` elements, UTF-8 only, and no document type declaration
at all. Without a DOCTYPE there are no entity declarations, so neither the
"billion laughs" expansion nor an external entity (a file, a URL) can occur;
an undeclared ``&name;`` is an error of the parser. None of the bodies these
event packages define needs a DOCTYPE.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree
from ..util._regex import compile_regex

__all__ = ["MAX_ELEMENTS", "MAX_XML", "XmlRefused", "parse_xml"]

MAX_XML = 65536
MAX_ELEMENTS = 2000

_DECLARATION = compile_regex(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ENCODING = compile_regex(r"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class XmlRefused(ValueError):
    """An XML body we do not read, and why."""


def parse_xml(data: bytes, *, limit: int = MAX_XML) -> ElementTree.Element:
    """The root element of ``data``; :class:`XmlRefused` for anything unsafe or malformed."""
    if len(data) > limit:
        raise XmlRefused(f"the XML body is {len(data)} bytes; at most {limit} are read")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise XmlRefused("the XML body is not UTF-8") from None
    if _DECLARATION.search(text):
        raise XmlRefused("the XML body has a DOCTYPE or ENTITY declaration (refused: no entity expansion)")
    declared = _ENCODING.match(text)
    if declared and declared.group(1).lower() not in ("utf-8", "utf8", "us-ascii"):
        raise XmlRefused(f"the XML body declares encoding {declared.group(1)!r}; only UTF-8 is read")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise XmlRefused(f"the XML body is malformed: {exc}") from None
    count = 0
    for _ in root.iter():
        count += 1
        if count > MAX_ELEMENTS:
            raise XmlRefused(f"the XML body has more than {MAX_ELEMENTS} elements")
    return root
