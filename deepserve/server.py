"""Serve the application with gunicorn, embedded through its application API."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

import flask
from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter

from . import metrics
from .jobs.helper import HelperProcess
from .logs import ACCESS_LOG_FORMAT, AccessLogger, logging_config
from .rundir import ServerDirectory
from .worker import ConnectionLimits

log = logging.getLogger("deepserve")


class Server(BaseApplication):
    """A gunicorn application serving the Flask app ``load_app`` builds.

    With ``preload`` (the default) the app, and the models it holds, is built once in the master
    process and inherited by every worker on fork; without it, each worker builds its own after
    the fork. Each worker then runs the models' ``warm`` before taking requests. The master also
    starts the training jobs' helper process (``supervisor``, when given: the local job
    supervisor, or the job maintenance of a Celery set-up) once it listens, restarts it when it
    dies (:class:`WatchingArbiter`), and stops it on exit.

    The workers are :class:`deepserve.worker.ThreadWorker`, held to ``limits``. Given
    ``directory`` (the server's temporary directory), each worker gets a folder of its own
    there, removed when the worker exits.
    """

    def __init__(
        self,
        load_app: Callable[[], flask.Flask],
        *,
        options: dict,
        preload: bool = True,
        warm: bool = True,
        supervisor: HelperProcess | None = None,
        limits: ConnectionLimits | None = None,
        directory: ServerDirectory | None = None,
    ) -> None:
        self.load_app = load_app
        self.limits = limits or ConnectionLimits()  # read by each worker
        self.directory = directory
        self.options = options
        self.preload = preload
        self.warm = warm
        self.supervisor = supervisor
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("preload_app", self.preload)
        self.cfg.set("child_exit", self.worker_exited)
        if self.directory is not None:
            self.cfg.set("post_fork", self.enter_worker)
        self.cfg.set("worker_exit", self.close_models)
        if self.warm:
            self.cfg.set("post_worker_init", self.warm_worker)
        if self.supervisor is not None:
            self.cfg.set("when_ready", self.start_supervisor)
            self.cfg.set("on_exit", self.stop_supervisor)

    def run(self) -> None:
        """Run the master until it is stopped."""
        try:
            WatchingArbiter(self).run()
        except RuntimeError as error:  # as gunicorn's own run: a bad setting, said briefly
            sys.exit(f"\nError: {error}\n")

    def load(self) -> flask.Flask:
        if not self.preload:
            log.info("loading the models in worker %s", os.getpid())
        return self.load_app()

    def warm_worker(self, worker) -> None:
        """Warm every model in this worker; a failure stops the worker from booting."""
        for record in self.wsgi().extensions["deepserve"]["models"].values():
            log.info("warming model %r in worker %s", record.name, worker.pid)
            record.warm()

    def enter_worker(self, arbiter, worker) -> None:
        """Give the new worker its own temporary directory (in the worker, after the fork)."""
        self.directory.enter_worker()

    def close_models(self, arbiter, worker) -> None:
        """In a worker that stops: answer the predictions still queued for a batch."""
        if getattr(worker, "wsgi", None) is None:  # it never loaded the app
            return
        for record in self.wsgi().extensions["deepserve"]["models"].values():
            record.close()

    def worker_exited(self, arbiter, worker) -> None:
        """Forget the live metrics (requests in flight) of a worker that is gone, and remove
        its temporary files."""
        metrics.process_exited(worker.pid)
        if self.directory is not None:
            self.directory.worker_exited(worker.pid)

    def start_supervisor(self, arbiter) -> None:
        """Start the training-job supervisor (in the master, once it listens)."""
        self.supervisor.start()

    def stop_supervisor(self, arbiter) -> None:
        """Stop the supervisor, which stops the running jobs (they become interrupted)."""
        self.supervisor.stop()


class WatchingArbiter(Arbiter):
    """gunicorn's master, which also watches the server's helper process: it collects the
    helper's exit status before gunicorn reaps every child, and restarts it from its loop."""

    def reap_workers(self) -> None:
        if self.app.supervisor is not None:
            self.app.supervisor.reap()
        super().reap_workers()

    def manage_workers(self) -> None:
        super().manage_workers()
        if self.app.supervisor is not None:
            self.app.supervisor.watch()


def gunicorn_options(
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    timeout: int,
    log_level: str,
    log_format: str = "text",
    access_log: bool = True,
) -> dict:
    """gunicorn settings for the ``deepserve run`` options."""
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "deepserve.worker.ThreadWorker",
        "limit_request_line": 0,  # no limit of gunicorn's own: ThreadWorker applies its own
        "timeout": timeout,
        "graceful_timeout": min(timeout, 30),
        "loglevel": log_level,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": AccessLogger,
        "forwarded_allow_ips": "",  # X-Forwarded-* only through ProxyFix, with --proxy
        "logconfig_dict": logging_config(log_format, log_level),
        "proc_name": "deepserve",
        # gunicorn's control socket is one path per user (~/.gunicorn/gunicorn.ctl): every
        # server on the machine would take it from the one before; deepserve does not use it
        "control_socket_disable": True,
    }
