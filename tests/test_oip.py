"""The Open Inference Protocol routes: through the app, then with tritonclient and the kserve
SDK against a real ``deepserve run``."""

from __future__ import annotations

import asyncio
import json
import os
import struct

import numpy as np
import pytest
import tritonclient.http as triton
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from prometheus_client.parser import text_string_to_metric_families
from servers import RunningServer
from tritonclient.utils import InferenceServerException

from deepserve.api import create_app
from deepserve.api.oipmodel import OipModel, Unmappable
from deepserve.record import ModelRecord
from deepserve.tensors import HEADER_LENGTH, decode, encode

FLOWERS = {  # a setosa, a versicolor, a virginica
    "sepal_length": [5.1, 6.4, 7.7],
    "sepal_width": [3.5, 3.2, 3.0],
    "petal_length": [1.4, 4.5, 6.1],
    "petal_width": [0.2, 1.5, 2.3],
}
SPECIES = ["setosa", "versicolor", "virginica"]


def tensor(name, values, datatype="FP64", shape=None):
    return {"name": name, "datatype": datatype, "shape": shape or [len(values)], "data": values}


def iris_inputs(**replaced):
    return [tensor(name, replaced.get(name, values)) for name, values in FLOWERS.items()]


def test_server_metadata_beside_the_version_object(client):
    assert client.get("/v2").get_json() == {
        "name": "deepserve",
        "version": client.get("/").get_json()["version"],
        "extensions": ["binary_tensor_data"],
    }
    assert client.get("/v2/").get_json()["id"] == "v2"  # the deepserve answer keeps its path


def test_model_metadata_beside_deepserve_metadata(client):
    oip = client.get("/v2/models/iris").get_json()
    assert oip["name"] == "iris" and oip["platform"] == "deepserve"
    assert oip["versions"] == [client.get("/v2/models/iris/").get_json()["version"]]
    assert oip["inputs"][0] == {"name": "sepal_length", "datatype": "FP64", "shape": [-1]}
    assert {"name": "top_k", "datatype": "INT64", "shape": [-1]} in oip["inputs"]
    assert oip["outputs"] == [
        {"name": "label", "datatype": "BYTES", "shape": [-1]},
        {"name": "probabilities", "datatype": "BYTES", "shape": [-1]},
        {"name": "model_version", "datatype": "BYTES", "shape": [-1]},
    ]
    echo = {t["name"]: t for t in client.get("/v2/models/echo").get_json()["inputs"]}
    assert echo["numbers"] == {"name": "numbers", "datatype": "INT64", "shape": [-1, -1]}
    assert (echo["flag"]["datatype"], echo["day"]["datatype"]) == ("BOOL", "BYTES")
    assert "links" in client.get("/v2/models/iris/").get_json()


def test_unmappable_models_are_not_listed_and_answer_oip_errors(client):
    listed = client.get("/v2/models").get_json()["models"]
    assert "iris" in listed and "tensorless" not in listed
    answer = client.post("/v2/models/tensorless/infer", json={"inputs": []})
    assert answer.status_code == 404
    assert answer.get_json() == {
        "error": "Model 'tensorless' has no Open Inference Protocol form: argument 'options' "
        "(Dict) has no tensor form."
    }
    assert client.get("/v2/models/tensorless").status_code == 404
    deepserve_predict = client.post("/v2/models/tensorless/predict/", json={"options": {"a": 1}})
    assert deepserve_predict.get_json() == {"status": "OK", "predictions": {"count": 1}}
    assert client.get("/v2/models/tensorless/ready").get_json()["name"] == "tensorless"  # shared


@pytest.mark.parametrize(
    "path", ["/v2/models/{}/infer", "/v2/models/{}/versions/1/infer", "/v2/models/{}"]
)
def test_unknown_and_rejected_names_are_told_apart_in_oip_format(discovery, path):
    client = create_app(discovery.models, rejections=discovery.failures).test_client()
    call = client.post if path.endswith("infer") else client.get
    misspelt = call(path.format("irsi"), json={"inputs": []})
    assert misspelt.status_code == 404
    assert misspelt.get_json()["error"].startswith(
        "No model named 'irsi' is served; did you mean 'iris'? served models: "
    )
    rejected = call(path.format("broken-import"), json={"inputs": []})
    assert rejected.status_code == 503
    assert rejected.get_json()["error"].startswith(
        "Model 'broken-import' is not served: it failed to load: import failed: "
    )


