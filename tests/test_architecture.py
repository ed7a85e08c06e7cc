"""docs/architecture.md cannot drift: it lists every module of the library, and no other."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "architecture.md").read_text("utf-8")


def _modules() -> set[str]:
    found = set()
    for path in (ROOT / "searchkit").rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("searchkit/extract/"):
            continue  # listed as one package
        found.add(relative)
    return found


def test_every_module_is_in_the_architecture_map():
    listed = set(re.findall(r"`(searchkit/[\w/]+\.py)`", DOC))
    assert _modules() - listed == set()
    assert listed - _modules() == set()


def test_the_cli_and_the_web_ui_call_the_library_only():
    # No searchers, no Whoosh queries: they translate arguments and output.
    for name in ["searchkit/cli.py", *(p.relative_to(ROOT).as_posix() for p in (ROOT / "webui").glob("*.py"))]:
        text = (ROOT / name).read_text("utf-8")
        assert not re.search(r"^\s*(from|import) whoosh", text, re.M), name
        assert ".searcher()" not in text, name
