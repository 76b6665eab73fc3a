"""The DEEPaaS v2 model contract: ``base.BaseModel`` and ``wrapper.UploadedFile``."""