class Streaming:
    """A model (not installed: only its mapping is checked) whose predict streams."""

    predict_streams = True

    def get_metadata(self):
        return {}

    def get_predict_args(self):
        return {}

    def predict(self):
        yield from "ab"


class PngOnly(Streaming):
    """A model that answers only PNG images."""

    predict_streams = False
    predict_media_types = ("image/png",)


def test_what_has_no_tensor_form(discovery):
    with pytest.raises(Unmappable, match="streams its predictions"):
        OipModel(ModelRecord("streaming", Streaming()))
    with pytest.raises(Unmappable, match="answers only image/png, not JSON"):
        OipModel(ModelRecord("png", PngOnly()))
    media = next(record for record in discovery.models if record.name == "media")
    assert OipModel(media).inputs  # JSON among other media types: mapped


def test_several_rows_in_one_tensor(client):
    answer = client.post("/v2/models/iris/infer", json={"id": "r1", "inputs": iris_inputs()})
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["id"], body["model_name"], body["model_version"]) == ("r1", "iris", "0.1.0")
    outputs = {output["name"]: output for output in body["outputs"]}
    assert outputs["label"] == {"name": "label", "datatype": "BYTES", "shape": [3], "data": SPECIES}
    first = json.loads(outputs["probabilities"]["data"][0])
    assert first[0]["label"] == "setosa" and len(first) == 3


def test_one_row_inputs_apply_to_every_row_and_outputs_can_be_chosen(client):
    inputs = [*iris_inputs(), tensor("top_k", [1], "INT32", [1, 1])]
    request = {"inputs": inputs, "outputs": [{"name": "probabilities"}]}
    body = client.post("/v2/models/iris/infer", json=request).get_json()
    assert [output["name"] for output in body["outputs"]] == ["probabilities"]
    assert [len(json.loads(row)) for row in body["outputs"][0]["data"]] == [1, 1, 1]


def batch_sizes(client) -> tuple[float, float]:
    """How many batches of ``tallied`` the metrics counted, and their requests."""
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(client.get("/metrics").get_data(True))
        for sample in family.samples
        if sample.labels.get("model") == "tallied"
    }
    return samples.get("deepserve_batch_size_count", 0), samples.get("deepserve_batch_size_sum", 0)


def test_rows_of_a_batching_model_are_one_batch_call(discovery):
    from deepserve_testmodels.tallied import TalliedModel

    # An app of its own: each app created from the session's records takes their batch metrics.
    client = create_app([r for r in discovery.models if r.name == "tallied"]).test_client()
    TalliedModel.batch_sizes.clear()
    before = batch_sizes(client)
    request = {"inputs": [tensor("x", [1, 2, 3, 4, 5, 6], "INT32")]}
    body = client.post("/v2/models/tallied/infer", json=request).get_json()
    assert TalliedModel.batch_sizes == [4, 2]  # at most the model's max_batch_size per call
    assert batch_sizes(client) == (before[0] + 2, before[1] + 6)  # in the batch metrics too
    assert body["outputs"] == [
        {"name": "double", "datatype": "FP64", "shape": [6], "data": [2, 4, 6, 8, 10, 12]}
    ]
    failed = client.post("/v2/models/tallied/infer", json={"inputs": [tensor("x", [1, -2])]})
    assert failed.status_code == 500
    assert failed.get_json() == {
        "error": "Model 'tallied' failed in predict_batch for row 1: ValueError: -2.0 is negative"
    }


def test_lists_booleans_and_strings(client):
    inputs = [
        tensor("text", ["ab", "c"], "BYTES"),
        tensor("numbers", [[1, 2, 3], [4, 5, 6]], "INT64", [2, 3]),
        tensor("flag", [True, False], "BOOL"),
        tensor("day", ["2024-02-29", "2024-03-01"], "BYTES"),
    ]
    body = client.post("/v2/models/echo/infer", json={"inputs": inputs}).get_json()
    outputs = {output["name"]: output for output in body["outputs"]}
    assert outputs["numbers_sum"] == {
        "name": "numbers_sum", "datatype": "INT64", "shape": [2], "data": [6, 15],
    }  # fmt: skip
    assert outputs["flag"]["data"] == [True, False]
    assert outputs["day"]["data"] == ["2024-02-29", "2024-03-01"]


