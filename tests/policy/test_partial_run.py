"""The suite's own rules: a full run fails on any skip; only WEBVOICE_ALLOW_SKIP=1 allows one.

Each test runs a throwaway pytest session in a subprocess, with this
repository's tests/conftest.py, so the rule is checked as ``make test`` meets it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.kamailio import server as kamailio_server

ROOT = Path(__file__).resolve().parents[2]


def _run_scratch_test(tmp_path: Path, body: str, *, allow_skip: bool) -> subprocess.CompletedProcess:
    scratch = ROOT / "tests" / f"_scratch_{os.getpid()}_{tmp_path.name}"
    scratch.mkdir()
    try:
        (scratch / "__init__.py").write_text("")
        (scratch / "test_scratch.py").write_text(body)
        env = {k: v for k, v in os.environ.items() if k != "WEBVOICE_ALLOW_SKIP"}
        if allow_skip:
            env["WEBVOICE_ALLOW_SKIP"] = "1"
        return subprocess.run(
            [sys.executable, "-m", "pytest", str(scratch), "-q", "-p", "no:cacheprovider",
             "-p", "no:pytest_pyodide", "-p", "no:pytest_pyodide_hook"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    finally:
        for f in sorted(scratch.rglob("*"), reverse=True):
            f.unlink() if f.is_file() else f.rmdir()
        scratch.rmdir()


SKIPPING = """
import pytest

def test_runs():
    assert True

def test_skips():
    pytest.skip("nothing here")

@pytest.mark.xfail(reason="known")
def test_xfails():
    assert False
"""


def test_a_skip_fails_a_full_run(tmp_path):
    result = _run_scratch_test(tmp_path, SKIPPING, allow_skip=False)
    assert result.returncode == 1, result.stdout
    assert "2 test(s) did not run: a full run may not skip" in result.stdout
    assert "test_skips: Skipped: nothing here" in result.stdout
    assert "xfail " in result.stdout and "test_xfails" in result.stdout


def test_a_partial_run_asked_for_may_skip(tmp_path):
    result = _run_scratch_test(tmp_path, SKIPPING, allow_skip=True)
    assert result.returncode == 0, result.stdout
    assert "1 passed, 1 skipped, 1 xfailed" in result.stdout


MISSING_KAMAILIO = """
from devtools.kamailio import server
from devtools import kamailio_server

def test_needs_kamailio(monkeypatch):
    monkeypatch.setattr(kamailio_server, "missing_requirements",
                        lambda: ["kamailio (apt-get install -y kamailio)"])
    kamailio_server.require_kamailio()
"""


@pytest.mark.parametrize("allow_skip, code, words", [
    (False, 1, "1 failed"),
    (True, 0, "1 skipped"),
])
def test_without_kamailio_a_run_fails_naming_it(tmp_path, allow_skip, code, words):
    result = _run_scratch_test(tmp_path, MISSING_KAMAILIO, allow_skip=allow_skip)
    assert result.returncode == code, result.stdout
    assert words in result.stdout
    assert "Kamailio is needed and not usable here: kamailio (apt-get" in result.stdout


def test_websocket_module_found_by_asking_the_install():
    dirs = kamailio_server.module_dirs()
    assert any(Path(d, "websocket.so").exists() for d in dirs), dirs
    assert kamailio_server.missing_requirements() == []


def test_websocket_module_missing_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(kamailio_server, "module_dirs", lambda: [str(tmp_path)])
    (missing,) = kamailio_server.missing_requirements()
    assert "websocket.so not in " + str(tmp_path) in missing


HANGING = """
import threading
from devtools.watchdog import waiting_for

def test_hangs():
    with waiting_for("a reply that never comes"):
        threading.Event().wait()
"""


def test_a_hanging_test_is_ended_saying_what_it_waited_for(tmp_path, monkeypatch):
    monkeypatch.setenv("WEBVOICE_TEST_BOUND_S", "3")
    result = _run_scratch_test(tmp_path, HANGING, allow_skip=False)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "WATCHDOG: 'test tests/_scratch" in result.stderr
    assert "  - a reply that never comes" in result.stderr
    assert "in test_hangs" in result.stderr  # the stack of the stuck thread
