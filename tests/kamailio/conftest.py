"""Fixtures for the Kamailio config tests (real Kamailio on loopback)."""

import pytest

from devtools.kamailio_server import (  # noqa: F401  (pytest fixtures/hook)
    fresh_kamailio,
    kamailio,
    pytest_runtest_makereport,
)


@pytest.fixture(autouse=True)
def _no_kamailio_errors(request):
    """Fail a test that made the shared Kamailio log an ERROR/WARNING line
    (e.g. a misrouted request, a parse error): the config must stay clean."""
    if "kamailio" not in request.fixturenames:
        yield
        return
    server = request.getfixturevalue("kamailio")
    before = len(server.log_text())
    yield
    new = server.log_text()[before:]
    bad = [line for line in new.splitlines()
           if " ERROR: " in line or " WARNING: " in line or " CRITICAL: " in line]
    assert not bad, "Kamailio logged problems:\n" + "\n".join(bad[-20:])
