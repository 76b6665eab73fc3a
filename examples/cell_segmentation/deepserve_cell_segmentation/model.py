"""The cell segmentation example model: labelled nuclei in a microscopy image.

A random forest classifies every pixel as nucleus or background from multiscale image features
(:mod:`.classifier`); the nucleus pixels are then cut into instances, touching nuclei split by a
watershed (:mod:`.instances`). A default forest is fitted on scikit-image's
immunohistochemistry sample image and its derived annotation by
:meth:`CellSegmentationModel.warm`; :meth:`CellSegmentationModel.train` fits one on the user's
image and label mask and stores it, and from then on every serving process uses the newest.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import skimage.data
from marshmallow import Schema, fields, validate

from deepserve import File, UploadedFile, report
from deepserve.artefacts import DEFAULT_VERSION, ArtefactStore
from deepserve.errors import ArgumentError
from deepserve.model import BaseModel
from deepserve_cell_segmentation import __version__
from deepserve_cell_segmentation.classifier import (
    DEFAULT_HYPER,
    PixelClassifier,
    channels,
    fit,
    pixel_features,
    pixel_scores,
)
from deepserve_cell_segmentation.images import ImageError, overlay_png, read, read_mask
from deepserve_cell_segmentation.instances import describe, segment

NAME = "cell-segmentation"
#: The annotation of ``skimage.data.immunohistochemistry()`` (see make_annotation.py).
SAMPLE_LABELS = Path(__file__).parent / "data" / "ihc_nuclei_labels.png"
DEFAULT_TEST_FRACTION = 0.25
PNG = "image/png"


def sample() -> tuple[np.ndarray, np.ndarray]:
    """The bundled sample: scikit-image's IHC image and its nucleus mask."""
    image = skimage.data.immunohistochemistry()
    return image, read_mask(SAMPLE_LABELS, image.shape[:2])


def regions(shape: tuple[int, ...], test_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Boolean training and test regions: the bottom ``test_fraction`` of the rows is kept
    out for testing (a band, so that test pixels are not neighbours of training pixels)."""
    test = np.zeros(shape[:2], dtype=bool)
    test[shape[0] - max(1, round(shape[0] * test_fraction)) :] = True
    return ~test, test


def fit_default() -> PixelClassifier:
    """The default forest: fitted on the top of the sample, as train does by default."""
    image, mask = sample()
    region, _ = regions(image.shape, DEFAULT_TEST_FRACTION)
    return fit(pixel_features(image), mask, region, channels(image), DEFAULT_HYPER)


class Box(Schema):
    """A bounding box in pixels: rows and columns from the top left; max_* are exclusive."""

    min_row = fields.Int(required=True, metadata={"description": "First row"})
    min_col = fields.Int(required=True, metadata={"description": "First column"})
    max_row = fields.Int(required=True, metadata={"description": "Row after the last"})
    max_col = fields.Int(required=True, metadata={"description": "Column after the last"})


class Cell(Schema):
    """One segmented nucleus."""

    label = fields.Int(
        required=True, metadata={"description": "Instance number, 1 to count, as in the overlay"}
    )
    area = fields.Int(required=True, metadata={"description": "Area in pixels"})
    centroid = fields.List(
        fields.Float(),
        required=True,
        validate=validate.Length(equal=2),
        metadata={"description": "Centre of mass as [row, column]"},
    )
    bbox = fields.Nested(Box, required=True, metadata={"description": "Bounding box"})


class ImageSize(Schema):
    """The size of the image segmented."""

    height = fields.Int(required=True, metadata={"description": "Rows"})
    width = fields.Int(required=True, metadata={"description": "Columns"})
    channels = fields.Int(required=True, metadata={"description": "1 (grey) or 3 (RGB)"})


class Segmentation(Schema):
    """The response of the cell segmentation model's ``predict``."""

    model_version = fields.Str(
        required=True,
        metadata={
            "description": f'Which trained forest answered: "{DEFAULT_VERSION}" for the one '
            "fitted on the sample image at start-up, else the version made by train"
        },
    )
    image = fields.Nested(ImageSize, required=True)
    count = fields.Int(required=True, metadata={"description": "Number of nuclei found"})
    mean_area = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "Mean nucleus area in pixels (null when none was found)"},
    )
    nucleus_fraction = fields.Float(
        required=True, metadata={"description": "Fraction of the image covered by nuclei"}
    )
    cells = fields.List(
        fields.Nested(Cell), required=True, metadata={"description": "Every nucleus found"}
    )


