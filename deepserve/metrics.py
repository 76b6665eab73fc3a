"""Prometheus metrics, correct across gunicorn workers (prometheus-client's multiprocess mode).

prometheus-client picks its value storage when it is first imported: in-memory, or files in
``$PROMETHEUS_MULTIPROC_DIR`` that every process writes and any process can add up. So
``deepserve run`` sets that directory up (:func:`multiprocess_directory`) before anything imports
prometheus-client, which is why this module imports it only inside functions. Without it (the
Flask test client, an embedding application) each app keeps its metrics in its own registry.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

#: Predict latency buckets, in seconds: from a fast tabular model to a slow image model.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
#: Items per stream: from a few progress steps to the tokens of a long generated text.
ITEM_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
#: Batch sizes: powers of two up to the largest batch worth running on one machine.
BATCH_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
#: Time a request waits in its model's batch queue, in seconds: from none to a long wait.
QUEUE_WAIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)


@contextlib.contextmanager
def multiprocess_directory() -> Iterator[str]:
    """A private directory for the metrics of this process and its forked workers.

    Sets ``PROMETHEUS_MULTIPROC_DIR`` while it lasts (children inherit it); the process that
    created the directory removes it afterwards (a forked worker leaving the block does not).
    """
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before its multiprocess directory")
    path = tempfile.mkdtemp(prefix="deepserve-metrics-")  # mode 0700
    owner = os.getpid()
    os.environ[MULTIPROCESS_VARIABLE] = path
    try:
        yield path
    finally:
        if os.getpid() == owner:
            os.environ.pop(MULTIPROCESS_VARIABLE, None)
            shutil.rmtree(path, ignore_errors=True)


_process_id = os.getpid()


def _refresh_process_id() -> None:
    global _process_id
    _process_id = os.getpid()


os.register_at_fork(after_in_child=_refresh_process_id)


def _cached_process_id() -> int:
    """This process's ID, read once per process rather than by a system call each time."""
    return _process_id


@functools.cache
def _multiprocess_values() -> None:
    """Have prometheus-client's file-backed values find their process by :func:`_cached_process_id`.

    It checks the process ID on every update, to notice a fork; with ``os.getpid`` that is a
    system call per update, five per request. Done once per process, before the first metric.
    """
    from prometheus_client import values

    values.ValueClass = values.MultiProcessValue(process_identifier=_cached_process_id)


def process_exited(pid: int) -> None:
    """Drop the live gauges (requests in flight) of a worker that died."""
    if MULTIPROCESS_VARIABLE in os.environ:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


class Metrics:
    """The metrics of one application and the registry ``/metrics`` exposes."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess

        self.registry = CollectorRegistry()
        self._streams: dict[str, StreamMetrics] = {}
        if MULTIPROCESS_VARIABLE in os.environ:
            _multiprocess_values()
            multiprocess.MultiProcessCollector(self.registry)
            owner = None  # values live in files, collected above
        else:
            owner = self.registry
        self.requests = Counter(
            "deepserve_requests",
            "HTTP requests answered, by model, route, method and status.",
            ["model", "route", "method", "status"],
            registry=owner,
        )
        self.predict_latency = Histogram(
            "deepserve_predict_duration_seconds",
            "Time to answer a predict request, by model.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=owner,
        )
        self.stream_first_item = Histogram(
            "deepserve_stream_first_item_seconds",
            "Time from a streamed predict request's arrival to its first item, by model.",
            ["model"],
            buckets=LATENCY_BUCKETS,
            registry=owner,
        )
        self.stream_items = Histogram(
            "deepserve_stream_items",
            "Items sent per streamed prediction (up to a failure or the client leaving), by model.",
            ["model"],
            buckets=ITEM_BUCKETS,
            registry=owner,
        )
        self.in_flight = Gauge(
            "deepserve_requests_in_flight",
            "Requests being answered right now.",
            registry=owner,
            multiprocess_mode="livesum",
        )
        self.batch_size = Histogram(
            "deepserve_batch_size",
            "Requests per call of a model's predict_batch, by model.",
            ["model"],
            buckets=BATCH_SIZE_BUCKETS,
            registry=owner,
        )
        self.queue_wait = Histogram(
            "deepserve_batch_queue_wait_seconds",
            "Time a request waited in its model's batch queue, by model.",
            ["model"],
            buckets=QUEUE_WAIT_BUCKETS,
            registry=owner,
        )
        self.batch_splits = Counter(
            "deepserve_batch_splits",
            "Batches whose predict_batch call raised and that were retried as two halves.",
            ["model"],
            registry=owner,
        )
        self.load_failures = Gauge(
            "deepserve_model_load_failures",
            "Installed models rejected at start-up (1 per rejected entry point).",
            ["model"],
            registry=owner,
            multiprocess_mode="max",
        )

    def record_load_failures(self, names: list[str]) -> None:
        """Report the entry points that failed to load (called once, at start-up)."""
        for name in names:
            self.load_failures.labels(model=name).set(1)

    def batch_observer(self, model: str) -> BatchMetrics:
        """What the batcher of ``model`` reports its batches to."""
        return BatchMetrics(self, model)

    def stream_observer(self, model: str) -> StreamMetrics:
        """What the streams of ``model`` report to (the same one for every stream of it)."""
        observer = self._streams.get(model)
        if observer is None:
            observer = self._streams[model] = StreamMetrics(self, model)
        return observer

    def track_training_jobs(self, count_by_status: Callable[[], Mapping[str, int]]) -> None:
        """Expose ``deepserve_training_jobs{status}``, read from ``count_by_status`` per scrape.

        The job store is shared by all workers, so any worker's answer is the whole count.
        """
        self.registry.register(_JobCollector(count_by_status))

    def exposition(self) -> tuple[bytes, str]:
        """The text format of every metric, and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class StreamMetrics:
    """The stream metrics of one model; a stream counts as a request in flight until it ends."""

    def __init__(self, metrics: Metrics, model: str) -> None:
        self.first_items = metrics.stream_first_item.labels(model)
        self.items = metrics.stream_items.labels(model)
        self.in_flight = metrics.in_flight

    def started(self, seconds_to_first_item: float) -> None:
        self.first_items.observe(seconds_to_first_item)
        self.in_flight.inc()

    def ended(self, items: int) -> None:
        self.items.observe(items)
        self.in_flight.dec()


class BatchMetrics:
    """The batch metrics of one model (a :class:`deepserve.batching.BatchObserver`)."""

    def __init__(self, metrics: Metrics, model: str) -> None:
        self.sizes = metrics.batch_size.labels(model)
        self.waits = metrics.queue_wait.labels(model)
        self.splits = metrics.batch_splits.labels(model)

    def batch(self, size: int, waits: Sequence[float]) -> None:
        self.sizes.observe(size)
        for wait in waits:
            self.waits.observe(wait)

    def split(self, size: int) -> None:
        self.splits.inc()


class _JobCollector:
    """A collector reading training-job counts when scraped."""

    def __init__(self, count_by_status: Callable[[], Mapping[str, int]]) -> None:
        self.count_by_status = count_by_status

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        family = GaugeMetricFamily(
            "deepserve_training_jobs", "Training jobs, by status.", labels=["status"]
        )
        for status, count in sorted(self.count_by_status().items()):
            family.add_metric([status], count)
        yield family
