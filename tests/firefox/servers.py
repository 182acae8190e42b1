"""Kamailio and the test static server for the Firefox tier, started from node.

The Firefox tier is written in JavaScript (node's test runner and
puppeteer-core drive Firefox and Chromium), but the servers are the same as
the Python tiers': the repo's Kamailio (:class:`devtools.kamailio.server.KamailioServer`)
and the static server of the e2e tier (:class:`devtools.web.StaticServer`:
build/web at ``/``, the test pages at ``/test-pages/``).  This script starts
both, prints one JSON line saying where they are, and runs until its standard
input closes (the node process that spawned it ended, however it ended) or
it gets SIGTERM; then it stops both.

    .venv/bin/python -m tests.firefox.servers
    {"base_url": "http://127.0.0.1:PORT", "ws_url": "ws://127.0.0.1:PORT",
     "domain": "webvoice.test", "users": {"alice": "alice-secret", ...}}
"""

from __future__ import annotations

import json
import signal
import sys
import threading

from devtools.kamailio.server import KamailioServer, missing_requirements
from devtools.web import BUILD_WEB, StaticServer


def main() -> int:
    missing = missing_requirements()
    if missing:
        print(json.dumps({"error": "not installed: " + ", ".join(missing)}), flush=True)
        return 1
    if not (BUILD_WEB / "wheels" / "index.json").exists():
        print(json.dumps({"error": f"{BUILD_WEB} is not assembled: run `make assets`"}), flush=True)
        return 1
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    # stdin closes when the parent goes: stop with it.
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    with KamailioServer() as kamailio, StaticServer() as web:
        print(json.dumps({"base_url": web.base_url, "ws_url": kamailio.ws_url,
                          "domain": kamailio.domain, "users": kamailio.users}), flush=True)
        while not done.wait(1.0):
            if not kamailio.running:
                print("Kamailio stopped unexpectedly:\n" + kamailio.log_tail(30), file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
