"""How the media engine reaches the browser: a small async interface over browser objects.

The media engine (:mod:`webvoice.browser._engine`) holds every media decision
(ICE wait, offer/answer, hold, DTMF, devices, ``<audio>`` elements, ringback)
and is written once, against a :class:`Realm`: a place where browser objects
live, which the engine names by :class:`Ref` and drives with a few generic
operations (create, call a method, read or set a property, listen to an event,
wait for a condition, release). Two realms implement it:

* :class:`~webvoice.browser._direct.DirectRealm`: Python on the page's main
  thread, through Pyodide's ``js`` (a Ref wraps the JS object itself);
* :class:`~webvoice.browser._remote.RemoteRealm`: Python in a Web Worker, where
  the objects live on the page, in ``agent.js``'s generic host, reached by
  messages (a Ref is a number both sides know).

Which operations wait for the browser:

* ``get``, ``call``, ``has``, ``settle`` and ``sync`` return a value: the
  remote realm sends what is queued and waits for the answer;
* ``new``, ``ref``, ``set``, ``fire``, ``listen``, ``arm``, ``on_lost``,
  ``release`` return at once; ``invoke`` returns a Ref once the browser has
  the result (the direct realm awaits the promise; the remote realm queues
  the operation, so a whole offer goes to the page in one message). A failure
  of a queued operation is raised by the next value the engine awaits, with
  the name of the operation that failed; a Ref whose operation failed carries
  that failure to every later use.

Values cross as plain data (str, int, float, bool, None, list, dict); a
``Ref`` may appear anywhere inside arguments. A returned JS object becomes
its JSON form (``toJSON``), a map-like one (``RTCStatsReport``, ``Map``) the
list of its values. Paths are dotted (``"localDescription.sdp"``,
``"candidate.type"``, ``"0"``); reading through null gives None.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from .._media import (
    DeviceNotFoundError,
    MediaError,
    MediaPermissionError,
    NotSupportedError,
)
from ..sip import record

__all__ = ["Ref", "Realm", "Until", "EventHandler", "ignore", "media_error"]

_PERMISSION = frozenset({"NotAllowedError", "SecurityError", "PermissionDeniedError"})
_NOT_FOUND = frozenset({"NotFoundError", "OverconstrainedError", "DevicesNotFoundError"})
_NOT_SUPPORTED = frozenset({"NotSupportedError"})


def media_error(name: str, message: str, constraint: str, doing: str) -> MediaError:
    """The :class:`MediaError` for a JS error met while ``doing`` something.

    =====================================================  ======================
    JS error name                                          raised
    =====================================================  ======================
    NotAllowedError, SecurityError, PermissionDeniedError  MediaPermissionError
    NotFoundError, OverconstrainedError,                   DeviceNotFoundError
    DevicesNotFoundError
    NotSupportedError                                      NotSupportedError
    anything else                                          MediaError
    =====================================================  ======================
    """
    name = name or "Error"
    if constraint:  # OverconstrainedError says which one
        message = f"{message} (constraint {constraint})".strip()
    if name in _PERMISSION:
        cls: type[MediaError] = MediaPermissionError
    elif name in _NOT_FOUND:
        cls = DeviceNotFoundError
    elif name in _NOT_SUPPORTED:
        cls = NotSupportedError
    else:
        cls = MediaError
    return cls(f"{doing} failed: {name}: {message}" if message else f"{doing} failed: {name}")


def ignore(error: MediaError) -> None:
    """``on_error`` of a fired call whose failure does not matter (tearing down: the
    object may be gone already). A realm may then skip watching it at all."""


class Ref:
    """A browser object held by a realm (opaque to the engine)."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key

    def __repr__(self) -> str:
        return f"Ref({self.key!r})" if isinstance(self.key, (int, str)) else "Ref(<js>)"


