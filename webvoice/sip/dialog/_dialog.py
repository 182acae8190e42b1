"""Dialogs (RFC 3261 section 12): the state two UAs share for a call.

A :class:`Dialog` is created from the request that established it and the
response that did so (a 1xx with a To tag or a 2xx), by the UAC (12.1.2) or the
UAS (12.1.1). It then builds the requests sent within it (12.2.1.1: tags,
Call-ID, CSeq, Request-URI and Route under loose or strict routing, the ACK of
13.2.2.4) and checks the requests received within it (12.2.2). It performs no
I/O and keeps no clock. Its states and their table are in ``_state.py``, how
a request within it is built (routing, the ACK) in ``_requests.py``;
requests refused by 12.2.2 come back as :class:`RequestRejected` values holding
the response to send, never as exceptions.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..syntax._header_values import CSeq, HeaderValue, MediaType, NameAddr, Via
from ..syntax._message import Request, Response
from ..syntax._uri import Uri
from ._requests import MAX_CSEQ, ack_cseq_and_credentials, build_in_dialog, request_uri
from ._state import (
    DIALOG_TRANSITIONS,
    TARGET_REFRESH_METHODS,
    DialogId,
    DialogState,
    RequestRejected,
    _Core,
    _core,
    _Input,
    _reject,
    _same_transaction,
)

__all__ = ["Dialog"]

def _target_of(message: Request | Response) -> Uri | None:
    contact = message.contact
    return contact.uri if contact is not None else None


def _untagged(addr: NameAddr) -> NameAddr:
    return addr.without_tag()


class Dialog:
    """One dialog, seen from our side. Build it with :meth:`uac` or :meth:`uas`.

    Read-only attributes: ``call_id``, ``local_uri`` and ``remote_uri`` (From
    and To as name-addrs, without tags), ``local_tag``, ``remote_tag``,
    ``secure``, ``is_uac``; and, changing over the dialog's life, ``state``,
    ``remote_target`` (the peer's Contact URI), ``local_target`` (our Contact),
    ``route_set`` (URIs, in the order Route headers list them), ``local_cseq``
    (the last number we used; ``None`` until we send a request) and
    ``remote_cseq`` (the last the peer used; ``None`` until it sends one).
    """

    __slots__ = (
        "call_id", "local_uri", "local_tag", "remote_uri", "remote_tag", "secure", "is_uac",
        "_state", "_remote_target", "_local_target", "_route_set", "_local_cseq", "_remote_cseq",
        "_origin",
    )

    def __init__(
        self,
        *,
        call_id: str,
        local_uri: NameAddr,
        local_tag: str,
        remote_uri: NameAddr,
        remote_tag: str | None,
        remote_target: Uri,
        route_set: Iterable[Uri] = (),
        local_target: NameAddr | None = None,
        local_cseq: int | None = None,
        remote_cseq: int | None = None,
        secure: bool = False,
        is_uac: bool,
        state: DialogState = DialogState.EARLY,
        origin: CSeq | None = None,
    ) -> None:
        DialogId(call_id, local_tag, remote_tag)  # checks the three
        for what, addr in (("local URI", local_uri), ("remote URI", remote_uri)):
            if not isinstance(addr, NameAddr):
                raise TypeError(f"the {what} of a dialog is a NameAddr, not {type(addr).__name__}")
        if local_target is not None and not isinstance(local_target, NameAddr):
            raise TypeError(f"the local target is a NameAddr, not {type(local_target).__name__}")
        for what, seq in (("local", local_cseq), ("remote", remote_cseq)):
            if seq is not None and (type(seq) is not int or not 0 <= seq <= MAX_CSEQ):
                raise ValueError(f"the {what} CSeq must be an integer in 0..2**31-1 or None, not {seq!r}")
        if not isinstance(state, DialogState):
            raise TypeError(f"state must be a DialogState, not {state!r}")
        self.call_id = call_id
        self.local_uri = _untagged(local_uri)
        self.local_tag = local_tag
        self.remote_uri = _untagged(remote_uri)
        self.remote_tag = remote_tag
        self.secure = bool(secure)
        self.is_uac = bool(is_uac)
        self._state = state
        self._remote_target = remote_target
        self._local_target = local_target
        self._route_set = tuple(route_set)
        self._local_cseq = local_cseq
        self._remote_cseq = remote_cseq
        self._origin = origin  # CSeq of the request that created the dialog

    # --- creation (12.1) -------------------------------------------------------------

    @classmethod
    def uac(cls, request: Request, response: Response, *, tls: bool = True) -> Dialog:
        """The dialog a response creates for the request we sent (RFC 3261 12.1.2).

        ``response`` is a 101-199 with a To tag (an early dialog) or a 2xx (a
        confirmed one). The route set is the response's Record-Route reversed,
        the remote target its Contact (the Request-URI if it has none, which is
        the peer's fault). ``tls`` says whether the transport is TLS (WSS is);
        with a SIPS Request-URI it makes the dialog secure.
        """
        req, resp = _check_pair(request, response)
        if not req.from_.tag:
            raise ValueError("the request that creates a dialog must carry a From tag")
        if not 101 <= response.status_code <= 299:
            raise ValueError(f"a {response.status_code} response does not create a dialog (101-299 does)")
        if response.is_provisional and not resp.to.tag:
            raise ValueError("a provisional response without a To tag does not create a dialog")
        return cls(
            call_id=req.call_id,
            local_uri=req.from_,
            local_tag=req.from_.tag,
            remote_uri=req.to,
            remote_tag=resp.to.tag,
            remote_target=_target_of(response) or request_uri(request.uri),
            route_set=[rr.uri for rr in reversed(response.record_route)],
            local_target=request.contact,
            local_cseq=req.cseq.seq,
            secure=tls and request.uri.scheme == "sips",
            is_uac=True,
            state=DialogState.CONFIRMED if response.is_success else DialogState.EARLY,
            origin=req.cseq,
        )

    @classmethod
    def uas(cls, request: Request, response: Response, *, tls: bool = True) -> Dialog:
        """The dialog our ``response`` creates for a request we received (12.1.1).

        ``response`` is the 101-299 we send, with our tag in To and our Contact
        (both required: leaving them out is a local mistake). The route set is
        the request's Record-Route in order, the remote target its Contact (its
        From URI if it has none, which is the peer's fault).
        """
        req, resp = _check_pair(request, response)
        if not 101 <= response.status_code <= 299:
            raise ValueError(f"a {response.status_code} response does not create a dialog (101-299 does)")
        if not resp.to.tag:
            raise ValueError("a response that creates a dialog must carry our tag in To")
        if response.contact is None:
            raise ValueError("a response that creates a dialog must carry our Contact (RFC 3261 12.1.1)")
        return cls(
            call_id=req.call_id,
            local_uri=resp.to,
            local_tag=resp.to.tag,
            remote_uri=req.from_,
            remote_tag=req.from_.tag,
            remote_target=_target_of(request) or req.from_.uri,
            route_set=[rr.uri for rr in request.record_route],
            local_target=response.contact,
            remote_cseq=req.cseq.seq,
            secure=tls and request.uri.scheme == "sips",
            is_uac=False,
            state=DialogState.CONFIRMED if response.is_success else DialogState.EARLY,
            origin=req.cseq,
        )

    # --- state -----------------------------------------------------------------------

    @property
    def id(self) -> DialogId:
        return DialogId(self.call_id, self.local_tag, self.remote_tag)

    @property
    def state(self) -> DialogState:
        return self._state

    @property
    def remote_target(self) -> Uri:
        return self._remote_target

    @property
    def local_target(self) -> NameAddr | None:
        return self._local_target

    @property
    def route_set(self) -> tuple[Uri, ...]:
        return self._route_set

    @property
    def local_cseq(self) -> int | None:
        return self._local_cseq

    @property
    def remote_cseq(self) -> int | None:
        return self._remote_cseq

    @property
    def next_cseq(self) -> int:
        """The CSeq number the next request (not ACK) will carry."""
        return 1 if self._local_cseq is None else self._local_cseq + 1

    def _advance(self, event: _Input) -> bool:
        new = DIALOG_TRANSITIONS.get((self._state, event))
        if new is None:
            return False
        self._state = new
        return True

    def terminate(self) -> None:
        """End the dialog. Idempotent.

        The call layer calls it when a BYE it received is answered, when the
        BYE it sent is answered or times out (RFC 3261 15.1.1: until then a
        challenged BYE may need resending), or when it gives the dialog up.
        """
        self._advance(_Input.TERMINATE)

    def _is_origin(self, message: Request | Response) -> bool:
        return self._origin is not None and message.cseq == self._origin

    # --- requests we send (12.2.1.1) -----------------------------------------------------

    def _check_live(self, what: str) -> None:
        if self._state is DialogState.TERMINATED:
            raise ValueError(f"cannot create {what}: the dialog {self.call_id} is {self._state.value}")

    def create_request(
        self,
        method: str,
        *,
        via: Via | Iterable[Via],
        headers: Iterable[tuple[str, HeaderValue]] = (),
        body: bytes = b"",
        content_type: str | MediaType | None = None,
        contact: NameAddr | None = None,
        max_forwards: int | None = 70,
    ) -> Request:
        """A request within the dialog, taking the next local CSeq (12.2.1.1).

        To, From, Call-ID, CSeq, Request-URI and Route come from the dialog;
        ``headers`` adds the others. A target refresh (:data:`TARGET_REFRESH_METHODS`)
        carries our Contact unless ``contact`` gives another. ACK is built by
        :meth:`create_ack`; CANCEL is built from the request it cancels (9.1),
        not from the dialog. Refused on a terminated dialog.
        """
        if method in ("ACK", "CANCEL"):
            raise ValueError(
                "build an ACK with create_ack()" if method == "ACK"
                else "a CANCEL is built from the request it cancels (RFC 3261 9.1), not from the dialog"
            )
        self._check_live(f"a {method} request")
        cseq = self.next_cseq
        if cseq > MAX_CSEQ:
            raise ValueError("the dialog's CSeq numbers are exhausted (2**31-1 reached)")
        request = build_in_dialog(self, method, cseq, via, headers, body, content_type, contact, max_forwards)
        self._local_cseq = cseq
        return request

    def create_ack(
        self,
        invite: Request | int,
        *,
        via: Via | Iterable[Via],
        headers: Iterable[tuple[str, HeaderValue]] = (),
        body: bytes = b"",
        content_type: str | MediaType | None = None,
        max_forwards: int | None = 70,
    ) -> Request:
        """The ACK for a 2xx to ``invite`` (RFC 3261 13.2.2.4).

        ``invite`` is the INVITE (or its CSeq number). The ACK carries that CSeq
        number with method ACK and, when the INVITE is given, its Authorization
        and Proxy-Authorization headers; the rest is built as for any request in
        the dialog. ``body`` holds the SDP answer when the 2xx carried the offer.
        The local CSeq does not move.
        """
        seq, credentials = ack_cseq_and_credentials(invite, self.call_id)
        self._check_live("an ACK")
        if self._local_cseq is None or not 0 <= seq <= self._local_cseq:
            raise ValueError(
                f"CSeq {seq} is not that of an INVITE sent in this dialog (last: {self._local_cseq})"
            )
        return build_in_dialog(self, "ACK", seq, via, [*credentials, *headers], body, content_type, None, max_forwards)

    # --- responses we receive (12.1.2, 12.2.1.2, 13.2.2.4) -------------------------------

    def receive_response(self, request: Request, response: Response) -> None:
        """Update the dialog from a response to a request we sent in it.

        For the request that created the dialog: a 1xx may update the remote
        target, a 2xx confirms the dialog and recomputes its route set (13.2.2.4),
        a 3xx-6xx terminates an early dialog. For a target refresh request, a
        2xx replaces the remote target with its Contact (12.2.1.2). A response
        of another dialog (wrong tags) changes nothing. A 481 or 408 (12.2.1.2)
        does not end a confirmed dialog by itself: the call layer decides
        (RFC 3261 14.1: send BYE, then :meth:`terminate`).
        """
        _core(request)
        resp = _core(response)
        if (
            not _same_transaction(request, response)
            or resp.call_id != self.call_id
            or resp.from_.tag != self.local_tag
        ):
            return  # another dialog's response, or the peer mangled the headers
        to_tag = resp.to.tag
        if self.is_uac and self._is_origin(request):
            if response.is_provisional:
                if response.status_code == 100 or to_tag != self.remote_tag:
                    return
                if self._advance(_Input.PROVISIONAL):
                    self._remote_target = _target_of(response) or self._remote_target
            elif response.is_success:
                if to_tag != self.remote_tag:
                    return
                was_early = self._state is DialogState.EARLY
                if self._advance(_Input.SUCCESS) and was_early:
                    self._route_set = tuple(rr.uri for rr in reversed(response.record_route))
                    self._remote_target = _target_of(response) or self._remote_target
            else:  # whatever its To tag: the request failed, so do its early dialogs
                self._advance(_Input.FAILURE)
            return
        if to_tag != self.remote_tag or self._state is DialogState.TERMINATED:
            return
        if response.is_success and request.method in TARGET_REFRESH_METHODS:
            self._remote_target = _target_of(response) or self._remote_target
            self._local_target = request.contact or self._local_target

    # --- responses we send (UAS) -------------------------------------------------------

    def send_response(self, request: Request, response: Response) -> Response:
        """Record a response we send to ``request`` in this dialog; returns what to send.

        To the request that created the dialog: our tag is added to To when
        missing, a 2xx confirms the dialog and a 3xx-6xx terminates it while
        early. A 2xx to a target refresh makes its Contact our local target.
        """
        if not _same_transaction(request, response):
            raise ValueError("the response does not answer this request (Call-ID, CSeq or From tag differ)")
        if response.to is not None and response.to.tag is None:
            response = response.with_header_set("To", response.to.with_tag(self.local_tag))
        elif response.to is None or response.to.tag != self.local_tag:
            raise ValueError(f"the response's To tag is not this dialog's local tag {self.local_tag!r}")
        if not self.is_uac and self._is_origin(request) and response.status_code > 100:
            kind = (_Input.PROVISIONAL if response.is_provisional
                    else _Input.SUCCESS if response.is_success else _Input.FAILURE)
            self._advance(kind)
        if response.is_success and request.method in TARGET_REFRESH_METHODS and response.contact is not None:
            self._local_target = response.contact
        return response

    # --- requests we receive (12.2.2) ---------------------------------------------------

    def receive_request(self, request: Request) -> RequestRejected | None:
        """Check a request received in this dialog; ``None`` means accept it.

        A CSeq lower than the last one the peer used gets a 500 (12.2.2); any
        request to a terminated dialog gets a 481. An accepted request sets the
        remote CSeq, and a target refresh with a Contact replaces the remote
        target (12.2.2). ACK and CANCEL carry the CSeq of the request they
        refer to and are neither checked nor counted.
        """
        req = _core(request)
        if req.call_id != self.call_id or req.to.tag != self.local_tag:
            raise ValueError("the request does not belong to this dialog (Call-ID or To tag differ)")
        if self._state is DialogState.TERMINATED:
            return _reject(request, 481, f"the dialog {self.call_id} is terminated")
        if request.method in ("ACK", "CANCEL"):
            return None
        seq = req.cseq.seq
        if self._remote_cseq is not None and seq < self._remote_cseq:
            last = self._remote_cseq
            return _reject(request, 500, f"CSeq {seq} is lower than the last one received, {last}")
        self._remote_cseq = seq
        if request.method in TARGET_REFRESH_METHODS:
            self._remote_target = _target_of(request) or self._remote_target
        return None

    def __repr__(self) -> str:
        role = "UAC" if self.is_uac else "UAS"
        return f"<Dialog {role} {self._state.value} {self.id}>"


def _check_pair(request: Request, response: Response) -> tuple[_Core, _Core]:
    if not isinstance(request, Request) or not isinstance(response, Response):
        raise TypeError("a dialog is created from a Request and a Response")
    pair = _core(request), _core(response)
    if not _same_transaction(request, response):
        raise ValueError("the response does not answer the request (Call-ID, CSeq or From tag differ)")
    return pair
