#!/usr/bin/env python3
"""Serve the demo softphone with its own SIP server: ``make demo`` runs this.

It starts the repo's Kamailio (devtools/kamailio/) on loopback and an HTTP
server on 127.0.0.1 for the browser, prints where to go and who to sign in
as, and runs until Ctrl-C or SIGTERM, when it stops Kamailio cleanly. It
sets nothing up: ``make demo`` runs ``make setup`` first (Debian packages,
node_modules, build/web), and this script says so if that did not happen.

What the HTTP server serves (nothing comes from a CDN or the network):

    /                    demo/ (index.html, softphone.py and its modules)
    /pyodide/ /pyscript/ /wheels/
                         build/web/ (Pyodide, PyScript, the webvoice wheel)
    /pyscript.json       PyScript's config: demo/pyscript.json plus the current
                         webvoice wheel, read from build/web/wheels/index.json
                         at each request (a rebuilt wheel needs no restart)
    /demo-config.json    the SIP server the page should use: ws_url, realm,
                         and the demo users with their passwords
    /lite/               build/lite/: the JupyterLite site (tools/build_lite.py),
                         whose Pyodide kernel loads /pyodide/ from here; its
                         demo notebook is at LITE_NOTEBOOK

    python3 -m demo.serve [--port 8000] [--ws-port 5066] [--sip-port 5067]

A port given as 0 means "any free one". Kamailio's default ports fall back
to free ones when busy; a busy HTTP port is an error (pass another --port).
"""

from __future__ import annotations

import argparse
import http.server
import json
import signal
import sys
import threading
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from devtools.kamailio.server import (
    DOMAIN,
    HOST,
    TEST_USERS,
    KamailioError,
    KamailioServer,
    free_port,
    missing_requirements,
    port_free,
)
from devtools.static_files import MountedFilesHandler

ROOT = Path(__file__).resolve().parent.parent

DEMO = ROOT / "demo"
WEB = ROOT / "build" / "web"
WHEEL_INDEX = WEB / "wheels" / "index.json"
# The JupyterLite site (tools/build_lite.py, run by `make setup`), mounted
# at /lite/ when built. It must share this origin with build/web: its kernel
# loads Pyodide from /pyodide/ and the demo settings from /demo-config.json.
LITE = ROOT / "build" / "lite"
LITE_NOTEBOOK = "/lite/notebooks/index.html?path=webvoice-demo.ipynb"

DEMO_USERS = ("alice", "bob", "carol", "dave")
DEFAULT_HTTP_PORT = 8000
DEFAULT_WS_PORT = 5066
DEFAULT_SIP_PORT = 5067



class SetupMissing(SystemExit):
    """What ``make setup`` should have provided is not there."""


# --- what is served ----------------------------------------------------------------------------


def mounts() -> dict[str, Path]:
    """URL prefix -> directory. The longest matching prefix wins."""
    table = {
        "/": DEMO,
        "/pyodide/": WEB / "pyodide",
        "/pyscript/": WEB / "pyscript",
        "/wheels/": WEB / "wheels",
        "/webvoice/": WEB / "webvoice",  # the media agent for Python in a worker, boot.mjs
        "/snapshot/": WEB / "snapshot",  # the fast boot's Pyodide snapshot (index.html?boot=fast)
    }
    if LITE.is_dir():
        table["/lite/"] = LITE
    return table


def pyscript_config(source: Path | None = None) -> dict:
    """demo/pyscript.json (or ``source``) with the current webvoice wheel added."""
    config = json.loads((source or DEMO / "pyscript.json").read_text())
    wheel = json.loads(WHEEL_INDEX.read_text())["wheel"]
    config["packages"] = [*config.get("packages", []), f"/wheels/{wheel}"]
    return config


def worker_pyscript_config(origin: str) -> dict:
    """The PyScript worker's config: absolute URLs, since a worker's base is not the page's."""
    config = pyscript_config(DEMO / "worker" / "pyscript.json")
    config["interpreter"] = origin + config["interpreter"]
    config["packages"] = [origin + p if p.startswith("/") else p for p in config["packages"]]
    return config


worker_pyscript_config.wants_origin = True  # type: ignore[attr-defined]


def demo_config(kamailio: KamailioServer) -> dict:
    """What the softphone pre-fills its sign-in form with."""
    return {
        "ws_url": kamailio.ws_url,
        "realm": DOMAIN,
        "users": [{"login": name, "password": TEST_USERS[name]} for name in DEMO_USERS],
        "lite_url": "/lite/" if LITE.is_dir() else None,
    }


