"""The batcher (deepserve/batching.py) on its own, and through a model's record."""

from __future__ import annotations

import logging
import re
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from deepserve import batching
from deepserve.api import create_app
from deepserve.arguments import DeclarationError
from deepserve.batching import Batcher, BatchPolicy, expect, limit_batches_to, parse_policy
from deepserve.errors import APIError, ModelError
from deepserve.loading import discover
from deepserve.record import ModelRecord

#: Long enough that a test relying on it would hang, never met by a passing test.
FOREVER_MS = 60_000
JOIN = 30  # seconds a test thread may take before the test fails


class Recorder:
    """Counts what a batcher reports."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.waits: list[float] = []
        self.splits: list[int] = []

    def batch(self, size, waits):
        self.sizes.append(size)
        self.waits.extend(waits)

    def split(self, size):
        self.splits.append(size)


class Doubler:
    """A batch call doubling every ``n``; remembers the batches; can be held at its start."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, batch):
        numbers = [args["n"] for args in batch]
        self.batches.append(numbers)
        self.started.set()
        assert self.release.wait(JOIN)
        if any(n == 13 for n in numbers):
            raise RuntimeError("13 is in this batch")
        return [ValueError(f"no {n}") if n < 0 else 2 * n for n in numbers]


def ask(batcher: Batcher, n: int) -> tuple:
    """Submit ``n``; return the output and the size of the batch that answered it."""
    sizes: list[int] = []
    output = batcher.submit({"n": n}, sizes.append)
    return output, *sizes


def submit_all(batcher: Batcher, numbers, *, announce_first: bool = True) -> dict:
    """Submit each number from its own thread; return number -> (output, size) or the error.

    With ``announce_first``, every thread announces its request (``arriving``) before any
    submits, as requests whose arguments are still being parsed."""
    results: dict = {}
    announced = threading.Barrier(len(numbers)) if announce_first else None

    def one(n):
        with batcher.arriving():
            if announced is not None:
                announced.wait(JOIN)
            try:
                results[n] = ask(batcher, n)
            except Exception as error:
                results[n] = error

    threads = [threading.Thread(target=one, args=(n,)) for n in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN)
        assert not thread.is_alive(), "a request got no answer"
    return results


def test_a_lone_request_does_not_wait_for_company():
    call = Doubler()
    batcher = Batcher("m", call, BatchPolicy(max_size=8, max_wait_ms=FOREVER_MS))
    assert submit_all(batcher, [21]) == {21: (42, 1)}
    assert call.batches == [[21]]


def test_requests_on_their_way_join_one_batch():
    call, recorder = Doubler(), Recorder()
    batcher = Batcher("m", call, BatchPolicy(max_size=8, max_wait_ms=FOREVER_MS), recorder)
    results = submit_all(batcher, range(6))
    assert results == {n: (2 * n, 6) for n in range(6)}
    assert len(call.batches) == 1 and sorted(call.batches[0]) == list(range(6))
    assert recorder.sizes == [6] and len(recorder.waits) == 6
    assert all(wait >= 0 for wait in recorder.waits)


def test_a_full_batch_leaves_without_waiting():
    call = Doubler()
    batcher = Batcher("m", call, BatchPolicy(max_size=4, max_wait_ms=FOREVER_MS))
    results = submit_all(batcher, range(8))
    assert {size for _, size in results.values()} == {4}
    assert sorted(len(batch) for batch in call.batches) == [4, 4]


def test_the_oldest_request_waits_at_most_the_maximum_wait():
    call = Doubler()
    batcher = Batcher("m", call, BatchPolicy(max_size=8, max_wait_ms=20))
    never_submitted = threading.Event()
    announced = threading.Event()

    def stays_on_its_way():
        with batcher.arriving():
            announced.set()
            never_submitted.wait(JOIN)

    straggler = threading.Thread(target=stays_on_its_way)
    straggler.start()
    try:
        assert announced.wait(JOIN)
        # Without the time trigger this would wait for the straggler (JOIN seconds).
        assert submit_all(batcher, [1], announce_first=False) == {1: (2, 1)}
    finally:
        never_submitted.set()
        straggler.join(JOIN)