def test_files_as_bytes_in_binary_data(client):
    content = b"\x00\x01binary\xff"
    raw = encode("BYTES", [content])
    header = json.dumps(
        {
            "inputs": [{"name": "data", "datatype": "BYTES", "shape": [1],
                        "parameters": {"binary_data_size": len(raw)}}],
            "outputs": [{"name": "predictions", "parameters": {"binary_data": True}}],
        }
    ).encode()  # fmt: skip
    answer = client.post(
        "/v2/models/files/infer",
        data=header + raw,
        headers={HEADER_LENGTH: str(len(header)), "Content-Type": "application/octet-stream"},
    )
    assert answer.status_code == 200, answer.data
    length = int(answer.headers[HEADER_LENGTH])
    response = json.loads(answer.data[:length])
    size = response["outputs"][0]["parameters"]["binary_data_size"]
    (document,) = decode("BYTES", answer.data[length:], size, "predictions")
    described = json.loads(document)
    assert described["size"] == len(content) and described["exists"] is True
    assert not os.path.exists(described["path"])  # removed with the request's uploads


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        ({"inputs": "x"}, "the request must be an object with a list of 'inputs'"),
        ({"inputs": [tensor("petal", [1.0])]}, "unknown input 'petal'; the inputs are: "
         "sepal_length, sepal_width, petal_length, petal_width, top_k"),
        ({"inputs": iris_inputs()[:3]}, "missing input(s): petal_width"),
        ({"inputs": [*iris_inputs()[:3], tensor("petal_width", ["a"], "BYTES")]},
         "input 'petal_width' is FP64; BYTES does not fit it"),
        ({"inputs": [*iris_inputs()[:3], tensor("petal_width", [1.0, 2.0])]},
         "the inputs have different numbers of rows (sepal_length: 3, sepal_width: 3, "
         "petal_length: 3, petal_width: 2)"),
        ({"inputs": [*iris_inputs()[:3], tensor("petal_width", [1.0], shape=[2])]},
         "tensor 'petal_width': 1 elements for shape [2] (2 expected)"),
        ({"inputs": [*iris_inputs()[:3], tensor("petal_width", [1.0] * 6, shape=[3, 2])]},
         "input 'petal_width' takes a shape [rows] or [rows, 1], not [3, 2]"),
        ({"inputs": iris_inputs(petal_width=[0.2, 11, 2.3])},
         'row 1: Invalid arguments: {"petal_width": ["Must be greater than or equal to 0 and '
         'less than or equal to 10."]}'),
        ({"inputs": iris_inputs(), "parameters": [1]},
         "the parameters of the request must be an object"),
        ({"inputs": iris_inputs(), "outputs": [{"name": "nope"}]},
         "unknown output 'nope'; the outputs are: label, probabilities, model_version"),
        ({"inputs": [{"name": "top_k", "datatype": "INT3", "shape": [1], "data": [1]}]},
         "tensor 'top_k': datatype 'INT3' is not one of BOOL, BYTES, FP16, FP32, FP64, INT16, "
         "INT32, INT64, INT8, UINT16, UINT32, UINT64, UINT8"),
    ],
)  # fmt: skip
def test_bad_requests_answer_400_in_oip_format(client, request_body, message):
    answer = client.post("/v2/models/iris/infer", json=request_body)
    assert (answer.status_code, answer.get_json()) == (400, {"error": message})


def test_a_model_failure_is_a_500_in_oip_format(client):
    answer = client.post("/v2/models/failing/infer", json={"inputs": []})
    assert answer.status_code == 500
    assert "the model broke" in answer.get_json()["error"]


