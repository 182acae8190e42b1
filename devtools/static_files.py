"""Serving directories under URL prefixes, for the demo server and the test server.

Both serve Pyodide, PyScript and pages from this machine (no CDN), and both
need the same two things the standard library's handler lacks: MIME types the
browser insists on (``application/wasm`` for streaming compilation, a
JavaScript type for module scripts) and several directories mounted under
URL prefixes, the longest prefix winning, with no way out of a mount.
"""

from __future__ import annotations

import http.server
import posixpath
import urllib.parse
from pathlib import Path

__all__ = ["MIME_TYPES", "MountedFilesHandler"]

MIME_TYPES = {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".html": "text/html; charset=utf-8",
    ".map": "application/json",
    ".py": "text/x-python; charset=utf-8",
    ".toml": "text/plain; charset=utf-8",
}


class MountedFilesHandler(http.server.SimpleHTTPRequestHandler):
    """Serves ``mounts`` (URL prefix -> directory); subclass and set ``mounts``."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, **MIME_TYPES}  # noqa: RUF012
    mounts: dict[str, Path] = {}  # noqa: RUF012  (set by the subclass)

    def translate_path(self, path: str) -> str:
        path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        path = posixpath.normpath(path) + ("/" if path.endswith("/") else "")
        for prefix, root in sorted(self.mounts.items(), key=lambda kv: len(kv[0]), reverse=True):
            bare = prefix.rstrip("/")
            if path == bare or path.startswith(bare + "/"):
                rel = path[len(bare):].lstrip("/")
                parts = [p for p in rel.split("/") if p not in ("", ".", "..")]
                return str(Path(root, *parts))
        return str(Path("/nonexistent"))
