"""Training the cell segmentation example over HTTP: jobs run by a real supervisor, then
predictions of the same data directory use what they stored."""

from __future__ import annotations

import numpy as np
import pytest
from example_models import finished_job, save, submit_training, upload

from deepserve_cell_segmentation.model import sample

NAME = "cell-segmentation"
PREDICT = f"/v2/models/{NAME}/predict/"
#: Small hyper-parameters, so that a job fits in about a second.
QUICK = {"n_estimators": "5", "training_pixels": "5000"}


@pytest.fixture(scope="module")
def crop() -> tuple[np.ndarray, np.ndarray]:
    """The top left quarter of the sample, and its nucleus mask."""
    image, mask = sample()
    return image[:256, :256], mask[:256, :256]


def test_train_on_uploads_then_predict_uses_it(jobs_client, supervisor, wait, tmp_path, crop):
    image = save(tmp_path / "image.png", crop[0])
    labels = save(tmp_path / "labels.png", crop[1].astype(np.uint8) * 255)
    submitted = submit_training(
        jobs_client,
        NAME,
        data={"image": upload(image, "image.png"), "labels": upload(labels, "labels.png"), **QUICK},
        content_type="multipart/form-data",
    )
    assert (submitted["args"]["image"], submitted["args"]["labels"]) == ("image.png", "labels.png")
    job = finished_job(jobs_client, wait, submitted)
    assert job["status"] == "done", job
    result = job["result"]
    assert result["image"] == {"height": 256, "width": 256}
    assert result["test_rows"] == 64
    assert result["test_scores"]["pixel_accuracy"] > 0.8
    assert result["test_scores"]["nucleus_iou"] > 0.4
    assert job["progress"] == 1.0
    assert job["metrics"] == result["test_scores"]

    answer = jobs_client.post(PREDICT, data={"image": upload(image)})
    assert answer.status_code == 200, answer.json
    assert answer.json["model_version"] == result["model_version"]
    assert answer.json["count"] > 0


def test_an_image_without_labels_ends_the_job_as_an_error(
    jobs_client, supervisor, wait, tmp_path, crop, jobs_data_dir
):
    submitted = submit_training(
        jobs_client,
        NAME,
        data={"image": upload(save(tmp_path / "image.png", crop[0])), **QUICK},
        content_type="multipart/form-data",
    )
    job = finished_job(jobs_client, wait, submitted)
    assert job["status"] == "error"
    assert job["error"] == (
        'Invalid arguments: {"labels": ["Give both image and labels, or neither."]}'
    )
    assert not (jobs_data_dir / "jobs" / job["id"] / "files").exists()


def test_train_on_the_bundled_sample(jobs_client, supervisor, wait):
    job = finished_job(jobs_client, wait, submit_training(jobs_client, NAME, data=QUICK))
    assert job["status"] == "done", job
    result = job["result"]
    assert result["image"] == {"height": 512, "width": 512}
    assert result["channels"] == 3
    assert result["hyper_parameters"]["n_estimators"] == 5
    assert result["test_scores"]["pixel_accuracy"] > 0.85
    assert result["test_scores"]["nucleus_iou"] > 0.5
    assert job["message"] == f"stored version {result['model_version']}"
