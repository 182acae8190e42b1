"""Calling the application's handlers: plain or ``async def``, one argument or
none, never letting them break the SDK, and never letting their errors vanish.

Shared by the instance, calls and lines; kept apart so none of them imports
another just for this.

Every event passes exactly one argument (a small record saying what
happened); a handler written ``lambda: ...`` or ``def f():`` is called
without it, as JavaScript callbacks often ignore theirs.

A handler that raises is the application's bug, not webvoice's: the SDK's
own state goes on as if the handler had returned, and the exception goes to
the running event loop's exception handler (``loop.call_exception_handler``)
with a message naming the handler and its event. By default that prints the
message and the traceback to stderr, which in a browser is the page's
console (in JupyterLite, the cell's output); an application that wants them
elsewhere installs its own handler with ``loop.set_exception_handler``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["call_handler", "check_handlers", "report_handler_error"]

log = logging.getLogger("webvoice")


def check_handlers(handlers: object, known: Sequence[str], *, what: str, kind: str) -> Mapping[str, Any]:
    """``handlers`` if it is a dict of known ``kind`` event names to callables, else
    TypeError/ValueError naming what is wrong (``what`` says who takes the dict:
    ``"on_connection_event takes"``), before anything is subscribed."""
    if not isinstance(handlers, Mapping):
        raise TypeError(f"{what} a dict of event name to handler, not {type(handlers).__name__}")
    for name, handler in handlers.items():
        if name not in known:
            raise ValueError(f"unknown {kind} event {name!r}; known: {', '.join(known)}")
        if not callable(handler):
            raise TypeError(f"the handler for {name!r} must be callable")
    return handlers


def call_handler(handler: Callable[..., Any], *args: Any, what: str) -> asyncio.Future[Any] | None:
    """Call an application handler, plain or ``async def``, shielding the SDK from it.

    ``what`` names the handler and its event for the report of an error (say
    ``"the 'registered' connection handler"``). A handler that takes no
    arguments is called without them. Returns the task running an ``async
    def`` handler (its errors are reported when it ends), else None.
    """
    try:
        try:
            result = handler(*args)
        except TypeError:
            if args and _takes_no_arguments(handler):
                result = handler()
            else:
                raise
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            task.add_done_callback(lambda t: _report_task(t, what))
            return task
    except Exception as exc:  # noqa: BLE001  (the application's bug: reported, never propagated)
        report_handler_error(what, exc)
    return None


def report_handler_error(what: str, exc: BaseException) -> None:
    """Tell the event loop's exception handler (by default: the console) that a handler raised."""
    message = f"webvoice: {what} raised {type(exc).__name__}: {exc}"
    log.debug("%s", message, exc_info=exc)
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:  # called outside the loop (a test, a synchronous script): print it
        print(message, file=sys.stderr)
        traceback.print_exception(exc, file=sys.stderr)
        return
    loop.call_exception_handler({"message": message, "exception": exc})


def _takes_no_arguments(handler: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(handler).parameters.values()
    except (TypeError, ValueError):
        return False
    return not any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
                   for p in parameters)


def _report_task(task: asyncio.Future[Any], what: str) -> None:
    error = None if task.cancelled() else task.exception()
    if error is not None:
        report_handler_error(what, error)
