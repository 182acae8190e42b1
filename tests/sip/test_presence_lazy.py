"""Messages, subscriptions and their XML readers load on first use, not with ``import webvoice``."""

from __future__ import annotations

import subprocess
import sys

LAZY = ("webvoice.sip.ua._message_method", "webvoice.sip.event._subscription", "webvoice.sip.event._publication",
        "webvoice.sip.event._dialog_info", "webvoice.sip.event._pidf", "webvoice.sip.event._mwi", "webvoice.sip.event._xml",
        "xml.etree.ElementTree", "pyexpat")


def test_import_webvoice_loads_none_of_them():
    code = f"import sys, webvoice; print([m for m in {LAZY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_watch_loads_them():
    code = ("import sys, webvoice.sip.ua._ua as ua, webvoice.sip.syntax._uri as u\n"
            "a = ua.UserAgent(ua.UaConfig(user='a', domain='x.test', password='p'))\n"
            "a.subscribe(u.parse_uri('sip:b@x.test'), 'dialog', (), 0.0)\n"
            "print('webvoice.sip.event._subscription' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
