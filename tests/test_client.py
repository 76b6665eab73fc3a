"""``deepserve.client`` against a real ``deepserve run`` (under a base path, with a token)."""

from __future__ import annotations

import io

import pytest
from servers import RunningServer

from deepserve.client import BinaryResult, Client, ClientError

TOKEN = "client-test-token"

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    models = ("iris", "echo", "files", "media", "trainer", "failing", "tensorless", "stream")
    models += ("deepaas-query",)  # an argument named like predict's own `accept`
    running = RunningServer(
        *(arg for name in models for arg in ("--model", name)),
        "--base-path", "/models-api", "--token", TOKEN,
        log_dir=tmp_path_factory.mktemp("client-server"),
        ready_path="/models-api/v2/health/ready",
    )  # fmt: skip
    yield running
    running.stop()


@pytest.fixture(scope="module")
def remote(server):
    with Client(server.url + "/models-api", token=TOKEN) as client:
        yield client


def test_reads_the_models_from_the_spec(remote):
    assert remote.model_names == [
        "deepaas-query", "echo", "failing", "files", "iris", "media", "stream", "tensorless",
        "trainer",
    ]  # fmt: skip
    assert {model["id"] for model in remote.models()} == set(remote.model_names)
    assert remote.metadata("iris")["name"] == "iris"
    assert remote.health()["ready"] is True


def test_view_api_describes_the_models(remote):
    text = remote.view_api("iris", print_info=False)
    assert text.splitlines()[:2] == [
        "iris:",
        "  predict(sepal_length, sepal_width, petal_length, petal_width, top_k) -> "
        "application/json",
    ]
    assert "    top_k: how many classes to return, most probable first  [integer; 1..3; " in text
    assert "  train(C, max_iter, " in text
    assert "trainer:" in remote.view_api(print_info=False)


def test_predict_with_keyword_arguments(remote):
    answer = remote.predict(
        "iris", sepal_length=5.1, sepal_width=3.5, petal_length=1.4, petal_width=0.2, top_k=1
    )
    assert answer["label"] == "setosa"
    assert len(answer["probabilities"]) == 1


def test_arguments_of_every_type_and_text_from_a_command_line(remote):
    answer = remote.predict(
        "echo", text="ab", count="2", flag=True, numbers=[1, 2, 3], day="2024-02-29"
    )
    assert answer == {
        "text": "abab", "count": 2, "scale": 1.0, "flag": True, "color": "red",
        "numbers_sum": 6, "day": "2024-02-29",
    }  # fmt: skip


def test_object_arguments_go_as_json(remote):
    # The spec documents a dict argument as a form's string; the JSON body carries the object.
    answer = remote.predict("tensorless", options={"a": 1, "b": [2]})
    assert answer == {"status": "OK", "predictions": {"count": 2}}


def test_arguments_are_checked_before_any_request(remote):
    with pytest.raises(ClientError) as caught:
        remote.predict("echo", count=99, colour="red", flag="maybe")
    error = caught.value
    assert error.status is None
    assert set(error.errors) == {"text", "count", "colour", "flag"}
    assert "less than or equal to 10" in error.errors["count"][0]
    assert "Unknown argument" in error.errors["colour"][0]


def test_server_errors_carry_status_message_and_errors(remote):
    with pytest.raises(ClientError) as caught:
        remote.predict("failing")
    assert caught.value.status == 500
    assert "the model broke" in caught.value.message
    with pytest.raises(ClientError) as caught:
        remote.predict("echo", text="x", day="not a date")  # only the server parses dates
    assert caught.value.status == 422
    assert "day" in caught.value.errors


def test_unknown_model_names_the_close_and_the_served_ones(remote):
    with pytest.raises(ClientError, match="No model named 'irsi' is served; did you mean 'iris'"):
        remote.predict("irsi")
    with pytest.raises(ClientError, match="No model named 'nope' is served; served models: .*iris"):
        remote.train("nope")


def test_arguments_named_like_the_methods_own_come_as_a_mapping(remote):
    answer = remote.predict("deepaas-query", {"accept": "text/plain"}, text="hi", accept="*/*")
    assert answer == BinaryResult(b"HI", "text/plain")
    with pytest.raises(ClientError) as caught:
        remote.predict("deepaas-query", {"accept": "image/gif"}, text="hi")
    assert caught.value.status is None and "accept" in caught.value.errors


