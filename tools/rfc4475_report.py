#!/usr/bin/env python3
"""One line per RFC 4475 torture message: does webvoice's parser take or refuse it as it should?

Run from the repository's root:  python3 -m tools.rfc4475_report
Reads tests/data/rfc4475 (the corpus and its manifest). Exit status 0 when
every ``valid`` message parses and every ``invalid`` one is refused with
SipParseError, 1 otherwise. A quick overview for people; the assertions
(fields, UAS answers) are in tests/sip/test_rfc4475.py.
"""

from __future__ import annotations

import json
import pathlib
import sys

from webvoice.sip import SipParseError, parse_message

ROOT = pathlib.Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "rfc4475"


def outcome(data: bytes) -> str:
    try:
        parse_message(data)
    except SipParseError as exc:
        return f"refused: {str(exc)[:70]}"
    except Exception as exc:  # noqa: BLE001 - a crash is what this report is for
        return f"CRASHED {type(exc).__name__}: {str(exc)[:60]}"
    return "parsed"


def main() -> int:
    wrong = 0
    for row in json.loads((CORPUS / "manifest.json").read_text()):
        seen = outcome((CORPUS / row["file"]).read_bytes())
        expected = {"valid": "parsed", "invalid": "refused"}.get(row["kind"])
        bad = seen.startswith("CRASHED") or (expected is not None and not seen.startswith(expected))
        wrong += bad
        print(f"{'FAIL' if bad else 'ok  '} {row['file']:<16} {row['kind']:<12} {seen}")
    print(f"{wrong} message(s) handled wrongly")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
