"""Figure 1: SIP parsing, microseconds per message, in the same Chromium.

* webvoice: ``webvoice.sip.parse_message(bytes)`` in Pyodide, timed inside
  Python with ``time.perf_counter`` (bench/pages/webvoice_bench.py).
* JsSIP: ``Parser.parseMessage(text, ua)``, the internal entry point JsSIP's
  UA runs on every incoming frame (lib/UA.js), then
  ``message.parseHeader('contact')``, timed with ``performance.now``
  (bench/pages/jssip_bench.js). JsSIP 3.13 parses Via (the first), From, To,
  Call-ID, CSeq, Contact, Record-Route, Content-Type/-Length, Max-Forwards and
  Session-Expires at once and leaves the others (Allow, Supported, the second
  Via...) for later; webvoice parses every header at once.

Both: the typical INVITE and 200 OK of bench/parse.py, best of ``rounds``
rounds of ``number`` parses after a warm-up. The CPython figure (bench/parse.py
on this machine's Python) is added for reference, and so is webvoice's whole
frame path (JavaScript string into Python, encoded, parsed).
"""

from __future__ import annotations

import platform

from bench import parse as cpython_parse
from bench.common import js, pycall

MESSAGES = {name: data.decode() for name, data in cpython_parse.MESSAGES.items()}
GOAL_RATIO = 0.5  # webvoice at most half of JsSIP's time


def run(webvoice_page, jssip_page, *, rounds: int, number: int, warmup: int) -> dict:
    jssip = js(jssip_page.page, "(a) => window.benchParse(a)",
               {"messages": MESSAGES, "rounds": rounds, "number": number, "warmup": warmup},
               timeout=600)["results"]
    webvoice = pycall(webvoice_page.page, f"bench_parse({MESSAGES!r}, {rounds}, {number}, {warmup})",
                      timeout=600)
    frame = pycall(webvoice_page.page, f"bench_parse_frame({MESSAGES!r}, {rounds}, {number})", timeout=600)
    cpython = {name: cpython_parse.measure(data, rounds, number) for name, data in cpython_parse.MESSAGES.items()}
    out = {"goal_ratio_max": GOAL_RATIO, "rounds": rounds, "number": number, "warmup": warmup,
           "cpython_version": platform.python_version(), "messages": {}}
    for name in MESSAGES:
        w, j = webvoice[name]["best_us"], jssip[name]["best_us"]
        out["messages"][name] = {
            "octets": len(cpython_parse.MESSAGES[name]),
            "webvoice_pyodide_us": w,
            "jssip_us": j,
            "ratio": w / j,
            "goal_met": w / j <= GOAL_RATIO,
            "webvoice_frame_path_us": frame[name]["best_us"],
            "webvoice_cpython_us": cpython[name],
            "rounds_us": {"webvoice": webvoice[name]["rounds_us"], "jssip": jssip[name]["rounds_us"],
                          "webvoice_frame_path": frame[name]["rounds_us"]},
        }
    return out
