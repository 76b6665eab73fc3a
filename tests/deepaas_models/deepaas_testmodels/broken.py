"""``deepaas-badaccept``: an ``accept`` argument that does not say which media types it offers."""

from webargs import fields


class NoChoicesModel:
    """DEEPaaS itself fails to start with this model."""

    def get_metadata(self):
        """Return the model metadata."""
        return {"name": "deepaas-badaccept", "description": "accept without choices"}

    def get_predict_args(self):
        """An ``accept`` argument without OneOf or enum."""
        return {"accept": fields.Str(metadata={"description": "Any media type."})}

    def predict(self, **kwargs):
        """Never called."""
        return kwargs
