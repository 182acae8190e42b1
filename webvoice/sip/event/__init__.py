"""Event notification (RFC 6665, RFC 3903) and its packages' bodies (dialog-info, PIDF, message-summary).

Private to :mod:`webvoice.sip`: import the public names from there.
"""
