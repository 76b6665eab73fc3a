"""From a nucleus probability map to labelled instances, and their measurements."""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.feature import peak_local_max
from skimage.filters import gaussian
from skimage.measure import regionprops
from skimage.segmentation import watershed

#: The keys of a bounding box, in the order of ``regionprops``' ``bbox``.
BOX = ("min_row", "min_col", "max_row", "max_col")


def segment(
    probability: np.ndarray,
    threshold: float = 0.5,
    min_size: int = 30,
    min_distance: int = 5,
    split: bool = True,
) -> np.ndarray:
    """Label image (0 background, 1..n instances) of the pixels above ``threshold``.

    Holes are filled; with ``split``, touching nuclei are separated by a watershed of the
    distance to the background, seeded at its local maxima at least ``min_distance`` pixels
    apart (a nucleus whose seed gave way to a neighbour's stays whole). Instances under
    ``min_size`` pixels are dropped, the rest numbered 1..n in reading order.
    """
    mask = ndi.binary_fill_holes(probability > threshold)
    components, count = ndi.label(mask)
    if split and count:
        components = _split(mask, components, min_distance)
    values, first, sizes = np.unique(components, return_index=True, return_counts=True)
    kept = (values > 0) & (sizes >= min_size)
    numbers = np.zeros(values[-1] + 1, dtype=np.int32)
    # Number the instances in reading order: top to bottom, left to right.
    numbers[values[kept][np.argsort(first[kept])]] = np.arange(1, np.count_nonzero(kept) + 1)
    return numbers[components]


def _split(mask: np.ndarray, components: np.ndarray, min_distance: int) -> np.ndarray:
    distance = gaussian(ndi.distance_transform_edt(mask), sigma=1.0)
    # Seeds over the whole image at once: much faster than per component.
    peaks = peak_local_max(
        distance, min_distance=min_distance, threshold_abs=0.5, exclude_border=False
    )
    markers = np.zeros(mask.shape, dtype=np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    labels = watershed(-distance, markers, mask=mask)
    unseeded = mask & (labels == 0)
    labels[unseeded] = components[unseeded] + len(peaks)
    return labels


def describe(labels: np.ndarray) -> list[dict]:
    """Label, area, centroid and bounding box of each instance, in label order."""
    return [
        {
            "label": int(region.label),
            "area": int(region.area),
            "centroid": [round(float(c), 2) for c in region.centroid],
            "bbox": dict(zip(BOX, map(int, region.bbox), strict=True)),
        }
        for region in regionprops(labels)
    ]
