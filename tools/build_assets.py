#!/usr/bin/env python3
"""Assemble build/web/: everything a browser needs to run webvoice, served locally.

Run with the project venv (``.venv/bin/python tools/build_assets.py``); ``make
assets`` does that.  There is no CDN and no network at run time, so every file
a page loads must be here:

build/web/pyodide/
    Pyodide's core files (from node_modules/pyodide), plus the pure-Python
    wheels we load into Pyodide (micropip and packaging for the SDK; pytest,
    tblib and their deps for pytest-pyodide), plus a copy of the webvoice
    wheel.  ``pyodide-lock.json`` is rewritten to describe exactly the files
    that are here: entries for wheels we did not ship are dropped (a clear
    "no known package" instead of a 404 from a missing file), and entries for
    the wheels we ship point at the PyPI bytes (name and sha256 differ from
    Pyodide's own build, and Pyodide checks the sha256).
build/web/wheels/webvoice-<version>-py3-none-any.whl and index.json
    For ``micropip.install(url)`` (PyScript, JupyterLite, our boot page);
    index.json names the current wheel so pages need not hard-code a version.
build/web/wheels/webvoice-<version>-py3-none-any.whl.gz
    The same files for webvoice/install.mjs, stored and gzip'ed as one stream
    (index.json's ``wheel_gz``): one inflate in the page, not one per file.
build/web/webvoice/agent.js
    The main-thread media agent that webvoice drives from a Web Worker (a
    PyScript worker, a JupyterLite kernel); the same file ships in the wheel.
build/web/webvoice/install.mjs
    ``installWheel(pyodide, url)``: the wheel installed from JavaScript, without
    micropip (the fast start-up path; see its header).
build/web/webvoice/boot.mjs
    ``bootWebvoice({indexURL, wheelURL, snapshotURL})``: Pyodide restored from
    the snapshot below when it is offered and fits, else the normal boot.
build/web/webvoice/preconnect.mjs
    ``preconnectSip(wsUrl)``: the WebSocket to the SIP server opened while
    Pyodide boots; webvoice's transport takes it when it first connects.
build/web/snapshot/webvoice.snapshot.gz and webvoice.snapshot.json
    A Pyodide memory snapshot taken in Node (tools/make_snapshot.mjs) after
    installing the wheel served here and importing every webvoice module, and
    its manifest: sha256, sizes, Pyodide version and build id, webvoice version
    and wheel. Rebuilt with the wheel on every run (it fits one Pyodide build
    and one webvoice wheel only). See README "Fast start".
build/web/pyscript/
    PyScript's browser bundle (``dist/`` of the npm package @pyscript/core):
    ``core.js`` and ``core.css`` for ``<script type="py">`` pages such as the
    demo softphone, which point PyScript at /pyodide/ (no CDN).

Downloads are cached under build/cache/ so a rebuild is quick and offline
once warm; the webvoice wheel is always rebuilt because its source changes.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import time
import zipfile
from email.parser import HeaderParser
from importlib.metadata import version as host_version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
PYODIDE_NPM = ROOT / "node_modules" / "pyodide"
PYSCRIPT_NPM = ROOT / "node_modules" / "@pyscript" / "core"
BUILD = ROOT / "build"
CACHE = BUILD / "cache" / "wheels"
DIST = BUILD / "dist"
WEB = BUILD / "web"

# Wheels loaded into Pyodide besides webvoice, by their canonical name.  Each
# is fetched at the version Pyodide's lock lists, except where overridden.
# Their dependencies are read from the wheels' metadata and must be listed
# here too (checked below), so nothing is loaded that we have not shipped.
PYODIDE_EXTRAS = [
    "micropip",  # installs webvoice from a URL (and anything users add)
    "packaging",  # micropip's one dependency
    # pytest-pyodide loads pytest (for assertion rewriting) and tblib (to
    # send tracebacks back to the host) into Pyodide with every test.
    "pytest",
    "pluggy",
    "iniconfig",
    "pygments",
    "tblib",
]
# pytest-pyodide rewrites the test's asserts with the *host* pytest and runs
# the result against the pytest inside Pyodide: keep the two the same.
VERSION_OVERRIDES = {"pytest": host_version("pytest")}


def log(msg: str) -> None:
    print(f"[build_assets] {msg}", flush=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(cmd: list[str]) -> None:
    """Run quietly; show the output only when the command fails."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if proc.returncode:
        sys.stdout.write(proc.stdout)
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}")


