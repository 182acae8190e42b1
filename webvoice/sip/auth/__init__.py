"""Digest authentication (RFC 2617, 7616, 8760): challenges, credentials, the client.

Private to :mod:`webvoice.sip`: import the public names from there.
"""
