"""Every shell command in README.md and docs/ runs, as a reader would run it, so the documents
cannot drift from the code.

Each document is played in order, in a copy of the repository and in a fresh virtual
environment that sees the test environment's packages (``pip install`` installs into its own):

- a code block whose first line is ``# path`` (a model, a ``pyproject.toml``) is written to
  that path;
- a ``sh`` block runs with ``bash -e``; ``curl`` fails on an HTTP error status;
- a ``sh`` block that is one ``deepserve run`` command starts that server in the background
  (on a free port, through ``DEEPSERVE_PORT``); ``http://127.0.0.1:5000`` in the blocks after
  it is that server, before it a server of every installed model (the examples among them);
- a ``python`` block that calls that address runs with the environment's ``python``; one right
  after ``<!-- docs-test: continues -->`` runs after the Python block before it, in the same
  script (``client.train(...)`` after the block that made ``client``);
- a block right after ``<!-- docs-test: skip: REASON -->`` is not run, and says why.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sysconfig
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from environments import child_environment
from servers import RunningServer

ROOT = Path(__file__).parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
URL = "http://127.0.0.1:5000"
SHELL = ("sh", "bash", "shell")
_BLOCK = re.compile(
    r"^(?:[ ]*<!-- docs-test: (?P<marker>[^>]*?) -->\n)?"  # the line before the block
    r"[ ]*```(?P<lang>\w*)\n(?P<body>.*?)^[ ]*```",
    re.DOTALL | re.MULTILINE,
)
_FILE = re.compile(r"^# ([\w./-]+\.\w+)\n")
_PRELUDE = (
    'set -eo pipefail\ncurl() { command curl --silent --show-error --fail-with-body "$@"; }\n'
)


@dataclasses.dataclass
class Block:
    document: Path
    line: int
    lang: str
    body: str
    marker: str | None

    @property
    def where(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"

    @property
    def file(self) -> str | None:
        """The path a file block is written to."""
        match = _FILE.match(self.body)
        return match.group(1) if match and self.lang not in SHELL else None

    @property
    def starts_server(self) -> bool:
        commands = [line for line in self.body.splitlines() if not line.startswith("#")]
        return len(commands) == 1 and commands[0].startswith("deepserve run")


def blocks(document: Path) -> list[Block]:
    text = document.read_text()
    return [
        Block(
            document,
            text.count("\n", 0, match.start("lang")) + 1,
            match["lang"],
            textwrap.dedent(match["body"]),
            match["marker"],
        )
        for match in _BLOCK.finditer(text)
    ]


CONTINUES = "continues"


def _skipped(block: Block) -> bool:
    if block.marker in (None, CONTINUES):
        return False
    reason = block.marker.removeprefix("skip:").strip()
    assert block.marker.startswith("skip:") and reason, f"{block.where}: say why it is skipped"
    return True


@pytest.fixture(scope="module")
def examples_server(tmp_path_factory):
    """A server of every installed model, started on first use."""
    servers: list[RunningServer] = []

    def url() -> str:
        if not servers:
            log_dir = tmp_path_factory.mktemp("docs-server")
            servers.append(RunningServer("--no-access-log", log_dir=log_dir, ready_timeout=120))
        return servers[0].url

    yield url
    for server in servers:
        server.stop()


@pytest.mark.e2e
@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_command_of_the_document_runs(document, tmp_path, examples_server, run_server):
    playing = [block for block in blocks(document) if not _skipped(block)]
    if not any(block.lang in SHELL or URL in block.body for block in playing):
        pytest.skip("no commands")
    clone = tmp_path / "clone"
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, clone / name)
    python = child_environment(tmp_path / "venv")
    path = os.pathsep.join([str(python.parent), sysconfig.get_path("scripts"), os.environ["PATH"]])
    env = {**os.environ, "PATH": path, "VIRTUAL_ENV": str(python.parent.parent)}
    server_url, script = None, ""

    def address() -> str:
        """The server the blocks call: the one a block started, else the examples' one."""
        return server_url or examples_server()

    for block in playing:
        if block.file:
            (clone / block.file).parent.mkdir(parents=True, exist_ok=True)
            (clone / block.file).write_text(block.body)
        elif block.lang in SHELL and block.starts_server:
            server = run_server(script=block.body, cwd=clone, env=env, ready_timeout=120)
            server_url = server.url
        elif block.lang in SHELL:
            command = ["bash", "-c", _PRELUDE + block.body]
            _run(block, command, address, cwd=clone, env=env)
        elif block.lang == "python" and (URL in block.body or block.marker == CONTINUES):
            assert block.marker != CONTINUES or script, f"{block.where}: continues nothing"
            script = (script + "\n" if block.marker == CONTINUES else "") + block.body
            command = [str(python), "-c", script]
            _run(block, command, address, cwd=clone, env=env)


def _run(block: Block, command: list[str], address: Callable[[], str], **options) -> None:
    """Run ``command`` (a block's), with the documents' server address replaced by
    ``address()`` (asked only when the command calls it)."""
    if any(URL in part for part in command):
        url = address()
        command = [part.replace(URL, url) for part in command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **options)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{block.where}:\n{block.body}\n{output}"


def test_a_skipped_block_says_why():
    for document in DOCUMENTS:
        for block in blocks(document):
            _skipped(block)