def precompile_for_pyodide(whl: Path) -> Path:
    """A copy of ``whl`` that also holds bytecode compiled by Pyodide's Python.

    Pyodide otherwise compiles every module on first import, in the page (about
    a quarter of a second for webvoice). The .pyc files are unchecked-hash, so
    they are used as they are; other Pythons ignore them (other cache tag).
    The wheel's RECORD is rewritten to list them. The distributable wheel in
    build/dist stays source only.
    """
    work = DIST / "pyodide-build"
    shutil.rmtree(work, ignore_errors=True)
    tree = work / "tree"
    with zipfile.ZipFile(whl) as zf:
        zf.extractall(tree)
    proc = subprocess.run(["node", str(ROOT / "tools" / "precompile.mjs"), str(PYODIDE_NPM), str(tree)],
                          capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"precompiling for Pyodide failed:\n{proc.stdout}{proc.stderr}")
    tag = proc.stdout.strip().splitlines()[-1]
    (record,) = tree.glob("*.dist-info/RECORD")
    rows = []
    for path in sorted(p for p in tree.rglob("*") if p.is_file() and p != record):
        data = path.read_bytes()
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{path.relative_to(tree).as_posix()},sha256={digest},{len(data)}")
    rows.append(f"{record.relative_to(tree).as_posix()},,")
    record.write_text("\n".join(rows) + "\n")
    out = work / whl.name
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            zf.write(path, path.relative_to(tree).as_posix())
    log(f"precompiled {sum(1 for _ in tree.rglob('*.pyc'))} modules for {tag}")
    return out


def gzip_stored_wheel(whl: Path, out_dir: Path) -> tuple[Path, str]:
    """``whl`` with its members stored (not compressed one by one), gzip'ed as
    a whole: ``<wheel>.gz`` in ``out_dir``, and the sha256 of the stored wheel
    inside.

    What webvoice/install.mjs installs fastest: one inflate of one stream in
    the page instead of one per member (a couple of hundred), and fewer bytes
    to download than the wheel (one stream compresses across files). Same
    members, same order, same dates; gzip without a time stamp, so the bytes
    depend only on the wheel.
    """
    stored = io.BytesIO()
    with zipfile.ZipFile(whl) as src, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            member.external_attr = info.external_attr
            dst.writestr(member, src.read(info), compress_type=zipfile.ZIP_STORED)
    data = stored.getvalue()
    out = out_dir / f"{whl.name}.gz"
    out.write_bytes(gzip.compress(data, 9, mtime=0))
    return out, hashlib.sha256(data).hexdigest()


def make_snapshot(pyodide_dir: Path, wheel: Path, out_dir: Path, wheel_sha256: str,
                  wheel_gz_sha256: str) -> dict:
    """The fast boot's memory snapshot of ``wheel`` in the Pyodide of ``pyodide_dir``
    (both as served), and its manifest beside it."""
    out_dir.mkdir()
    snapshot = out_dir / "webvoice.snapshot.gz"
    proc = subprocess.run(["node", str(ROOT / "tools" / "make_snapshot.mjs"),
                           str(pyodide_dir), str(wheel), str(snapshot)],
                          capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"making the Pyodide snapshot failed:\n{proc.stdout}{proc.stderr}")
    made = json.loads(proc.stdout.strip().splitlines()[-1])
    manifest = {
        "snapshot": snapshot.name,
        "sha256": sha256(snapshot),
        "bytes": made["bytes"],
        "format": made["format"],  # the heap without its long runs of zeros (webvoice/browser/boot.mjs)
        "heap_bytes": made["heapBytes"],
        "raw_bytes": made["rawBytes"],  # the file inflated
        "raw_sha256": made["rawSha256"],  # what a server that adds Content-Encoding: gzip delivers
        "encoding": "gzip",
        "pyodide": made["pyodide"],
        "build_id": made["buildId"],
        "webvoice": made["webvoice"],
        "wheel": wheel.name,
        "wheel_sha256": wheel_sha256,
        "wheel_gz_sha256": wheel_gz_sha256,  # the same files, from the wheel's .whl.gz
        "modules": made["modules"],
        "deferred_patterns": made["deferredPatterns"],  # compiled in the snapshot
        "site_packages": made["sitePackages"],  # where a page writes the wheel's files after a restore
    }
    (out_dir / "webvoice.snapshot.json").write_text(json.dumps(manifest, indent=1) + "\n")
    log(f"snapshot of {made['modules']} webvoice modules: a {made['heapBytes'] / 1e6:.1f} MB heap, "
        f"{made['rawBytes'] / 1e6:.1f} MB without its runs of zeros, {made['bytes'] / 1e6:.1f} MB gzip")
    return manifest


