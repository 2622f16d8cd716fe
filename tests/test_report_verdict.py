"""The verdict at the top of the report, checked against the frame it was computed from.

A small frame holds one function of each class (smooth, near a singularity, a kink,
several variables) plus float32 and noisy rows of ``exp``; what the verdict must say
is computed here again, independently, from the rows (pandas on the frame's own
columns), and compared with what it says. Also: the overview (Pareto) and calibration
charts exist and are linked, the summary is collapsible, no image is both embedded
and written, and frames without some classes, or without any truth, still get a
verdict that says so.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffkit import catalog
from diffkit.function import Function
from diffkit.report import write_report
from diffkit.report.overview_figures import calibration_rows, calibration_table, pareto_front
from diffkit.report.tables import method_name
from diffkit.report.verdict_section import (
    ROUNDING_LEVEL,
    build_verdict,
    estimate_table,
    fmt_err,
    verdict_markdown,
)
from diffkit.sweep import sweep

STEPS = tuple(float(h) for h in np.logspace(-14, 0, 15))
BACKENDS = ["fd-richardson", "reverse", "symbolic"]
NAMES = ("exp", "log", "abs_kink", "seed_abc")
NOISE = 1e-6


@pytest.fixture(scope="module")
def functions() -> list[Function]:
    return [catalog.get(name) for name in NAMES]


@pytest.fixture(scope="module")
def frame(functions: list[Function]) -> pd.DataFrame:
    exp = [catalog.get("exp")]
    parts = [
        sweep(functions, steps=STEPS, backends=BACKENDS),
        sweep(exp, steps=STEPS, backends=BACKENDS, dtypes=["float32"]),
        sweep(exp, steps=STEPS, backends=["fd-richardson"], noise=[NOISE]),
    ]
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def report(
    frame: pd.DataFrame, functions: list[Function], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("verdict") / "report"
    return write_report(frame, functions, out, title="verdict")


# --- what the verdict must say, computed again from the rows -------------------------

USABLE = ("ok", "near-zero", "reduced-step", "one-sided")


def _errors(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (point, h): the normwise error of the estimate and whether it is relative."""
    good = rows[rows["status"].isin(USABLE) & np.isfinite(rows["truth"])]
    grouped = good.groupby(["point", "h"], dropna=False)
    out = grouped.agg(
        abs_err=("abs_err", "max"), norm=("truth", lambda t: float(np.abs(t).max()))
    ).reset_index()
    relative = out["norm"] > 0
    out["err"] = np.where(
        relative, out["abs_err"] / out["norm"].where(relative, 1.0), out["abs_err"]
    )
    out["relative"] = relative
    return out


def _expected(frame: pd.DataFrame, function: str, method: str, dtype: str, noise: float):
    """(median, worst, kind) of the method's error on the function, as the verdict defines it.

    A grid rule counts at its best step per point, a backend at its one estimate.
    """
    rows = frame[
        (frame["function"] == function)
        & (frame["method"] == method)
        & (frame["dtype"] == dtype)
        & (frame["noise"] == noise)
    ]
    errors = _errors(rows)
    best = errors.loc[errors.groupby("point")["err"].idxmin()]  # one h per point at most
    kind = "relative" if best["relative"].any() else "absolute"
    chosen = best[best["relative"] == (kind == "relative")]["err"]
    return float(chosen.median()), float(chosen.max()), kind


def _class(verdict, key: str):
    (found,) = [c for c in verdict.classes if c.key == key]
    return found


@pytest.mark.parametrize(
    ("key", "function", "dtype", "noise"),
    [
        ("smooth", "exp", "float64", 0.0),
        ("singular", "log", "float64", 0.0),
        ("multivariate", "seed_abc", "float64", 0.0),
        ("dtype-float32", "exp", "float32", 0.0),
        (f"noise-{NOISE:g}", "exp", "float64", NOISE),
    ],
)
def test_each_class_reports_the_median_and_worst_error_of_each_method(
    frame: pd.DataFrame,
    functions: list[Function],
    key: str,
    function: str,
    dtype: str,
    noise: float,
) -> None:
    verdict = build_verdict(frame, {f.name: f for f in functions})
    item = _class(verdict, key)
    assert item.functions == (function,)
    stats = item.stats.set_index("method")
    methods = frame[(frame["dtype"] == dtype) & (frame["noise"] == noise)]["method"].unique()
    assert set(stats.index) == set(methods)
    for method in methods:
        median, worst, kind = _expected(frame, function, method, dtype, noise)
        prefix = "rel" if kind == "relative" else "abs"
        assert stats.loc[method, f"{prefix}_median"] == pytest.approx(median, rel=1e-12, abs=0)
        assert stats.loc[method, f"{prefix}_worst"] == pytest.approx(worst, rel=1e-12, abs=0)
    # The per-class table shows these numbers as the verdict prints them.
    markdown = "\n".join(verdict_markdown(verdict, {}))
    table = markdown[markdown.index(f"### {item.title}") :]
    for method in methods:
        median, _, kind = _expected(frame, function, method, dtype, noise)
        if kind == "relative":
            line = next(
                row for row in table.splitlines() if row.startswith(f"| {method_name(method)}")
            )
            assert f"| {fmt_err(median)} |" in line, line


