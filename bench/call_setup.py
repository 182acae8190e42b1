"""Figure 2: call setup, ``call()`` until the caller's ``confirmed`` event.

Both ends in the same Chromium, each in its own page, registered with the same
Kamailio: a webvoice caller calling a webvoice callee, and a JsSIP caller
calling a JsSIP callee. The callee answers at once (webvoice:
``on_incoming_call(lambda c: c.accept())``; JsSIP: ``session.answer()`` in
``newRTCSession``). Audio only, fake microphone, no STUN server on either side.

The calls alternate between the stacks (webvoice first on even rounds, JsSIP
first on odd ones); each is hung up and both pages are idle before the next.
The median of all calls counts (the first call included: it is what a user
waits for too). Long tasks (figure 4) are collected over each call's window,
in the caller's page and the callee's.
"""

from __future__ import annotations

import time

from bench.common import USERS, log, median

GOAL_RATIO = 0.7


def _one_call(env, caller, callee, callee_user: str) -> dict:
    r = env.call(caller, callee_user)
    t0, t1 = r["t0"], r["t1"]
    t_invite = r.get("tInvite")
    sample = {"ms": t1 - t0,
              # call() to the INVITE going out (microphone, offer, ICE), and from
              # there to confirmed (Kamailio, the callee's answer, 200 OK, ACK).
              "to_invite_ms": None if t_invite is None else t_invite - t0,
              "invite_to_confirmed_ms": None if t_invite is None else t1 - t_invite,
              "long_tasks_caller": caller.long_tasks(t0, t1),
              "long_tasks_callee": callee.long_tasks(t0, t1)}
    env.hang_up(caller)
    env.wait_idle(caller, callee)
    return sample


def _summary(samples: list[dict]) -> dict:
    ms = [s["ms"] for s in samples]
    tasks = [t for s in samples for key in ("long_tasks_caller", "long_tasks_callee") for t in s[key]["tasks"]]
    split = {key: median([s[key] for s in samples if s[key] is not None]) for key in
             ("to_invite_ms", "invite_to_confirmed_ms")}
    return {
        "median_ms": median(ms), "min_ms": min(ms), "max_ms": max(ms), "first_ms": ms[0], "samples_ms": ms,
        "median_to_invite_ms": split["to_invite_ms"],
        "median_invite_to_confirmed_ms": split["invite_to_confirmed_ms"],
        "long_tasks": {"count": len(tasks), "longest_ms": max((t["duration_ms"] for t in tasks), default=0),
                       "per_call": [[s["long_tasks_caller"]["count"], s["long_tasks_callee"]["count"]]
                                    for s in samples]},
    }


def run(env, pages: dict, *, calls: int, settle_s: float = 0.3) -> dict:
    """``pages``: {"webvoice": (caller, callee), "jssip": (caller, callee)}, registered."""
    samples = {"webvoice": [], "jssip": []}
    for i in range(calls):
        order = ("webvoice", "jssip") if i % 2 == 0 else ("jssip", "webvoice")
        for stack in order:
            caller, callee = pages[stack]
            samples[stack].append(_one_call(env, caller, callee, USERS[stack]["callee"]))
            time.sleep(settle_s)
        log(f"call {i + 1}/{calls}: webvoice {samples['webvoice'][-1]['ms']:.0f} ms, "
            f"JsSIP {samples['jssip'][-1]['ms']:.0f} ms")
    out = {stack: _summary(s) for stack, s in samples.items()}
    out["calls"] = calls
    out["ratio"] = out["webvoice"]["median_ms"] / out["jssip"]["median_ms"]
    out["goal_ratio_max"] = GOAL_RATIO
    out["goal_met"] = out["ratio"] <= GOAL_RATIO
    return out
