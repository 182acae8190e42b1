"""Where Debian's Chromium lives and the flags every test browser gets.

Shared by the Playwright helper (devtools/browser.py) and the
pytest-pyodide tier (tests/pyodide/conftest.py, selenium + chromedriver);
kept free of imports so either can use it. ``WEBVOICE_CHROMIUM_FLAGS``
(space-separated) adds flags for an experiment, e.g.
``WEBVOICE_CHROMIUM_FLAGS=--js-flags=--no-liftoff python -m bench.run --only lines``.
"""

import os

CHROMIUM = os.environ.get("WEBVOICE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("WEBVOICE_CHROMEDRIVER", "/usr/bin/chromedriver")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",
    # Chromium's own background traffic is refused by this machine's closed
    # network, noisily and many times over; these keep it quiet.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
] + os.environ.get("WEBVOICE_CHROMIUM_FLAGS", "").split()

# A fake microphone/camera and an auto-accepted permission prompt, so
# getUserMedia() works headless; WebRTC tests need this.
FAKE_MEDIA_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
]
