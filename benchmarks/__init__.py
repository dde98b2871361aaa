"""Benchmarks of asyncrender's claims (``python -m benchmarks all [--quick]`` writes BENCHMARKS.md).

Benchmark-only code: the library never imports anything from here.
"""
