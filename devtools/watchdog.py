"""An outer bound on every wait: a thread that ends a stuck run and says what it waited for.

In-page timeouts (``setTimeout`` racing a promise) cannot fire when the page's
main thread is stuck, and a Playwright ``evaluate`` has no timeout of its own;
so a run can hang for good with nothing printed.  This bound lives outside the
page and outside the waiting thread: a :class:`Watchdog` thread that, when a
step overruns, prints the step, what the code was waiting for (the innermost
:func:`waiting_for` descriptions, newest last), the Python stacks of every
thread, then ends the process with exit status 3.  A hang becomes a failure
with a message, in ``make test`` (tests/conftest.py, one bound per test) and in
``make bench`` (bench/run.py, one bound per step).
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator

EXIT_STATUS = 3

_waits: list[str] = []
_lock = threading.Lock()


@contextlib.contextmanager
def waiting_for(what: str) -> Iterator[None]:
    """Note ``what`` as being waited for, for the watchdog's message."""
    with _lock:
        _waits.append(what)
    try:
        yield
    finally:
        with _lock:
            if _waits and _waits[-1] == what:
                _waits.pop()
            elif what in _waits:
                _waits.remove(what)


def current_waits() -> list[str]:
    with _lock:
        return list(_waits)


class Watchdog:
    """Ends the process when a step runs past its bound (see the module docstring).

    ``step(name, seconds)`` starts a new bound; ``stop()`` ends watching.
    ``extra`` returns more text for the message (a console tail, a server log);
    ``before`` runs first (pytest: give stderr back from output capture).
    """

    def __init__(self, *, extra: Callable[[], str] | None = None,
                 before: Callable[[], None] | None = None,
                 exit: Callable[[int], None] = os._exit) -> None:
        self._extra = extra
        self._before = before
        self._exit = exit
        self._cond = threading.Condition()
        self._step: str | None = None
        self._deadline = 0.0
        self._seconds = 0.0
        self._stopped = False
        self._thread = threading.Thread(target=self._watch, name="watchdog", daemon=True)
        self._thread.start()

    def step(self, name: str, seconds: float) -> None:
        with self._cond:
            self._step, self._seconds = name, seconds
            self._deadline = time.monotonic() + seconds
            self._cond.notify()

    def idle(self) -> None:
        """No bound until the next :meth:`step`."""
        with self._cond:
            self._step = None
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(5)

    def _watch(self) -> None:
        with self._cond:
            while not self._stopped:
                if self._step is None:
                    self._cond.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._fire()
                return

    def _fire(self) -> None:
        if self._before is not None:
            try:
                self._before()
            except Exception:  # noqa: BLE001 - the message must still come out
                pass
        out = sys.__stderr__
        waits = current_waits()
        print(f"\n=== WATCHDOG: {self._step!r} still running after {self._seconds:.0f} s; "
              "ending the run", file=out)
        print("waiting for:" if waits else "waiting for: (nothing noted)", file=out)
        for what in waits:
            print(f"  - {what}", file=out)
        if self._extra is not None:
            try:
                print(self._extra(), file=out)
            except Exception as exc:  # noqa: BLE001 - the message must still come out
                print(f"(could not gather more: {exc!r})", file=out)
        print("Python stacks:", file=out, flush=True)
        faulthandler.dump_traceback(file=out, all_threads=True)
        out.flush()
        self._exit(EXIT_STATUS)
