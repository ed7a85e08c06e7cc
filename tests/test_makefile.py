"""The Makefile as a newcomer uses it: `make run` installs only what running needs and says
where it serves only once it does; `make test` brings the test extra."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
VENV = Path(sys.executable).parent.parent  # the .venv running these tests


def dry_run(target: str, venv: Path) -> list[str]:
    done = subprocess.run(["make", "-n", "-C", str(ROOT), target, f"VENV={venv}"], capture_output=True,
                          text=True, check=True)
    return [line for line in done.stdout.splitlines() if "pip install" in line]


def test_make_run_installs_only_the_runtime_dependencies(tmp_path):
    venv = tmp_path / "fresh-venv"
    assert dry_run("run", venv) == [f"{venv}/bin/pip install --quiet -e ."]
    assert dry_run("test", venv) == [f"{venv}/bin/pip install --quiet -e .",
                                      f"{venv}/bin/pip install --quiet -e '.[test]'"]


def test_make_run_on_a_busy_port_is_one_line_and_never_says_serving(busy_port, index_path):
    # -o: take the .venv as installed (never reinstall the environment running these tests)
    done = subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "-o", f"{VENV}/bin/searchkit", "run",
                           f"VENV={VENV}", f"INDEX={index_path}", f"PORT={busy_port}"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "serving" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"Error: port {busy_port} is in use: choose another with --port\n" in done.stderr
