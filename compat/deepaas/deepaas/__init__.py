"""DEEPaaS's import paths for models served by deepserve; not DEEPaaS itself (see README.md)."""

#: Marks this package as deepserve's stand-in (the real DEEPaaS has no such attribute).
DEEPSERVE_COMPAT = True

#: The distribution's version (setup.cfg reads it): the DEEPaaS API level it stands for, and
#: ``+deepserve``. Models that print DEEPaaS's ``__version__`` find it here as in DEEPaaS.
__version__ = "2.1.0+deepserve"
