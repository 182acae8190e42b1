"""The UA's dialogs by id: which dialog a received message belongs to (RFC 3261 12.2.2).

A request with a To tag names a dialog by Call-ID, To tag (ours) and From tag
(theirs); one that names no live dialog is answered 481. The store holds
dialogs, never messages, and does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ..syntax._message import Request, Response
from ._state import DialogId, DialogState, RequestRejected, _reject

if TYPE_CHECKING:  # the store holds dialogs; it never makes one
    from ._dialog import Dialog

__all__ = ["DialogStore"]


class DialogStore:
    """The UA's live dialogs by :class:`DialogId`, and the 481 of 12.2.2."""

    __slots__ = ("_dialogs",)

    def __init__(self) -> None:
        self._dialogs: dict[DialogId, Dialog] = {}

    def add(self, dialog: Dialog) -> None:
        """Register ``dialog``; an error if another live dialog has its id."""
        old = self._dialogs.get(dialog.id)
        if old is not None and old is not dialog and old.state is not DialogState.TERMINATED:
            raise ValueError(f"a live dialog with id {dialog.id} is already registered")
        self._dialogs[dialog.id] = dialog

    def discard(self, dialog: Dialog) -> None:
        if self._dialogs.get(dialog.id) is dialog:
            del self._dialogs[dialog.id]

    def prune(self) -> list[Dialog]:
        """Forget the terminated dialogs; returns them."""
        gone = [d for d in self._dialogs.values() if d.state is DialogState.TERMINATED]
        for dialog in gone:
            del self._dialogs[dialog.id]
        return gone

    def get(self, dialog_id: DialogId) -> Dialog | None:
        dialog = self._dialogs.get(dialog_id)
        return dialog if dialog is not None and dialog.state is not DialogState.TERMINATED else None

    def match_request(self, request: Request) -> Dialog | None:
        """The live dialog a received request belongs to (To tag ours, From tag theirs)."""
        dialog_id = DialogId.of_received_request(request)
        return None if dialog_id is None else self.get(dialog_id)

    def match_response(self, response: Response) -> Dialog | None:
        """The live dialog a received response belongs to (From tag ours, To tag theirs)."""
        dialog_id = DialogId.of_received_response(response)
        return None if dialog_id is None else self.get(dialog_id)

    def receive_request(self, request: Request) -> Dialog | RequestRejected | None:
        """Route a received request (12.2.2).

        ``None``: no To tag, the request is outside any dialog (a new INVITE,
        an OPTIONS...). A :class:`Dialog`: the request belongs to it and passed
        its checks (see :meth:`Dialog.receive_request`). A :class:`RequestRejected`:
        send its response (481 when no dialog matches, 500 for an old CSeq).
        """
        dialog_id = DialogId.of_received_request(request)
        if dialog_id is None:
            return None
        dialog = self.get(dialog_id)
        if dialog is None:
            return _reject(request, 481, f"no dialog matches {dialog_id}")
        return dialog.receive_request(request) or dialog

    def __len__(self) -> int:
        return len(self._dialogs)

    def __iter__(self) -> Iterator[Dialog]:
        return iter(list(self._dialogs.values()))

    def __contains__(self, dialog: object) -> bool:
        key = getattr(dialog, "id", None)
        return isinstance(key, DialogId) and self._dialogs.get(key) is dialog
