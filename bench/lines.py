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
"""

from __future__ import annotations

import time

from bench.common import USERS, log, pycall


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


def run(env, pages: dict, *, lines: int, idle_s: float) -> dict:
    out = {"lines": lines, "idle_s": idle_s}
    for stack in ("webvoice", "jssip"):
        log(f"{lines} lines, {stack}")
        out[stack] = _stack(env, *pages[stack], lines=lines, idle_s=idle_s)
    w, j = out["webvoice"], out["jssip"]
    out["ratio_cpu_setup"] = w["cpu_setup_ms_per_line"] / j["cpu_setup_ms_per_line"]
    out["ratio_cpu_idle"] = (w["cpu_idle_ms_per_line_per_s"] / j["cpu_idle_ms_per_line_per_s"]
                             if j["cpu_idle_ms_per_line_per_s"] else None)
    out["ratio_heap"] = (w["total_heap_kib_per_line"] / j["total_heap_kib_per_line"]
                         if j["total_heap_kib_per_line"] > 0 else None)
    return out