def test_the_recommendation_follows_from_the_numbers(
    frame: pd.DataFrame, functions: list[Function]
) -> None:
    verdict = build_verdict(frame, {f.name: f for f in functions})
    eps = np.finfo(np.float64).eps
    smooth = _class(verdict, "smooth")
    exact = [
        m
        for m in ("reverse", "symbolic")
        if _expected(frame, "exp", m, "float64", 0.0)[0] <= ROUNDING_LEVEL * eps
    ]
    assert exact, "reverse mode and symbolic are exact on exp"
    for method in exact:
        assert method_name(method) in smooth.recommendation
    assert smooth.recommendation.startswith("derivative code")
    # Noisy values: only finite differences ran, so the pick is one of them.
    noisy = _class(verdict, f"noise-{NOISE:g}")
    assert "derivative code" not in noisy.recommendation
    assert any(method_name(m) in noisy.recommendation for m in ("fd-richardson-auto", "central4"))


def test_a_zero_derivative_is_measured_by_absolute_error_and_says_so(
    frame: pd.DataFrame, functions: list[Function]
) -> None:
    verdict = build_verdict(frame, {f.name: f for f in functions})
    kink = _class(verdict, "kinked")
    assert kink.functions == ("abs_kink",)
    assert kink.metric == "abs"  # the truth at the kink is 0 (the subgradient)
    stats = kink.stats.set_index("method")
    assert (stats["rel_count"] == 0).all()
    median, worst, kind = _expected(frame, "abs_kink", "forward", "float64", 0.0)
    assert kind == "absolute"
    assert stats.loc["forward", "abs_median"] == pytest.approx(median)
    assert stats.loc["forward", "abs_worst"] == pytest.approx(worst)
    markdown = "\n".join(verdict_markdown(verdict, {}))
    table = markdown[markdown.index(f"### {kink.title}") :].split("\n\n### ")[0]
    assert "median abs. error where f' = 0" in table
    assert any("absolute" in str(piece) for finding in kink.findings for piece in finding)


def test_grid_rules_count_at_their_best_step(
    frame: pd.DataFrame, functions: list[Function]
) -> None:
    est = estimate_table(frame, {f.name: f for f in functions})
    central = est[(est["function"] == "exp") & (est["method"] == "central")]
    central = central[(central["dtype"] == "float64") & (central["noise"] == 0)]
    assert len(central) == frame[frame["function"] == "exp"]["point"].nunique()  # one per point
    assert central["grid"].all()
    rows = frame[(frame["function"] == "exp") & (frame["method"] == "central")]
    rows = rows[(rows["dtype"] == "float64") & (rows["noise"] == 0) & (rows["status"] == "ok")]
    for _, estimate in central.iterrows():
        mine = rows[rows["point"] == estimate["point"]]
        assert estimate["err"] == pytest.approx(float(mine["rel_err"].min()))
        assert estimate["h"] == float(mine.loc[mine["rel_err"].idxmin(), "h"])


def test_calibration_compares_each_estimate_with_the_actual_error(frame: pd.DataFrame) -> None:
    rows = calibration_rows(frame)
    assert not rows.empty
    table = calibration_table(rows).set_index(["method", "dtype"])
    mine = frame[
        (frame["method"] == "fd-richardson-auto")
        & (frame["dtype"] == "float64")
        & frame["error_estimate"].notna()
        & frame["status"].isin(USABLE)
        & np.isfinite(frame["truth"])
    ]
    row = table.loc[(method_name("fd-richardson-auto"), "float64")]
    assert row["estimates"] == len(mine)
    assert row["held"] == int((mine["abs_err"] <= mine["error_estimate"]).sum())
    ratio = mine["abs_err"] / mine["error_estimate"]
    assert row["worst_ratio"] == pytest.approx(float(ratio.max()))


def test_pareto_front_keeps_the_points_nothing_beats() -> None:
    cost = np.array([1.0, 2.0, 3.0, 4.0, 0.5])
    err = np.array([1e-8, 1e-10, 1e-9, 0.0, 1e-6])
    # 3.0 is beaten by 2.0 (cheaper and more accurate); the rest trade cost for accuracy.
    assert pareto_front(cost, err).tolist() == [4, 0, 1, 3]


# --- the pages ----------------------------------------------------------------------


