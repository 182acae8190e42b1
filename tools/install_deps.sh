#!/usr/bin/env bash
# Install what webvoice's build and tests need, from the package registries:
#   - Debian packages: Chromium + chromedriver (browser tiers), Firefox ESR
#     (the Firefox tier, driven by puppeteer-core), Kamailio with WebSocket
#     support (SIP test server);
#   - node_modules/ from package-lock.json (Pyodide and other browser assets);
#   - .venv/ with requirements-dev.txt (pytest, pytest-pyodide, Playwright...).
# Idempotent and quick when nothing changed: each step checks first (dpkg
# status, hash stamps of the lock/requirements files) and does nothing if
# already satisfied.  Runs unattended (CI=true, no stdin); needs root or sudo
# only when a Debian package is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
say() { echo "[install_deps] $*"; }

# --- Debian packages ------------------------------------------------------
apt_wanted=(chromium chromium-driver firefox-esr kamailio kamailio-websocket-modules)
apt_wanted+=(kamailio-presence-modules)  # presence server: busy lamps, presence, voicemail waiting
apt_wanted+=(coturn)  # TURN relay for the media-health e2e tests (relay outage)
command -v make >/dev/null || apt_wanted+=(make)
command -v npm >/dev/null || apt_wanted+=(nodejs npm)
python3 -c 'import ensurepip, venv' 2>/dev/null || apt_wanted+=(python3-venv)

apt_missing=()
for pkg in "${apt_wanted[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" = "install ok installed" ] \
    || apt_missing+=("$pkg")
done
if ((${#apt_missing[@]})); then
  say "apt-get install ${apt_missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  # Another apt may be running (another session's install): wait for its lock
  # instead of failing.
  apt_opts=(-o DPkg::Lock::Timeout=600 -q)
  $sudo apt-get "${apt_opts[@]}" update >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get "${apt_opts[@]}" install -y \
    "${apt_missing[@]}" >/dev/null
fi

# --- node_modules ---------------------------------------------------------
# npm ci wipes and reinstalls node_modules: only when the lock changed.
npm_stamp=node_modules/.webvoice-package-lock.sha256
npm_hash=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_hash" ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_hash" >"$npm_stamp"
fi

# --- .venv ----------------------------------------------------------------
venv_stamp=.venv/.requirements-dev.sha256
if ! .venv/bin/python -c '' 2>/dev/null; then
  say "python3 -m venv .venv"
  rm -rf .venv
  python3 -m venv .venv
fi
# The interpreter's version is part of the hash: a new python3 means a new venv.
venv_hash=$( (cat requirements-dev.txt; .venv/bin/python -VV) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$venv_stamp" 2>/dev/null)" != "$venv_hash" ]; then
  say "pip install -r requirements-dev.txt"
  # (The grep drops this machine's pip-config noise about absent local
  # indexes; pip's own exit status still counts, through pipefail.)
  .venv/bin/python -m pip install --quiet --no-input --disable-pip-version-check \
    -r requirements-dev.txt 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }
  echo "$venv_hash" >"$venv_stamp"
fi

say "ready in $((SECONDS - start))s"
