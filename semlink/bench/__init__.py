"""Benchmarks that measure two things side by side in one run and print the ratio (``semlink bench ...``)."""
