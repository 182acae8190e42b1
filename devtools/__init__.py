"""webvoice's development package: what the tests, the benchmarks and the demo share.

Not part of the wheel (flit ships the ``webvoice`` package only). Importable
from the repository's root, where pytest, ``python -m bench.run`` and
``python -m demo.serve`` run, so none of them edits ``sys.path``:

* ``devtools.kamailio``: the embedded Kamailio (config and controller);
* ``devtools.kamailio_server``: it as pytest fixtures;
* ``devtools.fake_transport``, ``devtools.fake_media``: the driver tier's fakes;
* ``devtools.browser``, ``devtools.chromium``, ``devtools.web``, ``devtools.pages``:
  Chromium, the static server and the test pages of the browser tiers;
* the rest: small helpers (a SIP-over-WebSocket client, the watchdog, ...).
"""
