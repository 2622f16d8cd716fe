"""The HTML report opened in a real headless Chromium, checked as a reader would see it.

The driver is Playwright's Python package, pointed at the system's Chromium (Debian's
``chromium``; ``.ci/run`` installs it). Playwright rather than Selenium because it is one
``pip install`` with no separate chromedriver to keep in step with the browser, and it
reports console messages, uncaught page errors and every network request as plain
events, which is exactly what this test checks. ``playwright install`` is never run: it
downloads browsers from a CDN, and the system Chromium is all the test needs.

Without Chromium or Playwright the test is skipped with the reason; with
``DIFFKIT_REQUIRE_BROWSER=1`` (set by ``.ci/run`` once Chromium is there) it fails
instead, so CI cannot pass by skipping it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
from PIL import Image

from diffkit.cli import main

# The machines this runs on have no network: without the background-networking flags
# Chromium stalls on refused connections at start-up. /dev/shm is small in containers.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TITLE = "diffkit report: browser"
# Two catalog functions (one of one variable with theory lines, one gradient), both
# dtypes and a coarse step grid: every kind of chart, built in a few seconds.
REPORT_ARGS = [
    "report",
    "--functions",
    "exp,seed_abc",
    "--backends",
    "fd-richardson,reverse,symbolic",
    "--dtype",
    "float32,float64",
    "--steps",
    "9",
    "--name",
    "browser",
]

# Collected in the page, after the load event (which waits for every image).
PAGE_FACTS = """
async () => {
    const images = Array.from(document.images);
    // decode() rejects for an image that cannot be decoded; record it instead of throwing.
    const decoded = await Promise.all(images.map(img => img.decode().then(() => true, () => false)));
    return {
        readyState: document.readyState,
        title: document.title,
        h1: Array.from(document.querySelectorAll("h1")).map(h => h.textContent),
        images: images.map((img, i) => ({
            alt: img.alt,
            complete: img.complete,
            naturalWidth: img.naturalWidth,
            naturalHeight: img.naturalHeight,
            width: img.getBoundingClientRect().width,
            decoded: decoded[i],
            src: img.getAttribute("src"),
        })),
        nav: Array.from(document.querySelectorAll("nav a")).map(a => a.getAttribute("href")),
        ids: Array.from(document.querySelectorAll("[id]")).map(e => e.id),
        links: Array.from(document.querySelectorAll("a[href]")).map(a => a.getAttribute("href")),
        height: document.documentElement.scrollHeight,
    };
}
"""


def _chromium() -> str:
    """The Chromium executable, or a skip (a failure under DIFFKIT_REQUIRE_BROWSER=1)."""
    required = os.environ.get("DIFFKIT_REQUIRE_BROWSER") == "1"
    path = shutil.which("chromium")
    if path is None:
        reason = "Chromium not installed (Debian: apt-get install chromium)"
        if required:
            pytest.fail(reason + " but DIFFKIT_REQUIRE_BROWSER=1")
        pytest.skip(reason)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "Playwright not installed (pip install -e '.[dev]'; no `playwright install`)"
        if required:
            pytest.fail(reason + " but DIFFKIT_REQUIRE_BROWSER=1")
        pytest.skip(reason)
    return path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _data_url_bytes(src: str) -> bytes:
    header, _, payload = src.partition(",")
    assert header.startswith("data:image/"), header[:60]
    assert header.endswith(";base64"), header[:60]
    return base64.b64decode(payload)


def _open_in_chromium(index: Path, profile: Path, screenshot: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    console: list[str] = []
    errors: list[str] = []
    requests: list[str] = []
    failed: list[str] = []
    with sync_playwright() as pw:
        # A persistent context on an empty folder: the fresh --user-data-dir Chromium needs.
        context = pw.chromium.launch_persistent_context(
            str(profile),
            executable_path=_chromium(),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            timeout=60_000,
        )
        try:
            page = context.new_page()
            page.on(
                "console",
                lambda m: console.append(f"{m.type}: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("request", lambda r: requests.append(r.url))
            page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
            response = page.goto(index.as_uri(), wait_until="load", timeout=60_000)
            assert response is None or response.ok
            facts: dict[str, Any] = page.evaluate(PAGE_FACTS)
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            context.close()
    facts.update(console=console, errors=errors, requests=requests, failed=failed)
    return facts


def test_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    _chromium()  # skip before spending time on the report
    out = tmp_path / "reports"
    assert main([*REPORT_ARGS, "--out", str(out)]) == 0
    index = out / "browser" / "index.html"
    figures = sorted(p for p in (index.parent / "figures").iterdir() if p.is_file())
    assert figures, "the report wrote no figures"

    start = time.perf_counter()
    screenshot = tmp_path / "report.png"
    facts = _open_in_chromium(index, tmp_path / "chromium-profile", screenshot)
    seconds = time.perf_counter() - start
    print(f"Chromium: {len(facts['images'])} images checked in {seconds:.1f} s; {screenshot}")

    # The document loaded, under the right title, with nothing logged as an error.
    assert facts["readyState"] == "complete"
    assert facts["title"] == TITLE
    assert facts["h1"] == [TITLE]
    assert facts["console"] == []
    assert facts["errors"] == []
    assert facts["failed"] == []
    # Self-contained: the page itself is the only thing fetched from outside data: URLs.
    fetched = [url for url in facts["requests"] if not url.startswith("data:")]
    assert fetched == [index.as_uri()]

    # No broken image: each one loaded, decoded and has a size on the page.
    images = facts["images"]
    for img in images:
        where = f"image {img['alt']!r}"
        assert img["complete"], where
        assert img["decoded"], where
        assert img["naturalWidth"] > 0, where
        assert img["naturalHeight"] > 0, where
        assert img["width"] > 0, where
        assert img["alt"], f"an image without alt text: {img['src'][:40]}"
    # One image per figure the report wrote, and the embedded bytes are those figures.
    assert len(images) == len(figures)
    embedded = Counter(_sha(_data_url_bytes(img["src"])) for img in images)
    assert embedded == Counter(_sha(p.read_bytes()) for p in figures)

    # Every in-page anchor of the nav names an element that exists, and every id is unique.
    ids = facts["ids"]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    nav = facts["nav"]
    assert nav, "the page has no navigation"
    for href in nav:
        assert href.startswith("#"), href
        assert unquote(href[1:]) in ids, f"nav link {href} points nowhere"
    # Other links are anchors in the page or files beside it.
    for href in facts["links"]:
        if href.startswith("#"):
            assert unquote(href[1:]) in ids, href
        else:
            assert not urlparse(href).scheme, f"link leaves the report: {href}"
            assert (index.parent / unquote(href)).is_file(), f"link to a missing file: {href}"

    # The screenshot shows a page, not a blank canvas: many colours, the page's width.
    with Image.open(screenshot) as shot:
        assert shot.width == 1280
        assert shot.height >= min(facts["height"], 900)
        rgb = np.asarray(shot.convert("RGB"), dtype=np.uint32)
    colours = np.unique((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2])
    assert len(colours) > 16, f"a near-blank screenshot: {len(colours)} colours"
