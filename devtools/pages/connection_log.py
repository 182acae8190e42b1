# Run in a phone page (tests/e2e/test_dead_flow.py, tests/firefox/connection.test.mjs):
# ``conn`` records the instance's connection events as [name, time.monotonic(), ...],
# ``disconnected`` with its close code and reason.
import time

conn = []
sip.on_connection_event({  # noqa: F821  (the page's instance)
    "connected": lambda e: conn.append(["connected", time.monotonic()]),
    "disconnected": lambda e: conn.append(["disconnected", time.monotonic(), e.code, e.reason]),
    "registered": lambda e: conn.append(["registered", time.monotonic()]),
})
