"""Benchmarks: scripts that print figures (see README.md). Run them as modules: python -m bench.<name>."""
