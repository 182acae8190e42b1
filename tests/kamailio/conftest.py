"""Fixtures for the Kamailio config tests (real Kamailio on loopback)."""

import pytest

from devtools.kamailio_server import (  # noqa: F401  (pytest fixtures/hook)
    fresh_kamailio,
    kamailio,
    pytest_runtest_makereport,
)

#: Logged by Kamailio about its own publications, not about the request a
#: test sent: pua_dialoginfo publishes a dialog's states from several worker
#: processes, and one that ends within milliseconds can see its last update
#: arrive after the "terminated" one. The Kamailio is shared by the session,
#: so this can land in any later test's window (seen once in a full run).
_KAMAILIO_OWN_RACES = ("ps_db_update_presentity(): Trying to update an already terminated state",)


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
           if (" ERROR: " in line or " WARNING: " in line or " CRITICAL: " in line)
           and not any(race in line for race in _KAMAILIO_OWN_RACES)]
    assert not bad, "Kamailio logged problems:\n" + "\n".join(bad[-20:])
