"""A DEEPaaS model with DEEPaaS-era requirements (see README.md)."""
