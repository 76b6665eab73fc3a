"""``deepserve new``: scaffold an installable model package."""

from __future__ import annotations

from pathlib import Path

import click

from ..scaffold import create, names
from .options import option


@click.command()
@click.argument("name")
@option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to create the package (default: ./NAME).",
)
def new(name: str, directory: Path | None) -> None:
    """Create a model package NAME: pyproject.toml with the deepserve.model entry point, the
    model class (predict and train arguments, a response schema), a test and a README."""
    directory = directory or Path(name)
    try:
        files = create(name, directory)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="NAME") from error
    except OSError as error:
        raise click.ClickException(str(error)) from error
    for path in files:
        click.echo(f"created {path}")
    target = "{name}={package}/model.py:{class_name}".format(**names(name))
    click.echo(
        f"\nNext, in the environment where deepserve is installed:\n"
        f"  cd {directory}\n"
        f"  pip install -e '.[test]'\n"
        f"  pytest\n"
        f"  deepserve list --model {name}\n"
        f"  deepserve run --reload    # without installing: deepserve run {target} --reload"
    )
