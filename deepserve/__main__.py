"""``python -m deepserve``: the ``deepserve`` command, for an environment that is not active."""

from .cli import main

main(prog_name="deepserve")