def test_infer_latency_is_measured_as_a_prediction(client):
    def count() -> float:
        text = client.get("/metrics").get_data(as_text=True)
        line = 'deepserve_predict_duration_seconds_count{model="iris"} '
        found = [row for row in text.splitlines() if row.startswith(line)]
        return float(found[0].split()[-1]) if found else 0.0

    before = count()
    client.post("/v2/models/iris/infer", json={"inputs": iris_inputs()})
    client.post("/v2/models/iris/versions/0.1.0/infer", json={"inputs": iris_inputs()})
    assert count() == before + 2


def test_versions_in_paths(client):
    path = "/v2/models/iris/versions/0.1.0"
    assert client.get(path).get_json()["name"] == "iris"
    assert client.post(path + "/infer", json={"inputs": iris_inputs()}).status_code == 200
    wrong = client.post("/v2/models/iris/versions/9/infer", json={"inputs": iris_inputs()})
    assert wrong.status_code == 404
    assert wrong.get_json() == {"error": "Model 'iris' has no version '9' (versions: 0.1.0)."}


def test_binary_codec_round_trips():
    for datatype, values in [
        ("FP32", [1.5, -2.0]), ("INT64", [2**40, -1]), ("UINT8", [0, 255]),
        ("BOOL", [True, False]), ("BYTES", [b"", b"ab"]),
    ]:  # fmt: skip
        raw = encode(datatype, values)
        assert decode(datatype, raw, len(raw), "t") == values
    assert encode("BYTES", [b"ab"]) == struct.pack("<I", 2) + b"ab"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = RunningServer(
        "--model", "iris", "--model", "echo", "--model", "tensorless",
        log_dir=tmp_path_factory.mktemp("oip-server"),
    )  # fmt: skip
    yield running
    running.stop()


@pytest.mark.e2e
def test_tritonclient(server):
    client = triton.InferenceServerClient(url=server.url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("iris")
    assert client.get_server_metadata()["extensions"] == ["binary_tensor_data"]
    assert client.get_model_metadata("iris")["inputs"][0]["name"] == "sepal_length"
    inputs = []
    for name, values in FLOWERS.items():  # FP32 tensors of shape [3, 1], sent as binary data
        column = triton.InferInput(name, [3, 1], "FP32")
        column.set_data_from_numpy(np.array(values, dtype=np.float32).reshape(3, 1))
        inputs.append(column)
    outputs = [triton.InferRequestedOutput("label"), triton.InferRequestedOutput("model_version")]
    result = client.infer("iris", inputs, outputs=outputs, request_id="t1")
    assert [label.decode() for label in result.as_numpy("label")] == SPECIES
    assert result.get_response()["id"] == "t1"
    json_result = client.infer(
        "iris", inputs, outputs=[triton.InferRequestedOutput("label", binary_data=False)]
    )
    assert list(json_result.as_numpy("label")) == SPECIES
    with pytest.raises(InferenceServerException, match="has no Open Inference Protocol form"):
        client.infer("tensorless", inputs)
    with pytest.raises(InferenceServerException, match="missing input"):
        client.infer("iris", inputs[:2])
    client.close()


@pytest.mark.e2e
def test_kserve_rest_client(server):
    async def call():
        client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=60))
        try:
            ready = await client.is_server_ready(server.url)
            model_ready = await client.is_model_ready(server.url, "iris")
            inputs = [
                InferInput(name, [3], "FP64", data=values) for name, values in FLOWERS.items()
            ]
            request = InferRequest(model_name="iris", infer_inputs=inputs, request_id="k1")
            response = await client.infer(server.url, request, model_name="iris")
            binary_input = InferInput("sepal_length", [3], "FP32")
            binary_input.set_data_from_numpy(
                np.array(FLOWERS["sepal_length"], dtype=np.float32), binary_data=True
            )
            binary = InferRequest("iris", [binary_input, *inputs[1:]], request_id="k2")
            binary_response = await client.infer(server.url, binary, model_name="iris")
            return ready, model_ready, response, binary_response
        finally:
            await client.close()

    ready, model_ready, response, binary_response = asyncio.run(call())
    assert ready and model_ready
    assert (response.id, response.model_name) == ("k1", "iris")
    labels = {output.name: output for output in response.outputs}["label"]
    assert labels.data == SPECIES and labels.shape == [3]
    assert {o.name: o for o in binary_response.outputs}["label"].data == SPECIES
