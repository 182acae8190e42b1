"""Helpers the protocol layers share and that are no protocol themselves: ``@record``, lazy exports, backoff.

Private to :mod:`webvoice.sip`: import the public names from there.
"""
