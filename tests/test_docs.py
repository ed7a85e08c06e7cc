"""Docs that cannot drift: every console example in README.md and docs/*.md is run and its
output compared, and docs/cli.md is what `--help` says (as tantivy-py's docs tests and
sqlite-utils' cog do).

How an example is written (docs/README.md says the same for writers):

- A ```console block: lines starting with "$ " are commands (bash, in the repository's root,
  with `searchkit` on the PATH and SEARCHKIT_INDEX pointing at the file's own index); the
  lines after a command, up to the next one, are what it prints (stdout, then stderr).
- Each file gets a fresh copy of an index of the demo corpus (seeds/), made once per run;
  `<!-- docs-test: empty index -->` anywhere in a file starts it from no index instead.
- `...` alone on a line matches any number of lines; `...` inside a line matches any text:
  for what varies from run to run (timings, dates of import).
- `<!-- docs-test: output varies -->` on the line before a block runs it without comparing
  the output (the commands must still succeed).
- `http://127.0.0.1:5000` in a command is a real `searchkit serve` of the file's index,
  started on a free port when a file first needs it.
- SEARCHKIT_DOCS_UPDATE=1 writes what the commands printed back into the files (then
  read the diff before committing it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from browser import serve
from searchkit.cli import main

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent
EMPTY = "<!-- docs-test: empty index -->"
VARIES = "<!-- docs-test: output varies -->"
SERVER = "http://127.0.0.1:5000"
_BLOCK = re.compile(r"^```console\n(.*?)^```\n", re.M | re.S)


@dataclass
class Example:
    command: str
    expected: list[str]


@dataclass
class Block:
    start: int  # character offsets of the block's body in the file
    end: int
    varies: bool
    examples: list[Example] = field(default_factory=list)


def console_blocks(text: str) -> list[Block]:
    """The ```console blocks of a Markdown text, each split into commands and their output."""
    blocks = []
    for m in _BLOCK.finditer(text):
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        block = Block(m.start(1), m.end(1), before.strip() == VARIES)
        for line in m.group(1).splitlines():
            if line.startswith("$ "):
                block.examples.append(Example(line[2:], []))
            elif block.examples:
                block.examples[-1].expected.append(line)
        blocks.append(block)
    return blocks


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether `actual` lines fit `expected`, where "..." is any lines or any text in a line."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    if not actual:
        return False
    pattern = ".*".join(re.escape(part) for part in head.split("..."))
    return re.fullmatch(pattern, actual[0]) is not None and matches(rest, actual[1:])


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("docs") / "demo-index"
    subprocess.run([str(BIN / "searchkit"), "--index", str(path), "import", str(ROOT / "seeds")], check=True,
                   capture_output=True)
    return path


def run_file(doc: Path, workdir: Path, demo: Path) -> tuple[str, list[str]]:
    """Run a file's examples; (the file with the actual outputs, one line per mismatch)."""
    text = doc.read_text("utf-8")
    index = workdir / "index"
    if EMPTY not in text:
        shutil.copytree(demo, index)
    env = {**os.environ, "SEARCHKIT_INDEX": str(index), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "COLUMNS": "100", "NO_COLOR": "1"}
    problems: list[str] = []
    pieces, last = [], 0
    with _Server(index) as server:
        for block in console_blocks(text):
            out_lines = []
            for example in block.examples:
                command = example.command.replace(SERVER, server.url()) if SERVER in example.command else example.command
                # /tmp/... in an example is this test's own folder, so runs beside each other do not collide
                command = command.replace("/tmp/", f"{workdir}/tmp-")
                done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=ROOT, env=env,
                                      capture_output=True, text=True, timeout=300)
                actual = (done.stdout + done.stderr).splitlines()
                if server.started:
                    actual = [line.replace(server.url(), SERVER) for line in actual]
                actual = [line.replace(f"{workdir}/tmp-", "/tmp/") for line in actual]
                same = block.varies or matches(example.expected, actual)
                out_lines += [f"$ {example.command}"] + (example.expected if same else actual)
                if block.varies and done.returncode != 0:
                    problems.append(f"{doc.name}: `{example.command}` failed: {done.stderr.strip()[:300]}")
                elif not block.varies and not matches(example.expected, actual):
                    problems.append(f"{doc.name}: `{example.command}` printed:\n" + "\n".join(actual)
                                    + "\n--- the docs say:\n" + "\n".join(example.expected))
            pieces += [text[last:block.start], "\n".join(out_lines) + "\n"]
            last = block.end
    pieces.append(text[last:])
    return "".join(pieces), problems


class _Server:
    """A `searchkit serve` of one index, started the first time a command needs it."""

    def __init__(self, index: Path) -> None:
        self.index, self.started, self._context, self._url = index, False, None, ""

    def url(self) -> str:
        if not self.started:
            self._context = serve(self.index)
            self._url = self._context.__enter__()
            self.started = True
        return self._url

    def __enter__(self) -> "_Server":
        return self

    def __exit__(self, *exc) -> None:
        if self._context is not None:
            self._context.__exit__(None, None, None)


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_console_examples_print_what_the_docs_say(doc, demo_index, tmp_path):
    updated, problems = run_file(doc, tmp_path, demo_index)
    if os.environ.get("SEARCHKIT_DOCS_UPDATE") == "1" and updated != doc.read_text("utf-8"):
        doc.write_text(updated, "utf-8")
        return
    assert problems == [], "\n\n".join(problems)


def test_the_matching_rules():
    assert matches(["1 result, showing 1-1 (page 1 of 1, ... ms)"], ["1 result, showing 1-1 (page 1 of 1, 12 ms)"])
    assert matches(["a", "...", "z"], ["a", "b", "c", "z"]) and matches(["a", "...", "z"], ["a", "z"])
    assert not matches(["a", "z"], ["a", "b", "z"]) and not matches(["a ... b"], ["a x c"])
    blocks = console_blocks(f"x\n{VARIES}\n```console\n$ searchkit stats\n3 articles\n```\n")
    assert [(b.varies, [(e.command, e.expected) for e in b.examples]) for b in blocks] == [
        (True, [("searchkit stats", ["3 articles"])])]


def cli_reference() -> str:
    """docs/cli.md: every command's --help, as `searchkit COMMAND --help` prints it."""
    from click.testing import CliRunner

    runner = CliRunner()
    parts = ["# Command-line reference\n\n",
             "Generated from `--help` (`make docs` writes it; `tests/test_docs.py` checks it), so it\n",
             "says what the installed `searchkit` does. The README has a tour; these are the details.\n\n",
             "## searchkit\n\n```text\n", runner.invoke(main, ["--help"], prog_name="searchkit").output, "```\n"]
    for name in sorted(main.commands):
        helped = runner.invoke(main, [name, "--help"], prog_name="searchkit").output
        parts += [f"\n## searchkit {name}\n\n```text\n", helped, "```\n"]
    return "".join(parts)


def test_cli_reference_is_the_help_text():
    path = ROOT / "docs" / "cli.md"
    if os.environ.get("SEARCHKIT_DOCS_UPDATE") == "1":
        path.write_text(cli_reference(), "utf-8")
    assert path.read_text("utf-8") == cli_reference(), "docs/cli.md is stale: run `make docs`"


def test_every_command_has_an_example_and_is_in_the_reference():
    reference = (ROOT / "docs" / "cli.md").read_text("utf-8")
    for name, command in main.commands.items():
        assert "Example:" in (command.help or ""), name
        assert f"## searchkit {name}\n" in reference, name


def test_readme_is_for_users_and_short():
    readme = (ROOT / "README.md").read_text("utf-8")
    assert len(readme.splitlines()) <= 250
    assert readme.index("make run") < readme.index("## A five-minute tour")
    assert readme.index("make test") < readme.index("## A five-minute tour")
    for doc in ("docs/cli.md", "docs/api.md", "docs/query-language.md", "docs/operations.md",
                "docs/performance.md", "docs/CHANGELOG.md", "docs/architecture.md"):
        assert f"({doc})" in readme, doc
        assert (ROOT / doc).exists(), doc
