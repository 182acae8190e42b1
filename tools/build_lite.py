#!/usr/bin/env python3
"""Build build/lite/: a JupyterLite site where webvoice runs in the Pyodide kernel, offline.

Run with the project venv after tools/build_assets.py (``make setup`` does
both). demo/serve.py serves the site at /lite/ on the same origin as
build/web/, so the kernel loads the assembled Pyodide from /pyodide/
(``pyodideUrl`` in lite/jupyter-lite.json) and nothing comes from a CDN:

build/lite/                 ``jupyter lite build`` of lite/ (JupyterLab and
                            Notebook apps, the Pyodide kernel)
build/lite/pypi/            the piplite index the kernel installs from, with
                            the PyPI fallback off: webvoice (build/web/wheels/),
                            webvoice-widget (built from lite/widget/) and the
                            wheels pinned in lite/kernel-requirements.txt
build/lite/extensions/      the Pyodide kernel's labextension (from the venv),
                            and anywidget's and jupyterlab_widgets' (from the
                            very wheels the kernel installs)
build/lite/files/           lite/files/: the demo notebook

Before building it checks that every wheel's dependencies (markers evaluated
for Pyodide's Python) are in the index, the kernel's own index or Pyodide's
lock, so a missing wheel fails here and not in the browser.

A build is skipped when nothing it reads changed (a hash of the inputs in
build/lite/.inputs.sha256): ``make setup`` stays quick. ``--force`` rebuilds.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
import zipfile
from email.parser import HeaderParser
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as host_version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LITE_SRC = ROOT / "lite"
WIDGET_SRC = LITE_SRC / "widget"
KERNEL_REQUIREMENTS = LITE_SRC / "kernel-requirements.txt"
BUILD = ROOT / "build"
WEB = BUILD / "web"
WHEEL_INDEX = WEB / "wheels" / "index.json"
PYODIDE_LOCK = WEB / "pyodide" / "pyodide-lock.json"
OUT = BUILD / "lite"
STAMP_NAME = ".inputs.sha256"
WHEEL_CACHE = BUILD / "cache" / "lite-wheels"
WIDGET_DIST = BUILD / "cache" / "lite-dist"
LITE_CACHE = BUILD / "cache" / "jupyterlite"
# The kernel's labextension, with its own piplite index (piplite, pyodide-kernel
# and the ipykernel / widgetsnbextension stand-ins).
KERNEL_EXTENSION = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyterlite" / "pyodide-kernel-extension"
# The kernel's Pyodide, as the site's pages see it (same origin, build/web at /).
PYODIDE_URL = "/pyodide/pyodide.mjs"
# Wheels whose labextension the site needs (the widget front ends).
FRONT_END_WHEELS = ("anywidget", "jupyterlab-widgets")
HOST_PACKAGES = ("jupyterlite-core", "jupyterlite-pyodide-kernel")


def log(msg: str) -> None:
    print(f"[build_lite] {msg}", flush=True)


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def run(cmd: list[str], **kwargs) -> None:
    """Run quietly; show the output only when the command fails."""
    proc = subprocess.run(cmd, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    if proc.returncode:
        sys.stdout.write(proc.stdout)
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}")


def pinned() -> dict[str, str]:
    """lite/kernel-requirements.txt as {canonical name: version}."""
    pins = {}
    for raw in KERNEL_REQUIREMENTS.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not version.strip():
            sys.exit(f"{KERNEL_REQUIREMENTS.relative_to(ROOT)}: pin every wheel as name==version (got {raw!r})")
        pins[canonical(name.strip())] = version.strip()
    return pins


def source_files() -> list[Path]:
    """What the site is built from (besides wheels), in a stable order."""
    skip = {"__pycache__", ".ipynb_checkpoints", ".cache", "build", "dist"}
    files = [p for p in LITE_SRC.rglob("*") if p.is_file() and not skip & set(p.relative_to(LITE_SRC).parts)
             and not p.name.startswith(".jupyterlite")]
    return sorted(files) + [Path(__file__).resolve()]


def inputs_hash(webvoice_wheel: Path) -> str:
    digest = hashlib.sha256()
    for path in [*source_files(), webvoice_wheel, PYODIDE_LOCK]:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for name in HOST_PACKAGES:
        try:
            digest.update(f"{name}=={host_version(name)}\n".encode())
        except PackageNotFoundError:
            digest.update(f"{name} missing\n".encode())
    return digest.hexdigest()


# --- wheels ------------------------------------------------------------------------------------


def wheel_name_version(path: Path) -> tuple[str, str]:
    parts = path.name[:-len(".whl")].split("-")
    return canonical(parts[0]), parts[1]


def fetch_kernel_wheels(pins: dict[str, str], python_version: str) -> list[Path]:
    """The pinned wheels, from build/cache/lite-wheels/ (downloaded there once)."""
    WHEEL_CACHE.mkdir(parents=True, exist_ok=True)
    cached = {wheel_name_version(p): p for p in WHEEL_CACHE.glob("*.whl")}
    missing = [f"{name}=={version}" for name, version in pins.items() if (name, version) not in cached]
    if missing:
        log(f"downloading {len(missing)} wheel(s) for the kernel: {' '.join(missing)}")
        # Pure-Python wheels for Pyodide's Python: "--platform any" keeps
        # pip from choosing a compiled wheel for this machine.
        run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             "--disable-pip-version-check", "--python-version", python_version, "--platform", "any",
             "--implementation", "py", "--dest", str(WHEEL_CACHE), *missing])
        cached = {wheel_name_version(p): p for p in WHEEL_CACHE.glob("*.whl")}
    wheels = []
    for name, version in pins.items():
        path = cached.get((name, version))
        if path is None:
            sys.exit(f"pip download gave no wheel for {name}=={version} in {WHEEL_CACHE}")
        if not path.name.endswith("-none-any.whl"):
            sys.exit(f"{path.name} is not a pure-Python wheel: Pyodide's kernel cannot use it")
        wheels.append(path)
    return wheels


def build_widget_wheel() -> Path:
    """lite/widget/ (the webvoice_widget package) as a wheel, with the venv's flit_core."""
    shutil.rmtree(WIDGET_DIST, ignore_errors=True)
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(WIDGET_DIST), str(WIDGET_SRC)])
    (wheel,) = WIDGET_DIST.glob("webvoice_widget-*-py3-none-any.whl")
    return wheel