class CellSegmentationModel(BaseModel):
    """Finds and measures the nuclei in a microscopy image."""

    schema = Segmentation
    predict_media_types = ("application/json", PNG)
    #: The trained versions, shared by the instances of a process.
    store = ArtefactStore(NAME, default=fit_default)

    # -- the deepserve contract ----------------------------------------------------

    def warm(self) -> None:
        """Fit the default forest now (about a second) rather than on first use."""
        self.store.current()

    def get_metadata(self) -> dict:
        return {
            "name": NAME,
            "description": (
                "Instance segmentation of cell nuclei in a microscopy image: a random forest "
                "classifies pixels from multiscale image features (scikit-image), a watershed "
                "splits touching nuclei. Returns the number of nuclei, their areas and "
                "bounding boxes, or (Accept: image/png) the outlines drawn on the image. The "
                "default forest is fitted on scikit-image's immunohistochemistry sample "
                "(brightfield RGB, nuclei stained blue); train fits one on your images."
            ),
            "version": __version__,
            "author": "deepserve",
            "license": "Apache-2.0",
            "url": "https://scikit-image.org/docs/stable/api/skimage.data.html",
            "dataset": (
                "skimage.data.immunohistochemistry() with a derived nucleus annotation "
                "(see make_annotation.py; not drawn by hand)"
            ),
            "estimator": "RandomForestClassifier on skimage multiscale_basic_features",
        }

    def get_predict_args(self) -> dict[str, fields.Field]:
        return {
            "image": File(
                required=True,
                metadata={
                    "description": "Microscopy image (PNG, TIFF or JPEG), grey or RGB, at "
                    "most 2 megapixels, with as many channels as the training images (RGB "
                    "for the default forest)"
                },
            ),
            "threshold": fields.Float(
                load_default=0.5,
                validate=validate.Range(min=0.05, max=0.95),
                metadata={"description": "Nucleus probability above which a pixel is nucleus"},
            ),
            "min_size": fields.Int(
                load_default=30,
                validate=validate.Range(min=1, max=10_000),
                metadata={"description": "Smallest nucleus kept, in pixels"},
            ),
            "min_distance": fields.Int(
                load_default=5,
                validate=validate.Range(min=1, max=100),
                metadata={
                    "description": "Smallest distance between the centres of two touching "
                    "nuclei, in pixels; smaller values split more"
                },
            ),
            "split": fields.Bool(
                load_default=True,
                metadata={"description": "Split touching nuclei (watershed)"},
            ),
        }

    def predict(
        self,
        *,
        image: UploadedFile,
        threshold: float = 0.5,
        min_size: int = 30,
        min_distance: int = 5,
        split: bool = True,
        accept: str = "application/json",
    ) -> Any:
        pixels = _image_argument("image", image)
        current = self.store.current()
        classifier: PixelClassifier = current.value
        if channels(pixels) != classifier.channels:
            raise ArgumentError(
                {
                    "image": [
                        f"The image has {channels(pixels)} channel(s) but the current model "
                        f"was trained on images with {classifier.channels}; train it on "
                        "images like this one."
                    ]
                }
            )
        probability = classifier.probability(pixel_features(pixels))
        labels = segment(probability, threshold, min_size, min_distance, split)
        if accept == PNG:
            return overlay_png(pixels, labels)
        cells = describe(labels)
        areas = [cell["area"] for cell in cells]
        return {
            "model_version": current.version,
            "image": {
                "height": pixels.shape[0],
                "width": pixels.shape[1],
                "channels": channels(pixels),
            },
            "count": len(cells),
            "mean_area": float(np.mean(areas)) if areas else None,
            "nucleus_fraction": float(np.count_nonzero(labels) / labels.size),
            "cells": cells,
        }

    def get_train_args(self) -> dict[str, fields.Field]:
        return {
            "image": File(
                metadata={
                    "description": "Training image (PNG, TIFF or JPEG); with labels, or "
                    "neither for the bundled sample"
                }
            ),
            "labels": File(
                metadata={
                    "description": "Label mask of the image, same size: 0 for background, "
                    "anything else for nuclei (an instance label image or a binary mask)"
                }
            ),
            "n_estimators": fields.Int(
                load_default=DEFAULT_HYPER["n_estimators"],
                validate=validate.Range(min=1, max=200),
                metadata={"description": "Trees in the forest"},
            ),
            "max_depth": fields.Int(
                load_default=DEFAULT_HYPER["max_depth"],
                validate=validate.Range(min=1, max=40),
                metadata={"description": "Maximum depth of a tree"},
            ),
            "training_pixels": fields.Int(
                load_default=DEFAULT_HYPER["training_pixels"],
                validate=validate.Range(min=1000, max=500_000),
                metadata={"description": "Pixels drawn at random to fit on"},
            ),
            "test_fraction": fields.Float(
                load_default=DEFAULT_TEST_FRACTION,
                validate=validate.Range(min=0.05, max=0.5),
                metadata={"description": "Bottom fraction of the rows kept out for testing"},
            ),
        }

    def train(
        self,
        *,
        image: UploadedFile | None = None,
        labels: UploadedFile | None = None,
        test_fraction: float = DEFAULT_TEST_FRACTION,
        **hyper,
    ) -> dict:
        """Fit a forest on the top of the image, score it on the bottom band, store it."""
        if (image is None) != (labels is None):
            missing = "labels" if labels is None else "image"
            raise ArgumentError({missing: ["Give both image and labels, or neither."]})
        if image is None:
            pixels, mask = sample()
        else:
            pixels = _image_argument("image", image)
            try:
                mask = read_mask(labels.filename, pixels.shape[:2])
            except ImageError as error:
                raise ArgumentError({"labels": [str(error)]}) from error
        train_region, test_region = regions(pixels.shape, test_fraction)
        if mask[train_region].all() or not mask[train_region].any():
            raise ArgumentError(
                {"labels": ["The training part (above the test band) needs nuclei and background."]}
            )
        hyper = {**DEFAULT_HYPER, **hyper}
        report(progress=0.0, message="computing pixel features")
        features = pixel_features(pixels)
        report(progress=0.2, message="fitting the random forest")
        classifier = fit(features, mask, train_region, channels(pixels), hyper)
        report(progress=0.7, message="scoring on the test band")
        predicted = classifier.probability(features) > 0.5
        scores = pixel_scores(predicted[test_region], mask[test_region])
        report(progress=0.9, metrics=scores, message="storing")
        result = {
            "image": {"height": pixels.shape[0], "width": pixels.shape[1]},
            "channels": channels(pixels),
            "test_rows": int(test_region[:, 0].sum()),
            "hyper_parameters": hyper,
            "test_scores": scores,
        }
        version = self.store.save(classifier, info=result)
        report(progress=1.0, message=f"stored version {version}")
        return {"model_version": version, **result}


def _image_argument(name: str, upload: UploadedFile) -> np.ndarray:
    try:
        return read(upload.filename)
    except ImageError as error:
        raise ArgumentError({name: [str(error)]}) from error
