"""Reading images and label masks (PNG, TIFF, JPEG, ...), and drawing outlines on an image."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import tifffile
from PIL import Image, UnidentifiedImageError
from skimage.segmentation import find_boundaries

#: Largest image accepted, in pixels (the features take about 150 bytes per pixel).
MAX_PIXELS = 2**21
OUTLINE = (255, 255, 0)
UNREADABLE = "Not a readable image (PNG, TIFF or JPEG)."
#: Pillow modes read as they are (any bit depth); all others are converted to 8-bit RGB.
GREY_MODES = frozenset({"1", "L", "I", "I;16", "I;16B", "F"})


class ImageError(Exception):
    """A file that is not an image this model can use; the message is for the user."""


def read(path: str | Path, *, palette_indices: bool = False) -> np.ndarray:
    """A single 2-D image: ``(height, width)`` grey or ``(height, width, 3)`` colour.

    TIFF files are read with tifffile (any bit depth), others with Pillow; an alpha channel
    is dropped; palette images give colours, or with ``palette_indices`` their indices. The
    size is checked before the pixels are decoded.
    """
    with open(path, "rb") as stream:
        magic = stream.read(4)
    try:
        if magic in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            with tifffile.TiffFile(path) as tiff:
                _check_size(int(np.prod(tiff.series[0].shape)), per_pixel=4)
                array = tiff.asarray()
        else:
            with Image.open(path) as image:
                _check_size(image.width * image.height)
                if image.mode == "LA":
                    image = image.convert("L")  # drop the alpha channel
                grey = image.mode in GREY_MODES or (palette_indices and image.mode == "P")
                array = np.asarray(image if grey else image.convert("RGB"))
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        tifffile.TiffFileError,
        OSError,
        ValueError,
        IndexError,
    ) as error:
        raise ImageError(UNREADABLE) from error
    array = np.squeeze(array)
    if array.ndim == 3 and array.shape[-1] in (3, 4):
        array = array[..., :3]
    elif array.ndim != 2:
        raise ImageError(
            f"Only single 2-D images, grey or RGB, are supported; this one has the shape "
            f"{array.shape}."
        )
    _check_size(array.shape[0] * array.shape[1])
    return array


def _check_size(values: int, per_pixel: int = 1) -> None:
    if values > MAX_PIXELS * per_pixel:
        raise ImageError(f"The image is too large: at most {MAX_PIXELS} pixels are accepted.")


def read_mask(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """A label mask of ``shape`` as booleans: ``True`` where the label is not 0."""
    array = read(path, palette_indices=True)
    mask = array.any(axis=-1) if array.ndim == 3 else array != 0
    if mask.shape != tuple(shape):
        raise ImageError(
            f"The mask is {mask.shape[0]} x {mask.shape[1]} pixels but the image is "
            f"{shape[0]} x {shape[1]}."
        )
    if mask.all() or not mask.any():
        raise ImageError("The mask must mark both nuclei (not 0) and background (0).")
    return mask


def normalise(image: np.ndarray) -> np.ndarray:
    """Each channel stretched to [0, 1] between its 0.5th and 99.5th percentile (float32)."""
    pixels = image.astype(np.float32).reshape(image.shape[0], image.shape[1], -1)
    low, high = np.percentile(pixels, (0.5, 99.5), axis=(0, 1))
    scaled = (pixels - low) / np.maximum(high - low, 1e-6)
    return np.clip(scaled, 0, 1)


def display_rgb(image: np.ndarray) -> np.ndarray:
    """An 8-bit RGB copy of ``image`` for display (other bit depths stretched)."""
    if image.dtype != np.uint8:
        image = (normalise(image) * 255).astype(np.uint8)
    if image.ndim == 2 or image.shape[-1] == 1:
        return np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=-1)
    return image.copy()


def overlay_png(image: np.ndarray, labels: np.ndarray) -> bytes:
    """``image`` with the outline of each labelled instance drawn on it, as PNG."""
    rgb = display_rgb(image)
    rgb[find_boundaries(labels, mode="inner")] = OUTLINE
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()
