"""The transaction layer (RFC 3261 17): timers, the state tables, the machines, the layer.

Private to :mod:`webvoice.sip`: import the public names from there.
"""
