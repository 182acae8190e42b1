"""Where webvoice's time goes inside Pyodide: a look, not a figure.

    python -m bench.profile [--number 300]
    python -m bench.profile --lines 8 [--turns | --cpu | --python | --ops]

Boots one webvoice page (as bench/run.py does) and prints:

* cProfile of ``parse_message`` on the typical INVITE, top functions by own
  time;
* ``import webvoice`` taken apart: compiling each module's source to bytecode
  (a pure-Python wheel ships no .pyc), compiling the grammar's regular
  expressions, and a fresh import of the package (modules dropped from
  sys.modules, the ``re`` cache purged).

With ``--lines N``, instead: two registered pages, N lines placed from one to
the other as figure 5 does, under a Chromium trace; printed, the caller's
main-thread tasks (count, thread time, by kind). Each turn of Pyodide's event
loop is a browser task or two (webvoice/browser/_direct.py says why that
matters); ``--turns`` counts instead the callbacks the page's loop scheduled
(``call_soon``/``call_later``), by callback and where it was scheduled from,
wrapping the loop's ``call_later`` in that bench page only. ``--cpu``
takes a DevTools CPU profile (``Profiler.start``/``stop``, 100 µs samples)
of the caller's page while the N lines are placed, for webvoice and then for
JsSIP, with the page's thread time (``TaskDuration``, as figure 5) over the
same window, and sums the samples by kind: WebAssembly (Python), Pyodide's
JavaScript (its FFI glue), the JavaScript stack's own code (JsSIP), browser
methods called from script (WebRTC, DOM, WebAudio, which both stacks pay),
V8's garbage collector, and "(program)": work outside any script (tasks,
events, media). Samples are wall-clock: on a busy machine a thread waiting
for a core counts too, so compare the kinds, and trust ``TaskDuration`` for
the totals. Python run in a stack-switched event-loop turn is partly sampled
as "(program)" (V8 cannot always walk a suspended WebAssembly stack).
``--python`` runs cProfile in the caller's page over the N lines (own and
cumulative time by function); ``--ops`` counts and times the media engine's
operations into the browser, the WebSocket's sends and the core's and
driver's entry points.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json

from bench.browser_parse import MESSAGES
from bench.common import TRACE_TASKS, USERS, Env, pycall
from bench.jssip_bundle import ensure_bundle

PROFILE_PARSE = r'''
import cProfile, io, pstats
from webvoice.sip import parse_message
data = {invite!r}.encode()
for _ in range(200):
    parse_message(data)
profiler = cProfile.Profile()
profiler.enable()
for _ in range({number}):
    parse_message(data)
profiler.disable()
out = io.StringIO()
pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
out.getvalue()
'''

PROFILE_IMPORT = r'''
import importlib, pathlib, re, sys, time
import webvoice
root = pathlib.Path(webvoice.__file__).parent
compile_ms = {}
for path in sorted(root.rglob("*.py")):
    source = path.read_text()
    t0 = time.perf_counter()
    compile(source, str(path), "exec")
    compile_ms[str(path.relative_to(root.parent))] = (time.perf_counter() - t0) * 1000
from webvoice.sip.syntax import _abnf
patterns = [v for v in vars(_abnf).values() if isinstance(v, re.Pattern)]
re.purge()
t0 = time.perf_counter()
for p in patterns:
    re.compile(p.pattern, p.flags)
regex_ms = (time.perf_counter() - t0) * 1000
for name in [m for m in sys.modules if m == "webvoice" or m.startswith("webvoice.")]:
    del sys.modules[name]
re.purge()
importlib.invalidate_caches()
t0 = time.perf_counter()
import webvoice
import webvoice.browser
reimport_ms = (time.perf_counter() - t0) * 1000
pycache = sorted(str(p.relative_to(root.parent)) for p in root.rglob("*.pyc"))
top = sorted(compile_ms.items(), key=lambda kv: -kv[1])[:12]
lines = [f"compile all {len(compile_ms)} modules: {sum(compile_ms.values()):.0f} ms"]
lines += [f"  {ms:7.1f} ms  {name}" for name, ms in top]
lines.append(f"compile {len(patterns)} regular expressions of _abnf (re cache purged): {regex_ms:.1f} ms")
lines.append(f"fresh import of webvoice + webvoice.browser (re purged; .pyc files now present: {len(pycache)}): "
             f"{reimport_ms:.0f} ms")
"\n".join(lines)
'''


TURNS_START = r'''
import asyncio, collections, sys
_turns = collections.Counter()
_loop_class = type(asyncio.get_event_loop())
_call_later = _loop_class.call_later

def _turn_name(callback):
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        return "task " + getattr(owner.get_coro(), "__qualname__", "?")
    return getattr(callback, "__qualname__", type(callback).__name__)

def _turn_origin():
    frame, out = sys._getframe(2), []
    while frame is not None and len(out) < 2:
        name = frame.f_code.co_filename
        if "asyncio" not in name and "webloop" not in name:
            out.append(f"{name.rsplit('/', 1)[-1]}:{frame.f_code.co_name}")
        frame = frame.f_back
    return " < ".join(out) or "(from JS)"

def _counting_call_later(self, delay, callback, *args, context=None):
    _turns[("soon" if delay == 0 else "later", _turn_name(callback), _turn_origin())] += 1
    return _call_later(self, delay, callback, *args, context=context)

_loop_class.call_later = _counting_call_later
0
'''

TURNS_STOP = r'''
_loop_class.call_later = _call_later
"\n".join([f"{sum(_turns.values())} callbacks scheduled"]
          + [f"{n:6d}  {when:5}  {name}  <- {origin}" for (when, name, origin), n in _turns.most_common(40)])
'''

# --python: cProfile of the caller page's Python while the lines are placed. A call
# into JS made from Python (a browser method, a property) is no Python function:
# its time is the caller's own, so _js_values._start's "own" time is the browser
# methods'. Per-call overhead of the profiler inflates many small functions.
PYPROF_START = r'''
import cProfile
_pyprof = cProfile.Profile()
_pyprof.enable()
0
'''

PYPROF_STOP = r'''
import io, pstats
_pyprof.disable()
_out = io.StringIO()
_stats = pstats.Stats(_pyprof, stream=_out)
_stats.sort_stats("tottime").print_stats(40)
_stats.sort_stats("cumulative").print_stats(50)
_out.getvalue()
'''

# --ops: the realm's operations into the browser (by method, property path,
# constructor), the socket's sends, and the core's and driver's entry points, each
# timed with performance.now() in the page (wall time: a busy machine's
# preemption shows; the counts are exact). The page is not cross-origin
# isolated, so Chromium coarsens its clock to 0.1 ms: a total over many calls
# holds, the time of one small operation (a few tens of microseconds) does not;
# time such an operation by repeating it in a page instead.
OPS_START = r'''
import collections, time
import webvoice._instance, webvoice.sip.ua._ua
from webvoice.browser import _direct, _websocket
_ops = collections.defaultdict(lambda: [0, 0.0])
_saved = []

def _timed(owner, name, key):
    original = getattr(owner, name)
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            entry = _ops[key(*args, **kwargs)]
            entry[0] += 1
            entry[1] += time.perf_counter() - t0
    _saved.append((owner, name, original))
    setattr(owner, name, wrapper)

_timed(_direct, "_start", lambda target, method, args, doing: "call " + method)
_timed(_direct, "_walk", lambda obj, path: "walk " + path)
_timed(_direct.DirectRealm, "new", lambda self, constructor, *a, **k: "new " + constructor)
_timed(_direct.DirectRealm, "set", lambda self, target, path, value: "set " + path)
_timed(_direct.DirectRealm, "listen", lambda self, target, event, *a, **k: "listen " + event)
_timed(_direct.DirectRealm, "_timer", lambda self, *a: "JS timer")
_timed(_websocket.WebSocketTransport, "send", lambda self, data: "WebSocket send")
_timed(webvoice.sip.ua._ua.UserAgent, "receive_data", lambda self, *a: "core: UserAgent.receive_data")
_timed(webvoice._instance.SipInstance, "_pump", lambda self, *a: "driver: SipInstance._pump (sends, events)")
_timed(webvoice._instance.SipInstance, "_deliver", lambda self, *a: "driver: SipInstance._deliver (an event)")
0
'''

OPS_STOP = r'''
for owner, name, original in _saved:
    setattr(owner, name, original)
"\n".join(f"{n:6d} {t * 1000:8.2f} ms  {k}" for k, (n, t) in sorted(_ops.items(), key=lambda kv: -kv[1][1]))
'''

_KINDS = ("TimerFire", "FunctionCall", "EventDispatch", "RunMicrotasks", "MinorGC", "MajorGC", "UpdateLayoutTree")


def _main_thread_tasks(trace: bytes) -> str:
    """The busiest renderer main thread of a trace (the caller's: it does the most)."""
    data = json.loads(trace)
    events = data["traceEvents"] if isinstance(data, dict) else data
    mains = {(e["pid"], e["tid"]) for e in events
             if e.get("ph") == "M" and e.get("name") == "thread_name" and e["args"]["name"] == "CrRendererMain"}
    by_thread: dict = collections.defaultdict(list)
    for e in events:
        if e.get("ph") == "X" and (e.get("pid"), e.get("tid")) in mains:
            by_thread[(e["pid"], e["tid"])].append(e)
    busiest = max(by_thread.values(), key=lambda evs: sum(1 for e in evs if e["name"] in TRACE_TASKS))
    busiest.sort(key=lambda e: e["ts"])
    tasks = [e for e in busiest if e["name"] in TRACE_TASKS]
    inner = [e for e in busiest if e["name"] in _KINDS]
    starts = [e["ts"] for e in inner]
    count: collections.Counter = collections.Counter()
    cpu: collections.Counter = collections.Counter()
    for task in tasks:
        i = bisect.bisect_left(starts, task["ts"])
        kind = "other"
        if i < len(inner) and inner[i]["ts"] <= task["ts"] + task.get("dur", 0):
            kind = inner[i]["name"]
            data = inner[i].get("args", {}).get("data", {})
            if kind == "FunctionCall":
                kind += f" {data.get('functionName') or '(anonymous)'}"[:80]
            elif kind == "EventDispatch":
                kind += f" {data.get('type')}"
        count[kind] += 1
        cpu[kind] += task.get("tdur", 0) / 1000
    lines = [f"caller's main thread: {len(tasks)} tasks, {sum(cpu.values()):.1f} ms thread time (traced)"]
    lines += [f"  {count[k]:6d} tasks {cpu[k]:8.1f} ms  {k}" for k, _ in cpu.most_common(15)]
    return "\n".join(lines)


def _sample_kind(frame: dict) -> str:
    name, url = frame["functionName"], frame["url"]
    if name.startswith("("):  # (program), (garbage collector), (idle), (root)
        return name
    if url.startswith("wasm://") or "wasm" in url.rsplit("/", 1)[-1] or name.startswith(("wasm-", "js-to-wasm")):
        return "WebAssembly (Python)"
    if "pyodide" in url:
        return "Pyodide's JavaScript (FFI)"
    if not url:
        return "browser methods"
    return "the stack's JavaScript"


def _cpu_profile_kinds(profile: dict, lines: int) -> list[str]:
    nodes = {n["id"]: n["callFrame"] for n in profile["nodes"]}
    kinds: collections.Counter = collections.Counter()
    methods: collections.Counter = collections.Counter()
    for node, us in zip(profile["samples"], profile["timeDeltas"]):
        kind = _sample_kind(nodes[node])
        kinds[kind] += us
        if kind == "browser methods":
            methods[nodes[node]["functionName"] or "(anonymous)"] += us
    kinds.pop("(idle)", None)
    kinds.pop("(root)", None)
    out = [f"  {us / 1000 / lines:7.2f} ms/line  {kind}" for kind, us in kinds.most_common()]
    out.append("  browser methods: " + ", ".join(f"{name} {us / 1000 / lines:.2f}" for name, us in methods.most_common(8)))
    return out


def _cpu_lines(env: Env, stack: str, lines: int) -> str:
    """One stack's caller page under the DevTools CPU profiler while ``lines`` lines are placed."""
    open_page = env.open_webvoice if stack == "webvoice" else env.open_jssip
    caller, callee = open_page(), open_page()
    env.start_ua(caller, USERS[stack]["caller"])
    env.start_ua(callee, USERS[stack]["callee"])
    if stack == "jssip":  # as figure 5: a new line holds the previous one (webvoice does it itself)
        for sp in (caller, callee):
            sp.page.evaluate("window.benchState.holdOnNewLine = true")
    user = USERS[stack]["callee"]
    env.call(caller, user)  # warm up
    env.hang_up(caller)
    env.wait_idle(caller, callee, timeout=30)
    cdp = caller.context.new_cdp_session(caller.page)
    cdp.send("Performance.enable", {"timeDomain": "threadTicks"})
    cdp.send("Profiler.enable")
    cdp.send("Profiler.setSamplingInterval", {"interval": 100})

    def task_s() -> float:
        return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "TaskDuration")

    t0 = task_s()
    cdp.send("Profiler.start")
    for _ in range(lines):
        env.call(caller, user, timeout=60)
    profile = cdp.send("Profiler.stop")["profile"]
    task_ms = (task_s() - t0) * 1000 / lines
    env.hang_up(caller)
    env.wait_idle(caller, callee, timeout=60)
    head = f"{stack}: thread time {task_ms:.1f} ms/line (TaskDuration, profiler on); samples by kind:"
    return "\n".join([head, *_cpu_profile_kinds(profile, lines)])


