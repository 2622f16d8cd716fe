"""The HTML report opened in a real headless Chromium, checked as a reader would see it.

What a reader sees first is the verdict and its overview chart (both must be in the
first screen); every image links a file of the report folder, which must resolve
(no broken image); nothing is logged as an error.

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
        viewport: window.innerHeight,
        // Where the verdict and its overview chart sit before any scrolling.
        verdict: (() => {
            const box = document.getElementById("verdict");
            const chart = box && box.querySelector("img");
            return box && {
                top: box.getBoundingClientRect().top,
                text: box.innerText.slice(0, 2000),
                chartTop: chart ? chart.getBoundingClientRect().top : null,
                chartSrc: chart ? chart.getAttribute("src") : null,
            };
        })(),
        headings: Array.from(document.querySelectorAll("h2")).map(h => ({
            id: h.id || (h.closest("[id]") || {}).id || "",
            top: !!h.querySelector('a.top[href="#top"]'),
        })),
        summaryDetails: document.querySelectorAll("#summary ~ details.rows").length,
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
    # Nothing leaves the report's folder: the page and the files it links, each there.
    fetched = facts["requests"]
    assert fetched[0] == index.as_uri()
    for url in fetched:
        path = Path(unquote(urlparse(url).path))
        assert urlparse(url).scheme == "file", url
        assert path.is_file(), f"fetched a missing file: {url}"
        assert path.resolve().is_relative_to(index.parent.resolve()), url
    assert "data:" not in " ".join(fetched)  # linked, never embedded (issue 14)

    # The verdict, and its overview chart, are in the first screen; Summary is in the nav.
    verdict = facts["verdict"]
    assert verdict is not None, "the page has no verdict"
    assert verdict["top"] < facts["viewport"], verdict
    assert verdict["chartTop"] is not None, "the verdict has no overview chart"
    assert verdict["chartTop"] < facts["viewport"], verdict
    assert verdict["chartSrc"] == "figures/verdict-pareto.png"
    assert "Smooth, one variable" in verdict["text"]
    assert "Several variables" in verdict["text"]
    assert "#summary" in facts["nav"]
    assert facts["summaryDetails"] >= 2  # one collapsible group per function
    # Every section's heading links back to the top, and the top exists.
    assert "top" in facts["ids"]
    assert facts["headings"]
    assert all(h["top"] for h in facts["headings"]), facts["headings"]

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
    # One image per figure the report wrote, each linking that file (naturalWidth > 0
    # above: the file resolved and decoded), none embedded as well.
    assert len(images) == len(figures)
    linked = Counter(img["src"] for img in images)
    assert linked == Counter(p.relative_to(index.parent).as_posix() for p in figures)
    for img in images:
        assert not img["src"].startswith("data:"), img["alt"]
        png = index.parent / unquote(img["src"])
        with Image.open(png) as shown:
            assert (shown.width, shown.height) == (img["naturalWidth"], img["naturalHeight"])

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
