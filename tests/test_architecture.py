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


def _imports() -> dict[str, set[str]]:
    """searchkit module -> the searchkit modules it imports at module level."""
    import ast

    graph: dict[str, set[str]] = {}
    for path in (ROOT / "searchkit").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        package = parts[:-1]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        deps = set()
        for node in ast.parse(path.read_text("utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package[:len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
                deps.add(target)
                deps.update(f"{target}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("searchkit"))
        graph[".".join(parts)] = deps
    return {name: deps & graph.keys() - {name} for name, deps in graph.items()}


def test_no_module_imports_itself_back_in_a_circle():
    graph = _imports()
    assert {"searchkit.engine.scoring", "searchkit.engine.rank"} <= graph.keys()

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for dep in graph[start]:
            if dep == goal or (dep not in seen and reaches(dep, goal, seen | {dep})):
                return True
        return False

    circles = sorted(name for name in graph if reaches(name, name, {name}))
    # A package importing its own submodules (its __init__) is not a circle between modules.
    circles = [name for name in circles if not any(dep.startswith(name + ".") for dep in graph[name])]
    assert circles == []


def test_the_engine_is_the_only_part_that_imports_whoosh():
    """Every `import whoosh...` / `from whoosh... import`, at any depth (inside functions too),
    is in searchkit/engine/; the rest of the library, the CLI and the web UI use the engine."""
    import ast

    outside = []
    for path in [*(ROOT / "searchkit").rglob("*.py"), *(ROOT / "webui").rglob("*.py")]:
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("searchkit/engine/"):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            outside += [f"{relative}:{node.lineno} {name}" for name in names
                        if name == "whoosh" or name.startswith("whoosh.")]
    assert outside == []


def test_indexes_that_name_the_old_module_paths_still_open():
    """TOCs pickled before the schema, the analyzer chain and the old codec moved into the
    engine name them as searchkit.schema.*, searchkit.analysis.*, searchkit.codec.*."""
    import pickle

    from searchkit.engine import legacy, schema

    for module, name, target in [("searchkit.schema", "NewsText", schema.NewsText),
                                 ("searchkit.analysis", "NewsTokenizer", schema.NewsTokenizer),
                                 ("searchkit.analysis", "SnowballFilter", schema.SnowballFilter),
                                 ("searchkit.analysis", "NewsPositions", schema.NewsPositions),
                                 ("searchkit.codec", "NewsCodec", legacy.NewsCodec)]:
        # A pickle naming the class by its old module, as an older TOC does.
        data = b"c" + module.encode() + b"\n" + name.encode() + b"\n."
        assert pickle.loads(data) is target