def build_webvoice_wheel() -> Path:
    """Build the pure-Python webvoice wheel from the work tree (no network)."""
    for old in DIST.glob("webvoice-*.whl"):
        old.unlink()
    # --no-isolation: use the venv's flit_core rather than downloading one.
    run([sys.executable, "-m", "build", "--wheel", "--no-isolation",
         "--outdir", str(DIST), str(ROOT)])
    (wheel,) = DIST.glob("webvoice-*-py3-none-any.whl")
    return wheel


def cached_wheel(name: str, version: str, python_version: str) -> Path:
    """Return the PyPI wheel for name==version, downloading it once into CACHE."""
    def find() -> Path | None:
        for whl in CACHE.glob("*.whl"):
            wname, wver, _, _ = parse_wheel_filename(whl.name)
            if wname == name and str(wver) == version:
                return whl
        return None

    CACHE.mkdir(parents=True, exist_ok=True)
    if found := find():
        return found
    log(f"downloading {name}=={version}")
    # --python-version: pick the wheel for Pyodide's Python, not the host's
    # (micropip 0.11 requires Python >= 3.13, the venv may be older).
    run([sys.executable, "-m", "pip", "download", "--no-deps",
         "--only-binary=:all:", "--disable-pip-version-check",
         "--python-version", python_version, "--dest", str(CACHE),
         f"{name}=={version}"])
    if found := find():
        return found
    sys.exit(f"pip download gave no wheel for {name}=={version} in {CACHE}")


