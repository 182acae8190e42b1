"""Figure 3: start-up, each run in a fresh page (own browser context).

webvoice: Pyodide's boot (``loadPyodide``) is reported on its own; webvoice's
share is what comes after it: the wheel installed by webvoice's installer
(``/webvoice/install.mjs``, the way the README tells pages to load it),
``import webvoice``, then ``create_sip_instance`` + ``register()`` through
Kamailio (WebSocket opened, REGISTER, 401, REGISTER with digest, 200). Two
more variants install the wheel with micropip (loaded first) and with
``pyodide.loadPackage(url)``. After ``registered`` webvoice loads its call
modules in the background: how long that takes, and its long tasks, are
reported too (not in the share: the page is registered and usable meanwhile).

JsSIP: the bundle loaded (``<script>`` fetched and run), then ``new UA`` +
``start()`` until its ``registered`` event, through the same Kamailio.

Long tasks during registration (figure 4) are taken from the same windows.
Medians over ``runs`` runs of each.
"""

from __future__ import annotations

from bench.common import USERS, log, median

GOAL_SHARE_MS = 150.0


def _webvoice_once(env, install: str) -> dict:
    user = USERS["webvoice"]["startup"]
    sp = env.open_webvoice(install=install)
    try:
        t = sp.info["timings"]
        reg = env.start_ua(sp, user)
        register_ms = reg["t1"] - reg["t0"]
        preload_ms = reg["t2"] - reg["t1"]
        win = sp.info["windows"]["install_import"]
        run = {
            "load_pyodide_ms": t["load_pyodide_ms"],
            "load_micropip_ms": t["load_micropip_ms"],
            "install_webvoice_ms": t["install_webvoice_ms"],
            "import_webvoice_ms": t["import_webvoice_ms"],
            "register_ms": register_ms,
            "preload_calls_ms": preload_ms,
            "share_ms": t["load_micropip_ms"] + t["install_webvoice_ms"] + t["import_webvoice_ms"] + register_ms,
            # The window opens inside the task that finished loadPyodide():
            # only the tasks that began in it are webvoice's.
            "long_tasks_install_import": sp.long_tasks(*win, started_within=True),
            "long_tasks_registration": sp.long_tasks(reg["t0"], reg["t1"]),
            "long_tasks_preload": sp.long_tasks(reg["t1"], reg["t2"]),
        }
        env.stop_ua(sp)
        return run
    finally:
        sp.close()


def _jssip_once(env) -> dict:
    user = USERS["jssip"]["startup"]
    sp = env.open_jssip()
    try:
        load = sp.info["load"]
        reg = env.start_ua(sp, user)
        run = {
            "load_ms": load["t1"] - load["t0"],
            "register_ms": reg["t1"] - reg["t0"],
            "total_ms": (load["t1"] - load["t0"]) + (reg["t1"] - reg["t0"]),
            "long_tasks_load": sp.long_tasks(load["t0"], load["t1"]),
            "long_tasks_registration": sp.long_tasks(reg["t0"], reg["t1"]),
        }
        env.stop_ua(sp)
        return run
    finally:
        sp.close()


def _medians(runs: list[dict]) -> dict:
    keys = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    return {k: median([r[k] for r in runs]) for k in keys}


def run(env, *, runs: int) -> dict:
    samples = {"webvoice": [], "webvoice_micropip": [], "webvoice_loadpackage": [], "jssip": []}
    for i in range(runs):
        log(f"start-up run {i + 1}/{runs}")
        # Interleaved, so that a busy moment of the machine hits all alike.
        samples["webvoice"].append(_webvoice_once(env, "installer"))
        samples["jssip"].append(_jssip_once(env))
        samples["webvoice_micropip"].append(_webvoice_once(env, "micropip"))
        samples["webvoice_loadpackage"].append(_webvoice_once(env, "loadpackage"))
    out = {name: {"median": _medians(rs), "runs": rs} for name, rs in samples.items()}
    share = out["webvoice"]["median"]["share_ms"]
    out["goal_share_ms_max"] = GOAL_SHARE_MS
    out["goal_met"] = share < GOAL_SHARE_MS
    out["ratio_share_to_jssip"] = share / out["jssip"]["median"]["total_ms"]
    return out
