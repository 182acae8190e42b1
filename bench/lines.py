"""Figure 5: eight simultaneous lines in one page, CPU time and memory per line.

The caller's page (the one measured) places ``lines`` calls to the callee's
page, one after the other, each kept up: as in the Web Voice SDK, a new line
puts the active one on hold first, on both ends (webvoice does it itself; the
JsSIP pages do it with ``session.hold()`` before ``call()``/``answer()``), so
both stacks exchange the same SIP.

* CPU: Chrome DevTools Protocol ``Performance.getMetrics`` of the caller's
  page (``timeDomain: threadTicks``, so thread CPU time): ``TaskDuration``
  (everything the main thread ran) and ``ScriptDuration`` (JavaScript and
  WebAssembly, i.e. Pyodide), over setting the lines up, and over
  ``idle_s`` seconds with all of them up.
* Memory: ``performance.memory.usedJSHeapSize`` after a garbage collection
  (Python's ``gc.collect()`` then the DevTools ``HeapProfiler.collectGarbage``)
  before and with the lines up. Python's own heap lives in Pyodide's
  WebAssembly memory, which the JS heap does not count: it is measured with
  ``tracemalloc`` in a second, separate pass (so that tracing does not slow
  the CPU pass down), and webvoice's total is both.

And the same eight lines placed by webvoice in a Web Worker (the bridged
media backend: bench/pages/worker.html, whose main thread runs only the media
agent, agent.js), to the same callee: the page's main-thread CPU as above
(``TaskDuration``), and the worker thread's, which ``Performance.getMetrics``
does not see: the thread time of its tasks in a Chromium trace taken over the
same window (category ``toplevel`` only, so the trace costs little). The
worker moves Python off the page's thread; it does not make it cheaper (its
messages to the page add work), so the figure shows both threads.
"""

from __future__ import annotations

import collections
import json
import time

from bench.common import TRACE_TASKS, USERS, log, pycall
from bench.worker_calls import in_worker

WORKER_USER = "grace"  # the worker page's account (figure 6 uses it later, with pages of its own)


def _metrics(cdp) -> dict:
    return {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}


def _js_heap(sp, cdp) -> int:
    if sp.stack == "webvoice":
        pycall(sp.page, "collect()")
    cdp.send("HeapProfiler.collectGarbage")
    return sp.page.evaluate("performance.memory.usedJSHeapSize")


def _set_hold_on_new_line(pages, on: bool) -> None:
    for sp in pages:
        if sp.stack == "jssip":
            sp.page.evaluate(f"window.benchState.holdOnNewLine = {'true' if on else 'false'}")


def _place_lines(env, caller, callee, user: str, lines: int) -> list[float]:
    setup_ms = []
    for _ in range(lines):
        r = env.call(caller, user, timeout=60)
        setup_ms.append(r["t1"] - r["t0"])
    up = (env.live_calls(caller), env.live_calls(callee))
    if up != (lines, lines):
        raise RuntimeError(f"{caller.stack}: expected {lines} lines up on both ends, found {up}")
    return setup_ms


def _stack(env, caller, callee, *, lines: int, idle_s: float) -> dict:
    user = USERS[caller.stack]["callee"]
    cdp = caller.context.new_cdp_session(caller.page)
    try:
        cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
        time_domain = "threadTicks"
    except Exception:  # noqa: BLE001 - not on every platform: wall time then
        cdp.send("Performance.enable")
        time_domain = "timeTicks"
    _set_hold_on_new_line((caller, callee), True)
    try:
        log(f"{lines} lines, {caller.stack}: placing them")
        heap0 = _js_heap(caller, cdp)
        m0 = _metrics(cdp)
        setup_ms = _place_lines(env, caller, callee, user, lines)
        m1 = _metrics(cdp)
        time.sleep(idle_s)
        m2 = _metrics(cdp)
        heap1 = _js_heap(caller, cdp)
        log(f"{lines} lines, {caller.stack}: hanging up")
        env.hang_up(caller)
        env.wait_idle(caller, callee, timeout=60)

        out = {
            "time_domain": time_domain,
            "line_setup_ms": setup_ms,
            "cpu_setup_ms_per_line": (m1["TaskDuration"] - m0["TaskDuration"]) * 1000 / lines,
            "script_setup_ms_per_line": (m1["ScriptDuration"] - m0["ScriptDuration"]) * 1000 / lines,
            "cpu_idle_ms_per_line_per_s": (m2["TaskDuration"] - m1["TaskDuration"]) * 1000 / lines / idle_s,
            "js_heap_before": heap0,
            "js_heap_with_lines": heap1,
            "js_heap_kib_per_line": (heap1 - heap0) / 1024 / lines,
        }
        if caller.stack == "webvoice":
            log(f"{lines} lines, {caller.stack}: placing them again, Python heap traced")
            before = pycall(caller.page, "python_heap_start()")
            _place_lines(env, caller, callee, user, lines)
            after = pycall(caller.page, "python_heap_now()")
            log(f"{lines} lines, {caller.stack}: hanging up (Python heap traced)")
            env.hang_up(caller)
            env.wait_idle(caller, callee, timeout=60)
            pycall(caller.page, "python_heap_stop()")
            out["python_heap_kib_per_line"] = (after - before) / 1024 / lines
            out["total_heap_kib_per_line"] = out["js_heap_kib_per_line"] + out["python_heap_kib_per_line"]
        else:
            out["total_heap_kib_per_line"] = out["js_heap_kib_per_line"]
        return out
    finally:
        _set_hold_on_new_line((caller, callee), False)
        cdp.detach()


