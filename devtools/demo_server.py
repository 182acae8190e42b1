"""``python -m demo.serve`` run exactly as ``make demo`` runs it, for the tests.

It starts as a subprocess on free ports (its own Kamailio, its own HTTP
server); the URLs come from what it prints. On exit it is stopped with SIGTERM,
which must end it cleanly and take Kamailio with it: that is checked too.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_PATTERNS = {
    "base_url": r"Softphone:\s+(http://\S+)/",
    "ws_url": r"SIP server:\s+(ws://\S+)",
    "kamailio_pid": r"Kamailio pid (\d+)",
    "lite_url": r"JupyterLite:\s+(http://\S+/lite/)",
}


@dataclass
class Demo:
    base_url: str
    ws_url: str
    kamailio_pid: int
    lite_url: str | None
    process: subprocess.Popen
    output: list[str] = field(default_factory=list)

    def url(self, path: str = "/") -> str:
        return self.base_url + path


@contextlib.contextmanager
def running_demo(*, need_lite: bool = False, start_timeout: float = 30.0) -> Iterator[Demo]:
    """The demo server on free ports; raises RuntimeError (with its output) if it
    does not come up, and AssertionError if it does not stop cleanly."""
    process = subprocess.Popen(
        [sys.executable, "-m", "demo.serve", "--port", "0", "--ws-port", "0", "--sip-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO, start_new_session=True)
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    output: list[str] = []
    found: dict[str, str] = {}
    wanted = {"base_url", "ws_url", "kamailio_pid"} | ({"lite_url"} if need_lite else set())
    deadline = time.monotonic() + start_timeout
    while not wanted <= found.keys() and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            break
        output.append(line)
        for key, pattern in _PATTERNS.items():
            if m := re.search(pattern, line):
                found[key] = m.group(1)
    if not wanted <= found.keys():
        process.kill()
        raise RuntimeError("demo/serve.py did not start:\n" + "\n".join(output))
    demo = Demo(found["base_url"], found["ws_url"], int(found["kamailio_pid"]), found.get("lite_url"),
                process, output)
    try:
        yield demo
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        while (line := _next(lines)) is not None:
            output.append(line)
    assert process.returncode == 0, "\n".join(output)
    assert "stopped." in output, "\n".join(output)
    assert not _alive(demo.kamailio_pid), f"Kamailio (pid {demo.kamailio_pid}) outlived the demo server"


def _next(lines: queue.Queue):
    try:
        return lines.get(timeout=2)
    except queue.Empty:
        return None


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"