@record
class Until:
    """One condition a waiter (``Realm.arm``) resolves on.

    On each ``event`` the target fires: the condition holds when ``field`` of
    the event (if given) and ``prop`` of the target (if given) equal
    ``equals``, and the target's ``text`` path (if given) contains
    ``contains``. A ``prop`` condition is also checked when the waiter is
    settled. ``grace``: once it holds, wait this many seconds more (for what
    follows closely) before resolving.
    """

    event: str
    field: str | None = None
    prop: str | None = None
    equals: Any = None
    text: str | None = None
    contains: str = ""
    grace: float = 0.0

    def plain(self) -> dict[str, Any]:
        return {"event": self.event, "field": self.field, "prop": self.prop, "equals": self.equals,
                "text": self.text, "contains": self.contains, "grace_ms": round(self.grace * 1000)}


#: ``handler(data)``: data holds the listened event's ``fields`` (plain) and ``refs`` (Refs).
EventHandler = Callable[[dict[str, Any]], None]


class Realm(Protocol):
    """Where browser objects live (see the module doc)."""

    #: A name for this realm's owner, unique in the page (marks its ``<audio>`` elements).
    id: str

    def global_ref(self, path: str) -> Ref:
        """A global object (``"navigator.mediaDevices"``, ``"document"``)."""

    def new(self, constructor: str, *args: Any, doing: str) -> Ref:
        """``new globalThis[constructor](...args)``."""

    def ref(self, target: Ref, path: str) -> Ref:
        """``target[path]`` kept as an object."""

    async def invoke(self, target: Ref, method: str, *args: Any, doing: str, keep: bool = True,
                     patient: bool = False) -> Ref | None:
        """``await target[method](...args)``, kept in the browser (None when not ``keep``).
        ``patient``: may wait on the user (a permission prompt): no time limit."""

    async def call(self, target: Ref, method: str, *args: Any, doing: str, patient: bool = False) -> Any:
        """``await target[method](...args)`` as plain data."""

    async def get(self, target: Ref, path: str) -> Any:
        """``target[path]`` as plain data."""

    async def has(self, target: Ref | None, path: str) -> bool:
        """Whether ``path`` exists under ``target`` (None: the global scope)."""

    def set(self, target: Ref, path: str, value: Any) -> None:
        """``target[path] = value``."""

    def fire(self, target: Ref, method: str, *args: Any, doing: str,
             on_error: Callable[[MediaError], None] | None = None) -> None:
        """``target[method](...args)`` without waiting; a failure goes to ``on_error`` (else the log;
        :func:`ignore`: nowhere)."""

    def listen(self, target: Ref, event: str, handler: EventHandler, *, fields: dict[str, str] | None = None,
               refs: dict[str, str] | None = None) -> int:
        """Call ``handler`` on each ``event``; returns the subscription (for ``unlisten``)."""

    def unlisten(self, subscription: int) -> None: ...

    def arm(self, target: Ref, until: list[Until], timeout: float) -> Ref:
        """A waiter on ``target``: it watches events from now on (see :class:`Until`)."""

    async def settle(self, waiter: Ref, read: tuple[str, ...] = ()) -> tuple[int | str, dict[str, Any]]:
        """Wait for the waiter: (index of the condition met, or "timeout"), and the
        target's ``read`` paths at that moment. The waiter is released."""

    def on_lost(self, target: Ref, method: str) -> None:
        """Call ``target[method]()`` should this realm's owner vanish (a worker that
        dies) before ``release``; the main thread never loses its owner."""

    def release(self, *refs: Ref | None) -> None:
        """Forget these objects (and their ``on_lost`` calls)."""

    async def sync(self) -> None:
        """Wait until everything queued has run; raise the first failure."""

    def proxies(self, subscriptions: list[int]) -> int:
        """How many JS proxies these subscriptions hold (leak tests)."""

    def js_object(self, ref: Ref) -> Any:
        """The JS object itself on the main thread, None in a worker."""
