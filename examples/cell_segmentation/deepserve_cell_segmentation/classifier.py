"""The learned part: a random forest that tells nucleus pixels from background pixels.

Each pixel is described by scikit-image's multiscale basic features of every channel
(intensity, gradient magnitude and the two Hessian eigenvalues after Gaussian smoothing with
sigma 1, 2 and 4): 12 features per channel.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from skimage.feature import multiscale_basic_features
from sklearn.ensemble import RandomForestClassifier

from .images import normalise

RANDOM_STATE = 0
FEATURES = {"sigma_min": 1, "sigma_max": 4, "num_sigma": 3}

#: Default hyper-parameters of :func:`fit`.
DEFAULT_HYPER: dict[str, Any] = {"n_estimators": 20, "max_depth": 10, "training_pixels": 20000}


def pixel_features(image: np.ndarray) -> np.ndarray:
    """``(height, width, n_features)`` float32 features of a grey or RGB image."""
    return multiscale_basic_features(normalise(image), channel_axis=-1, **FEATURES)


def channels(image: np.ndarray) -> int:
    """1 for a grey image, 3 for RGB."""
    return 1 if image.ndim == 2 else image.shape[-1]


@dataclasses.dataclass(frozen=True)
class PixelClassifier:
    """A fitted forest and the number of image channels it was fitted on."""

    forest: RandomForestClassifier
    channels: int

    def probability(self, features: np.ndarray) -> np.ndarray:
        """Probability that each pixel is part of a nucleus, ``(height, width)``."""
        height, width, count = features.shape
        proba = self.forest.predict_proba(features.reshape(-1, count))
        return proba[:, list(self.forest.classes_).index(True)].reshape(height, width)


def fit(
    features: np.ndarray,
    mask: np.ndarray,
    region: np.ndarray,
    image_channels: int,
    hyper: dict[str, Any],
) -> PixelClassifier:
    """Fit on ``training_pixels`` pixels drawn at random from ``region`` (a boolean image),
    which must hold both nucleus and background pixels."""
    hyper = {**DEFAULT_HYPER, **hyper}
    candidates = np.flatnonzero(region)
    rng = np.random.default_rng(RANDOM_STATE)
    chosen = rng.choice(candidates, min(hyper["training_pixels"], candidates.size), replace=False)
    forest = RandomForestClassifier(
        n_estimators=hyper["n_estimators"],
        max_depth=hyper["max_depth"],
        random_state=RANDOM_STATE,
        n_jobs=1,
    )
    forest.fit(features.reshape(-1, features.shape[-1])[chosen], mask.ravel()[chosen])
    return PixelClassifier(forest, image_channels)


def pixel_scores(predicted: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Pixel accuracy and the intersection over union of the nucleus pixels."""
    union = np.count_nonzero(predicted | truth)
    return {
        "pixel_accuracy": float(np.mean(predicted == truth)),
        "nucleus_iou": float(np.count_nonzero(predicted & truth) / union) if union else 1.0,
    }