def wheel_metadata(whl: Path):
    with zipfile.ZipFile(whl) as zf:
        meta = next(n for n in zf.namelist()
                    if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        names = zf.namelist()
        return HeaderParser().parsestr(zf.read(meta).decode()), names


def top_level_imports(names: list[str]) -> list[str]:
    """Importable top-level names of a wheel: what Pyodide's `imports` lists."""
    tops = set()
    for n in names:
        head, _, rest = n.partition("/")
        if head.endswith((".dist-info", ".data")):
            continue
        if rest == "__init__.py":
            tops.add(head)
        elif not rest and head.endswith(".py"):
            tops.add(head[:-3])
    return sorted(tops)


def pyodide_depends(meta, environment: dict[str, str]) -> list[str]:
    """Requires-Dist that apply inside Pyodide (markers evaluated for it)."""
    deps = []
    for spec in meta.get_all("Requires-Dist") or []:
        req = Requirement(spec)
        if req.marker is None or req.marker.evaluate({**environment, "extra": ""}):
            deps.append(canonicalize_name(req.name))
    return sorted(set(deps))


def lock_entry(whl: Path, template: dict, environment: dict[str, str]) -> dict:
    meta, names = wheel_metadata(whl)
    return {
        **template,
        "name": meta["Name"],
        "version": meta["Version"],
        "file_name": whl.name,
        "install_dir": "site",
        "sha256": sha256(whl),
        "package_type": "package",
        "imports": top_level_imports(names),
        "depends": pyodide_depends(meta, environment),
        "unvendored_tests": False,
    }


def main() -> int:
    t0 = time.monotonic()
    if not (PYODIDE_NPM / "pyodide.mjs").exists():
        sys.exit("node_modules/pyodide is missing: run tools/install_deps.sh first")
    if not (PYSCRIPT_NPM / "dist" / "core.js").exists():
        sys.exit("node_modules/@pyscript/core is missing: run tools/install_deps.sh first")
    if not (ROOT / "README.md").exists():
        # flit_core refuses to build without the readme pyproject names.
        sys.exit("README.md is missing: pyproject.toml names it as the readme")

    webvoice_whl = precompile_for_pyodide(build_webvoice_wheel())
    log(f"built {webvoice_whl.name}")

    lock = json.loads((PYODIDE_NPM / "pyodide-lock.json").read_text())
    py = lock["info"]["python"]  # e.g. "3.14.2"
    environment = {  # PEP 508 marker values inside Pyodide
        "python_version": ".".join(py.split(".")[:2]),
        "python_full_version": py,
        "sys_platform": "emscripten",
        "platform_system": "Emscripten",
        "platform_machine": "wasm32",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }

    # Assemble into a fresh directory, then swap, so build/web is never half
    # old and half new (and files removed upstream do not linger).
    tmp = BUILD / "web.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    pyo, wheels = tmp / "pyodide", tmp / "wheels"
    pyo.mkdir(parents=True)
    wheels.mkdir()
    for f in PYODIDE_NPM.iterdir():
        if f.is_file() and f.name not in ("package.json", "README.md"):
            shutil.copy2(f, pyo / f.name)

    packages: dict[str, dict] = {}
    for name in PYODIDE_EXTRAS:
        upstream = lock["packages"][name]
        version = VERSION_OVERRIDES.get(name, upstream["version"])
        whl = cached_wheel(name, version, environment["python_version"])
        shutil.copy2(whl, pyo / whl.name)
        packages[name] = lock_entry(whl, upstream, environment)
    # Pyodide's core (python_stdlib.zip) needs no lock entry to boot; every
    # entry left must name a file that is really here.
    for name, entry in packages.items():
        missing = [d for d in entry["depends"] if d not in packages]
        if missing:
            sys.exit(f"{name} depends on {missing}: add them to PYODIDE_EXTRAS")

    shutil.copy2(webvoice_whl, pyo / webvoice_whl.name)
    shutil.copy2(webvoice_whl, wheels / webvoice_whl.name)
    wheel_gz, wheel_gz_sha256 = gzip_stored_wheel(webvoice_whl, wheels)
    template = {"tool": {}}
    packages["webvoice"] = lock_entry(webvoice_whl, template, environment)
    if packages["webvoice"]["depends"]:
        sys.exit("webvoice gained dependencies: ship them in build/web/pyodide too")

    lock["packages"] = dict(sorted(packages.items()))
    (pyo / "pyodide-lock.json").write_text(json.dumps(lock, indent=1) + "\n")

    _, wv_version, _, _ = parse_wheel_filename(webvoice_whl.name)
    index = {
        "name": "webvoice",
        "version": str(wv_version),
        "wheel": webvoice_whl.name,
        "sha256": packages["webvoice"]["sha256"],
        # For webvoice/install.mjs: the same files, one gzip stream (see gzip_stored_wheel).
        "wheel_gz": wheel_gz.name,
        "wheel_gz_sha256": wheel_gz_sha256,
    }
    (wheels / "index.json").write_text(json.dumps(index, indent=1) + "\n")

    shutil.copytree(PYSCRIPT_NPM / "dist", tmp / "pyscript")
    # The media agent for Python in a Web Worker: a page loads it on its main
    # thread (<script type="module" src="/webvoice/agent.js?start">).
    (tmp / "webvoice").mkdir()
    shutil.copy2(ROOT / "webvoice" / "browser" / "agent.js", tmp / "webvoice" / "agent.js")
    # The installer a page uses instead of micropip (installWheel(pyodide, url)).
    shutil.copy2(ROOT / "webvoice" / "browser" / "install.mjs", tmp / "webvoice" / "install.mjs")
    # The boot helper (snapshot or normal boot) and its snapshot, made from the
    # files just assembled: the Pyodide and the wheel pages will load.
    shutil.copy2(ROOT / "webvoice" / "browser" / "boot.mjs", tmp / "webvoice" / "boot.mjs")
    shutil.copy2(ROOT / "webvoice" / "browser" / "preconnect.mjs", tmp / "webvoice" / "preconnect.mjs")
    make_snapshot(pyo, wheels / webvoice_whl.name, tmp / "snapshot", index["sha256"], wheel_gz_sha256)
    pyscript_version = json.loads((PYSCRIPT_NPM / "package.json").read_text())["version"]

    shutil.rmtree(WEB, ignore_errors=True)
    tmp.rename(WEB)
    log(f"assembled {WEB.relative_to(ROOT)} with Pyodide "
        f"{json.loads((PYODIDE_NPM / 'package.json').read_text())['version']} "
        f"and {len(packages)} packages, PyScript {pyscript_version}, "
        f"in {time.monotonic() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
