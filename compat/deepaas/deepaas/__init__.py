"""DEEPaaS's import paths for models served by deepserve; not DEEPaaS itself (see README.md)."""

#: Marks this package as deepserve's stand-in (the real DEEPaaS has no such attribute).
DEEPSERVE_COMPAT = True
