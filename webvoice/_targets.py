"""What the application may dial: a call or transfer target, checked and completed.

A person types ``iñaki``, ``*21#``, ``+1 (555) 010-9999``, ``bob@example.org``
or a full ``sips:``/``tel:`` URI; :func:`normalize_target` turns each into the
URI to send, escaping what RFC 3261 lets a user part carry escaped (25.1:
``user = 1*(unreserved / escaped / user-unreserved)``; any other character is
sent as ``%XX`` of its UTF-8 octets, as JsSIP's ``normalizeTarget`` does). It
refuses only what cannot be a target: control characters (typed or escaped),
an empty user, a host that is not one, URI headers. A URI that parses as
written is kept as written: ``sips:`` and ``tel:`` are never rewritten to
``sip:``.

:func:`refer_target` checks the other direction: the ``Refer-To`` of a REFER
we were sent, whose only allowed URI header is one ``Replaces`` (RFC 3891).

Kept apart from :mod:`webvoice._calls` because the instance checks targets
(``find_line_by_target``) without needing the call machinery loaded.
"""

from __future__ import annotations

import re

from .sip import AbsoluteUri, SipUri, TelUri, Uri, compile_regex, parse_uri

__all__ = ["normalize_target", "check_target", "refer_target", "escape_user"]