def test_a_request_that_never_comes_stops_being_awaited():
    call = Doubler()
    batcher = Batcher("m", call, BatchPolicy(max_size=8, max_wait_ms=FOREVER_MS))
    parsed = threading.Event()
    results = {}

    def rejected():  # announced, then fails before submitting (as a 422 does)
        with batcher.arriving():
            parsed.wait(JOIN)

    def accepted():
        results[1] = ask(batcher, 1)

    first, second = threading.Thread(target=rejected), threading.Thread(target=accepted)
    first.start()
    second.start()
    parsed.set()
    for thread in (first, second):
        thread.join(JOIN)
    assert results == {1: (2, 1)}


def test_a_request_the_server_has_read_is_awaited_until_submitted_or_dropped():
    call = Doubler()
    batcher = Batcher("read", call, BatchPolicy(max_size=8, max_wait_ms=FOREVER_MS))
    assert expect("read") is batcher  # the worker read a prediction for it
    assert expect("read") is batcher  # and a second one
    parsed, dropped = threading.Event(), threading.Event()
    results = {}

    def submitted():
        with batcher.arriving(announced=True), batcher.arriving():  # the route nests its own
            assert parsed.wait(JOIN)
            results[2] = ask(batcher, 2)

    def rejected():  # a 422: never submitted
        with batcher.arriving(announced=True):
            assert dropped.wait(JOIN)

    threads = [threading.Thread(target=submitted), threading.Thread(target=rejected)]
    for thread in threads:
        thread.start()
    first = threading.Thread(target=lambda: results.update({1: ask(batcher, 1)}))
    first.start()
    assert call.started.wait(0.2) is False  # the batch waits for both on their way
    parsed.set()
    assert call.started.wait(0.2) is False  # and still for the one not submitted yet
    dropped.set()
    for thread in (*threads, first):
        thread.join(JOIN)
    assert results == {1: (2, 2), 2: (4, 2)}
    assert call.batches in ([[1, 2]], [[2, 1]])


def test_a_request_the_route_dropped_is_not_awaited_while_its_answer_is_written():
    batcher = Batcher("dropped", Doubler(), BatchPolicy(max_size=8, max_wait_ms=FOREVER_MS))
    assert expect("dropped") is batcher
    written = threading.Event()

    def rejected():  # the worker's block around the request, the route's inside it
        with batcher.arriving(announced=True):
            with batcher.arriving():
                pass  # a 422: never submitted
            assert written.wait(JOIN)  # its answer is still being written

    thread = threading.Thread(target=rejected)
    thread.start()
    assert ask(batcher, 1) == (2, 1)  # answered while the 422 is still being written
    written.set()
    thread.join(JOIN)


def test_a_batch_as_large_as_the_worker_s_threads_leaves_at_once(monkeypatch):
    monkeypatch.setattr(batching, "_capacity", None)  # put back after the test
    limit_batches_to(2)  # a worker of two threads
    batcher = Batcher("capped", Doubler(), BatchPolicy(max_size=8, max_wait_ms=FOREVER_MS))
    announced, release = threading.Event(), threading.Event()

    def on_its_way():  # a request that never comes: no thread is left to bring it
        with batcher.arriving():
            announced.set()
            assert release.wait(JOIN)

    holder = threading.Thread(target=on_its_way)
    holder.start()
    assert announced.wait(JOIN)
    results = {}
    askers = [
        threading.Thread(target=lambda n=n: results.update({n: ask(batcher, n)})) for n in (1, 2)
    ]
    for thread in askers:
        thread.start()
    for thread in askers:
        thread.join(JOIN)
    assert results == {1: (2, 2), 2: (4, 2)}
    release.set()
    holder.join(JOIN)


