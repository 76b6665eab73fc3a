"""The iris example model: a scikit-learn classifier served by deepserve.

It classifies an iris flower as *setosa*, *versicolor* or *virginica* from four
measurements in centimetres, using the copy of Fisher's iris data set that
scikit-learn ships (nothing is downloaded).

Layout:

* :func:`build_classifier` builds an unfitted classifier from hyper-parameters;
* :class:`IrisModel` answers predictions with the current version of its
  :class:`~deepserve.artefacts.ArtefactStore`: the newest trained classifier, else the
  default one fitted on all the data. Its ``train`` (run by deepserve as a training
  job) fits a classifier with the given hyper-parameters, measures it on held-out
  flowers and saves it in the store, so every serving process switches to it at its
  next prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from marshmallow import Schema, fields, validate
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import deepserve
from deepserve.artefacts import DEFAULT_VERSION, ArtefactStore
from deepserve.model import BaseModel
from deepserve_iris import __version__

#: Argument names of ``predict``, in the column order of the iris data.
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")

#: Class names, in the order of ``load_iris().target_names``.
CLASSES = ("setosa", "versicolor", "virginica")

#: The model's name: its entry point, and its folder in deepserve's data directory.
NAME = "iris"

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


def fit_default() -> Pipeline:
    """The default classifier: :func:`build_classifier` fitted on the whole iris data set."""
    x, y = load_data()
    return build_classifier().fit(x, y)


def rank(classifier: Pipeline, rows: np.ndarray) -> list[list[tuple[str, float]]]:
    """Probability of each class for each flower (a row of :data:`FEATURES`), most probable
    first: one call of the classifier for all the rows."""
    labels = [CLASSES[int(i)] for i in classifier.classes_]
    ranked = []
    for proba in classifier.predict_proba(np.asarray(rows, dtype=float)):
        pairs = [(label, float(p)) for label, p in zip(labels, proba, strict=True)]
        ranked.append(sorted(pairs, key=lambda pair: pair[1], reverse=True))
    return ranked


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
            "description": "Which trained model answered: the version returned by the "
            f'training job that made it, or "{DEFAULT_VERSION}" for the default '
            "classifier (before any training)"
        },
    )


class IrisModel(BaseModel):
    """Classifies iris flowers from their sepal and petal measurements.

    Creating it is cheap: the classifier is fitted (or the newest trained one loaded)
    by :meth:`warm`, or by the first :meth:`predict` if ``warm`` was not called.
    """

    schema = IrisPrediction
    #: Concurrent predictions are classified together, up to 64 flowers per call.
    max_batch_size = 64
    max_batch_wait_ms = 2.0
    #: The artefact store locks its loading, and scikit-learn predicts without side effects.
    thread_safe = True

    def __init__(self) -> None:
        #: The trained classifiers (scikit-learn pipelines), and the default one.
        self.store = ArtefactStore(NAME, default=fit_default)

    def warm(self) -> None:
        """Load (or fit) the current classifier now rather than on the first prediction."""
        self.store.current()

    def get_metadata(self) -> dict:
        return {
            "name": NAME,
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
        measurements = (sepal_length, sepal_width, petal_length, petal_width)
        flower = {**dict(zip(FEATURES, measurements, strict=True)), "top_k": top_k}
        return self.predict_batch([flower])[0]

    def predict_batch(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Classify several flowers (each a dict of :meth:`predict`'s arguments) in one call
        of the classifier: what deepserve calls with concurrent requests."""
        current = self.store.current()
        rows = [[flower[name] for name in FEATURES] for flower in batch]
        return [
            {
                "label": ranked[0][0],
                "probabilities": [
                    {"label": label, "probability": probability}
                    for label, probability in ranked[: flower.get("top_k", len(CLASSES))]
                ],
                "model_version": current.version,
            }
            for flower, ranked in zip(batch, rank(current.value, rows), strict=True)
        ]

    def get_train_args(self) -> dict[str, fields.Field]:
        return {
            "C": fields.Float(
                load_default=DEFAULT_HYPER["C"],
                validate=validate.Range(min=1e-4, max=1e4),
                metadata={
                    "description": "inverse regularisation strength of the logistic "
                    "regression: smaller values regularise more",
                    "example": 1.0,
                },
            ),
            "max_iter": fields.Int(
                load_default=DEFAULT_HYPER["max_iter"],
                validate=validate.Range(min=10, max=10_000),
                metadata={"description": "maximum solver iterations", "example": 1000},
            ),
            "test_size": fields.Float(
                load_default=0.2,
                validate=validate.Range(min=0.1, max=0.5),
                metadata={
                    "description": "fraction of the flowers held out (stratified) to "
                    "measure the accuracy; the model is fitted on the others",
                    "example": 0.2,
                },
            ),
        }

    def train(self, *, C: float, max_iter: int, test_size: float) -> dict[str, Any]:
        """Fit on part of the data, measure on the rest, save as the current version."""
        deepserve.report(progress=0.0, message="splitting the data")
        x, y = load_data()
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=test_size, stratify=y, random_state=RANDOM_STATE
        )
        deepserve.report(progress=0.2, message=f"fitting on {len(x_train)} flowers")
        classifier = build_classifier(C=C, max_iter=max_iter).fit(x_train, y_train)
        accuracy = float(classifier.score(x_test, y_test))
        deepserve.report(progress=0.8, metrics={"accuracy": accuracy}, message="saving the model")
        result = {
            "accuracy": accuracy,
            "train_accuracy": float(classifier.score(x_train, y_train)),
            "train_size": len(x_train),
            "test_size": len(x_test),
            "hyper_parameters": {"C": C, "max_iter": max_iter, "test_size": test_size},
        }
        version = self.store.save(classifier, info=result)
        deepserve.report(progress=1.0, message=f"saved model {version}")
        return {"model_version": version, **result}