def make_handler(routes: dict[str, Path], dynamic: dict[str, Callable[[], dict]]):
    """A request handler serving ``routes`` (directories) and ``dynamic`` (JSON documents)."""
    class Handler(MountedFilesHandler):
        mounts = routes  # noqa: RUF012

        def do_GET(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if path in dynamic:
                self._send_json(self._document(path))
            else:
                super().do_GET()

        def do_HEAD(self) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if path in dynamic:
                self._send_json(self._document(path), head=True)
            else:
                super().do_HEAD()

        def _document(self, path: str) -> dict:
            """A dynamic document; those that need this server's own origin (a
            worker resolves no relative URL) take it from the Host header."""
            make = dynamic[path]
            if getattr(make, "wants_origin", False):
                return make(f"http://{self.headers.get('Host') or f'{HOST}:{self.server.server_address[1]}'}")
            return make()

        def _send_json(self, document: dict, head: bool = False) -> None:
            body = (json.dumps(document, indent=1) + "\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head:
                self.wfile.write(body)

        def end_headers(self) -> None:
            # Revalidate every time (a 304 when unchanged): an edited
            # softphone.py or a rebuilt wheel shows up on reload.
            self.send_header("Cache-Control", "no-cache")
            super().end_headers()

        def log_request(self, code="-", size="-") -> None:
            if isinstance(code, int) and code >= 400 or str(code).startswith(("4", "5")):
                super().log_request(code, size)

        def log_message(self, format: str, *args) -> None:
            sys.stderr.write(f"[http] {format % args}\n")

    return Handler


# --- starting and stopping ---------------------------------------------------------------------------


def check_setup() -> None:
    """Refuse to start, saying what to run, when `make setup` has not been run."""
    if not WHEEL_INDEX.exists() or not (WEB / "pyscript" / "core.js").exists():
        raise SetupMissing(f"{WEB.relative_to(ROOT)} is not assembled: run `make setup` "
                           "(or `make demo`, which runs it first)")
    missing = missing_requirements()
    if missing:
        raise SetupMissing("Kamailio is not installed (" + ", ".join(missing) + "): run `make setup`")


def choose_port(wanted: int, default: int, taken: set[int]) -> int:
    """The port given; or the default if free; or any free one (also for 0)."""
    if wanted == default and not port_free(default):
        print(f"port {default} is busy: using a free port instead", flush=True)
        wanted = 0
    return wanted or free_port(exclude=taken)


def start_kamailio(ws_port: int, sip_port: int) -> KamailioServer:
    ws_port = choose_port(ws_port, DEFAULT_WS_PORT, taken=set())
    sip_port = choose_port(sip_port, DEFAULT_SIP_PORT, taken={ws_port})
    try:
        return KamailioServer(ws_port=ws_port, sip_port=sip_port).start()
    except KamailioError as exc:
        raise SystemExit(f"Kamailio did not start:\n{exc}") from None


def bind_http(port: int, dynamic: dict) -> http.server.ThreadingHTTPServer:
    """Listen on 127.0.0.1 (first, so that a busy port fails before Kamailio starts)."""
    try:
        httpd = http.server.ThreadingHTTPServer((HOST, port), make_handler(mounts(), dynamic))
    except OSError as exc:
        raise SystemExit(f"cannot listen on {HOST}:{port} ({exc.strerror}): "
                         "pass --port N, or --port 0 for any free port") from None
    httpd.daemon_threads = True
    return httpd


def print_welcome(base_url: str, kamailio: KamailioServer) -> None:
    width = max(len(name) for name in DEMO_USERS)
    lines = [
        "",
        "webvoice demo is running.",
        "",
        f"  Softphone:   {base_url}/",
        f"  In a worker: {base_url}/worker/?user=carol  (webvoice in a PyScript worker; call carol from the softphone)",
        f"  SIP server:  {kamailio.ws_url}  (realm {DOMAIN}, Kamailio pid {kamailio.pid})",
    ]
    if LITE.is_dir():
        lines.append(f"  JupyterLite: {base_url}/lite/  (the demo notebook: {base_url}{LITE_NOTEBOOK})")
    lines += ["", "  Demo users (any two, in two browser windows):"]
    lines += [f"    {name:<{width}}  password {TEST_USERS[name]}" for name in DEMO_USERS]
    lines += ["", "Press Ctrl-C to stop.", ""]
    print("\n".join(lines), flush=True)


def serve(port: int, ws_port: int, sip_port: int) -> int:
    check_setup()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    dynamic: dict[str, Callable[[], dict]] = {}  # filled once Kamailio runs
    httpd = bind_http(port, dynamic)
    serving = threading.Thread(target=httpd.serve_forever, name="demo-http", daemon=True)
    try:
        kamailio = start_kamailio(ws_port, sip_port)
        try:
            dynamic["/pyscript.json"] = pyscript_config
            dynamic["/worker/pyscript.json"] = worker_pyscript_config
            dynamic["/demo-config.json"] = lambda: demo_config(kamailio)
            serving.start()
            print_welcome(f"http://{HOST}:{httpd.server_address[1]}", kamailio)
            while not stop.wait(1.0):
                if not kamailio.running:
                    print("Kamailio stopped unexpectedly:\n" + kamailio.log_tail(30), file=sys.stderr)
                    return 1
        finally:
            print("stopping Kamailio...", flush=True)
            kamailio.stop()
    finally:
        if serving.is_alive():
            httpd.shutdown()
        httpd.server_close()
    print("stopped.", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the webvoice demo softphone with a local SIP server.")
    parser.add_argument("--port", type=int, default=DEFAULT_HTTP_PORT,
                        help=f"HTTP port on {HOST} (default {DEFAULT_HTTP_PORT}; 0: any free port)")
    parser.add_argument("--ws-port", type=int, default=DEFAULT_WS_PORT,
                        help=f"Kamailio's SIP-over-WebSocket port (default {DEFAULT_WS_PORT} if free)")
    parser.add_argument("--sip-port", type=int, default=DEFAULT_SIP_PORT,
                        help=f"Kamailio's UDP/TCP SIP port (default {DEFAULT_SIP_PORT} if free)")
    args = parser.parse_args(argv)
    return serve(args.port, args.ws_port, args.sip_port)


if __name__ == "__main__":
    sys.exit(main())
