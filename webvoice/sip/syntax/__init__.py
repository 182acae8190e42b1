"""What the bytes mean: the RFC 3261 grammar, URIs, headers, messages, the parser, SDP, causes.

Private to :mod:`webvoice.sip`: import the public names from there.
"""
