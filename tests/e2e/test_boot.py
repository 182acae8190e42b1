"""The assembled build/web boots Pyodide and the webvoice wheel in Chromium,
installed by webvoice's own installer (install.mjs) or by micropip."""

import tomllib
import zipfile
from pathlib import Path

import pytest

from devtools.browser import BOOT_PAGE, boot_webvoice
from devtools.web import BUILD_WEB

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


@pytest.mark.parametrize("install", ["installer", "micropip"])
def test_boot_imports_webvoice_wheel(page, static_server, install):
    expected = tomllib.loads(PYPROJECT.read_text())["project"]["version"]

    result = boot_webvoice(page, static_server, path=f"{BOOT_PAGE}?install={install}")

    assert result.version == expected
    assert result.wheel == f"webvoice-{expected}-py3-none-any.whl"
    # Installed as pip would: every file of the wheel, metadata included.
    files = page.evaluate("""() => window.pyodide.runPython(`
import importlib.metadata as md
sorted(str(f) for f in md.files("webvoice") if not str(f).startswith("webvoice-"))`).toJs()""")
    with zipfile.ZipFile(BUILD_WEB / "wheels" / result.wheel) as wheel:
        expected_files = sorted(n for n in wheel.namelist() if not n.startswith("webvoice-"))
    assert files == expected_files
    print(f"boot timings with {install} (ms):",
          {k: round(v) for k, v in result.timings.items()})


def test_installer_refuses_a_wheel_whose_digest_differs(page, static_server):
    """installWheel with sha256 checks the wheel before writing anything."""
    page.goto(static_server.url(BOOT_PAGE))
    page.wait_for_function("window.bootReady === true")
    outcome = page.evaluate("""async () => {
        const { loadPyodide } = await import("/pyodide/pyodide.mjs");
        const { installWheel } = await import("/webvoice/install.mjs");
        const pyodide = await loadPyodide({ indexURL: "/pyodide/" });
        const index = await (await fetch("/wheels/index.json")).json();
        const errors = [];
        for (const [url, options] of [[`/wheels/${index.wheel}`, { sha256: "00".repeat(32) }],
                                      ["/wheels/no-such.whl", {}], ["/wheels/index.json", {}]]) {
          try { await installWheel(pyodide, url, options); errors.push(null); }
          catch (e) { errors.push(String(e.message)); }
        }
        const present = pyodide.runPython(
          "import importlib.util; importlib.util.find_spec('webvoice') is not None");
        return { errors, present };
    }""")
    digest, missing, not_zip = outcome["errors"]
    assert digest and "sha256" in digest and "expected 0000" in digest
    assert missing and "HTTP 404" in missing
    assert not_zip and "not a zip archive" in not_zip
    assert outcome["present"] is False


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


_INSTALL_EACH = """async (sources) => {
    const { loadPyodide } = await import("/pyodide/pyodide.mjs");
    const { installWheel } = await import("/webvoice/install.mjs");
    const index = await (await fetch("/wheels/index.json")).json();
    const out = [];
    for (const [file, sha] of sources) {
      const pyodide = await loadPyodide({ indexURL: "/pyodide/" });
      try {
        await installWheel(pyodide, `/wheels/${index[file]}`, { sha256: sha === "wrong" ? "11".repeat(32) : index[sha] });
        out.push(pyodide.runPython(`import importlib.metadata as md, webvoice
(webvoice.__version__, len(md.files("webvoice")))`).toJs());
      } catch (e) { out.push(String(e.message)); }
    }
    return out;
}"""


@pytest.mark.parametrize("encoded", [False, True], ids=["as-is", "content-encoding-gzip"])
def test_installer_takes_the_wheel_or_its_gz(page, encoded):
    """install.mjs installs the wheel and its .whl.gz (the same files, one
    gzip stream), checking the .gz's sha256 on the wheel inside; also when a
    server sends the .gz with Content-Encoding: gzip (the browser inflates it)."""
    from devtools.web import StaticServer

    with StaticServer(content_encoded=(".whl.gz",) if encoded else ()) as server:
        page.goto(server.url(BOOT_PAGE))
        page.wait_for_function("window.bootReady === true")
        whl, gz, wrong = page.evaluate(_INSTALL_EACH, [["wheel", "sha256"], ["wheel_gz", "wheel_gz_sha256"],
                                                       ["wheel_gz", "wrong"]])
    with zipfile.ZipFile(next((BUILD_WEB / "wheels").glob("*.whl"))) as wheel:
        members = len(wheel.namelist())
    assert whl == gz
    assert whl[1] == members
    assert "sha256" in wrong and "expected 1111" in wrong
