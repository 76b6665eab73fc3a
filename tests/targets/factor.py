"""Imported by doubler.py from the same directory."""

FACTOR = 2
