"""The cell segmentation example (examples/cell_segmentation), through its installed entry point.

Needs the example installed: ``pip install -e examples/cell_segmentation``.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import skimage.data
import tifffile
from example_models import installed_model, recorded_reports, save, train_args, upload
from PIL import Image

from deepserve.errors import ArgumentError
from deepserve.model import UploadedFile
from deepserve_cell_segmentation.classifier import pixel_features, pixel_scores
from deepserve_cell_segmentation.images import MAX_PIXELS, ImageError, read, read_mask
from deepserve_cell_segmentation.instances import describe, segment
from deepserve_cell_segmentation.model import CellSegmentationModel, regions, sample

pytestmark = pytest.mark.usefixtures("data_dir")  # trained versions go to a fresh directory

NAME = "cell-segmentation"
PREDICT = f"/v2/models/{NAME}/predict/"


def new_model() -> CellSegmentationModel:
    return installed_model(NAME)


#: Small hyper-parameters, so that training in a test takes about a second.
QUICK = {"n_estimators": 5, "training_pixels": 5000}


@pytest.fixture(scope="module")
def ihc() -> np.ndarray:
    return skimage.data.immunohistochemistry()


@pytest.fixture
def ihc_png(tmp_path, ihc) -> str:
    return save(tmp_path / "ihc.png", ihc)


def disks(shape, *centres_and_radii) -> np.ndarray:
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    mask = np.zeros(shape, dtype=bool)
    for row, col, radius in centres_and_radii:
        mask |= (rows - row) ** 2 + (cols - col) ** 2 <= radius**2
    return mask


# -- the sample -------------------------------------------------------------------


def test_sample_and_its_annotation(ihc):
    image, mask = sample()
    assert image.shape == (512, 512, 3)
    assert np.array_equal(image, ihc)
    assert mask.shape == (512, 512) and mask.dtype == bool
    assert 0.15 < mask.mean() < 0.35
    annotated = segment(mask.astype(float))
    assert 300 < annotated.max() < 700


def test_regions_keep_a_bottom_band_for_testing():
    train, test = regions((100, 40, 3), 0.25)
    assert test[75:].all() and not test[:75].any()
    assert (train == ~test).all()


# -- reading images ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "array", "expected"),
    [
        ("rgb.png", np.full((20, 30, 3), 7, np.uint8), (20, 30, 3)),
        ("rgba.png", np.full((20, 30, 4), 7, np.uint8), (20, 30, 3)),
        ("grey.png", np.full((20, 30), 7, np.uint8), (20, 30)),
        ("grey-alpha.png", np.full((20, 30, 2), 7, np.uint8), (20, 30)),
        ("grey16.png", np.full((20, 30), 4000, np.uint16), (20, 30)),
        ("rgb.jpg", np.full((20, 30, 3), 7, np.uint8), (20, 30, 3)),
    ],
)
def test_read_pillow_formats(tmp_path, name, array, expected):
    image = read(save(tmp_path / name, array))
    assert image.shape == expected
    assert image.dtype == array.dtype


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.full((20, 30), 4000, np.uint16), (20, 30)),
        (np.full((20, 30, 3), 0.5, np.float32), (20, 30, 3)),
        (np.full((1, 20, 30), 9, np.uint8), (20, 30)),
    ],
)
def test_read_tiff(tmp_path, array, expected):
    path = tmp_path / "image.tif"
    tifffile.imwrite(
        path, array, photometric="rgb" if array.ndim == 3 and array.shape[-1] == 3 else None
    )
    image = read(path)
    assert image.shape == expected
    assert image.dtype == array.dtype


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Not a readable image"),
        (b"hello, this is text", "Not a readable image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "Not a readable image"),
        (b"II*\x00" + b"\x00" * 40, "Not a readable image"),
    ],
)
def test_read_rejects_other_files(tmp_path, content, message):
    path = tmp_path / "upload"
    path.write_bytes(content)
    with pytest.raises(ImageError, match=message):
        read(path)


def test_read_rejects_stacks_and_huge_images(tmp_path):
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, np.zeros((5, 20, 30), np.uint8))
    with pytest.raises(ImageError, match=r"single 2-D images.*\(5, 20, 30\)"):
        read(stack)
    huge = save(tmp_path / "huge.png", np.zeros((1025, MAX_PIXELS // 1024), np.uint8))
    with pytest.raises(ImageError, match="too large"):
        read(huge)


def test_read_mask_variants(tmp_path):
    labels = np.zeros((10, 12), np.uint16)
    labels[2:5, 2:5], labels[6:9, 6:9] = 1, 300
    expected = labels > 0
    assert (read_mask(save(tmp_path / "labels.png", labels), (10, 12)) == expected).all()
    binary = (expected * 255).astype(np.uint8)
    assert (read_mask(save(tmp_path / "binary.png", binary), (10, 12)) == expected).all()
    rgb = np.stack([np.zeros_like(binary), binary, np.zeros_like(binary)], axis=-1)
    assert (read_mask(save(tmp_path / "rgb.png", rgb), (10, 12)) == expected).all()
    palette = Image.fromarray(expected.astype(np.uint8), mode="L").convert("P")
    palette.putpalette([0, 0, 0, 0, 0, 0] + [9] * 762)  # index 1 is black too
    palette.save(tmp_path / "palette.png")
    assert (read_mask(tmp_path / "palette.png", (10, 12)) == expected).all()


def test_read_mask_errors(tmp_path):
    labels = np.zeros((10, 12), np.uint8)
    labels[2:5, 2:5] = 1
    with pytest.raises(ImageError, match="mask is 10 x 12 pixels but the image is 12 x 10"):
        read_mask(save(tmp_path / "labels.png", labels), (12, 10))
    with pytest.raises(ImageError, match="both nuclei"):
        read_mask(save(tmp_path / "empty.png", np.zeros((10, 12), np.uint8)), (10, 12))


# -- from probabilities to instances ----------------------------------------------


def test_segment_splits_touching_nuclei():
    touching = disks((60, 80), (30, 25, 10), (30, 43, 10))  # two overlapping disks
    assert segment(touching.astype(float)).max() == 2
    assert segment(touching.astype(float), split=False).max() == 1


def test_segment_drops_small_objects_and_fills_holes():
    probability = disks((60, 80), (20, 20, 8), (45, 60, 2)).astype(float)
    probability[20, 20] = 0  # a hole
    labels = segment(probability, min_size=30)
    assert labels.max() == 1
    assert labels[20, 20] == 1
    assert labels[45, 60] == 0
    assert segment(probability, min_size=5).max() == 2


def test_segment_threshold_and_reading_order():
    probability = np.zeros((40, 40))
    probability[25:35, 2:12] = 0.9  # lower left
    probability[2:12, 25:35] = 0.6  # upper right
    labels = segment(probability, threshold=0.5, min_size=10)
    assert labels[5, 30] == 1 and labels[30, 5] == 2
    assert segment(probability, threshold=0.7, min_size=10).max() == 1


def test_describe_measures_each_instance():
    labels = np.zeros((20, 30), np.int32)
    labels[2:6, 3:13] = 1
    labels[10:19, 20:23] = 2
    assert describe(labels) == [
        {
            "label": 1,
            "area": 40,
            "centroid": [3.5, 7.5],
            "bbox": {"min_row": 2, "min_col": 3, "max_row": 6, "max_col": 13},
        },
        {
            "label": 2,
            "area": 27,
            "centroid": [14.0, 21.0],
            "bbox": {"min_row": 10, "min_col": 20, "max_row": 19, "max_col": 23},
        },
    ]


# -- the default forest -----------------------------------------------------------


def test_default_forest_finds_the_annotated_nuclei_of_the_test_band():
    image, mask = sample()
    current = new_model().store.current()
    assert current.version == "default"
    predicted = current.value.probability(pixel_features(image)) > 0.5
    _, test = regions(image.shape, 0.25)
    scores = pixel_scores(predicted[test], mask[test])
    assert scores["pixel_accuracy"] > 0.9
    assert scores["nucleus_iou"] > 0.6


# -- HTTP predict -----------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_answer(app, tmp_path_factory, ihc):
    path = save(tmp_path_factory.mktemp("sample") / "ihc.png", ihc)
    response = app.test_client().post(PREDICT, data={"image": upload(path)})
    assert response.status_code == 200, response.json
    return response.json


def test_predict_json(sample_answer):
    body = sample_answer
    assert body["model_version"] == "default"
    assert body["image"] == {"height": 512, "width": 512, "channels": 3}
    assert 250 < body["count"] < 700
    cells = body["cells"]
    assert [cell["label"] for cell in cells] == list(range(1, body["count"] + 1))
    areas = [cell["area"] for cell in cells]
    assert min(areas) >= 30
    assert body["mean_area"] == pytest.approx(np.mean(areas))
    assert body["nucleus_fraction"] == pytest.approx(sum(areas) / 512**2)
    for cell in cells:
        box = cell["bbox"]
        assert 0 <= box["min_row"] < box["max_row"] <= 512
        assert 0 <= box["min_col"] < box["max_col"] <= 512
        assert box["min_row"] <= cell["centroid"][0] <= box["max_row"]
        height, width = box["max_row"] - box["min_row"], box["max_col"] - box["min_col"]
        assert cell["area"] <= height * width


def test_predict_png_overlay(client, ihc_png, ihc):
    response = client.post(
        PREDICT, data={"image": upload(ihc_png)}, headers={"Accept": "image/png"}
    )
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    overlay = np.asarray(Image.open(io.BytesIO(response.data)))
    assert overlay.shape == ihc.shape
    outline = (overlay == (255, 255, 0)).all(axis=-1)
    assert 0.02 < outline.mean() < 0.3
    assert (overlay[~outline] == ihc[~outline]).all()


@pytest.mark.parametrize("name", ["half.tif", "half.jpg"])
def test_predict_tiff_and_jpeg(client, tmp_path, ihc, name):
    # Half the sample: the test client leaves bodies over 500 kB in unclosed temporary files.
    half = ihc[:256]
    path = tmp_path / name
    if name.endswith(".tif"):
        tifffile.imwrite(path, half, photometric="rgb")
    else:
        save(path, half, quality=95)
    response = client.post(PREDICT, data={"image": upload(str(path), name)})
    assert response.status_code == 200, response.json
    assert response.json["image"] == {"height": 256, "width": 512, "channels": 3}
    png = client.post(PREDICT, data={"image": upload(save(tmp_path / "half.png", half))})
    assert response.json["count"] == pytest.approx(png.json["count"], rel=0.1)


def test_predict_arguments_change_the_result(client, ihc_png, sample_answer):
    def count(**args):
        response = client.post(PREDICT, data={"image": upload(ihc_png), **args})
        assert response.status_code == 200, response.json
        return response.json

    bigger = count(min_size="150")
    assert bigger["count"] < sample_answer["count"]
    assert min(cell["area"] for cell in bigger["cells"]) >= 150
    assert count(split="false")["count"] < sample_answer["count"]
    assert count(threshold="0.8")["nucleus_fraction"] < sample_answer["nucleus_fraction"]


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({}, "image", "Missing data"),
        ({"image": (io.BytesIO(b"not an image"), "x.png")}, "image", "Not a readable image"),
        ({"image": "just text"}, "image", "Not a file upload"),
        ({"threshold": "1.5"}, "threshold", "less than or equal to 0.95"),
        ({"min_size": "0"}, "min_size", "greater than or equal to 1"),
        ({"min_distance": "far"}, "min_distance", "Not a valid integer"),
    ],
)
def test_bad_input_is_422(client, ihc_png, data, field, message):
    if field != "image":
        data = {"image": upload(ihc_png), **data}
    response = client.post(PREDICT, data=data, headers={"Accept": "image/png"})
    assert response.status_code == 422
    assert response.mimetype == "application/json"
    assert message in json.dumps(response.json["errors"][field])


def test_grey_image_for_an_rgb_model_is_422(client, tmp_path, ihc):
    path = save(tmp_path / "grey.png", ihc[..., 0])
    response = client.post(PREDICT, data={"image": upload(path)})
    assert response.status_code == 422
    assert "trained on images with 3" in response.json["errors"]["image"][0]


# -- the command line -------------------------------------------------------------


def test_cli_predict_with_a_file(cli, ihc_png, tmp_path):
    result = cli("predict", "cell-segmentation", "--image", ihc_png, "--min-size", "100")
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["count"] > 100
    assert min(cell["area"] for cell in body["cells"]) >= 100
    output = tmp_path / "overlay.png"
    result = cli(
        "predict", "cell-segmentation", "--image", ihc_png, "--media-type", "image/png",
        "--output-file", str(output),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with Image.open(output) as overlay:
        assert overlay.size == (512, 512)


def test_cli_predict_bad_file_exits_2(cli, tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("no image here")
    result = cli("predict", "cell-segmentation", "--no-warm", "--image", str(path))
    assert result.returncode == 2
    assert json.loads(result.stderr)["errors"] == {
        "image": ["Not a readable image (PNG, TIFF or JPEG)."]
    }


# -- train ------------------------------------------------------------------------


def test_train_on_the_sample_then_predict_uses_it(client, ihc_png, data_dir):
    with recorded_reports() as reports:
        result = new_model().train(**train_args(NAME, **QUICK))
    version = result["model_version"]
    assert version != "default"
    assert result["image"] == {"height": 512, "width": 512}
    assert result["test_rows"] == 128
    assert result["hyper_parameters"]["n_estimators"] == 5
    assert result["test_scores"]["pixel_accuracy"] > 0.85
    assert result["test_scores"]["nucleus_iou"] > 0.5
    json.dumps(result)
    assert (data_dir / "models" / "cell-segmentation" / f"{version}.pickle").is_file()
    progress = [p for p, _, _ in reports]
    assert progress == sorted(progress) and progress[0] == 0 and progress[-1] == 1
    assert [m for _, m, _ in reports if m] == [result["test_scores"]]

    response = client.post(PREDICT, data={"image": upload(ihc_png)})
    assert response.status_code == 200
    assert response.json["model_version"] == version


def test_train_on_uploads_of_a_grey_image(client, tmp_path, ihc):
    image, mask = sample()
    grey = image[..., 2]  # blue: nuclei are dark in it
    image_file = UploadedFile("image", save(tmp_path / "grey.png", grey), "image/png", "grey.png")
    labels = UploadedFile(
        "labels", save(tmp_path / "mask.png", mask.astype(np.uint8) * 255), "image/png", "m.png"
    )
    result = new_model().train(
        **train_args(NAME, **QUICK, test_fraction=0.2), image=image_file, labels=labels
    )
    assert result["channels"] == 1
    assert result["test_rows"] == round(512 * 0.2)
    # The new model segments grey images, and says so about colour ones.
    grey_answer = client.post(PREDICT, data={"image": upload(image_file.filename)})
    assert grey_answer.status_code == 200, grey_answer.json
    assert grey_answer.json["count"] > 100
    colour = client.post(PREDICT, data={"image": upload(save(tmp_path / "rgb.png", ihc))})
    assert colour.status_code == 422
    assert "trained on images with 1" in colour.json["errors"]["image"][0]


def upload_of(tmp_path, name: str, array: np.ndarray) -> UploadedFile:
    return UploadedFile(name, save(tmp_path / f"{name}.png", array), "image/png", f"{name}.png")


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ({"image"}, "labels", "Give both image and labels"),
        ({"labels"}, "image", "Give both image and labels"),
        ({"image", "small_labels"}, "labels", "but the image is 64 x 64"),
        ({"image", "bottom_labels"}, "labels", "training part"),
        ({"text", "labels"}, "image", "Not a readable image"),
    ],
)
def test_train_on_bad_uploads_is_an_argument_error(tmp_path, given, field, message):
    image = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    labels = disks((64, 64), (20, 20, 6)).astype(np.uint8)
    bottom = disks((64, 64), (60, 30, 3)).astype(np.uint8)
    text = tmp_path / "text.png"
    text.write_text("text")
    files = {
        "image": lambda: {"image": upload_of(tmp_path, "image", image)},
        "labels": lambda: {"labels": upload_of(tmp_path, "labels", labels)},
        "small_labels": lambda: {"labels": upload_of(tmp_path, "labels", labels[:32])},
        "bottom_labels": lambda: {"labels": upload_of(tmp_path, "labels", bottom)},
        "text": lambda: {"image": UploadedFile("image", str(text), "image/png", "t.png")},
    }
    args = {}
    for name in given:
        args.update(files[name]())
    with pytest.raises(ArgumentError) as excinfo:
        new_model().train(**train_args(NAME, **QUICK), **args)
    assert message in excinfo.value.data["errors"][field][0]
