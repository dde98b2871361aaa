"""Helpers shared by the test modules (no tests here): real files, the real CLI, a rendered cache."""