_SCHEME = compile_regex(r"(sips?|tel):", re.IGNORECASE)
#: C0 and C1 controls, DEL and the Unicode line separators: never part of a target.
_CONTROL = compile_regex("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ALPHANUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_UNRESERVED = _ALPHANUM + "-_.!~*'()"
#: RFC 3261 25.1: unreserved / user-unreserved, written as they are in a user part.
_USER_SAFE = frozenset(_UNRESERVED + "&=+$,;?/")
#: password = *(unreserved / escaped / "&" / "=" / "+" / "$" / ",")
_PASSWORD_SAFE = frozenset(_UNRESERVED + "&=+$,")
_HEX = frozenset("0123456789ABCDEFabcdef")
_ESCAPE = compile_regex(r"%([0-9A-Fa-f]{2})")
#: A telephone number as people write it: digits with spaces, dashes, dots, brackets.
_PHONE = compile_regex(r"\+?[0-9\s\-().]*[0-9][0-9\s\-().]*")
_VISUAL_SEPARATORS = compile_regex(r"[\s\-().]")
_HOST_AND_REST = compile_regex(r"(\[[^\]]*\]|[^:;?]*)(.*)", re.DOTALL)
_OTHER_URL = compile_regex(r"([A-Za-z][A-Za-z0-9+.\-]*)://")


def escape_user(text: str, *, safe: frozenset[str] = _USER_SAFE) -> str:
    """``text`` as a URI user part: characters RFC 3261 allows kept, every other
    one sent as ``%XX`` of its UTF-8 octets; an escape already written (``%20``)
    is kept, a lone ``%`` escaped (``%25``)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "%" and i + 2 < n and text[i + 1] in _HEX and text[i + 2] in _HEX:
            out.append(text[i:i + 3])
            i += 3
            continue
        if ch in safe:
            out.append(ch)
        else:
            try:
                octets = ch.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"{text!r} holds a character that is not text (a lone surrogate)") from None
            out.append("".join(f"%{b:02X}" for b in octets))
        i += 1
    return "".join(out)


def _escaped_control(text: str) -> str | None:
    """The first ``%XX`` in ``text`` that stands for a control octet, if any."""
    for m in _ESCAPE.finditer(text):
        octet = int(m.group(1), 16)
        if octet < 0x20 or octet == 0x7F:
            return m.group(0)
    return None


def _unescape(text: str) -> str:
    """%-decoded ``text`` (UTF-8; an invalid sequence is refused)."""
    raw = bytearray()
    last = 0
    for m in _ESCAPE.finditer(text):
        raw += text[last:m.start()].encode("utf-8", "surrogateescape")
        raw.append(int(m.group(1), 16))
        last = m.end()
    raw += text[last:].encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{text!r} is not %-escaped UTF-8") from None


def _checked_text(target: object) -> str:
    if not isinstance(target, str):
        raise TypeError(f"a call target is a str, not {type(target).__name__}")
    text = target.strip()
    if not text:
        raise ValueError("the call target is empty")
    bad = _CONTROL.search(target)
    if bad:
        raise ValueError(f"the call target contains a control character ({bad.group()!r}): {target!r}")
    return text


def check_target(uri: Uri, shown: object = None) -> Uri:
    """``uri`` if it can be called: sip:, sips: or tel:, no URI headers, no escaped
    control octet. Raises ValueError saying what is wrong."""
    shown = uri if shown is None else shown
    if isinstance(uri, AbsoluteUri):
        raise ValueError(f"{str(shown)!r}: a call target is a sip:, sips: or tel: URI, not {uri.scheme}:")
    if isinstance(uri, SipUri):
        if uri.headers:
            names = ", ".join(name for name, _ in uri.headers)
            raise ValueError(f"{str(shown)!r}: a call target may not carry URI headers (?{names}=...)")
        for part in (uri.user, uri.password, str(uri.params)):
            control = _escaped_control(part or "")
            if control:
                raise ValueError(f"{str(shown)!r}: an escaped control character ({control}) cannot be in a target")
    elif not isinstance(uri, TelUri):
        raise TypeError(f"a call target is a str or a URI, not {type(uri).__name__}")
    return uri


def normalize_target(target: str, realm: str) -> Uri:
    """The URI to call for what a person typed.

    * ``sip:``/``sips:``/``tel:`` URIs that parse are taken as written.
    * ``user``, ``user@host`` (``host`` may carry ``:port`` and ``;params``),
      ``user:password@host``: a ``sip:`` URI (``sips:`` when written so), the
      realm as host when none is given; the user part split at the *last*
      ``@``, escaped as RFC 3261 allows (``iñaki`` -> ``i%C3%B1aki``,
      ``12#`` -> ``12%23``, ``a@b`` -> ``a%40b``).
    * A telephone number loses its visual separators (``+1 (555) 010-9999``
      -> ``+15550109999``); ``tel:`` numbers keep theirs, spaces aside.

    Raises ``ValueError`` naming the reason (control character, empty user,
    bad host, URI headers) before anything is sent.
    """
    text = _checked_text(target)
    m = _SCHEME.match(text)
    scheme = m.group(1).lower() if m else "sip"
    if scheme == "tel":
        return _tel(text, target)
    other = None if m else _OTHER_URL.match(text)
    if other:
        raise ValueError(f"{target!r}: a call target is a user, a number or a sip:, sips: or tel: URI, "
                         f"not a {other.group(1)}: URL")
    if m:
        try:
            uri = parse_uri(text)
        except ValueError:
            pass
        else:
            return check_target(uri, target)
    rest = text[m.end():] if m else text
    userinfo, at, hostpart = rest.rpartition("@")
    if not at:
        userinfo, hostpart = rest, realm
    elif not hostpart.strip():
        raise ValueError(f"{target!r}: nothing after '@' (a host is missing)")
    if not userinfo.strip():
        raise ValueError(f"{target!r}: the user part is empty")
    user, colon, password = userinfo.partition(":")
    user = user.strip()
    if not user:
        raise ValueError(f"{target!r}: the user part is empty")
    if not colon and _PHONE.fullmatch(user):
        user = _VISUAL_SEPARATORS.sub("", user)
    host = _host_uri(scheme, hostpart.strip(), target)
    try:
        uri = SipUri(scheme, escape_user(user), host.host, host.port, host.params, host.headers,
                     escape_user(password, safe=_PASSWORD_SAFE) if colon else None)
    except ValueError as exc:
        raise ValueError(f"{target!r} is not a user, number or URI: {exc}") from None
    return check_target(uri, target)


def _host_uri(scheme: str, hostpart: str, target: str) -> SipUri:
    """``host[:port][;params][?headers]`` checked by the URI grammar (an IDN host in
    its ASCII form)."""
    if not hostpart.isascii():
        m = _HOST_AND_REST.fullmatch(hostpart)
        if m is None:
            raise ValueError(f"{target!r}: {hostpart!r} is not a host name")
        try:
            hostpart = m.group(1).encode("idna").decode("ascii") + m.group(2)
        except UnicodeError:
            raise ValueError(f"{target!r}: {m.group(1)!r} is not a host name") from None
    try:
        uri = parse_uri(f"{scheme}:x@{hostpart}")
    except ValueError:
        uri = None
    if not isinstance(uri, SipUri):
        raise ValueError(f"{target!r}: {hostpart!r} is not a host (a domain name, an IPv4 address or an "
                         "[IPv6] reference, with an optional :port and ;parameters)")
    return uri


def _tel(text: str, target: str) -> Uri:
    number, semi, params = text[4:].partition(";")
    candidates = (text, "tel:" + re.sub(r"\s", "", number) + semi + params)
    for candidate in candidates:
        try:
            return check_target(parse_uri(candidate), target)
        except ValueError:
            continue
    raise ValueError(f"{target!r} is not a telephone number: a tel: URI holds digits, '+', '*', '#', "
                     "and - . ( ) as visual separators")


def refer_target(uri: Uri) -> tuple[Uri, tuple[tuple[str, str], ...]]:
    """The target of a received ``Refer-To`` and the headers to put in the call
    that follows it: at most one ``Replaces`` (RFC 3891), unescaped.

    Raises ValueError for another URI header, a Replaces that is not
    ``call-id;to-tag=..;from-tag=..``, or an escaped control octet (an escaped
    CR/LF would otherwise become a header of its own).
    """
    if not isinstance(uri, SipUri) or not uri.headers:
        return check_target(uri), ()
    replaces = []
    for name, value in uri.headers:
        if name.lower() != "replaces":
            raise ValueError(f"the transfer target carries the URI header {name!r}; only Replaces is allowed")
        control = _escaped_control(value)
        if control:
            raise ValueError(f"the Replaces header of the transfer target holds an escaped control character ({control})")
        text = _unescape(value)
        if _CONTROL.search(text):
            raise ValueError("the Replaces header of the transfer target holds a control character")
        from .sip import parse_replaces

        if parse_replaces(text) is None:
            raise ValueError(f"the Replaces header of the transfer target is not call-id;to-tag=..;from-tag=..: {text!r}")
        replaces.append(("Replaces", text))
    if len(replaces) > 1:
        raise ValueError("the transfer target carries more than one Replaces header")
    bare = SipUri(uri.scheme, uri.user, uri.host, uri.port, uri.params, (), uri.password)
    return check_target(bare), tuple(replaces)
