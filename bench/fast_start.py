"""Figure 7: navigation to registered, normal boot against snapshot boot.

Each run opens ``bench/pages/fast-start.html`` in a fresh persistent browser
profile (first visit: empty HTTP cache), closes the browser, opens it again on
the same profile and loads the page again (return visit: what the HTTP cache,
and Chromium's cache of compiled WebAssembly, give). The page boots webvoice
with ``/webvoice/boot.mjs``, normally or from the memory snapshot, then
creates an instance and registers through Kamailio; the figure is
``performance.now()`` at registered, i.e. milliseconds since the navigation
started. Bytes are the page's transferSize (navigation and resources).

Unlike the other figures, the files are served cacheable (``Cache-Control:
public, max-age=31536000``, as README "Fast start" advises for the snapshot),
or there would be no return visit to measure. Both boots alternate within one
run. Medians over ``runs`` runs.

Then, over a slow link (a proxy that delays every byte by 25 ms each way in
front of Kamailio: devtools/delay_proxy.py), the snapshot boot with and
without the SIP server's WebSocket opened while Pyodide boots
(bootWebvoice's ``preconnect``; the page's ``?preconnect=0``): register()'s
duration and navigation to registered. On loopback the difference is lost in
the noise; over a link, it is the connection's round trips.

And the floor: Pyodide alone, restored from a snapshot of its own heap taken
right after its boot (``bench/pyodide_floor.mjs``, made here from build/web's
Pyodide, nothing of webvoice in it), first and return visit in the same runs
(``bench/pages/pyodide-floor.html``): the page's start plus loadPyodide's own
time with the snapshot's bytes already in hand. No snapshot boot can be
faster on this machine, whatever webvoice does: it would still have to start
the page and restore Pyodide, and this leaves out getting the snapshot and
everything after (files, create, register).

Also the longest main-thread task (``PerformanceObserver('longtask')``, tasks
over 50 ms) from the navigation to registered: in all (Pyodide's boot, which
instantiates WebAssembly and starts CPython or restores the snapshot in single
tasks, included), and in webvoice's part (the tasks that began after
``loadPyodide``: wheel install, ``import webvoice`` in 16 ms slices,
create, register), whose goal is none over 50 ms (issue 16).

And where the snapshot boot's time goes, stage by stage (medians of each
stage's duration and of when it ended): the boot helper's own User Timing
measures (``webvoice:<stage>``, webvoice/browser/boot.mjs and install.mjs),
the page's (create, register), Pyodide's Wasm (fetched as it compiles), and
the restore: what loadPyodide took once both the snapshot and the Wasm were
there. Stages overlap: the downloads all start at once. Webvoice's tasks over
50 ms are counted by the stage they began in.
"""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from bench.common import BUILD_BENCH, MOUNTS, log, median
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS, FAKE_MEDIA_ARGS
from devtools.delay_proxy import DelayProxy
from devtools.static_files import MountedFilesHandler
from devtools.web import BUILD_WEB

USER = "heidi"
BOOTS = ("normal", "snapshot")
VISITS = ("first", "return")
GOAL_MS = {"first": 1000.0, "return": 600.0}  # the snapshot boot's (issue 16)
LONG_TASK_MS = 50.0  # webvoice's part of the start-up: no task longer (issue 16)
SLOW_LINK_ONE_WAY_S = 0.025  # the slow link's delay each way: a 50 ms round trip to the SIP server
AHEAD = ("ahead", "not ahead")  # the SIP server's socket opened while Pyodide boots (preconnect), or not
WHEEL_INDEX = BUILD_WEB / "wheels" / "index.json"
FLOOR_MAKER = Path(__file__).with_name("pyodide_floor.mjs")
FLOOR_SNAPSHOT = BUILD_BENCH / "pyodide-floor.snapshot"  # served as /bench-build/pyodide-floor.snapshot
FLOOR_PAGE = "/bench/pyodide-floor.html"

