"""A static file server on loopback for the browser tests.

Pages must come from http://127.0.0.1:<port>/ rather than file:// (module
scripts, fetch() and WebAssembly streaming need an origin), and everything is
served from this machine: there is no CDN at test time.

    with StaticServer() as server:          # build/web at /, test pages at /test-pages/
        page.goto(server.url("/test-pages/boot.html"))

    StaticServer({"/": BUILD_WEB, "/demo/": REPO / "demo"})   # other mounts

The server runs in a daemon thread of the test process (ThreadingHTTPServer,
so a page's parallel fetches do not queue behind each other).  Responses say
``Cache-Control: no-store`` so a rebuilt wheel is never served stale.

The fast boot's gzip'ed snapshot (``*.snapshot.gz``) is served as it is, bytes
the page inflates, as README "Fast start" advises; with
``content_encoded=(".snapshot.gz",)`` files so named are sent with
``Content-Encoding: gzip`` instead (the browser inflates them), as a server
set up to serve precompressed files would: the other way the boot helper
takes.
"""

from __future__ import annotations

import http.server
import threading
import urllib.parse
from pathlib import Path

from devtools.static_files import MountedFilesHandler

REPO = Path(__file__).resolve().parents[1]
BUILD_WEB = REPO / "build" / "web"
PAGES = Path(__file__).resolve().parent / "pages"

DEFAULT_MOUNTS = {"/": BUILD_WEB, "/test-pages/": PAGES}



def _handler(mounts: dict[str, Path], content_encoded: tuple[str, ...] = ()):
    mounts_ = mounts
    class Handler(MountedFilesHandler):
        mounts = mounts_  # noqa: RUF012

        def end_headers(self) -> None:
            self.send_header("Cache-Control", "no-store")
            path = urllib.parse.urlsplit(self.path).path
            if (content_encoded and path.endswith(content_encoded) and "gzip" in self.headers.get(
                    "Accept-Encoding", "") and Path(self.translate_path(self.path)).is_file()):
                self.send_header("Content-Encoding", "gzip")
            super().end_headers()

        def log_message(self, format: str, *args) -> None:
            # Keep pytest output clean; failures show up in the page console.
            self.server.request_log.append(format % args)

    return Handler


class StaticServer:
    """Serve directories on 127.0.0.1 with a free port, in a background thread."""

    def __init__(self, mounts: dict[str, Path] | None = None, host: str = "127.0.0.1", *,
                 content_encoded: tuple[str, ...] = ()):
        self.mounts = {k: Path(v) for k, v in (mounts or DEFAULT_MOUNTS).items()}
        self._httpd = http.server.ThreadingHTTPServer((host, 0), _handler(self.mounts, content_encoded))
        self._httpd.daemon_threads = True
        self._httpd.request_log = []
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def request_log(self) -> list[str]:
        """One line per request ('"GET /x HTTP/1.1" 200 -'), for debugging."""
        return self._httpd.request_log

    def url(self, path: str = "/") -> str:
        return self.base_url + "/" + path.lstrip("/")

    def start(self) -> StaticServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name="static-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> StaticServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


if __name__ == "__main__":  # manual poking: python -m devtools.web
    import time

    with StaticServer() as srv:
        print(f"serving {srv.mounts} at {srv.base_url}  (Ctrl-C stops)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