def _thread_ms(trace: bytes) -> dict[str, float]:
    """Thread time (ms) of the tasks of the busiest Web Worker's renderer in a trace:
    its worker thread ("worker") and its main thread ("main")."""
    data = json.loads(trace)
    events = data["traceEvents"] if isinstance(data, dict) else data
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    busy: collections.Counter = collections.Counter()
    for e in events:
        if e.get("ph") == "X" and e.get("name") in TRACE_TASKS:
            busy[(e["pid"], e["tid"])] += e.get("tdur", 0) / 1000
    workers = [(ms, key) for key, ms in busy.items() if names.get(key) == "DedicatedWorker thread"]
    if not workers:
        raise RuntimeError("the trace has no task of a worker thread")
    ms, (pid, tid) = max(workers)
    main = sum(v for (p, t), v in busy.items() if p == pid and names.get((p, t)) == "CrRendererMain")
    return {"worker": ms, "main": main}


def _worker_stack(env, worker, callee, *, lines: int, idle_s: float) -> dict:
    """Eight lines placed by webvoice in ``worker`` (bench/worker_calls.py's page) to ``callee``."""
    target = f"sip:{USERS['webvoice']['callee']}@{env.kamailio.domain}"
    place = f"import json\njson.dumps(await call({target!r}, 60))"
    in_worker(worker.page, place, timeout=70)  # a first call: the worker's call modules, the agent's first use
    in_worker(worker.page, "hang_up()\njson.dumps(None)")
    env.wait_idle(callee, timeout=30)
    cdp = worker.context.new_cdp_session(worker.page)
    try:
        cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
        log(f"{lines} lines, webvoice in a worker: placing them")
        env.browser.start_tracing(page=worker.page, categories=["toplevel"])
        try:
            m0 = _metrics(cdp)
            setup_ms = []
            for _ in range(lines):
                r = in_worker(worker.page, place, timeout=70)
                setup_ms.append(r["t1"] - r["t0"])
            m1 = _metrics(cdp)
        finally:
            threads = _thread_ms(env.browser.stop_tracing())
        time.sleep(idle_s)
        m2 = _metrics(cdp)
        up = (in_worker(worker.page, "import json\njson.dumps(live_calls())"), env.live_calls(callee))
        if up != (lines, lines):
            raise RuntimeError(f"webvoice in a worker: expected {lines} lines up on both ends, found {up}")
        log(f"{lines} lines, webvoice in a worker: hanging up")
        in_worker(worker.page, "hang_up()\njson.dumps(None)")
        env.wait_idle(callee, timeout=60)
        deadline = time.monotonic() + 30
        while in_worker(worker.page, "import json\njson.dumps(live_calls())"):
            if time.monotonic() > deadline:
                raise RuntimeError("webvoice in a worker: lines still up 30 s after hanging up")
            time.sleep(0.1)
    finally:
        cdp.detach()
    return {
        "line_setup_ms": setup_ms,
        "cpu_setup_ms_per_line": (m1["TaskDuration"] - m0["TaskDuration"]) * 1000 / lines,
        "script_setup_ms_per_line": (m1["ScriptDuration"] - m0["ScriptDuration"]) * 1000 / lines,
        "cpu_idle_ms_per_line_per_s": (m2["TaskDuration"] - m1["TaskDuration"]) * 1000 / lines / idle_s,
        "traced_main_ms_per_line": threads["main"] / lines,
        "traced_worker_ms_per_line": threads["worker"] / lines,
    }


def run(env, pages: dict, *, lines: int, idle_s: float, worker=None) -> dict:
    """``worker``: a page of bench/worker_calls.py with webvoice registered in its
    worker as ``WORKER_USER``, or None to leave that part out."""
    out = {"lines": lines, "idle_s": idle_s}
    for stack in ("webvoice", "jssip"):
        log(f"{lines} lines, {stack}")
        out[stack] = _stack(env, *pages[stack], lines=lines, idle_s=idle_s)
    if worker is not None:
        w = out["webvoice_worker"] = _worker_stack(env, worker, pages["webvoice"][1], lines=lines, idle_s=idle_s)
        out["ratio_worker_main_cpu_setup"] = w["cpu_setup_ms_per_line"] / out["jssip"]["cpu_setup_ms_per_line"]
    w, j = out["webvoice"], out["jssip"]
    out["ratio_cpu_setup"] = w["cpu_setup_ms_per_line"] / j["cpu_setup_ms_per_line"]
    out["ratio_cpu_idle"] = (w["cpu_idle_ms_per_line_per_s"] / j["cpu_idle_ms_per_line_per_s"]
                             if j["cpu_idle_ms_per_line_per_s"] else None)
    out["ratio_heap"] = (w["total_heap_kib_per_line"] / j["total_heap_kib_per_line"]
                         if j["total_heap_kib_per_line"] > 0 else None)
    return out
