"""The whole report as a reader gets it: every section present, every image written and shown."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from diffkit.cli import main

SECTIONS = {
    "calibration": "Error estimates against actual errors",
    "summary": "Summary",
    "order": "Order of accuracy",
    "agreement": "Agreement",
    "precision": "Precision",
    "noise": "Noise",
    "cost": "Cost",
    "swell": "Expression swell",
    "seeds": "The seeds",
    "not-ok": "Rows not ok",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    argv = [
        "report",
        "--functions",
        "exp,squire_trapp,abs_kink,rosenbrock2",
        "--steps",
        "17",
        "--studies",
        "all",
        "--jobs",
        "2",
        "--no-progress",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    return out / "catalog"


def test_every_section_is_in_both_pages(report: Path) -> None:
    page = (report / "index.html").read_text(encoding="utf-8")
    markdown = (report / "report.md").read_text(encoding="utf-8")
    for key, title in SECTIONS.items():
        assert re.search(rf'<h2 id="{key}">{re.escape(title)}', page), key
        assert re.search(rf"^## {re.escape(title)}", markdown, re.MULTILINE), key
        assert f'href="#{key}"' in page  # listed in the navigation


def test_every_image_is_written_once_and_linked(report: Path) -> None:
    """Issue 14: the HTML links its images (figures/), it does not embed them as well."""
    files = sorted(p.relative_to(report).as_posix() for p in (report / "figures").iterdir())
    markdown = (report / "report.md").read_text(encoding="utf-8")
    linked = sorted(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", markdown))
    assert linked == files
    page = (report / "index.html").read_text(encoding="utf-8")
    assert page.count("<img ") == len(files)
    assert "data:image/" not in page
    assert sorted(re.findall(r'<img src="([^"]+)"', page)) == files
    for name in ("order.png", "agreement.png", "swell-logistic.png", "verdict-pareto.png"):
        assert f"figures/{name}" in files
    assert any(name.startswith("figures/precision-") for name in files)
    assert any(name.startswith("figures/noise-") for name in files)
    assert any(name.startswith("figures/cost-") for name in files)
    for path in files:
        assert (report / path).stat().st_size > 1000, path


def test_data_files_are_written_and_parse(report: Path) -> None:
    for name in ("sweep.csv.gz", "summary.csv", "timings.csv.gz", "expressions.csv"):
        assert not pd.read_csv(report / name).empty
    for name in ("agreement.csv", "cost.csv", "swell.csv", "seeds.csv"):
        assert not pd.read_csv(report / "data" / name).empty, name
    assert (report / "data" / "seed-graph.dot").read_text().startswith("digraph")
    sweep = pd.read_csv(report / "sweep.csv.gz")
    assert {"float32", "float64"} <= set(sweep["dtype"])  # the precision study's rows
    assert (sweep["noise"] > 0).any()  # the noise study's rows
    assert sweep[sweep["function"] == "abs_kink"]["kink"].all()


def test_seed_numbers_all_match_in_the_report(report: Path) -> None:
    seeds = pd.read_csv(report / "data" / "seeds.csv")
    assert len(seeds) >= 70
    assert seeds["match"].all()
