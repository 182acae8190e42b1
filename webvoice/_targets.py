"""What the application may dial: a call or transfer target, checked and completed.

Kept apart from :mod:`webvoice._calls` because the instance checks targets
(``find_line_by_target``) without needing the call machinery loaded.
"""

from __future__ import annotations

import re

from .sip._abnf import CONTROL_CHARS
from .sip._uri import SipUri, Uri, parse_uri

__all__ = ["normalize_target"]


def normalize_target(target: str, realm: str) -> Uri:
    """A ``sip:``/``sips:``/``tel:`` URI, or a bare user or number completed with ``realm``.

    Raises ``ValueError`` for control characters or anything that is not a URI
    once completed, before anything is sent.
    """
    if not isinstance(target, str):
        raise TypeError(f"a call target is a str, not {type(target).__name__}")
    text = target.strip()
    if not text:
        raise ValueError("the call target is empty")
    if CONTROL_CHARS.search(target):
        raise ValueError(f"the call target contains a control character (CR, LF or similar): {target!r}")
    if text.lower().startswith(("sip:", "sips:", "tel:")):
        uri = parse_uri(text)
        if isinstance(uri, SipUri) and uri.headers:
            raise ValueError("a call target may not carry URI headers (?...)")
        return uri
    if "@" in text:
        return parse_uri(f"sip:{text}")
    user = re.sub(r"[\s\-().]", "", text) if re.fullmatch(r"\+?[0-9\s\-().]+", text) else text
    try:
        return SipUri(user=user, host=realm)
    except ValueError as exc:
        raise ValueError(f"{target!r} is not a user, number or URI: {exc}") from None