# The snapshot boot's stages as figure 7 lists them, in the order they start.
STAGES = (
    ("page start", "navigation to bootWebvoice() called (the page)"),
    ("snapshot manifest", "snapshot's manifest fetched"),
    ("snapshot cache read", "inflated snapshot read from the Cache API"),
    ("snapshot fetch", "snapshot downloaded (and inflated as it came)"),
    ("snapshot inflate", "  inflate, after the last byte"),
    ("snapshot verify", "  sha256, after the last byte"),
    ("snapshot", "snapshot ready (all of the above)"),
    ("pyodide.asm.wasm fetched and compiled", "Pyodide's Wasm fetched and compiled"),
    ("wheel fetch", "wheel fetched"),
    ("wheel inflate", "  inflated (the .whl.gz: one stream)"),
    ("wheel unpack", "wheel unpacked"),
    ("pyodide load", "loadPyodide, from its call"),
    ("restore", "  of which after snapshot and Wasm were ready"),
    ("wheel write", "wheel's files written"),
    ("renew", "renewed (random, time zone)"),
    ("import", "import webvoice"),
    ("create", "create_sip_instance"),
    ("register", "register() to registered"),
    ("snapshot cache write", "then: snapshot kept for the next visit"),
)
# Webvoice's part, for counting its long tasks by stage.
OWN_STAGES = ("wheel write", "renew", "import", "create", "register", "snapshot cache write")


class _CachedFiles(MountedFilesHandler):
    mounts = MOUNTS  # noqa: RUF012

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "public, max-age=31536000")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:
        pass


def _visit(pw, profile: str, url: str, account: dict, wheel: dict) -> dict:
    context = pw.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + FAKE_MEDIA_ARGS)
    try:
        context.add_init_script(f"window.benchAccount = {json.dumps(account)};\n"
                                f"window.benchWheel = {json.dumps(wheel)};")
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(url)
        result = page.wait_for_function("window.benchResult", timeout=120_000).json_value()
        if "error" in result:
            raise RuntimeError(f"fast-start page failed:\n{result['error']}")
        return result
    finally:
        context.close()


def _floor_snapshot() -> Path:
    """The floor's snapshot (bench/pyodide_floor.mjs), made again when build/web's Pyodide is newer."""
    wasm = BUILD_WEB / "pyodide" / "pyodide.asm.wasm"
    if FLOOR_SNAPSHOT.exists() and FLOOR_SNAPSHOT.stat().st_mtime >= wasm.stat().st_mtime:
        return FLOOR_SNAPSHOT
    FLOOR_SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
    made = subprocess.run(["node", str(FLOOR_MAKER), str(BUILD_WEB / "pyodide"), str(FLOOR_SNAPSHOT)],
                          capture_output=True, text=True, timeout=120)
    if made.returncode != 0:
        FLOOR_SNAPSHOT.unlink(missing_ok=True)
        raise RuntimeError(f"bench/pyodide_floor.mjs failed:\n{made.stdout}\n{made.stderr}")
    log(f"the floor's snapshot: {made.stdout.strip()}")
    return FLOOR_SNAPSHOT


def run(env, pw, *, runs: int) -> dict:
    """``env``: bench.common.Env (its Kamailio); ``pw``: Playwright, for the profiles' browsers."""
    k = env.kamailio
    account = {"user": USER, "password": k.users[USER], "wsUrl": k.ws_url, "domain": k.domain}
    index = json.loads(WHEEL_INDEX.read_text())
    # The .whl.gz, as README tells pages (install.mjs: one inflate, not one per file).
    wheel = {"url": f"/wheels/{index['wheel_gz']}", "sha256": index["wheel_gz_sha256"]}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CachedFiles)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    samples: dict = {boot: {visit: [] for visit in VISITS} for boot in BOOTS}
    floor: dict = {visit: [] for visit in VISITS}
    _floor_snapshot()
    try:
        for n in range(runs):
            for boot in BOOTS:
                visits = _both_visits(pw, f"{base}/bench/fast-start.html?boot={boot}", account, wheel, boot,
                                      f"fast start {n + 1}/{runs} {boot}")
                for visit, r in visits.items():
                    samples[boot][visit].append(r)
            visits = _both_visits(pw, f"{base}{FLOOR_PAGE}", account, wheel, "floor",
                                  f"fast start {n + 1}/{runs} floor (Pyodide alone)")
            for visit, r in visits.items():
                if r.get("answer") != 42:
                    raise RuntimeError(f"the floor's page ran no Python: {r}")
                floor[visit].append(r)
        slow = _slow_link(pw, base, account, wheel, runs=runs, kamailio_port=k.ws_port)
    finally:
        httpd.shutdown()
        httpd.server_close()
    out: dict = {"runs": runs, "goal_ms": GOAL_MS, "slow_link": slow,
                 "floor": {visit: {key: median([r[key] for r in rs])
                                   for key in ("floor_ms", "page_start_ms", "load_pyodide_ms", "loaded_ms", "bytes")}
                           | {"runs": rs}
                           for visit, rs in floor.items()}}
    for boot in BOOTS:
        out[boot] = {visit: {"registered_ms": median([r["registered_ms"] for r in rs]),
                             "booted_ms": median([r["booted_ms"] for r in rs]),
                             "bytes": median([r["bytes"] for r in rs]),
                             "longest_task_ms": median([r["longest_task_ms"] for r in rs]),
                             "longest_webvoice_task_ms": median([r["longest_webvoice_task_ms"] for r in rs]),
                             "longest_webvoice_task_ms_max": max(r["longest_webvoice_task_ms"] for r in rs),
                             "stages": _stages(rs),
                             "long_tasks_by_stage": _tasks_by_stage(rs),
                             "runs": rs}
                     for visit, rs in samples[boot].items()}
    return out


