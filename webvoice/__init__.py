"""webvoice: a SIP/WebRTC softphone SDK in Python for the browser.

The protocol core lives in :mod:`webvoice.sip` (pure Python, sans-IO); the
browser glue in :mod:`webvoice.browser` (the only code touching ``js``).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