def test_files_as_paths_or_file_objects(remote, tmp_path):
    path = tmp_path / "sample.csv"
    path.write_bytes(b"a,b\n1,2\n")
    by_path = remote.predict("files", data=str(path), note="n")["predictions"]
    assert (by_path["original_filename"], by_path["size"], by_path["note"]) == (
        "sample.csv",
        8,
        "n",
    )
    with path.open("rb") as extra:
        by_object = remote.predict("files", data=io.BytesIO(b"xyz"), extra=extra)
    assert (by_object["predictions"]["size"], by_object["predictions"]["extra_size"]) == (3, 8)
    with pytest.raises(ClientError) as caught:
        remote.predict("files", data=str(tmp_path / "absent"))
    assert "No such file" in caught.value.errors["data"][0]


def test_accept_returns_bytes_with_their_media_type(remote):
    png = remote.predict("media", accept="image/png")
    assert isinstance(png, BinaryResult)
    assert png.media_type == "image/png" and png.content.startswith(b"\x89PNG")
    assert remote.predict("media", accept="text/csv", rows=2).content == b"i,square\n0,0\n1,1\n"
    assert remote.predict("media", rows=2) == {"status": "OK", "predictions": {"rows": 2}}
    with pytest.raises(ClientError) as caught:
        remote.predict("media", accept="audio/ogg")
    assert caught.value.status == 406


def test_validate(remote):
    assert remote.validate("echo", values=[1, 2, 6])["result"] == {"mean": 3.0, "n": 3}
    with pytest.raises(ClientError, match="does not implement validate"):
        remote.validate("iris")


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_training_job_waits_with_a_progress_bar(remote, tmp_path):
    data = tmp_path / "train.txt"
    data.write_text("rows")
    job = remote.train("trainer", seconds=0.5, label="first", data=str(data))
    assert job.status == "queued"
    terminal = FakeTerminal()
    result = job.wait(timeout=60, progress=True, interval=0.05, stream=terminal)
    assert result["label"] == "first" and result["data"]["content"] == "rows"
    assert job.status == "done" and job.progress == 1.0
    assert "100%  done: finished" in terminal.getvalue()  # the job's message too
    assert job.id in [found.id for found in remote.jobs("trainer", status="done")]


def test_job_logs_and_failures(remote):
    printer = remote.train("trainer", mode="print")
    printer.wait(timeout=60)
    assert "to stdout: epoch 1" in printer.logs()
    failing = remote.train("trainer", mode="raise")
    with pytest.raises(ClientError, match="ended error.*training diverged"):
        failing.wait(timeout=60)


def test_cancel_a_job(remote):
    job = remote.train("trainer", mode="sleep", seconds=60)
    job.cancel()
    with pytest.raises(ClientError, match="ended cancelled"):
        job.wait(timeout=30)
    assert remote.job("trainer", job.id).status == "cancelled"


def test_a_wrong_token_is_a_401(server):
    with pytest.raises(ClientError) as caught:
        Client(server.url + "/models-api", token="wrong").predict(
            "iris", sepal_length=1, sepal_width=1, petal_length=1, petal_width=1
        )
    assert caught.value.status == 401


@pytest.mark.parametrize("accept", [None, "application/x-ndjson"])
def test_streamed_items_arrive_as_the_model_yields_them(remote, accept):
    items = remote.predict("stream", stream=True, accept=accept, count=3, kind="text")
    assert next(items) == "item 0 "  # before the stream is over
    assert list(items) == ["item 1 ", "item 2 "]
    collected = remote.predict("stream", count=2, kind="text")  # plain JSON: items collected
    assert collected == {"status": "OK", "predictions": ["item 0 ", "item 1 "]}


@pytest.mark.parametrize("accept", [None, "application/x-ndjson"])
def test_a_stream_failing_midway_raises_after_its_items(remote, accept):
    items = remote.predict("stream", stream=True, accept=accept, count=5, fail_at=2)
    assert [item["index"] for item in (next(items), next(items))] == [0, 1]
    with pytest.raises(ClientError, match="the model broke at item 2"):
        next(items)
