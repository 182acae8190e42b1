"""Benchmarks: figures, never assertions. ``python -m bench.run`` (``make bench``)."""
