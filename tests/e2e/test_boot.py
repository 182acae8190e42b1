"""The assembled build/web boots Pyodide and the webvoice wheel in Chromium."""

import tomllib
from pathlib import Path

from tests.support.browser import boot_webvoice

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_boot_imports_webvoice_wheel(page, static_server):
    expected = tomllib.loads(PYPROJECT.read_text())["project"]["version"]

    result = boot_webvoice(page, static_server)

    assert result.version == expected
    assert result.wheel == f"webvoice-{expected}-py3-none-any.whl"
    print("boot timings (ms):",
          {k: round(v) for k, v in result.timings.items()})


def test_fake_microphone_is_available(page, static_server):
    """getUserMedia works headless (fake device flags), as WebRTC calls need."""
    page.goto(static_server.url("/test-pages/boot.html"))
    kinds = page.evaluate("""async () => {
        const stream = await navigator.mediaDevices.getUserMedia({audio: true});
        const kinds = stream.getTracks().map((t) => t.kind);
        stream.getTracks().forEach((t) => t.stop());
        return kinds;
    }""")
    assert kinds == ["audio"]
