"""webvoice against JsSIP 3.13, side by side, in one run on this machine.

    python -m bench.run [--quick] [--only parse,calls,startup,lines] [--json PATH]

(``make bench`` runs it after ``make setup``.) One Chromium, one Kamailio on
loopback, one static server; JsSIP bundled with esbuild into
build/bench/jssip.js when missing or stale. Seven figures:

1. SIP parsing, us per message (bench/browser_parse.py)
2. call setup, call() to confirmed (bench/call_setup.py)
3. start-up: Pyodide's boot apart, webvoice's share; JsSIP's load + register
   (bench/startup.py)
4. main-thread long tasks during registration and call setup
5. eight simultaneous lines: CPU and memory per line (bench/lines.py)
6. call setup, webvoice in a Web Worker vs on the main thread
   (bench/worker_calls.py)
7. navigation to registered, normal boot vs snapshot boot, first and return
   visit (bench/fast_start.py)

Prints a table (figure, webvoice, JsSIP, ratio, goal, met/MISSED) and writes
every number, samples included, to build/bench/results.json. Progress goes
to stderr. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
import traceback
from pathlib import Path

from bench import browser_parse, call_setup, fast_start, lines, startup, worker_calls
from bench.common import REPO, USERS, Env, log, start_watchdog, stop_watchdog
from bench.jssip_bundle import BUNDLE, ensure_bundle, jssip_version
from bench.report import format_table

FIGURES = ("parse", "calls", "startup", "lines", "worker", "faststart")
DEFAULT_JSON = REPO / "build" / "bench" / "results.json"


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(FIGURES),
                    help=f"comma-separated figures to run, of {', '.join(FIGURES)} (default: all; "
                         "long tasks come with startup and calls)")
    ap.add_argument("--parse-rounds", type=int, default=7)
    ap.add_argument("--parse-number", type=int, default=1000, help="parses per round")
    ap.add_argument("--parse-warmup", type=int, default=2000, help="parses before timing")
    ap.add_argument("--calls", type=int, default=9, help="calls per stack, interleaved (at least 7 for the figure)")
    ap.add_argument("--startup-runs", type=int, default=5, help="fresh pages per start-up variant")
    ap.add_argument("--lines", type=int, default=8)
    ap.add_argument("--idle", type=float, default=5.0, help="seconds with all lines up, for idle CPU")
    ap.add_argument("--quick", action="store_true",
                    help="tiny counts, to check that everything runs (the figures mean little)")
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = ap.parse_args(argv)
    if args.quick:
        args.parse_rounds, args.parse_number, args.parse_warmup = 2, 20, 20
        args.calls, args.startup_runs, args.lines, args.idle = 1, 1, 2, 0.5
    args.only = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = set(args.only) - set(FIGURES)
    if unknown:
        ap.error(f"unknown figure(s): {', '.join(sorted(unknown))}")
    return args


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _aggregate_long_tasks(results: dict, registrations: dict) -> dict:
    """Figure 4 from the windows the other figures recorded."""
    out = {}
    f = results["figures"]
    regs = {"webvoice": list(registrations.get("webvoice", [])), "jssip": list(registrations.get("jssip", []))}
    if "startup" in f:
        variants = ("webvoice", "webvoice_micropip", "webvoice_loadpackage")
        for variant in variants:
            regs["webvoice"] += [r["long_tasks_registration"] for r in f["startup"][variant]["runs"]]
        regs["jssip"] += [r["long_tasks_registration"] for r in f["startup"]["jssip"]["runs"]]
        # webvoice's installer, the way README tells pages; micropip and
        # loadPackage import Python's zip and metadata modules (long tasks of
        # their own), reported apart.
        out["install_import"] = _merge([r["long_tasks_install_import"] for r in f["startup"]["webvoice"]["runs"]])
        out["install_import_other"] = _merge([r["long_tasks_install_import"] for v in variants[1:]
                                              for r in f["startup"][v]["runs"]])
        out["preload"] = _merge([r["long_tasks_preload"] for v in variants for r in f["startup"][v]["runs"]])
    if regs["webvoice"] and regs["jssip"]:
        out["registration"] = {"windows": f"{len(regs['webvoice'])} + {len(regs['jssip'])} registrations",
                               "webvoice": _merge(regs["webvoice"]), "jssip": _merge(regs["jssip"])}
    if "call_setup" in f:
        c = f["call_setup"]
        out["call_setup"] = {"windows": f"{c['calls']} calls each, both ends",
                             "webvoice": c["webvoice"]["long_tasks"], "jssip": c["jssip"]["long_tasks"]}
    return out


def _merge(windows: list[dict]) -> dict:
    tasks = [t for w in windows for t in w["tasks"]]
    return {"count": len(tasks), "longest_ms": max((t["duration_ms"] for t in tasks), default=0),
            "windows": len(windows), "durations_ms": [t["duration_ms"] for t in tasks]}


def _lines_worker(env):
    """Figure 5's third caller: webvoice in a Web Worker (figure 6's page), registered."""
    k = env.kamailio
    log("opening the worker page for figure 5 (Pyodide boots in its worker)")
    worker = worker_calls.open_worker_page(env)
    user = lines.WORKER_USER
    args = {"user": user, "password": k.users[user], "ws_url": k.ws_url, "domain": k.domain}
    worker_calls.in_worker(worker.page, f"import json\njson.dumps(await start_ua(**{args!r}))")
    return worker


def _close_lines_worker(worker) -> None:
    try:
        worker_calls.in_worker(worker.page, "await stop_ua()\njson.dumps(None)", timeout=10)
    except Exception:  # noqa: BLE001 - the page closes anyway
        pass
    worker.close()


def run(args: argparse.Namespace) -> dict:
    from playwright.sync_api import sync_playwright

    from devtools.kamailio_server import KamailioServer

    ensure_bundle()
    results: dict = {
        "environment": {
            "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "jssip": jssip_version(), "jssip_bundle": str(BUNDLE.relative_to(REPO)),
            "pyodide": json.loads((REPO / "node_modules" / "pyodide" / "package.json").read_text())["version"],
            "host_python": platform.python_version(), "cpus": os.cpu_count(),
            "load_average_start": _load(), "platform": platform.platform(),
        },
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "figures": {},
        "errors": {},
    }
    figures = results["figures"]
    registrations: dict = {"webvoice": [], "jssip": []}
    started = time.monotonic()
    with KamailioServer() as kamailio, sync_playwright() as pw:
        env = Env(pw, kamailio)
        results["environment"]["chromium"] = env.chromium_version
        start_watchdog(lambda: _hang_report(env, kamailio))
        try:
            if "startup" in args.only:
                try:
                    figures["startup"] = startup.run(env, runs=args.startup_runs)
                except Exception:  # noqa: BLE001 - record it, go on with the others
                    results["errors"]["startup"] = traceback.format_exc()
            if "faststart" in args.only:
                try:
                    figures["fast_start"] = fast_start.run(env, pw, runs=args.startup_runs)
                except Exception:  # noqa: BLE001
                    results["errors"]["faststart"] = traceback.format_exc()
            needs_calls = bool({"calls", "lines"} & set(args.only))
            if {"parse", "calls", "lines"} & set(args.only):
                log("opening the pages (Pyodide boots twice)")
                pages = {"webvoice": [env.open_webvoice()], "jssip": [env.open_jssip()]}
                results["environment"]["webvoice"] = pages["webvoice"][0].info["version"]
                if needs_calls:
                    pages["webvoice"].append(env.open_webvoice())
                    pages["jssip"].append(env.open_jssip())
                if "parse" in args.only:
                    log("parsing")
                    try:
                        figures["parse"] = browser_parse.run(
                            pages["webvoice"][0], pages["jssip"][0], rounds=args.parse_rounds,
                            number=args.parse_number, warmup=args.parse_warmup)
                    except Exception:  # noqa: BLE001
                        results["errors"]["parse"] = traceback.format_exc()
                if needs_calls:
                    for stack, (caller, callee) in pages.items():
                        for sp, role in ((caller, "caller"), (callee, "callee")):
                            reg = env.start_ua(sp, USERS[stack][role])
                            registrations[stack].append(sp.long_tasks(reg["t0"], reg["t1"]))
                    if "calls" in args.only:
                        try:
                            figures["call_setup"] = call_setup.run(env, pages, calls=args.calls)
                        except Exception:  # noqa: BLE001
                            results["errors"]["calls"] = traceback.format_exc()
                    if "lines" in args.only:
                        try:
                            for caller, callee in pages.values():
                                env.hang_up(caller)
                                env.wait_idle(caller, callee, timeout=30)
                            worker = _lines_worker(env)
                            try:
                                figures["lines"] = lines.run(env, pages, lines=args.lines, idle_s=args.idle,
                                                             worker=worker)
                            finally:
                                _close_lines_worker(worker)
                        except Exception:  # noqa: BLE001
                            results["errors"]["lines"] = traceback.format_exc()
                    for stack_pages in pages.values():
                        for sp in stack_pages:
                            try:
                                env.stop_ua(sp)
                            except Exception:  # noqa: BLE001 - the pages close anyway
                                pass
            if "worker" in args.only:  # figure 6 (bench/worker_calls.py)
                try:
                    figures["worker_calls"] = worker_calls.run(env, calls=args.calls)
                except Exception:  # noqa: BLE001
                    results["errors"]["worker"] = traceback.format_exc()
        finally:
            stop_watchdog()
            results["environment"].setdefault("webvoice", _webvoice_version())
            if results["errors"]:
                results["console_tail"] = {f"{sp.stack}-{i}": sp.console.lines[-30:]
                                           for i, sp in enumerate(env._pages)}
            env.close()
    figures["long_tasks"] = _aggregate_long_tasks(results, registrations)
    results["environment"]["load_average_end"] = _load()
    results["environment"]["duration_s"] = round(time.monotonic() - started, 1)
    return results


def _hang_report(env, kamailio) -> str:
    """For the watchdog: every page's console tail and Kamailio's log tail."""
    parts = [f"--- console of {sp.stack}-{i}:\n" + "\n".join(map(str, sp.console.lines[-30:]))
             for i, sp in enumerate(env._pages)]
    parts.append("--- Kamailio log tail:\n" + kamailio.log_tail(60))
    return "\n".join(parts)


def _webvoice_version() -> str:
    import re

    text = (REPO / "webvoice" / "__init__.py").read_text()
    m = re.search(r'__version__ = "([^"]+)"', text)
    return m.group(1) if m else "?"


def main(argv=None) -> int:
    args = parse_args(argv)
    results = run(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    print(format_table(results))
    print(f"\nEvery figure and sample: {args.json}")
    for name, tb in results["errors"].items():
        print(f"\n{name} FAILED:\n{tb}", file=sys.stderr)
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
