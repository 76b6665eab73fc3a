"""``deepaas.model.v2.base.BaseModel``: the abstract class DEEPaaS v2 models may derive from.

As in DEEPaaS, every method is abstract: a subclass implements them all (raising
``NotImplementedError`` for what it does not do). deepserve does not need the base class; it
serves any class, instance or module with these members.
"""

import abc


class BaseModel(abc.ABC):
    """A DEEPaaS v2 model."""

    #: The predict response: a marshmallow ``Schema`` subclass, a dict of fields, or None.
    schema = None

    @abc.abstractmethod
    def get_metadata(self):
        """A dict: ``name``, ``description``, ``author``, ``version``, ``license``, ``url``..."""

    @abc.abstractmethod
    def warm(self):
        """Load the model before the first request."""

    @abc.abstractmethod
    def get_predict_args(self):
        """The predict arguments, a dict of webargs/marshmallow fields."""

    @abc.abstractmethod
    def predict(self, **kwargs):
        """A prediction from the arguments declared by ``get_predict_args``."""

    @abc.abstractmethod
    def get_train_args(self):
        """The training arguments, a dict of webargs/marshmallow fields."""

    @abc.abstractmethod
    def train(self, **kwargs):
        """Train with the arguments declared by ``get_train_args``; return JSON-able data."""
