"""DEEPaaS-style test models (see README.md)."""
