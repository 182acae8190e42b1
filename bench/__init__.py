"""Benchmarks: figures, never assertions. ``python bench/run.py`` (``make bench``)."""
