"""The user agent core on top: the UAS checks, registration, MESSAGE, and the UserAgent that feeds them all.

Private to :mod:`webvoice.sip`: import the public names from there.
"""
