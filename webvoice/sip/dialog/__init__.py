"""Dialogs (RFC 3261 12): one dialog, its state, the store of all of them, INVITE forks.

Private to :mod:`webvoice.sip`: import the public names from there.
"""
