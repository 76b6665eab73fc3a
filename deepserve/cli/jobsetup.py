"""Where training jobs are kept: the data directory and job store of a command."""

from __future__ import annotations

import os
from pathlib import Path

import click
import sqlalchemy

from .. import paths
from ..jobs.store import DATABASE_VARIABLE, JobStore


def job_environment(data_dir: Path | None, database: str | None) -> None:
    """Make ``--data-dir`` and ``--database`` the defaults of this process and its children
    (job processes, helpers)."""
    if data_dir is not None:
        os.environ[paths.DATA_DIR_VARIABLE] = str(data_dir.resolve())
    if database:
        os.environ[DATABASE_VARIABLE] = database


def job_store(database: str | None) -> JobStore:
    """The job store of the data directory and ``database`` (not opened yet)."""
    try:
        return JobStore(paths.data_dir().resolve(), database)
    except sqlalchemy.exc.ArgumentError as error:
        raise click.ClickException(f"--database: {error}") from error


def initialise(store: JobStore) -> None:
    """Open the job store now (creating or migrating the schema), so that a bad data
    directory or an unreachable database stops us at once."""
    try:
        store.initialise()
    except (OSError, sqlalchemy.exc.SQLAlchemyError, RuntimeError) as error:
        reason = getattr(error, "orig", None) or error  # the driver's words, without SQL
        message = f"cannot keep training jobs in {store.description}: {reason}"
        raise click.ClickException(message) from error
