"""Figure 6: call setup with webvoice in a Web Worker (bridged media) against the main thread (direct).

Both callers are webvoice, in the same Chromium, calling the same callee (a
webvoice page on the main thread that answers at once) through the same
Kamailio: one caller page runs webvoice itself (the direct media backend),
the other runs only the media agent while webvoice runs in a worker
(bench/pages/worker.html), its media operations crossing to the page in
batches. Calls alternate between the two callers; the median of
``call()`` to ``confirmed`` counts. Also reported: the messages one call
setup costs across the worker boundary (sent by the worker, and received
from the agent: answers, events), counted by the bridged backend.

    python -m bench.worker_calls [--calls N]     (this figure alone)
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from bench.common import Env, js, log, median

GOAL_RATIO = 1.2
CALLEE, CALLER = "grace", "heidi"  # accounts no other figure uses
WORKER_PAGE = "/bench/worker.html"

# Run in the worker once webvoice_bench.py is loaded: its clock is the page's
# (epoch ms), and the bridged backend counts the messages of each call.
_WORKER_PRELUDE = """
import js
js.globalThis.benchNow = js.Function.new("return performance.timeOrigin + performance.now()")
"""
_CALL_COUNTING = """
async def counted_call(target):
    backend = state.sip._media()
    sent, received = backend.messages
    result = await call(target)
    now_sent, now_received = backend.messages
    return {**result, "sent": now_sent - sent, "received": now_received - received}
"""


def in_worker(page, code: str, timeout: float = 60.0):
    """Run ``code`` in the worker of a page from :func:`open_worker_page`: its last value, JSON, decoded."""
    out = js(page, "(code) => window.runInWorker(code)", code, timeout=timeout)
    return None if out is None else json.loads(out)


def open_worker_page(env: Env):
    sp = env._new_page("webvoice-worker")
    sp.page.goto(env.server.url(WORKER_PAGE))
    sp.page.wait_for_function("window.benchReady === true", timeout=30000)
    sp.info = {"boot": js(sp.page, "() => window.startWorker()", timeout=120)}
    js(sp.page, "(code) => window.runInWorker(code)", env.bench_source + _WORKER_PRELUDE + _CALL_COUNTING)
    return sp


def run(env: Env, *, calls: int, settle_s: float = 0.3) -> dict:
    k = env.kamailio
    callee = env.open_webvoice()
    direct = env.open_webvoice()
    worker = open_worker_page(env)
    try:
        env.start_ua(callee, CALLEE)
        env.start_ua(direct, CALLER)
        args = {"user": CALLER, "password": k.users[CALLER], "ws_url": k.ws_url, "domain": k.domain}
        in_worker(worker.page, f"import json\njson.dumps(await start_ua(**{args!r}))")
        target = f"sip:{CALLEE}@{k.domain}"
        samples: dict[str, list] = {"direct": [], "worker": []}
        for i in range(calls):
            for mode in (("direct", "worker") if i % 2 == 0 else ("worker", "direct")):
                if mode == "direct":
                    r = env.call(direct, CALLEE)
                    env.hang_up(direct)
                    env.wait_idle(direct, callee)
                else:
                    r = in_worker(worker.page, f"json.dumps(await counted_call({target!r}))")
                    in_worker(worker.page, "hang_up()\njson.dumps(None)")
                    deadline = time.monotonic() + 15
                    while in_worker(worker.page, "json.dumps(live_calls())") or env.live_calls(callee):
                        if time.monotonic() > deadline:
                            raise RuntimeError("the worker's call is still up after 15 s")
                        time.sleep(0.05)
                samples[mode].append({"ms": r["t1"] - r["t0"],
                                      "to_invite_ms": None if r.get("tInvite") is None else r["tInvite"] - r["t0"],
                                      **({"sent": r["sent"], "received": r["received"]} if mode == "worker" else {})})
                time.sleep(settle_s)
            log(f"worker call {i + 1}/{calls}: direct {samples['direct'][-1]['ms']:.0f} ms, "
                f"worker {samples['worker'][-1]['ms']:.0f} ms ({samples['worker'][-1]['sent']} messages sent, "
                f"{samples['worker'][-1]['received']} received)")
    finally:
        for sp in (callee, direct):
            try:
                env.stop_ua(sp)
            except Exception:  # noqa: BLE001 - the pages close anyway
                pass
        try:
            in_worker(worker.page, "await stop_ua()\njson.dumps(None)", timeout=10)
        except Exception:  # noqa: BLE001
            pass
    out = {mode: {"median_ms": median([s["ms"] for s in ss]), "samples_ms": [s["ms"] for s in ss],
                  "median_to_invite_ms": median([s["to_invite_ms"] for s in ss if s["to_invite_ms"] is not None])}
           for mode, ss in samples.items()}
    out["worker"]["messages_sent"] = median([s["sent"] for s in samples["worker"]])
    out["worker"]["messages_received"] = median([s["received"] for s in samples["worker"]])
    out["calls"] = calls
    out["ratio"] = out["worker"]["median_ms"] / out["direct"]["median_ms"]
    out["goal_ratio_max"] = GOAL_RATIO
    out["goal_met"] = out["ratio"] <= GOAL_RATIO
    log(format_figure(out))
    return out


def format_figure(f: dict) -> str:
    w, d = f["worker"], f["direct"]
    return (f"call setup, webvoice in a worker vs main thread: worker {w['median_ms']:.0f} ms, "
            f"direct {d['median_ms']:.0f} ms, ratio {f['ratio']:.2f} (goal <= {f['goal_ratio_max']}: "
            f"{'met' if f['goal_met'] else 'MISSED'}); messages per call setup across the boundary: "
            f"{w['messages_sent']:g} sent, {w['messages_received']:g} received ({f['calls']} calls each)")


def main(argv=None) -> int:
    from playwright.sync_api import sync_playwright

    from devtools.kamailio_server import KamailioServer

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=9)
    args = ap.parse_args(argv)
    with KamailioServer() as kamailio, sync_playwright() as pw:
        env = Env(pw, kamailio)
        try:
            figure = run(env, calls=args.calls)
        finally:
            env.close()
    print(json.dumps(figure, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