def test_only_models_that_batch_are_expected():
    batcher = Batcher("single", Doubler(), BatchPolicy(max_size=1))
    assert expect("single") is None and batcher.policy.max_size == 1
    assert expect("no such model") is None


def test_a_returned_exception_fails_its_request_alone():
    call = Doubler()
    batcher = Batcher("m", call, BatchPolicy(max_size=8, max_wait_ms=FOREVER_MS))
    results = submit_all(batcher, [1, -1, 2])
    assert results[1] == (2, 3) and results[2] == (4, 3)
    assert isinstance(results[-1], ValueError) and str(results[-1]) == "no -1"
    assert len(call.batches) == 1


def test_a_raising_batch_is_split_until_only_the_culprit_fails(caplog):
    call, recorder = Doubler(), Recorder()
    batcher = Batcher("m", call, BatchPolicy(max_size=8, max_wait_ms=FOREVER_MS), recorder)
    with caplog.at_level(logging.WARNING, logger="deepserve"):
        results = submit_all(batcher, [1, 2, 13, 4])
    assert isinstance(results.pop(13), RuntimeError)
    assert {n: output for n, (output, _) in results.items()} == {1: 2, 2: 4, 4: 8}
    assert recorder.sizes == [4]  # one batch left the queue
    assert recorder.splits == [4, 2]  # the whole batch, then the half holding 13
    assert sorted(map(len, call.batches)) == [1, 1, 2, 2, 4]
    assert "a batch of 4 failed (RuntimeError: 13 is in this batch)" in caplog.text


def test_a_wrong_number_of_outputs_fails_the_whole_batch():
    batcher = Batcher(
        "m", lambda batch: [0] * (len(batch) - 1), BatchPolicy(8, max_wait_ms=FOREVER_MS)
    )
    results = submit_all(batcher, [1, 2, 3])
    for error in results.values():
        assert isinstance(error, ModelError) and error.code == 500
        assert "returned 2 outputs for a batch of 3 requests" in error.data["message"]


def test_an_output_that_is_not_a_list_fails_the_whole_batch():
    batcher = Batcher("m", lambda batch: 42, BatchPolicy(8, max_wait_ms=FOREVER_MS))
    (error,) = submit_all(batcher, [1]).values()
    assert isinstance(error, ModelError) and "returned no list" in error.data["message"]


def test_a_model_that_exits_fails_its_batch_and_the_next_batch_is_served():
    calls = []

    def exits_once(batch):
        calls.append(batch)
        if len(calls) == 1:
            raise SystemExit(3)
        return [args["n"] for args in batch]

    batcher = Batcher("m", exits_once, BatchPolicy(8, max_wait_ms=FOREVER_MS))
    (error,) = submit_all(batcher, [1]).values()
    assert isinstance(error, ModelError) and "SystemExit(3)" in error.data["message"]
    assert submit_all(batcher, [2]) == {2: (2, 1)}


def test_closing_answers_every_queued_request_then_refuses_new_ones():
    call = Doubler()
    call.release.clear()  # the first batch stays in the model until released
    batcher = Batcher("m", call, BatchPolicy(max_size=2, max_wait_ms=FOREVER_MS))
    results: dict = {}
    first = threading.Thread(target=lambda: results.update({0: ask(batcher, 0)}))
    first.start()
    assert call.started.wait(JOIN)
    queued = [
        threading.Thread(target=lambda n=n: results.update({n: ask(batcher, n)}))
        for n in range(1, 6)
    ]
    for thread in queued:
        thread.start()
    closer = threading.Thread(target=batcher.close)
    closer.start()
    call.release.set()
    for thread in [first, *queued, closer]:
        thread.join(JOIN)
        assert not thread.is_alive()
    assert results == {n: (2 * n, results[n][1]) for n in range(6)}
    with pytest.raises(APIError) as refused:
        ask(batcher, 7)
    assert refused.value.code == 503