def wheel_metadata(path: Path):
    with zipfile.ZipFile(path) as zf:
        name = next(n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        return HeaderParser().parsestr(zf.read(name).decode())


def check_dependencies(wheels: list[Path], python_full: str) -> None:
    """Every Requires-Dist that applies in Pyodide is met by a wheel the kernel can reach."""
    from packaging.requirements import Requirement
    from packaging.version import Version

    environment = {
        "python_version": ".".join(python_full.split(".")[:2]), "python_full_version": python_full,
        "sys_platform": "emscripten", "platform_system": "Emscripten", "platform_machine": "wasm32",
        "os_name": "posix", "implementation_name": "cpython", "platform_python_implementation": "CPython",
        "extra": "",
    }
    available: dict[str, str] = {}
    for name, entry in json.loads(PYODIDE_LOCK.read_text())["packages"].items():
        available[canonical(name)] = entry["version"]
    for name, project in json.loads((KERNEL_EXTENSION / "static" / "pypi" / "all.json").read_text()).items():
        available.setdefault(canonical(name), max(project["releases"], key=Version))
    for wheel in wheels:
        name, version = wheel_name_version(wheel)
        available[name] = version
    problems = []
    for wheel in wheels:
        for spec in wheel_metadata(wheel).get_all("Requires-Dist") or []:
            req = Requirement(spec)
            if req.marker is not None and not req.marker.evaluate(environment):
                continue
            have = available.get(canonical(req.name))
            if have is None:
                problems.append(f"{wheel.name} needs {spec}: no wheel for it")
            elif not req.specifier.contains(have, prereleases=True):
                problems.append(f"{wheel.name} needs {spec}: the kernel would get {have}")
    if problems:
        sys.exit("the kernel's wheels do not fit together (lite/kernel-requirements.txt):\n  "
                 + "\n  ".join(problems))


# --- the site ----------------------------------------------------------------------------------


def jupyter_lite_build(out: Path, piplite_wheels: list[Path], front_end_wheels: list[Path]) -> None:
    cmd = [sys.executable, "-m", "jupyterlite_core", "build",
           "--lite-dir", str(LITE_SRC),
           "--output-dir", str(out),
           "--contents", str(LITE_SRC / "files"),
           # lite/jupyter_lite_config.json keeps the venv's labextensions out:
           # the site gets only those named here.
           "--LiteBuildConfig.federated_extensions", str(KERNEL_EXTENSION),
           "--LiteBuildConfig.cache_dir=" + str(LITE_CACHE)]
    for wheel in piplite_wheels:
        cmd += ["--piplite-wheels", str(wheel)]
    for wheel in front_end_wheels:
        cmd += ["--LiteBuildConfig.federated_extensions", str(wheel)]
    # doit keeps its task database in the working directory: keep it out of
    # lite/, and start it afresh, as the output directory is new (a stale one
    # would skip tasks whose outputs are gone).
    LITE_CACHE.mkdir(parents=True, exist_ok=True)
    for db in LITE_CACHE.glob(".jupyterlite.doit.db*"):
        db.unlink()
    run(cmd, cwd=LITE_CACHE)


def check_site(out: Path, piplite_wheels: list[Path]) -> None:
    config = json.loads((out / "jupyter-lite.json").read_text())["jupyter-config-data"]
    kernel = config.get("litePluginSettings", {}).get("@jupyterlite/pyodide-kernel-extension:kernel", {})
    if kernel.get("pyodideUrl") != PYODIDE_URL or not kernel.get("disablePyPIFallback"):
        sys.exit(f"build/lite/jupyter-lite.json: the kernel is not set to {PYODIDE_URL} offline: {kernel}")
    index = json.loads((out / "pypi" / "all.json").read_text())
    missing = [w.name for w in piplite_wheels if canonical(wheel_name_version(w)[0]) not in index]
    if missing:
        sys.exit(f"build/lite/pypi/all.json lacks {missing}")
    extensions = {ext["name"] for ext in config.get("federated_extensions", [])}
    wanted = {"@jupyterlite/pyodide-kernel-extension", "@jupyter-widgets/jupyterlab-manager", "anywidget"}
    if not wanted <= extensions:
        sys.exit(f"build/lite: labextensions {sorted(wanted - extensions)} are missing")
    if not (out / "files" / "webvoice-demo.ipynb").exists():
        sys.exit("build/lite/files/webvoice-demo.ipynb is missing")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    args = parser.parse_args(argv)
    t0 = time.monotonic()
    if not WHEEL_INDEX.exists() or not PYODIDE_LOCK.exists():
        sys.exit("build/web is not assembled: run tools/build_assets.py (make assets) first")
    webvoice_wheel = WEB / "wheels" / json.loads(WHEEL_INDEX.read_text())["wheel"]
    stamp = OUT / STAMP_NAME
    digest = inputs_hash(webvoice_wheel)
    if not args.force and stamp.exists() and stamp.read_text().strip() == digest:
        log(f"build/lite is up to date ({time.monotonic() - t0:.1f}s)")
        return 0
    for name in HOST_PACKAGES:
        try:
            host_version(name)
        except PackageNotFoundError:
            sys.exit(f"{name} is not installed in {sys.prefix}: run tools/install_deps.sh (make setup)")

    python_full = json.loads(PYODIDE_LOCK.read_text())["info"]["python"]
    pins = pinned()
    kernel_wheels = fetch_kernel_wheels(pins, ".".join(python_full.split(".")[:2]))
    widget_wheel = build_widget_wheel()
    piplite_wheels = [webvoice_wheel, widget_wheel, *kernel_wheels]
    check_dependencies(piplite_wheels, python_full)
    front_end = [w for w in kernel_wheels if wheel_name_version(w)[0] in FRONT_END_WHEELS]

    # Build beside the old site, then swap: build/lite is never half built.
    tmp = BUILD / "lite.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    jupyter_lite_build(tmp, piplite_wheels, front_end)
    check_site(tmp, piplite_wheels)
    (tmp / STAMP_NAME).write_text(digest + "\n")
    old = BUILD / "lite.old"
    shutil.rmtree(old, ignore_errors=True)
    if OUT.exists():
        OUT.rename(old)
    tmp.rename(OUT)
    shutil.rmtree(old, ignore_errors=True)
    log(f"built {OUT.relative_to(ROOT)} (JupyterLite {host_version('jupyterlite-core')}, Pyodide kernel "
        f"{host_version('jupyterlite-pyodide-kernel')}, {len(piplite_wheels)} wheels in its index) "
        f"in {time.monotonic() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