def _both_visits(pw, url: str, account: dict, wheel: dict, boot: str, label: str) -> dict:
    """The first and the return visit of ``url`` in one fresh profile, each checked to have taken ``boot``."""
    profile = tempfile.mkdtemp(prefix="webvoice-bench-profile-")
    try:
        out = {}
        for visit in VISITS:
            r = _visit(pw, profile, url, account, wheel)
            if r["path"] != boot:
                raise RuntimeError(f"asked for the {boot} boot, got {r['path']}: {r['reason']}")
            done = (f"registered at {r['registered_ms']:.0f}" if "registered_ms" in r
                    else f"floor {r['floor_ms']:.0f} ms (page {r['page_start_ms']:.0f} + loadPyodide "
                         f"{r['load_pyodide_ms']:.0f}), Python run at {r['loaded_ms']:.0f}")
            log(f"{label} {visit}: {done} ms, {r['bytes'] / 1e6:.2f} MB")
            out[visit] = r
        return out
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def _slow_link(pw, base: str, account: dict, wheel: dict, *, runs: int, kamailio_port: int) -> dict:
    """The snapshot boot over a 50 ms round trip to Kamailio, the socket opened ahead or not (alternating)."""
    samples: dict = {variant: {visit: [] for visit in VISITS} for variant in AHEAD}
    with DelayProxy(kamailio_port, one_way_s=SLOW_LINK_ONE_WAY_S) as proxy:
        slow_account = {**account, "wsUrl": proxy.url}
        for n in range(runs):
            for variant in (AHEAD if n % 2 == 0 else AHEAD[::-1]):
                query = "?boot=snapshot" + ("" if variant == "ahead" else "&preconnect=0")
                visits = _both_visits(pw, f"{base}/bench/fast-start.html{query}", slow_account, wheel, "snapshot",
                                      f"fast start over a slow link {n + 1}/{runs}, socket {variant}")
                for visit, r in visits.items():
                    samples[variant][visit].append(r)
    return {"round_trip_ms": 2000 * SLOW_LINK_ONE_WAY_S,
            **{variant: {visit: {"registered_ms": median([r["registered_ms"] for r in rs]),
                                 "register_ms": median([r["stages"]["register"][1] - r["stages"]["register"][0]
                                                        for r in rs]),
                                 "runs": rs}
                         for visit, rs in samples[variant].items()}
               for variant in AHEAD}}


def _stages(runs: list[dict]) -> dict:
    """Median duration and end (ms since navigation) of each stage found in every run."""
    spans: dict[str, list] = {}
    for r in runs:
        stages = dict(r["stages"])
        load, wasm = stages.get("pyodide load"), stages.get("pyodide.asm.wasm fetched and compiled")
        if load and "snapshot" in stages:
            ready = max(stages["snapshot"][1], wasm[1] if wasm else 0)
            stages["restore"] = [min(ready, load[1]), load[1]]
        for name, (start, end) in stages.items():
            spans.setdefault(name, []).append((start, end))
    return {name: {"ms": median([e - s for s, e in v]), "end_ms": median([e for _, e in v])}
            for name, v in spans.items() if len(v) == len(runs)}


