"""A model whose import fails on line 10 (a NameError), to show where."""

from deepserve import BaseModel


class Typo(BaseModel):
    def get_metadata(self):
        return {"name": "typo"}

    get_predict_args = undefined_name  # noqa: F821
