"""The table bench/run.py prints: each figure, JsSIP's next to it, the ratio,
the goal, and whether it is met (a missed goal says MISSED, plainly)."""

from __future__ import annotations


def _ms(v) -> str:
    return "-" if v is None else f"{v:,.0f} ms" if v >= 100 else f"{v:.1f} ms"


def _us(v) -> str:
    return "-" if v is None else f"{v:.1f} us"


def _kib(v) -> str:
    return "-" if v is None else f"{v:,.0f} KiB"


def _ratio(v) -> str:
    return "-" if v is None else f"{v:.2f}x"


def _verdict(met) -> str:
    return "" if met is None else "met" if met else "MISSED"


def _tasks(lt: dict) -> str:
    return f"{lt['count']} / {lt['longest_ms']:.0f} ms"


def rows(results: dict) -> list[tuple]:
    """(figure, webvoice, JsSIP, ratio, goal, verdict) rows; a row with one
    cell is a section heading."""
    out: list[tuple] = []
    f = results["figures"]
    jv = results["environment"]["jssip"]

    if "parse" in f:
        p = f["parse"]
        out.append((f"1. SIP parsing, best of {p['rounds']} x {p['number']} (Pyodide vs V8, same Chromium)",))
        for name, m in p["messages"].items():
            out.append((f"   {name} ({m['octets']} octets), per message", _us(m["webvoice_pyodide_us"]),
                        _us(m["jssip_us"]), _ratio(m["ratio"]), f"<= {p['goal_ratio_max']}x",
                        _verdict(m["goal_met"])))
        for name, m in p["messages"].items():
            out.append((f"   {name}: webvoice from a JS string (frame path)", _us(m["webvoice_frame_path_us"]),
                        "", "", "", "info"))
        for name, m in p["messages"].items():
            out.append((f"   {name}: webvoice on CPython {p['cpython_version']} (reference)",
                        _us(m["webvoice_cpython_us"]), "", "", "", "info"))

    if "call_setup" in f:
        c = f["call_setup"]
        w, j = c["webvoice"], c["jssip"]
        out.append((f"2. Call setup, call() to confirmed, median of {c['calls']} interleaved calls",))
        out.append(("   median", _ms(w["median_ms"]), _ms(j["median_ms"]), _ratio(c["ratio"]),
                    f"<= {c['goal_ratio_max']}x", _verdict(c["goal_met"])))
        out.append(("     call() to INVITE sent (microphone, offer, ICE)", _ms(w["median_to_invite_ms"]),
                    _ms(j["median_to_invite_ms"]), "", "", "info"))
        out.append(("     INVITE sent to confirmed (proxy, callee, 200, ACK)",
                    _ms(w["median_invite_to_confirmed_ms"]), _ms(j["median_invite_to_confirmed_ms"]), "", "",
                    "info"))
        out.append(("   min .. max", f"{w['min_ms']:.0f}..{w['max_ms']:.0f} ms",
                    f"{j['min_ms']:.0f}..{j['max_ms']:.0f} ms", "", "", "info"))

    if "startup" in f:
        s = f["startup"]
        w, j = s["webvoice"]["median"], s["jssip"]["median"]
        n = len(s["webvoice"]["runs"])
        goal = f"< {s['goal_share_ms_max']:.0f} ms"
        out.append((f"3. Start-up, median of {n} fresh pages (JsSIP: load + UA start + registered)",))
        out.append(("   webvoice's share: install+import+register", _ms(w["share_ms"]),
                    _ms(j["total_ms"]), _ratio(s["ratio_share_to_jssip"]), goal, _verdict(s["goal_met"])))
        out.append(("     install the wheel (webvoice/install.mjs) / load JsSIP", _ms(w["install_webvoice_ms"]),
                    _ms(j["load_ms"]), "", "", "info"))
        out.append(("     import webvoice", _ms(w["import_webvoice_ms"]), "", "", "", "info"))
        out.append(("     create + register / new UA + start + registered", _ms(w["register_ms"]),
                    _ms(j["register_ms"]), _ratio(w["register_ms"] / j["register_ms"]), "", "info"))
        out.append(("     then, in the background: call modules loaded", _ms(w["preload_calls_ms"]), "", "", "",
                    "info"))
        for key, label in (("webvoice_micropip", "share with micropip (loaded first, then install)"),
                           ("webvoice_loadpackage", "share with pyodide.loadPackage(wheel)")):
            if key in s:
                d = s[key]["median"]
                out.append((f"   {label}", _ms(d["share_ms"]), _ms(j["total_ms"]), _ratio(d["share_ms"] / j["total_ms"]),
                            "", "info"))
        out.append(("   Pyodide boot (loadPyodide), not webvoice's share", _ms(w["load_pyodide_ms"]), "",
                    "", "", "info"))

    if "long_tasks" in f:
        lt = f["long_tasks"]
        out.append(("4. Main-thread long tasks (> 50 ms): count / longest",))
        for key, label in (("registration", "during registration"), ("call_setup", "during call setup")):
            if key in lt:
                w, j = lt[key]["webvoice"], lt[key]["jssip"]
                out.append((f"   {label} ({lt[key]['windows']})", _tasks(w), _tasks(j), "",
                            "none > 50 ms", _verdict(w["count"] == 0)))
        if "install_import" in lt:
            out.append(("   webvoice install (install.mjs) + import (start-up runs)", _tasks(lt["install_import"]),
                        "", "", "none > 50 ms", _verdict(lt["install_import"]["count"] == 0)))
        if "install_import_other" in lt:
            out.append(("   the same through micropip / pyodide.loadPackage", _tasks(lt["install_import_other"]),
                        "", "", "", "info"))
        if "preload" in lt:
            out.append(("   call modules loaded after registration", _tasks(lt["preload"]), "", "",
                        "", "info"))

    if "lines" in f:
        ln = f["lines"]
        w, j = ln["webvoice"], ln["jssip"]
        out.append((f"5. {ln['lines']} simultaneous lines in one page, per line (caller's page)",))
        out.append(("   CPU to set a line up (TaskDuration)", _ms(w["cpu_setup_ms_per_line"]),
                    _ms(j["cpu_setup_ms_per_line"]), _ratio(ln["ratio_cpu_setup"]), "<= 1.0x",
                    _verdict(ln["ratio_cpu_setup"] <= 1.0)))
        out.append(("     of which script/Wasm (ScriptDuration)", _ms(w["script_setup_ms_per_line"]),
                    _ms(j["script_setup_ms_per_line"]), "", "", "info"))
        if "webvoice_worker" in ln:
            ww = ln["webvoice_worker"]
            out.append(("   webvoice in a Web Worker: the page's main thread", _ms(ww["cpu_setup_ms_per_line"]),
                        _ms(j["cpu_setup_ms_per_line"]), _ratio(ln["ratio_worker_main_cpu_setup"]), "", "info"))
            out.append(("     and the worker's thread (trace)", _ms(ww["traced_worker_ms_per_line"]), "", "",
                        "", "info"))
        out.append((f"   CPU with all lines up, per second ({ln['idle_s']:g} s)",
                    _ms(w["cpu_idle_ms_per_line_per_s"]), _ms(j["cpu_idle_ms_per_line_per_s"]),
                    _ratio(ln["ratio_cpu_idle"]), "", "info"))
        out.append(("   JS heap (usedJSHeapSize)", _kib(w["js_heap_kib_per_line"]),
                    _kib(j["js_heap_kib_per_line"]), "", "", "info"))
        out.append(("   Python heap (tracemalloc, Wasm memory)", _kib(w.get("python_heap_kib_per_line")), "",
                    "", "", "info"))
        out.append(("   memory in all", _kib(w["total_heap_kib_per_line"]), _kib(j["total_heap_kib_per_line"]),
                    _ratio(ln["ratio_heap"]), "", "info"))
    if "fast_start" in f:
        from bench.fast_start import rows as fast_start_rows

        out.extend(fast_start_rows(f["fast_start"]))
    header = ("figure", "webvoice", f"JsSIP {jv}", "ratio", "goal", "")
    return [header, *out]


def format_table(results: dict) -> str:
    table = rows(results)
    full = [r for r in table if len(r) > 1]
    widths = [max(len(str(r[i])) for r in full) for i in range(6)]
    lines = []
    for r in table:
        if len(r) == 1:
            lines.append(r[0])
            continue
        cells = [str(r[0]).ljust(widths[0])] + [str(c).rjust(widths[i + 1]) for i, c in enumerate(r[1:5])]
        lines.append("  ".join(cells) + "  " + str(r[5]))
        if r is table[0]:
            lines.append("-" * (sum(widths) + 12))
    env = results["environment"]
    lines.append("")
    lines.append(f"Chromium {env['chromium']}, Pyodide {env['pyodide']}, webvoice {env['webvoice']}, "
                 f"JsSIP {env['jssip']}; {env['cpus']} CPUs, load average {env['load_average_start']} at start, "
                 f"{env['load_average_end']} at the end.")
    return "\n".join(lines)
