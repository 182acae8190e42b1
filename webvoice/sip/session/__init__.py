"""The INVITE session (RFC 3261 13-15): one call, made of parts, and its extensions.

Private to :mod:`webvoice.sip`: import the public names from there.
"""
