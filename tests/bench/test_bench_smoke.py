"""The benchmark command runs end to end: ``python -m bench.run --quick``.

Tiny iteration counts, one call, two lines: the figures it produces mean
nothing and are not judged here (never a timed assertion). What is checked is
that every figure is there, for both stacks, as numbers, that no part failed,
and that the table names each figure.
"""

from __future__ import annotations

import json
import numbers
import os
import subprocess
import sys

import pytest

from devtools.kamailio_server import require_kamailio
from devtools.web import BUILD_WEB, REPO


def _number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _keys(obj: dict, path: str, *keys: str) -> None:
    for key in keys:
        assert key in obj, f"{path} has no {key!r}: {sorted(obj)}"


def test_bench_quick_run_produces_every_figure(tmp_path):
    require_kamailio()
    if not (BUILD_WEB / "wheels" / "index.json").exists():
        pytest.fail(f"{BUILD_WEB} is not assembled: run `make assets` first")
    out = tmp_path / "results.json"
    # Each step of the quick run is bounded well inside this test's own bound, so
    # a step that hangs ends the run with the bench's watchdog report (the step,
    # what it waited for, the stacks) instead of this test's time-out.
    env = {**os.environ, "BENCH_STEP_BOUND_S": "180"}
    try:
        proc = subprocess.run([sys.executable, "-m", "bench.run", "--quick", "--json", str(out)],
                              cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    except subprocess.TimeoutExpired as exc:
        tail = (exc.stderr or b"").decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        pytest.fail(f"python -m bench.run --quick ran over 600 s; the end of its output:\n{tail[-4000:]}")
    assert proc.returncode == 0, f"python -m bench.run failed:\n{proc.stdout}\n{proc.stderr[-8000:]}"
    results = json.loads(out.read_text())
    assert results["errors"] == {}

    env = results["environment"]
    _keys(env, "environment", "chromium", "pyodide", "webvoice", "jssip", "cpus")
    assert env["jssip"].startswith("3.13.")

    figures = results["figures"]
    _keys(figures, "figures", "parse", "call_setup", "startup", "long_tasks", "lines", "fast_start")

    parse = figures["parse"]["messages"]
    _keys(parse, "parse", "INVITE", "200 OK")
    for name, m in parse.items():
        for key in ("webvoice_pyodide_us", "jssip_us", "ratio", "webvoice_frame_path_us", "webvoice_cpython_us"):
            assert _number(m[key]) and m[key] > 0, (name, key, m.get(key))
        assert isinstance(m["goal_met"], bool)

    calls = figures["call_setup"]
    for stack in ("webvoice", "jssip"):
        assert _number(calls[stack]["median_ms"]) and calls[stack]["median_ms"] > 0
        _keys(calls[stack]["long_tasks"], f"call_setup.{stack}.long_tasks", "count", "longest_ms")
    assert _number(calls["ratio"]) and isinstance(calls["goal_met"], bool)

    startup = figures["startup"]
    for key in ("load_pyodide_ms", "load_micropip_ms", "install_webvoice_ms", "import_webvoice_ms",
                "register_ms", "share_ms", "preload_calls_ms"):
        for variant in ("webvoice", "webvoice_micropip", "webvoice_loadpackage"):
            assert _number(startup[variant]["median"][key]), (variant, key)
    assert startup["webvoice_micropip"]["median"]["load_micropip_ms"] > 0
    for key in ("load_ms", "register_ms", "total_ms"):
        assert _number(startup["jssip"]["median"][key]), key
    assert isinstance(startup["goal_met"], bool)

    long_tasks = figures["long_tasks"]
    for phase in ("registration", "call_setup"):
        for stack in ("webvoice", "jssip"):
            _keys(long_tasks[phase][stack], f"long_tasks.{phase}.{stack}", "count", "longest_ms")
    for phase in ("install_import", "install_import_other", "preload"):
        _keys(long_tasks[phase], f"long_tasks.{phase}", "count", "longest_ms")

    lines = figures["lines"]
    for stack in ("webvoice", "jssip"):
        for key in ("cpu_setup_ms_per_line", "script_setup_ms_per_line", "cpu_idle_ms_per_line_per_s",
                    "js_heap_kib_per_line", "total_heap_kib_per_line"):
            assert _number(lines[stack][key]), (stack, key)
    assert _number(lines["webvoice"]["python_heap_kib_per_line"])
    # The same lines placed by webvoice in a Web Worker: the page's thread and the worker's.
    in_worker = lines["webvoice_worker"]
    for key in ("cpu_setup_ms_per_line", "cpu_idle_ms_per_line_per_s", "traced_main_ms_per_line"):
        assert _number(in_worker[key]), key
    assert _number(in_worker["traced_worker_ms_per_line"]) and in_worker["traced_worker_ms_per_line"] > 0
    assert _number(lines["ratio_worker_main_cpu_setup"])

    worker = figures["worker_calls"]  # figure 6 (bench/worker_calls.py)
    for mode in ("direct", "worker"):
        assert _number(worker[mode]["median_ms"]) and worker[mode]["median_ms"] > 0, mode
    assert worker["worker"]["messages_sent"] > 0 and worker["worker"]["messages_received"] > 0
    assert _number(worker["ratio"]) and isinstance(worker["goal_met"], bool)

    fast_start = figures["fast_start"]  # figure 7 (bench/fast_start.py)
    for boot in ("normal", "snapshot"):
        for visit in ("first", "return"):
            for key in ("registered_ms", "booted_ms", "bytes"):
                assert _number(fast_start[boot][visit][key]), (boot, visit, key)
            assert all(r["path"] == boot for r in fast_start[boot][visit]["runs"])
    # Over a slow link (devtools/delay_proxy.py), the SIP server's socket opened ahead or not.
    slow = fast_start["slow_link"]
    assert slow["round_trip_ms"] == 50
    for variant in ("ahead", "not ahead"):
        for visit in ("first", "return"):
            for key in ("registered_ms", "register_ms"):
                assert _number(slow[variant][visit][key]), (variant, visit, key)
    # The return visit comes from the HTTP cache of the profile the first one filled.
    assert fast_start["snapshot"]["return"]["bytes"] < fast_start["snapshot"]["first"]["bytes"]
    # The floor: Pyodide alone, restored from a snapshot of its own (bench/pyodide_floor.mjs).
    for visit in ("first", "return"):
        floor = fast_start["floor"][visit]
        for key in ("floor_ms", "page_start_ms", "load_pyodide_ms", "loaded_ms"):
            assert _number(floor[key]) and floor[key] > 0, (visit, key)
        assert floor["floor_ms"] <= floor["loaded_ms"], floor
        assert all(r["path"] == "floor" and r["answer"] == 42 for r in floor["runs"])
    assert fast_start["floor"]["return"]["bytes"] < fast_start["floor"]["first"]["bytes"]

    for heading in ("1. SIP parsing", "2. Call setup", "3. Start-up", "4. Main-thread long tasks",
                    "5. 2 simultaneous lines", "webvoice in a Web Worker: the page's main thread",
                    "7. Navigation to registered", "the floor: Pyodide alone"):
        assert heading in proc.stdout, f"the table has no {heading!r}:\n{proc.stdout}"