def _tasks_by_stage(runs: list[dict]) -> dict:
    """Webvoice's tasks over 50 ms in all runs, by the stage they began in: count, longest."""
    out: dict[str, dict] = {}
    for r in runs:
        for task in r["webvoice_tasks"]:
            # The stage that began last before the task did (a task may start
            # in a gap between stages, e.g. the boot helper returning).
            began = [(r["stages"][name][0], name) for name in OWN_STAGES
                     if name in r["stages"] and r["stages"][name][0] <= task["start"] + 1]
            stage = max(began)[1] if began else "other"
            entry = out.setdefault(stage, {"count": 0, "longest_ms": 0.0})
            entry["count"] += 1
            entry["longest_ms"] = max(entry["longest_ms"], task["duration"])
    return out


def rows(fig: dict) -> list[tuple]:
    """The figure's rows of bench/report.py's table (webvoice column: the boot; ratio: snapshot / normal)."""
    def ms(v):
        return f"{v:,.0f} ms"

    out: list[tuple] = [(f"7. Navigation to registered, median of {fig['runs']} (persistent profile: first, "
                         "return visit)",)]
    for visit in VISITS:
        normal, snap = fig["normal"][visit], fig["snapshot"][visit]
        goal = fig["goal_ms"][visit]
        out.append((f"   {visit} visit: snapshot boot", ms(snap["registered_ms"]), "",
                    f"{snap['registered_ms'] / normal['registered_ms']:.2f}x", f"<= {goal:,.0f} ms",
                    "met" if snap["registered_ms"] <= goal else "MISSED"))
        out.append((f"   {visit} visit: normal boot", ms(normal["registered_ms"]), "", "", "", "info"))
        if "floor" in fig:
            floor = fig["floor"][visit]
            out.append((f"   {visit} visit: the floor: Pyodide alone from a snapshot of its own, in hand (the "
                        f"page's start {ms(floor['page_start_ms'])} + loadPyodide "
                        f"{ms(floor['load_pyodide_ms'])}; no webvoice, no SIP)", ms(floor["floor_ms"]), "",
                        f"{snap['registered_ms'] / floor['floor_ms']:.2f}x",
                        f"{'above' if floor['floor_ms'] > goal else 'under'} the goal", "info"))
        out.append((f"   {visit} visit: bytes downloaded, snapshot / normal",
                    f"{snap['bytes'] / 1e6:.2f} MB", "", "", f"{normal['bytes'] / 1e6:.2f} MB", "info"))
    out.append(("   longest main-thread task during start-up/registration (0 ms: none over 50 ms)",))
    for visit in VISITS:
        for boot in BOOTS:
            d = fig[boot][visit]
            worst = d["longest_webvoice_task_ms_max"]
            out.append((f"     {visit} visit, {boot} boot: webvoice's part, median (max)",
                        ms(d["longest_webvoice_task_ms"]) + f" ({worst:,.0f})", "", "",
                        f"none > {LONG_TASK_MS:.0f} ms", "met" if worst <= LONG_TASK_MS else "MISSED"))
            out.append(("       in all, Pyodide's boot included (median)", ms(d["longest_task_ms"]), "", "", "",
                        "info"))
            if d["long_tasks_by_stage"]:
                where = ", ".join(f"{stage} {e['count']} (longest {e['longest_ms']:.0f} ms)"
                                  for stage, e in sorted(d["long_tasks_by_stage"].items()))
                out.append((f"       webvoice's tasks over 50 ms in all {fig['runs']} runs, by stage: {where}",))
    slow = fig["slow_link"]
    out.append((f"   snapshot boot over a {slow['round_trip_ms']:.0f} ms round trip to the SIP server (a delaying "
                "proxy), the socket opened while Pyodide boots (preconnect) or not; ratio: ahead / not",))
    for visit in VISITS:
        ahead, not_ahead = slow["ahead"][visit], slow["not ahead"][visit]
        for key, label in (("register_ms", "register() to registered"), ("registered_ms", "navigation to registered")):
            out.append((f"     {visit} visit: {label}, socket opened ahead", ms(ahead[key]), "",
                        f"{ahead[key] / not_ahead[key]:.2f}x", f"not ahead: {ms(not_ahead[key])}", "info"))
    out.append(("   where the snapshot boot's time goes, medians (stages overlap: the downloads run at once)",))
    for visit in VISITS:
        stages = fig["snapshot"][visit]["stages"]
        for name, label in STAGES:
            if name in stages:
                st = stages[name]
                out.append((f"     {visit} visit: {label}", ms(st["ms"]), "", "", f"ends at {ms(st['end_ms'])}",
                            "info"))
    return out