def profile_cpu(lines: int) -> None:
    from playwright.sync_api import sync_playwright

    from devtools.kamailio_server import KamailioServer

    with KamailioServer() as kamailio, sync_playwright() as pw:
        env = Env(pw, kamailio)
        try:
            for stack in ("webvoice", "jssip"):
                print(_cpu_lines(env, stack, lines))
        finally:
            env.close()


def profile_lines(lines: int, turns: bool, python: bool = False, ops: bool = False) -> None:
    from playwright.sync_api import sync_playwright

    from devtools.kamailio_server import KamailioServer

    with KamailioServer() as kamailio, sync_playwright() as pw:
        env = Env(pw, kamailio)
        try:
            caller, callee = env.open_webvoice(), env.open_webvoice()
            env.start_ua(caller, USERS["webvoice"]["caller"])
            env.start_ua(callee, USERS["webvoice"]["callee"])
            user = USERS["webvoice"]["callee"]
            env.call(caller, user)  # warm up (first-use imports and proxies), then the measured lines
            env.hang_up(caller)
            env.wait_idle(caller, callee, timeout=30)
            if ops:
                pycall(caller.page, OPS_START)
            elif python:
                pycall(caller.page, PYPROF_START)
            elif turns:
                pycall(caller.page, TURNS_START)
            else:
                env.browser.start_tracing(page=caller.page, categories=[
                    "toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline"])
            for _ in range(lines):
                env.call(caller, user, timeout=60)
            if ops:
                print(pycall(caller.page, OPS_STOP))
            elif python:
                print(pycall(caller.page, PYPROF_STOP, timeout=120))
            else:
                print(pycall(caller.page, TURNS_STOP) if turns else _main_thread_tasks(env.browser.stop_tracing()))
            env.hang_up(caller)
            env.wait_idle(caller, callee, timeout=60)
        finally:
            env.close()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--number", type=int, default=300)
    ap.add_argument("--lines", type=int, default=0, help="place this many lines and show where the time goes")
    ap.add_argument("--turns", action="store_true", help="with --lines: count the event loop's callbacks")
    ap.add_argument("--python", action="store_true",
                    help="with --lines: cProfile of the caller page's Python, by own and cumulative time")
    ap.add_argument("--ops", action="store_true",
                    help="with --lines: the media engine's browser operations and the socket's, timed")
    ap.add_argument("--cpu", action="store_true", help="with --lines: DevTools CPU profiles of both stacks, by kind")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    ensure_bundle()
    if args.lines and args.cpu:
        profile_cpu(args.lines)
        return
    if args.lines:
        profile_lines(args.lines, args.turns, args.python, args.ops)
        return
    with sync_playwright() as pw:
        env = Env(pw, kamailio=None)
        try:
            sp = env.open_webvoice()
            t = sp.info["timings"]
            print(f"boot: {', '.join(f'{k} {v:.0f}' for k, v in t.items())}\n")
            print(pycall(sp.page, PROFILE_IMPORT, timeout=120))
            print()
            print(pycall(sp.page, PROFILE_PARSE.format(invite=MESSAGES["INVITE"], number=args.number),
                         timeout=300))
        finally:
            env.close()


if __name__ == "__main__":
    main()
