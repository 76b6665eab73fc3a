"""The iris example model: a scikit-learn classifier served by deepserve.

It classifies an iris flower as *setosa*, *versicolor* or *virginica* from four
measurements in centimetres, using the copy of Fisher's iris data set that
scikit-learn ships (nothing is downloaded).

Layout, so that training can be added without restructuring:

* :func:`build_classifier` builds an unfitted classifier from hyper-parameters;
* :class:`TrainedModel` is a fitted classifier plus the version that names it;
* :class:`IrisModel` holds the one current :class:`TrainedModel`; predictions
  always go through :meth:`IrisModel.current_model`.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import numpy as np
from marshmallow import Schema, fields, validate
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from deepserve.model import BaseModel
from deepserve_iris import __version__

#: Argument names of ``predict``, in the column order of the iris data.
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")

#: Class names, in the order of ``load_iris().target_names``.
CLASSES = ("setosa", "versicolor", "virginica")

#: ``model_version`` of the classifier fitted with the default hyper-parameters.
DEFAULT_MODEL_VERSION = "default"

#: Seed of every classifier built here, so that fits are reproducible.
RANDOM_STATE = 0

#: Default hyper-parameters of :func:`build_classifier`.
DEFAULT_HYPER: dict[str, Any] = {"C": 1.0, "max_iter": 1000}

_FEATURE_DESCRIPTIONS = {
    "sepal_length": ("Sepal length of the flower, in cm", 5.1),
    "sepal_width": ("Sepal width of the flower, in cm", 3.5),
    "petal_length": ("Petal length of the flower, in cm", 1.4),
    "petal_width": ("Petal width of the flower, in cm", 0.2),
}

#: Where to read about the model's data.
URL = "https://scikit-learn.org/stable/datasets/toy_dataset.html#iris-dataset"

#: Upper bound accepted for every measurement, in cm (the data set's largest is 7.9).
MAX_CM = 10


def load_data() -> tuple[np.ndarray, np.ndarray]:
    """The iris data bundled with scikit-learn: features (150, 4) and targets (150,).

    Targets are indices into :data:`CLASSES`.
    """
    data = load_iris()
    return data.data, data.target


def build_classifier(**hyper: Any) -> Pipeline:
    """An unfitted classifier: standardisation then logistic regression.

    ``hyper`` overrides :data:`DEFAULT_HYPER`; keys are ``LogisticRegression``
    parameters (``C``, ``max_iter``, ...).
    """
    params = {**DEFAULT_HYPER, **hyper}
    return Pipeline(
        [
            ("scaler", StandardScaler()),
            ("classifier", LogisticRegression(random_state=RANDOM_STATE, **params)),
        ]
    )


@dataclasses.dataclass(frozen=True)
class TrainedModel:
    """A fitted classifier and the ``model_version`` reported with its predictions."""

    classifier: Pipeline
    version: str

    def predict_proba(self, features: list[float]) -> list[tuple[str, float]]:
        """Probability of each class for one flower, most probable first."""
        row = np.asarray([features], dtype=float)
        proba = self.classifier.predict_proba(row)[0]
        labels = [CLASSES[int(i)] for i in self.classifier.classes_]
        pairs = [(label, float(p)) for label, p in zip(labels, proba, strict=True)]
        return sorted(pairs, key=lambda pair: pair[1], reverse=True)


def fit_default_model() -> TrainedModel:
    """The default classifier fitted on the whole iris data set."""
    x, y = load_data()
    return TrainedModel(build_classifier().fit(x, y), DEFAULT_MODEL_VERSION)


class ClassProbability(Schema):
    """One class and its predicted probability."""

    label = fields.Str(
        required=True,
        validate=validate.OneOf(CLASSES),
        metadata={"description": "Class name"},
    )
    probability = fields.Float(
        required=True,
        validate=validate.Range(min=0, max=1),
        metadata={"description": "Predicted probability of this class, from 0 to 1"},
    )


class IrisPrediction(Schema):
    """The response of the iris model's ``predict``."""

    label = fields.Str(
        required=True,
        validate=validate.OneOf(CLASSES),
        metadata={"description": "Predicted class: the most probable one"},
    )
    probabilities = fields.List(
        fields.Nested(ClassProbability),
        required=True,
        metadata={
            "description": "The top_k most probable classes with their "
            "probabilities, most probable first"
        },
    )
    model_version = fields.Str(
        required=True,
        metadata={
            "description": "Which trained model answered: "
            f'"{DEFAULT_MODEL_VERSION}" for the bundled default classifier'
        },
    )


class IrisModel(BaseModel):
    """Classifies iris flowers from their sepal and petal measurements.

    Creating it is cheap: the classifier is fitted by :meth:`warm`, or by the
    first :meth:`predict` if ``warm`` was not called.
    """

    schema = IrisPrediction

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: TrainedModel | None = None

    # -- the current model ---------------------------------------------------------

    def current_model(self) -> TrainedModel:
        """The model that answers predictions, fitting the default one if none yet."""
        current = self._current
        if current is None:
            with self._lock:
                if self._current is None:
                    self._current = fit_default_model()
                current = self._current
        return current

    # -- the deepserve contract ----------------------------------------------------

    def warm(self) -> None:
        """Fit the default classifier now rather than on the first prediction."""
        self.current_model()

    def get_metadata(self) -> dict:
        return {
            "name": "iris",
            "description": (
                "Classifies an iris flower as setosa, versicolor or virginica from "
                "its sepal and petal length and width in cm. A scikit-learn "
                "pipeline (standardisation + logistic regression) fitted on the 150 "
                "flowers of Fisher's iris data set."
            ),
            "version": __version__,
            "author": "deepserve",
            "license": "Apache-2.0",
            "url": URL,
            "classes": list(CLASSES),
            "features": list(FEATURES),
            "dataset": "Fisher's iris (scikit-learn bundled copy)",
            "estimator": "StandardScaler + LogisticRegression",
        }

    def get_predict_args(self) -> dict[str, fields.Field]:
        args: dict[str, fields.Field] = {
            name: fields.Float(
                required=True,
                validate=validate.Range(min=0, max=MAX_CM),
                metadata={"description": description, "example": example},
            )
            for name, (description, example) in _FEATURE_DESCRIPTIONS.items()
        }
        args["top_k"] = fields.Int(
            load_default=len(CLASSES),
            validate=validate.Range(min=1, max=len(CLASSES)),
            metadata={
                "description": "how many classes to return, most probable first",
                "example": len(CLASSES),
            },
        )
        return args

    def predict(
        self,
        *,
        sepal_length: float,
        sepal_width: float,
        petal_length: float,
        petal_width: float,
        top_k: int = len(CLASSES),
    ) -> dict[str, Any]:
        model = self.current_model()
        ranked = model.predict_proba([sepal_length, sepal_width, petal_length, petal_width])
        return {
            "label": ranked[0][0],
            "probabilities": [
                {"label": label, "probability": probability}
                for label, probability in ranked[:top_k]
            ],
            "model_version": model.version,
        }
