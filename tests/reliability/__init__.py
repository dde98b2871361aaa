"""Reliability: crashes, kills, interrupts, disk full, hostile inputs and paths, concurrent runs;
with their support code (``support``, the crashing test backend ``crashy``)."""
