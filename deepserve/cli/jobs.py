"""``deepserve jobs --url URL MODEL [JOB_ID]``: a server's training jobs."""

from __future__ import annotations

import click

from ..client import ClientError
from ..jobs.store import STATUSES
from . import remote
from .options import option


@click.command()
@click.argument("model")
@click.argument("job_id", required=False)
@option("--status", type=click.Choice(STATUSES), help="List only jobs with this status.")
@click.option("--cancel", is_flag=True, help="Cancel the job (remove it if it has ended).")
@click.option("--log", is_flag=True, help="Print the job's output instead of its record.")
@click.option("--wait", is_flag=True, help="Wait for the job to end (progress bar on a terminal).")
@remote.url_option
@remote.token_option
@click.pass_context
def jobs(ctx, model, job_id, status, cancel, log, wait, url, token) -> None:
    """List MODEL's training jobs on the server at --url, or show, wait for, cancel one.

    Prints JSON (--log: the job's text output). With --wait, exits 1 unless the job is done.
    """
    if not url:
        raise click.UsageError("Missing option '--url' (or DEEPSERVE_URL).")
    if job_id is None and (cancel or log or wait):
        raise click.UsageError("--cancel, --log and --wait need a JOB_ID.")
    client = remote.client(ctx, url, token)
    try:
        if job_id is None:
            remote.echo_json({"jobs": [job.document for job in client.jobs(model, status)]})
            return
        job = client.job(model, job_id)
        if cancel:
            job.cancel()
        if wait:
            job.wait(progress=True)
        if log:
            click.echo(job.logs(), nl=False)
            return
    except ClientError as error:
        remote.fail(error)
    remote.echo_json(job.document)
