"""DEEPaaS model contracts (only v2 exists)."""
