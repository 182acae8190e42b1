"""How a request sent within a dialog is built (RFC 3261 12.2.1.1, 13.2.2.4, 19.1.1).

:class:`~._dialog.Dialog` holds a dialog's state and decides whether and with
which CSeq a request may be sent (not on a terminated dialog; the next local
number). Turning that state into the request is this module's: the
Request-URI and Route under loose or strict routing, the headers the dialog
writes itself (and refuses from the caller), and what the ACK of a 2xx copies
from its INVITE. Functions of what they are given, apart from the state
machine, so the routing rules read on their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..syntax._header_values import HeaderValue, MediaType, NameAddr, Via
from ..syntax._headers import canonical_name
from ..syntax._message import Request, build_request
from ..syntax._uri import SipUri, Uri
from ._state import TARGET_REFRESH_METHODS, _core

if TYPE_CHECKING:
    from ._dialog import Dialog

__all__ = ["MAX_CSEQ", "ack_cseq_and_credentials", "build_in_dialog", "request_target", "request_uri"]

#: The highest CSeq number (RFC 3261 8.1.1.5: less than 2**31).
MAX_CSEQ = 2**31 - 1

# Headers create_request writes itself; passing them in ``headers`` is a mistake.
_OWN_HEADERS = frozenset(
    canonical_name(n).lower()
    for n in ("Via", "Max-Forwards", "Route", "From", "To", "Call-ID", "CSeq", "Contact", "Content-Type")
)


def request_uri(uri: Uri) -> Uri:
    """``uri`` without what a Request-URI may not carry (RFC 3261 19.1.1, table 1)."""
    if isinstance(uri, SipUri) and (uri.headers or uri.params.has("method")):
        return SipUri(uri.scheme, uri.user, uri.host, uri.port, uri.params.remove("method"), (), uri.password)
    return uri


def request_target(remote_target: Uri, route_set: tuple[Uri, ...]) -> tuple[Uri, list[NameAddr]]:
    """Request-URI and Route headers under loose or strict routing (12.2.1.1)."""
    target = request_uri(remote_target)
    if not route_set:
        return target, []
    first = route_set[0]
    if isinstance(first, SipUri) and first.params.has("lr"):
        return target, [NameAddr(uri) for uri in route_set]
    # Strict routing: the first route becomes the Request-URI and the remote
    # target goes last in Route, so that the strict router can restore it.
    route = [NameAddr(uri) for uri in route_set[1:]]
    route.append(NameAddr(remote_target))
    return request_uri(first), route


def build_in_dialog(
    dialog: Dialog,
    method: str,
    cseq: int,
    via: Via | Iterable[Via],
    headers: Iterable[tuple[str, HeaderValue]],
    body: bytes,
    content_type: str | MediaType | None,
    contact: NameAddr | None,
    max_forwards: int | None,
) -> Request:
    """``method`` within ``dialog`` with CSeq ``cseq``: tags, Call-ID, routing and
    (for a target refresh, unless ``contact`` is given) our Contact from the
    dialog; ``headers`` the others, none of those the dialog writes."""
    headers = list(headers)
    for name, _ in headers:
        if canonical_name(name).lower() in _OWN_HEADERS:
            raise ValueError(f"the dialog writes {canonical_name(name)} itself; pass it as an argument")
    if contact is None and method in TARGET_REFRESH_METHODS:
        contact = dialog.local_target
    uri, route = request_target(dialog.remote_target, dialog.route_set)
    remote = dialog.remote_uri if dialog.remote_tag is None else dialog.remote_uri.with_tag(dialog.remote_tag)
    return build_request(
        method, uri, from_=dialog.local_uri.with_tag(dialog.local_tag), to=remote,
        call_id=dialog.call_id, cseq=cseq, via=via, max_forwards=max_forwards, contact=contact,
        route=route, headers=headers, body=body, content_type=content_type,
    )


def ack_cseq_and_credentials(invite: Request | int, call_id: str) -> tuple[int, list[tuple[str, HeaderValue]]]:
    """The CSeq number the ACK of a 2xx to ``invite`` (the INVITE, or its CSeq
    number) carries, and the Authorization and Proxy-Authorization fields it
    copies from the INVITE (RFC 3261 13.2.2.4); ``call_id`` is the dialog's."""
    if isinstance(invite, Request):
        if invite.method != "INVITE" or invite.call_id != call_id:
            raise ValueError(
                f"an ACK acknowledges an INVITE of this dialog, not {invite.method} of {invite.call_id}"
            )
        credentials = [(n, v) for n, v in invite.headers if n in ("Authorization", "Proxy-Authorization")]
        return _core(invite).cseq.seq, credentials
    if isinstance(invite, int) and not isinstance(invite, bool):
        return invite, []
    raise TypeError(f"create_ack takes the INVITE or its CSeq number, not {type(invite).__name__}")
