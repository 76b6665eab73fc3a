"""Trivial models for deepserve's benchmark: the cost measured is the server's, not theirs."""
