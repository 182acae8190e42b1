"""Build build/bench/jssip.js: JsSIP for the browser, bundled by esbuild.

An IIFE that sets ``window.JsSIP`` (and ``window.JsSIPParser``, the internal
parser JsSIP's UA runs on each incoming frame; see bench/pages/jssip_entry.js).
Minified, as a site would ship it. Rebuilt only when missing or stale: a stamp
next to it records the JsSIP and esbuild versions and the entry file's hash.

Both come from node_modules (package.json pins them; ``make setup`` runs
``npm ci``).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NODE_MODULES = REPO / "node_modules"
ENTRY = REPO / "bench" / "pages" / "jssip_entry.js"
OUT_DIR = REPO / "build" / "bench"
BUNDLE = OUT_DIR / "jssip.js"
STAMP = OUT_DIR / "jssip.js.stamp"
ESBUILD = NODE_MODULES / ".bin" / "esbuild"
ARGS = ["--bundle", "--platform=browser", "--format=iife", "--global-name=JsSIP",
        "--minify", "--target=es2020", "--log-level=warning"]


def _version(package: str) -> str:
    manifest = NODE_MODULES / package / "package.json"
    if not manifest.exists():
        raise RuntimeError(f"node_modules/{package} is missing: run `make setup` (npm ci)")
    return json.loads(manifest.read_text())["version"]


def jssip_version() -> str:
    return _version("jssip")


def _stamp() -> str:
    return json.dumps({"jssip": jssip_version(), "esbuild": _version("esbuild"),
                       "entry": hashlib.sha256(ENTRY.read_bytes()).hexdigest(), "args": ARGS})


def ensure_bundle(force: bool = False) -> Path:
    """Build the bundle if missing or stale; return its path."""
    stamp = _stamp()
    if not force and BUNDLE.exists() and STAMP.exists() and STAMP.read_text() == stamp:
        return BUNDLE
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    cmd = [str(ESBUILD), str(ENTRY), *ARGS, f"--outfile={BUNDLE}"]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"esbuild failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    STAMP.write_text(stamp)
    return BUNDLE


if __name__ == "__main__":
    print(ensure_bundle(force=True))
