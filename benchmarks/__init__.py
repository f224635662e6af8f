"""Benchmarks: scripts that print measured tables (``python -m benchmarks.<name>``)."""
