"""``deepaas.model.v2.wrapper.UploadedFile``: what a file argument is, for DEEPaaS models.

deepserve hands a DEEPaaS model its uploads as instances of this class (whichever ``deepaas``
is installed), so a model's ``isinstance`` checks and attribute reads hold.
"""

import collections

UploadedFile = collections.namedtuple(
    "UploadedFile",
    ("name", "filename", "content_type", "original_filename"),
    defaults=(None, None, None, None),
)
UploadedFile.__doc__ = """An uploaded file: ``name`` (the argument), ``filename`` (its path on
local disk), ``content_type`` and ``original_filename`` (the name the client sent)."""