@pytest.mark.parametrize(
    "text, expected",
    [
        ("iris=64,2", ("iris", BatchPolicy(64, 2.0))),
        ("iris=16", ("iris", BatchPolicy(16))),
        (" load-forecast = 4 , 0.5", ("load-forecast", BatchPolicy(4, 0.5))),
    ],
)
def test_policies_from_the_command_line(text, expected):
    assert parse_policy(text) == expected


@pytest.mark.parametrize("text", ["iris", "iris=", "=4", "iris=0", "iris=x", "iris=4,-1"])
def test_bad_policies_are_refused(text):
    with pytest.raises(ValueError):
        parse_policy(text)


class Unsafe:
    """A model whose predict notices being run by two threads at once."""

    def __init__(self) -> None:
        self.busy = threading.Lock()
        self.overlaps = 0

    def get_metadata(self):
        return {"name": "unsafe"}

    def get_predict_args(self):
        return {}

    def predict(self):
        if not self.busy.acquire(blocking=False):
            self.overlaps += 1
            return "overlap"
        try:
            threading.Event().wait(0.01)
            return "alone"
        finally:
            self.busy.release()


class Safe(Unsafe):
    thread_safe = True


def run_concurrently(record: ModelRecord, count: int = 8) -> list:
    answers: list = []
    start = threading.Barrier(count)

    def one():
        start.wait(JOIN)
        answers.append(record.predict({}))

    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(JOIN)
    return answers


def test_a_model_is_called_by_one_thread_at_a_time_unless_thread_safe():
    assert set(run_concurrently(ModelRecord("unsafe", Unsafe()))) == {"alone"}
    # The same model declared thread-safe is called concurrently (overlaps show it).
    record = ModelRecord("safe", Safe())
    for _ in range(20):
        if "overlap" in run_concurrently(record):
            break
    assert record.obj.overlaps > 0


class Batching(Unsafe):
    max_batch_size = 0

    def predict_batch(self, batch):
        return [self.predict() for _ in batch]


def test_batch_limits_are_checked_when_the_model_is_loaded():
    with pytest.raises(DeclarationError, match="the batch size must be at least 1"):
        ModelRecord("batching", Batching())


def test_a_batch_size_of_one_calls_predict_per_request():
    model = Batching()
    model.max_batch_size = 4
    record = ModelRecord("batching", model)
    record.set_batch_policy(BatchPolicy(1))
    sizes = []
    assert record.predict({}, on_batch=sizes.append) == "alone" and sizes == []
    record.set_batch_policy(BatchPolicy(4))
    assert record.predict({}, on_batch=sizes.append) == "alone" and sizes == [1]


PREDICT = "/v2/models/batched/predict/"


@pytest.fixture(scope="module")
def batched_app():
    return create_app(discover(["batched"]).models)