def test_the_verdict_opens_both_pages_and_links_its_evidence(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    markdown = (report.parent / "report.md").read_text(encoding="utf-8")
    verdict_at = page.index('<section id="verdict"')
    assert verdict_at < page.index('<h2 id="summary">')  # the verdict first, the summary below
    assert page.index("<h2", verdict_at) < page.index('<h2 id="calibration">')
    assert markdown.index("## Verdict") < markdown.index("## Summary")
    assert markdown.index("## Verdict") < markdown.index("## exp")
    head = page[:verdict_at]
    assert re.search(r"diffkit \d+\.\d+", head)  # version and date at the top
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", head)
    for name in ("sweep.csv.gz", "summary.csv", "timings.csv.gz"):
        assert f'href="{name}"' in head
        assert (report.parent / name).is_file()
    assert 'href="#summary">Summary</a>' in head
    # Each class's paragraph links to its numbers, and the worst cases to the functions.
    verdict_html = page[verdict_at : page.index("</section>", verdict_at)]
    for key in ("smooth", "singular", "kinked", "multivariate"):
        assert f'href="#verdict-{key}"' in verdict_html
        assert f'id="verdict-{key}"' in verdict_html
    ids = set(re.findall(r'id="([^"]+)"', page))
    for target in re.findall(r'href="#([^"]+)"', verdict_html):
        assert target in ids, target


def test_the_overview_and_calibration_charts_are_written_and_linked(report: Path) -> None:
    folder = report.parent
    page = report.read_text(encoding="utf-8")
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    for path in ("figures/verdict-pareto.png", "figures/calibration.png"):
        assert (folder / path).read_bytes().startswith(b"\x89PNG")
        assert f'<img src="{path}"' in page
        assert f"]({path})" in markdown
    verdict_html = page[page.index('<section id="verdict"') : page.index("</section>")]
    assert '<img src="figures/verdict-pareto.png"' in verdict_html


def test_the_summary_is_grouped_per_function_in_details(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    summary = page[page.index('<h2 id="summary">') : page.index('<h2 id="reading">')]
    groups = re.findall(r'<details class="rows" id="summary-[^"]+"><summary>', summary)
    assert len(groups) == len(NAMES)
    assert "<table>" in summary.split("<details", 1)[0]  # the pivot, before the groups
    for name in NAMES:
        assert f">{name}</a>:" in summary


def test_no_image_is_both_embedded_and_written(report: Path) -> None:
    folder = report.parent
    page = report.read_text(encoding="utf-8")
    assert "data:image" not in page
    assert "base64" not in page
    linked = re.findall(r'<img src="([^"]+)"', page)
    written = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.png"))
    assert sorted(linked) == written
    assert len(set(linked)) == len(linked)  # each once
    assert report.stat().st_size < 3_000_000


def test_every_section_heading_links_back_to_the_top(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    assert '<header id="top">' in page
    headings = re.findall(r"<h2[^>]*>.*?</h2>", page)
    assert headings
    for heading in headings:
        assert 'href="#top"' in heading, heading


# --- frames with less in them -------------------------------------------------------


def test_classes_absent_from_the_frame_are_named_not_invented(tmp_path: Path) -> None:
    f = catalog.get("exp")
    frame = sweep([f], steps=STEPS[::3], backends=["reverse"])
    verdict = build_verdict(frame, {f.name: f})
    assert [c.key for c in verdict.classes] == ["smooth"]
    assert set(verdict.absent) == {
        "Several variables (gradients)",
        "Near a singularity",
        "At a kink",
    }
    page = write_report(frame, [f], tmp_path / "r", title="t").read_text(encoding="utf-8")
    assert (
        "Not in this report: several variables (gradients), near a singularity, at a kink." in page
    )


def _branchy(x: np.ndarray) -> np.ndarray:
    if np.all(x > 0):  # a Python branch on the input: the tracer refuses it, so no truth
        return np.sin(x) * x
    return -x


def test_a_frame_without_any_truth_gets_a_verdict_that_says_so(tmp_path: Path) -> None:
    refused = Function.from_callable(_branchy, name="refused")
    frame = sweep([refused], points=[0.7], steps=STEPS[::3], backends=["reverse", "fd-richardson"])
    assert frame["truth"].isna().all()
    verdict = build_verdict(frame, {refused.name: refused})
    assert "No estimate" in verdict.lead
    assert "no accuracy can be stated" in verdict.lead
    assert all(c.recommendation == "" for c in verdict.classes)
    index = write_report(frame, [refused], tmp_path / "r", title="t")
    page = index.read_text(encoding="utf-8")
    assert '<section id="verdict"' in page
    assert "nothing measured" in page
    assert not (index.parent / "figures" / "verdict-pareto.png").exists()  # no error to plot
    assert 'id="calibration"' in page
    assert "cannot be checked" in page
    assert "data:image" not in page
