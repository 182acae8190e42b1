"""Calling the application's handlers: plain or ``async def``, never letting them
break the SDK.

Shared by the instance, calls and lines; kept apart so none of them imports
another just for this.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any, Callable

__all__ = ["call_handler"]

log = logging.getLogger("webvoice")


def call_handler(handler: Callable, *args: Any, what: str) -> None:
    """Call an application handler, plain or ``async def``, shielding the SDK from it.

    A handler that takes no arguments is called without them, as JavaScript
    callbacks often are. Its exceptions are logged, never propagated into the
    protocol machinery.
    """
    try:
        try:
            result = handler(*args)
        except TypeError as exc:
            if args and _takes_no_arguments(handler):
                result = handler()
            else:
                raise exc
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            task.add_done_callback(lambda t: _log_task_error(t, what))
    except Exception:
        log.exception("webvoice: %s raised", what)


def _takes_no_arguments(handler: Callable) -> bool:
    try:
        return not inspect.signature(handler).parameters
    except (TypeError, ValueError):
        return False


def _log_task_error(task: asyncio.Future, what: str) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("webvoice: %s raised", what, exc_info=task.exception())