def scrape(text: str) -> dict:
    """``{(name, frozenset(labels.items())): value}`` of a Prometheus text scrape."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_batched_prediction_over_http(batched_app):
    answer = batched_app.test_client().post(PREDICT, json={"n": 4, "seconds": 0})
    assert answer.status_code == 200
    assert answer.json == {"status": "OK", "predictions": {"n": 4, "double": 8, "batch": 1}}
    metrics = scrape(batched_app.test_client().get("/metrics").text)
    batched = frozenset({"model": "batched"}.items())
    assert metrics[("deepserve_batch_size_count", batched)] >= 1
    assert metrics[("deepserve_batch_queue_wait_seconds_count", batched)] >= 1


def test_a_bad_request_never_enters_a_batch(batched_app):
    model = batched_app.extensions["deepserve"]["models"]["batched"].obj
    calls = model.calls
    answer = batched_app.test_client().post(PREDICT, json={"n": "four"})
    assert answer.status_code == 422 and "n" in answer.json["errors"]
    assert model.calls == calls


@pytest.mark.parametrize(
    "flag, message",
    [
        ("refuse", "Model 'batched' failed in predict: ValueError: refused 3"),
        ("poison", "Model 'batched' failed in predict: RuntimeError: a poisoned request"),
        ("short", "Model 'batched' failed in predict_batch: it returned 0 outputs for a batch"),
    ],
)
def test_a_failing_request_is_a_json_500(batched_app, flag, message):
    answer = batched_app.test_client().post(PREDICT, json={"n": 3, "seconds": 0, flag: True})
    assert answer.status_code == 500 and answer.is_json
    assert answer.json["message"].startswith(message)
    assert "Traceback" not in answer.text


@pytest.mark.e2e
def test_a_threaded_server_batches_concurrent_requests(run_server):
    server = run_server("--model", "batched", "--threads", "16", "--batch", "batched=8,100")
    numbers = range(48)

    def predict(n: int) -> requests.Response:
        # n == 7 poisons whichever batch it lands in: only it may fail
        return requests.post(
            server.url + PREDICT, json={"n": n, "seconds": 0.1, "poison": n == 7}, timeout=60
        )

    with ThreadPoolExecutor(16) as pool:
        answers = dict(zip(numbers, pool.map(predict, numbers), strict=True))
    poisoned = answers.pop(7)
    assert poisoned.status_code == 500 and "poisoned" in poisoned.json()["message"]
    for n, answer in answers.items():
        assert answer.status_code == 200, answer.text
        assert answer.json()["predictions"]["n"] == n
        assert answer.json()["predictions"]["double"] == 2 * n
    metrics = scrape(requests.get(server.url + "/metrics").text)
    batched = frozenset({"model": "batched"}.items())
    batches = metrics[("deepserve_batch_size_count", batched)]
    alone = metrics[("deepserve_batch_size_bucket", batched | {("le", "1.0")})]
    assert batches < len(numbers) and alone < batches  # batches of more than one were formed
    assert metrics[("deepserve_batch_size_sum", batched)] == len(numbers)
    assert max(answer.json()["predictions"]["batch"] for answer in answers.values()) > 1
    assert server.stop() == 0
    for status in (200, 500):  # the access line tells the size of the answering batch
        line = rf'"POST /v2/models/batched/predict/ HTTP/1.1" {status} .* batch=\d+$'
        assert re.search(line, server.output(), re.MULTILINE)


@pytest.mark.e2e
def test_a_stopping_server_answers_the_requests_it_queued(run_server, wait):
    server = run_server("--model", "batched", "--threads", "16")
    started = threading.Barrier(13)

    def predict(n: int) -> requests.Response:
        started.wait(JOIN)
        return requests.post(server.url + PREDICT, json={"n": n, "seconds": 1}, timeout=60)

    with ThreadPoolExecutor(12) as pool:
        answers = pool.map(predict, range(12))  # batches of at most 8: two calls of 1 s
        started.wait(JOIN)

        def in_flight() -> float:  # the twelve requests and this scrape
            metrics = scrape(requests.get(server.url + "/metrics", timeout=60).text)
            return metrics[("deepserve_requests_in_flight", frozenset())]

        wait(lambda: in_flight() == 13)  # every request is in the worker: queued or computing
        server.process.send_signal(signal.SIGTERM)
        answers = list(answers)
    assert [answer.status_code for answer in answers] == [200] * 12
    assert [answer.json()["predictions"]["n"] for answer in answers] == list(range(12))
    assert server.process.wait(30) == 0


@pytest.mark.parametrize(
    "option, message",
    [
        ("echo=4", "--batch echo=...: model 'echo' does not implement predict_batch"),
        ("nothing=4", "--batch nothing=...: no model named 'nothing' is served"),
        ("batched=0", "the batch size must be at least 1, not 0"),
        ("batched", "'batched' is not MODEL=SIZE or MODEL=SIZE,WAIT_MS"),
    ],
)
def test_bad_batch_options_stop_the_server_before_it_listens(cli, tmp_path, option, message):
    result = cli("run", "--model", "echo", "--model", "batched", "--batch", option,
                 "--port", "0", "--data-dir", str(tmp_path))  # fmt: skip
    assert result.returncode == 2 and message in result.stderr
