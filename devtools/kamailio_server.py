"""Kamailio for the tests: the controller from ``devtools/kamailio/server.py``, plus fixtures.

The server itself (:class:`KamailioServer`, the config, the test users) lives
in :mod:`devtools.kamailio.server`, so the demo can start it without importing
from ``tests/``; this module re-exports it unchanged and adds pytest's side.

Pytest: import the fixtures into a conftest::

    from devtools.kamailio_server import (  # noqa: F401
        kamailio, fresh_kamailio, pytest_runtest_makereport)

``kamailio`` is session scoped (share it; use distinct users per test),
``fresh_kamailio`` is a private server per test (for stop/kill/restart).
When Kamailio (or its websocket module) is not installed those fixtures
fail, naming what is missing; they skip only in a partial run asked for with
``WEBVOICE_ALLOW_SKIP=1`` (devtools/partial_run.py).
The ``pytest_runtest_makereport`` hook adds the Kamailio log tail to the
report of a failing test that used a server.
"""

from __future__ import annotations

import pytest

from devtools.kamailio import server as _server
from devtools.kamailio.server import (  # noqa: F401  (re-exported)
    CONFIG_PATH,
    DOMAIN,
    HOST,
    TEST_USERS,
    KamailioError,
    KamailioServer,
    _free_port,
    _group_alive,
    _not_expired,
    _signal_group,
    _tcp_accepts,
    _udp_options_ok,
    find_binary,
    free_port,
    missing_requirements,
    parse_contacts,
    port_free,
)
from devtools.partial_run import skip_or_fail

_port_free = port_free  # the old private name

__all__ = [*_server.__all__, "fresh_kamailio", "kamailio", "require_kamailio"]


def require_kamailio() -> None:
    """pytest: fail without Kamailio (skip only in a partial run, WEBVOICE_ALLOW_SKIP=1)."""
    missing = missing_requirements()
    if missing:
        skip_or_fail("Kamailio is needed and not usable here: " + ", ".join(missing))


def _running_server():
    """A started Kamailio, stopped when the fixture using it ends."""
    require_kamailio()
    server = KamailioServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kamailio():
    """A Kamailio shared by the whole session (use distinct users per test)."""
    yield from _running_server()


@pytest.fixture
def fresh_kamailio():
    """A private Kamailio for one test (safe to stop/kill/restart)."""
    yield from _running_server()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the Kamailio log tail to failing tests that used a server."""
    outcome = yield
    report = outcome.get_result()
    if report.failed and call.when in ("setup", "call"):
        funcargs = getattr(item, "funcargs", {}) or {}
        for name, value in funcargs.items():
            if isinstance(value, KamailioServer):
                report.sections.append(
                    (f"kamailio log tail ({name})", value.log_tail(80)))
