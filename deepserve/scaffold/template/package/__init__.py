"""The ${name} model (see model.py)."""
