"""Take the README screenshots (docs/search-desktop.png, docs/search-phone.png) of the demo
corpus in a real browser: `make screenshots`."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import DESKTOP, PHONE, chromium, serve  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
QUERY = "/search?q=journalist+arrested"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        exe = Path(sys.executable).with_name("searchkit")
        subprocess.run([str(exe), "--index", str(index), "import", str(ROOT / "seeds")], check=True)
        with serve(index) as base, chromium() as browser:
            for name, size in (("search-desktop.png", DESKTOP), ("search-phone.png", PHONE)):
                page = browser.new_page(viewport=size, device_scale_factor=1)
                for _ in range(3):  # the first searches of a fresh server load the stemmer and caches:
                    page.goto(base + QUERY)  # show the time a warm one takes
                page.screenshot(path=str(ROOT / "docs" / name))
                page.close()
                print(f"wrote docs/{name}")


if __name__ == "__main__":
    main()
