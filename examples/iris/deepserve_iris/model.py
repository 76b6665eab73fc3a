"""The iris example model: a scikit-learn classifier served by deepserve.

It classifies an iris flower as *setosa*, *versicolor* or *virginica* from four
measurements in centimetres, using the copy of Fisher's iris data set that
scikit-learn ships (nothing is downloaded).

Layout:

* :func:`build_classifier` builds an unfitted classifier from hyper-parameters;
* :class:`TrainedModel` is a fitted classifier plus the version that names it;
* :class:`SavedModels` keeps trained models on disk, in the model's deepserve
  directory, with a ``current`` file naming the newest;
* :class:`IrisModel` answers predictions with :meth:`IrisModel.current_model`: the
  newest trained model, else the default classifier fitted on all the data. Its
  ``train`` (run by deepserve as a training job) fits a classifier with the given
  hyper-parameters, measures it on held-out flowers and saves it, so every serving
  process switches to it at its next prediction.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import pickle
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from marshmallow import Schema, fields, validate
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

import deepserve
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


def new_version() -> str:
    """A unique, time-ordered name for a trained model: its UTC time to the microsecond
    and a random suffix, e.g. ``20240501T120000.123456Z-3f2a1c``."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y%m%dT%H%M%S.%fZ") + "-" + uuid.uuid4().hex[:6]


class SavedModels:
    """Trained models in ``directory``: one pickle per version, and a ``current`` file
    naming the newest. Every file is written whole, then renamed into place, so a
    reader never sees half a model."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.pointer = directory / "current"

    def save(self, model: TrainedModel) -> None:
        """Save ``model`` and make it the current one."""
        self._write(self.directory / f"{model.version}.pkl", pickle.dumps(model.classifier))
        self._write(self.pointer, model.version.encode())

    def state(self) -> tuple | None:
        """Identifies the current model's ``current`` file (``None`` if nothing was saved):
        a cheap check whether it changed."""
        try:
            stat = self.pointer.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def load_current(self) -> TrainedModel:
        """The current saved model."""
        version = self.pointer.read_text().strip()
        classifier = pickle.loads((self.directory / f"{version}.pkl").read_bytes())
        return TrainedModel(classifier, version)

    def _write(self, path: Path, data: bytes) -> None:
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".saving-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise


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
            f'training job that made it, or "{DEFAULT_MODEL_VERSION}" for the default '
            "classifier (before any training)"
        },
    )


class IrisModel(BaseModel):
    """Classifies iris flowers from their sepal and petal measurements.

    Creating it is cheap: the classifier is fitted (or the newest trained one loaded)
    by :meth:`warm`, or by the first :meth:`predict` if ``warm`` was not called.
    """

    schema = IrisPrediction

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # The current model, with the SavedModels.state() it was loaded for.
        self._current: tuple[tuple | None, TrainedModel] | None = None
        self._saved: SavedModels | None = None

    # -- the current model ---------------------------------------------------------

    def saved_models(self) -> SavedModels:
        """The trained models, in deepserve's directory for this model."""
        if self._saved is None:
            self._saved = SavedModels(deepserve.model_dir("iris"))
        return self._saved

    def current_model(self) -> TrainedModel:
        """The model that answers predictions: the newest trained one, else the
        default one (fitted on first use)."""
        state = self.saved_models().state()
        current = self._current
        if current is not None and current[0] == state:
            return current[1]
        with self._lock:
            if self._current is None or self._current[0] != state:
                saved = self.saved_models()
                model = saved.load_current() if state else fit_default_model()
                self._current = (state, model)
            return self._current[1]

    # -- the deepserve contract ----------------------------------------------------

    def warm(self) -> None:
        """Load (or fit) the current classifier now rather than on the first prediction."""
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
        """Fit on part of the data, measure on the rest, save as the current model."""
        deepserve.report(progress=0.0, message="splitting the data")
        x, y = load_data()
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=test_size, stratify=y, random_state=RANDOM_STATE
        )
        deepserve.report(progress=0.2, message=f"fitting on {len(x_train)} flowers")
        classifier = build_classifier(C=C, max_iter=max_iter).fit(x_train, y_train)
        accuracy = float(classifier.score(x_test, y_test))
        deepserve.report(progress=0.8, metrics={"accuracy": accuracy}, message="saving the model")
        model = TrainedModel(classifier, new_version())
        self.saved_models().save(model)
        deepserve.report(progress=1.0, message=f"saved model {model.version}")
        return {
            "model_version": model.version,
            "accuracy": accuracy,
            "train_accuracy": float(classifier.score(x_train, y_train)),
            "train_size": len(x_train),
            "test_size": len(x_test),
            "hyper_parameters": {"C": C, "max_iter": max_iter, "test_size": test_size},
        }
