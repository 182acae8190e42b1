"""What to say when a page's renderer process dies ("Target crashed").

A renderer crash ends a test with nothing but Playwright's "Target crashed",
and it has only been seen on machines we cannot look at afterwards (CI, or
this one under a bench's load).  So when a page crashes, the test's report
gets what can still be known at that moment: the machine's free memory and
load, Chromium's own last words (its stderr, which the e2e tier has
Playwright write to ``build/test-logs/chromium.log``: ``FATAL``, ``Check
failed``, a signal, "out of memory") and the kernel's (an OOM kill, a
segfault), so that the next one says why.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_LOG = REPO / "build" / "test-logs" / "chromium.log"

# Chromium's stderr carries dozens of harmless complaints (no D-Bus here, no
# cpufreq files); these are the lines that can explain a dead renderer.
_TELLING = re.compile(r"FATAL|Check failed|[Ss]ignal|[Oo]ut of memory|OOM|crash|Crash"
                      r"|exitCode=|SIGSEGV|SIGTRAP|SIGKILL|SIGABRT")
_KERNEL = re.compile(r"chrom|Out of memory|oom|Killed process", re.IGNORECASE)


def chromium_log_env() -> dict[str, str]:
    """Environment for the Playwright driver so that Chromium's stderr goes
    to ``CHROMIUM_LOG`` (its ``pw:browser`` channel), not to the terminal."""
    CHROMIUM_LOG.parent.mkdir(parents=True, exist_ok=True)
    return {"DEBUG": "pw:browser", "DEBUG_FILE": str(CHROMIUM_LOG)}


def _tail_matching(lines: list[str], pattern: re.Pattern[str], keep: int) -> list[str]:
    return [line.rstrip()[:300] for line in lines if pattern.search(line)][-keep:]


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError as exc:
        return f"({path}: {exc.strerror})"


def machine_state() -> str:
    """Free memory and load, read at the moment of a crash."""
    meminfo = dict(line.split(":", 1) for line in _read("/proc/meminfo").splitlines()
                   if ":" in line)
    return (f"MemAvailable {meminfo.get('MemAvailable', '?').strip()}, "
            f"load average {_read('/proc/loadavg').strip()}, pid {os.getpid()}")


def last_words() -> list[str]:
    """Chromium's and the kernel's telling lines, read when the report is
    written: Chromium's stderr reaches its file a little after the crash
    event does."""
    lines = []
    if CHROMIUM_LOG.exists():
        log = CHROMIUM_LOG.read_text(errors="replace").splitlines()
        lines += ["chromium stderr: " + line for line in _tail_matching(log, _TELLING, 15)]
    try:
        kernel = subprocess.run(["dmesg"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        kernel = f"(dmesg: {exc})"
    lines += ["kernel: " + line for line in _tail_matching(kernel.splitlines(), _KERNEL, 8)]
    return lines
