"""Registration from Python in Pyodide in Chromium, against the real Kamailio.

The acceptance of the browser-runtime issue: digest registration, a wrong
password refused fast, recovery after the server is killed and restarted,
unregistration, and debug logs without secrets.
"""

from __future__ import annotations

import json
import time

import pytest

from devtools.browser import boot_webvoice
from devtools.kamailio_server import fresh_kamailio, kamailio  # noqa: F401  (fixtures)
from devtools.pyrun import PagePythonError, py

SETUP = """
import asyncio, json, logging, webvoice
events = []
def record(name):
    def handler(event=None):
        events.append([name, getattr(event, "cause", None) or getattr(event, "expires", None)])
    return handler
class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []
    def emit(self, record):
        self.lines.append(record.getMessage())
collected = Collect()
logging.getLogger("webvoice").addHandler(collected)
"""


@pytest.fixture
def phone(page, static_server):
    boot_webvoice(page, static_server)
    py(page, SETUP)
    return page


def make(page, server, user, password=None, **kwargs):
    args = {"sip_login": user, "sip_password": server.users[user] if password is None else password,
            "ws_url": server.ws_url, "realm": server.domain, **kwargs}
    py(page, f"""
sip = webvoice.create_sip_instance(**json.loads({json.dumps(json.dumps(args))}))
sip.on_connection_event({{name: record(name) for name in
    ("connecting", "connected", "disconnected", "registered", "registration_expiring", "unregistered")}})
""")


def test_register_with_digest_and_unregister(phone, kamailio):
    make(phone, kamailio, "alice")
    result = py(phone, """
r = await sip.register()
json.dumps({"expires": r.expires, "contact": r.contact, "registered": sip.is_registered(),
            "connected": sip.is_connected(), "events": events})
""")
    result = json.loads(result)
    assert result["registered"] and result["connected"] and result["expires"] > 0
    assert [e[0] for e in result["events"]] == ["connecting", "connected", "registered"]
    assert result["events"][-1][1] == result["expires"]
    [binding] = kamailio.lookup("alice")
    assert ".invalid" in binding["Address"] and "transport=ws" in binding["Address"]
    instance = py(phone, "sip.instance_id")
    assert instance in binding.get("Instance", "")
    py(phone, "await sip.unregister()")
    assert py(phone, "sip.is_registered()") is False
    assert kamailio.lookup("alice") == []


def test_wrong_password_is_refused_fast_with_at_most_two_registers(phone, kamailio):
    make(phone, kamailio, "bob", password="wrong-password", debug=True)
    start = time.monotonic()
    outcome = json.loads(py(phone, """
try:
    await sip.register()
    out = {"raised": None}
except webvoice.RegistrationError as exc:
    out = {"raised": "RegistrationError", "status": exc.status_code, "cause": exc.cause}
out["registers"] = sum(1 for line in collected.lines if line.startswith("sending") and "\\nREGISTER " in line)
json.dumps(out)
"""))
    # refused, not timed out: well within timer F (64*T1 = 32 s), the cause says why
    assert time.monotonic() - start < 16
    assert outcome["raised"] == "RegistrationError" and outcome["status"] in (401, 403)
    assert outcome["cause"] == "Authentication Error"
    assert 1 <= outcome["registers"] <= 2


def test_reconnects_and_registers_again_after_server_restart(phone, fresh_kamailio):
    make(phone, fresh_kamailio, "carol",
         ua_config={"connection_recovery_min_interval": 0.5, "connection_recovery_max_interval": 2})
    py(phone, "await sip.register()")
    fresh_kamailio.kill()
    py(phone, """
for _ in range(100):
    if any(e[0] == "disconnected" for e in events):
        break
    await asyncio.sleep(0.1)
""")
    assert ["disconnected", "Connection Error"] in py(phone, "events")
    fresh_kamailio.restart()
    start = time.monotonic()
    registered = py(phone, """
for _ in range(150):
    if sip.is_registered():
        break
    await asyncio.sleep(0.1)
sip.is_registered()
""", timeout=20)
    assert registered and time.monotonic() - start < 15
    assert [e[0] for e in py(phone, "events")].count("registered") == 2
    assert fresh_kamailio.lookup("carol")


def test_debug_log_shows_the_exchange_and_no_secrets(phone, kamailio):
    make(phone, kamailio, "dave", debug=True)
    lines = py(phone, "await sip.register()\ncollected.lines")
    text = "\n".join(lines)
    assert "REGISTER sip:webvoice.test SIP/2.0" in text and "SIP/2.0 401 Unauthorized" in text
    assert "SIP/2.0 200 OK" in text and 'response="<redacted>"' in text
    assert kamailio.users["dave"] not in text
    import re
    assert not re.search(r'response="[0-9a-f]{32,64}"', text)


def test_without_debug_nothing_is_printed(phone, kamailio, request):
    console = request.node.browser_console
    before = len(console.lines)
    make(phone, kamailio, "erin")
    py(phone, "await sip.register()\nawait sip.close()")
    printed = [line for line in console.lines[before:] if "webvoice" in line or "REGISTER" in line]
    assert printed == []


def test_ssl_refuses_plain_websocket_off_localhost(phone):
    with pytest.raises(PagePythonError, match="ssl=True"):
        py(phone, 'webvoice.create_sip_instance(sip_login="a", sip_password="b", realm="example.org", '
                  'ssl=True, ws_url="ws://example.org")')
