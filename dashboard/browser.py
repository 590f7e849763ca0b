"""What a real browser draws from a dashboard page: headless Chromium (Debian's ``chromium``) loads the file,
runs its script and dumps the DOM; the marks of each chart are counted from it. Standard library only."""
from __future__ import annotations

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_browser() -> str | None:
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


class _Marks(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []  # data-chart of each open <svg> (None for nested non-chart svg)
        self.marks: dict[str, int] = {}
        self.rendered: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.rendered = attrs.get("data-rendered")
        if tag == "svg":
            key = attrs.get("data-chart")
            self.stack.append(key)
            if key is not None:
                self.marks.setdefault(key, 0)
        elif "mark" in (attrs.get("class") or "").split():
            chart = next((k for k in reversed(self.stack) if k), None)
            if chart is not None:
                self.marks[chart] += 1

    def handle_endtag(self, tag):
        if tag == "svg" and self.stack:
            self.stack.pop()


def rendered_marks(page: Path, *, browser: str | None = None, timeout: float = 60) -> dict[str, int]:
    """``{chart key: marks drawn}`` after the page's script ran in headless Chromium; raises RuntimeError when
    no browser is installed or the script did not finish (``<body data-rendered>`` missing)."""
    browser = browser or find_browser()
    if not browser:
        raise RuntimeError(f"no headless browser found (tried {', '.join(BROWSERS)}; Debian: apt-get install chromium)")
    dom = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions", "--no-first-run",
         "--virtual-time-budget=5000", "--dump-dom", Path(page).resolve().as_uri()],
        capture_output=True, text=True, timeout=timeout, check=True).stdout
    parser = _Marks()
    parser.feed(dom)
    if parser.rendered is None:
        raise RuntimeError(f"{page}: the page's script did not finish (no data-rendered on <body>)")
    return parser.marks
