"""The report layer: V-curve figures, tables, and the report folder written from a sweep."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from diffkit import catalog
from diffkit.function import Function
from diffkit.report import (
    ERROR_FLOOR,
    error_curves,
    failure_table,
    method_color,
    summary_table,
    vcurve_figure,
    write_report,
)
from diffkit.report.tables import method_name
from diffkit.sweep import FD_METHODS, sweep

# One step per decade keeps every test fast and still shows both arms of each V.
COARSE_STEPS = tuple(float(h) for h in np.logspace(-14, 0, 15))
FD_LABELS = [m.label for m in FD_METHODS]
FD_NAMES = [method_name(label) for label in FD_LABELS]  # as charts and tables show them
ROOT = Path(__file__).resolve().parents[1]


def _raises(x: np.ndarray) -> np.ndarray:
    raise ValueError("deliberate failure for the report")


BROKEN = Function.from_callable(_raises, name="broken", points=(1.0,), why="always raises")


@pytest.fixture(scope="module")
def functions() -> list[Function]:
    return [catalog.get("exp"), catalog.get("seed_quadratic"), catalog.get("seed_abc"), BROKEN]


@pytest.fixture(scope="module")
def frame(functions: list[Function]) -> pd.DataFrame:
    return sweep(functions, steps=COARSE_STEPS, backends=["fd-richardson"])


def _undated(page: str) -> str:
    """A page without the date it shows at the top."""
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", "DATE", page)


def _legend_texts(fig: Figure) -> list[str]:
    legend = fig.axes[0].get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


def _lines(fig: Figure, label: str) -> list[object]:
    return [line for line in fig.axes[0].get_lines() if line.get_label() == label]


# --- figures ------------------------------------------------------------------------


def test_vcurve_has_one_curve_per_method_and_theory_for_each(frame: pd.DataFrame) -> None:
    fig = vcurve_figure(frame, catalog.get("exp"), 10.0)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "step h"
    assert ax.get_ylabel() == "relative error"
    assert "exp" in ax.get_title()
    assert "10" in ax.get_title()
    texts = _legend_texts(fig)
    for label in FD_NAMES:
        assert label in texts
        assert len(_lines(fig, label)) == 1
    assert "Richardson (own h)" in texts
    assert "theory: truncation, rounding" in texts
    # Every rule, the complex step included, has its truncation, rounding and sum lines.
    for part in ("_truncation", "_rounding", "_theory sum"):
        assert len(_lines(fig, part)) == len(FD_LABELS)
    # A predicted optimum for each rule with an optimal step (not the complex step).
    assert len(_lines(fig, "_predicted optimum")) == len(FD_LABELS) - 1
    assert len(_lines(fig, "_observed best")) == len(FD_LABELS)


def test_vcurve_predicted_optimum_sits_near_the_observed_one(frame: pd.DataFrame) -> None:
    fig = vcurve_figure(frame, catalog.get("exp"), 0.0)
    (predicted,) = [
        line
        for line in _lines(fig, "_predicted optimum")
        if line.get_markeredgecolor() == method_color("central")
    ]
    (best,) = [
        line
        for line in _lines(fig, "_observed best")
        if line.get_color() == method_color("central")
    ]
    ratio = predicted.get_xdata()[0] / best.get_xdata()[0]
    assert 0.05 < ratio < 20


def test_vcurve_draws_into_the_given_axes(frame: pd.DataFrame) -> None:
    fig = Figure()
    left, right = fig.subplots(1, 2)
    out = vcurve_figure(frame, catalog.get("exp"), 0.0, ax=right)
    assert out is fig
    assert not left.get_lines()
    assert right.get_lines()


def test_vcurve_of_a_gradient_has_no_theory_but_lists_the_auto_backend(frame: pd.DataFrame) -> None:
    f = catalog.get("seed_abc")
    fig = vcurve_figure(frame, f, f.points[0])
    assert "relative error" in fig.axes[0].get_ylabel()
    assert not _lines(fig, "_truncation")
    texts = _legend_texts(fig)
    assert all(label in texts for label in FD_NAMES)
    # A step per variable, no single h: its error is drawn as a level across the chart.
    assert any(t.startswith("Richardson: a step per variable, error") for t in texts)
    assert _lines(fig, next(t for t in texts if t.startswith("Richardson:")))


def test_vcurve_clips_zero_errors_to_the_floor_and_says_so(frame: pd.DataFrame) -> None:
    # Central differences are exact on a quadratic: errors of 0 at some steps.
    fig = vcurve_figure(frame, catalog.get("seed_quadratic"), 5.0)
    # A note, not a legend entry: the legend's title says it.
    assert "error 0 drawn" in fig.axes[0].get_legend().get_title().get_text()
    (central,) = _lines(fig, "central")
    assert np.min(central.get_ydata()) >= ERROR_FLOOR


def test_vcurve_without_ground_truth_explains_the_empty_chart(frame: pd.DataFrame) -> None:
    fig = vcurve_figure(frame, BROKEN, 1.0)
    assert not fig.axes[0].get_lines()
    assert any("no finite error" in t.get_text() for t in fig.axes[0].texts)


def test_method_colors_are_the_same_in_every_chart(frame: pd.DataFrame) -> None:
    a = vcurve_figure(frame, catalog.get("exp"), 0.0)
    b = vcurve_figure(frame, catalog.get("seed_abc"), catalog.get("seed_abc").points[1])
    for label in FD_NAMES:
        assert _lines(a, label)[0].get_color() == _lines(b, label)[0].get_color()
    assert len({method_color(label) for label in FD_LABELS}) == len(FD_LABELS)
    assert method_color("my-backend") == method_color("my-backend")


# --- tables -------------------------------------------------------------------------


def test_error_curves_use_the_normwise_error_for_gradients(frame: pd.DataFrame) -> None:
    rows = frame[(frame["function"] == "seed_abc") & (frame["method"] == "forward")]
    curves = error_curves(rows)
    point, h = rows["point"].iloc[0], 1e-6
    group = rows[(rows["point"] == point) & (rows["h"] == h)]
    expected = group["abs_err"].max() / group["truth"].abs().max()
    got = curves[(curves["point"] == point) & (curves["h"] == h)]["err"]
    assert got.tolist() == pytest.approx([expected])


def test_error_curves_of_one_variable_equal_rel_err(frame: pd.DataFrame) -> None:
    rows = frame[(frame["function"] == "exp") & (frame["status"] == "ok")]
    curves = error_curves(rows)
    merged = curves.merge(rows, on=["point", "method", "h"])
    np.testing.assert_allclose(merged["err"], merged["rel_err"])


def test_summary_fits_the_order_of_each_rule(frame: pd.DataFrame) -> None:
    table = summary_table(frame, {"exp": catalog.get("exp")})
    exp = table[(table["function"] == "exp") & (table["point"] == "0")].set_index("method")
    assert exp.loc["forward", "order"] == pytest.approx(1.0, abs=0.2)
    assert exp.loc["central", "order"] == pytest.approx(2.0, abs=0.2)
    assert np.isfinite(exp.loc["central", "predicted_h"])
    assert np.isnan(exp.loc["complex", "predicted_h"])  # no optimum: error falls to a floor
    assert exp.loc["fd-richardson-auto", "nfev"] > 0
    assert list(exp.index[:4]) == FD_LABELS  # rules first, in the sweep's order


def test_failure_table_counts_rows_per_group(frame: pd.DataFrame) -> None:
    failures = failure_table(frame)
    broken = failures[failures["function"] == "broken"]
    assert set(broken["method"]) >= set(FD_LABELS)
    assert broken["message"].str.contains("deliberate failure").all()
    forward = broken[broken["method"] == "forward"]
    assert forward["rows"].tolist() == [len(COARSE_STEPS)]


# --- the report folder --------------------------------------------------------------


@pytest.fixture(scope="module")
def report(
    frame: pd.DataFrame, functions: list[Function], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    out = tmp_path_factory.mktemp("report")
    return write_report(frame, functions, out, title="test <report>", metadata={"args": ["x"]})


def test_report_writes_every_file(report: Path, frame: pd.DataFrame) -> None:
    folder = report.parent
    assert report.name == "index.html"
    for name in ("index.html", "report.md", "sweep.csv.gz", "summary.csv", "metadata.json"):
        assert (folder / name).is_file(), name
    pngs = sorted((folder / "figures").glob("*.png"))
    vcurves = [p for p in pngs if p.name not in ("verdict-pareto.png", "calibration.png")]
    # One V-curve per point with a finite error to draw: "broken" has none (every row failed).
    charts = frame[frame["function"] != "broken"][["function", "point"]].drop_duplicates()
    assert len(vcurves) == len(charts)
    assert {"verdict-pareto.png", "calibration.png"} <= {p.name for p in pngs}
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)


def test_html_links_its_images_once_and_is_escaped(report: Path) -> None:
    """Each chart is written once, under figures/, and the page links it (issue 14: not both)."""
    text = report.read_text(encoding="utf-8")
    assert "data:image" not in text
    linked = re.findall(r'<img src="([^"]+)"', text)
    written = sorted(p.relative_to(report.parent).as_posix() for p in report.parent.rglob("*.png"))
    assert sorted(linked) == written
    for external in ('src="http', "src='http", 'href="http', "<link", "<script", "@import"):
        assert external not in text
    assert "test &lt;report&gt;" in text
    assert "test <report>" not in text


def test_markdown_references_the_pngs_by_relative_path(report: Path) -> None:
    text = (report.parent / "report.md").read_text(encoding="utf-8")
    for png in (report.parent / "figures").glob("*.png"):
        assert f"](figures/{png.name})" in text
    assert "## Summary" in text
    assert "## Rows not ok" in text


def test_csv_round_trips_to_the_same_frame_shape(report: Path, frame: pd.DataFrame) -> None:
    """sweep.csv.gz holds every column but the timings, which timings.csv.gz holds row for row."""
    back = pd.read_csv(report.parent / "sweep.csv.gz")
    assert back.shape == (len(frame), frame.shape[1] - 1)
    assert list(back.columns) == [c for c in frame.columns if c != "seconds"]
    timings = pd.read_csv(report.parent / "timings.csv.gz")
    assert len(timings) == len(frame)
    assert "seconds" in timings.columns
    summary = pd.read_csv(report.parent / "summary.csv")
    assert {"best_err", "best_h", "predicted_h", "predicted_err", "order"} <= set(summary.columns)


def test_failures_section_lists_the_function_that_raises(report: Path) -> None:
    for name in ("index.html", "report.md"):
        text = (report.parent / name).read_text(encoding="utf-8")
        section = text[text.index("Rows not ok", text.index("Summary") + 10) :]
        assert "broken" in section
        assert "ValueError: deliberate failure for the report" in section


def test_metadata_records_versions_and_arguments(report: Path) -> None:
    info = json.loads((report.parent / "metadata.json").read_text())
    assert set(info["versions"]) >= {"python", "numpy", "sympy", "mpmath", "pandas", "matplotlib"}
    assert info["versions"]["diffkit"]
    assert info["args"] == ["x"]
    assert info["seed"] is None
    assert info["dtypes"] == ["float64"]
    assert info["date"].endswith("+00:00")


def test_writing_twice_gives_the_same_bytes(
    report: Path, frame: pd.DataFrame, functions: list[Function], tmp_path: Path
) -> None:
    again = write_report(
        frame, functions, tmp_path, title="test <report>", metadata={"args": ["x"]}
    )
    for name in ("sweep.csv.gz", "summary.csv"):
        assert (again.parent / name).read_bytes() == (report.parent / name).read_bytes(), name
    # The pages show the date they were written (issue 14): equal but for that.
    for name in ("report.md", "index.html"):
        first, second = ((folder / name).read_text() for folder in (again.parent, report.parent))
        assert _undated(first) == _undated(second), name
    for png in (report.parent / "figures").glob("*.png"):
        assert (tmp_path / "figures" / png.name).read_bytes() == png.read_bytes(), png.name


def test_building_a_report_never_imports_pyplot(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "import numpy as np\n"
        "import diffkit, diffkit.cli\n"
        "from diffkit import catalog\n"
        "from diffkit.report import write_report\n"
        "from diffkit.sweep import sweep\n"
        "fs = [catalog.get('exp')]\n"
        "frame = sweep(fs, steps=tuple(np.logspace(-8, 0, 5)))\n"
        f"write_report(frame, fs, {str(tmp_path)!r}, title='t', metadata={{}})\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    assert (tmp_path / "index.html").is_file()


def test_points_of_many_variables_get_a_chart_each(tmp_path: Path) -> None:
    # logsumexp has two 5-variable points: their labels (and charts) must not merge.
    f = catalog.get("logsumexp")
    frame = sweep([f], steps=COARSE_STEPS, methods=FD_METHODS[:2])
    assert frame["point"].nunique() == len(f.points) == 2
    index = write_report(frame, [f], tmp_path, title="t", metadata={})
    assert len(list((index.parent / "figures").glob("00-logsumexp-p*.png"))) == 2


def test_two_sweeps_of_the_same_grid_write_the_same_data_bytes(
    functions: list[Function], tmp_path: Path
) -> None:
    """Timings change between runs; the data file does not."""
    from diffkit.sweep import sweep

    grid = tuple(np.logspace(-8, 0, 5))
    first = write_report(sweep(functions, steps=grid), functions, tmp_path / "a", title="t")
    second = write_report(sweep(functions, steps=grid), functions, tmp_path / "b", title="t")
    sweep_file = "sweep.csv.gz"
    assert (first.parent / sweep_file).read_bytes() == (second.parent / sweep_file).read_bytes()


def test_an_interrupted_report_leaves_the_previous_one_whole(
    frame: pd.DataFrame, functions: list[Function], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from diffkit.report import writer

    target = tmp_path / "report"
    good = write_report(frame, functions, target, title="good")
    before = good.read_bytes()

    def fail(*args: object, **kwargs: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(writer, "html_page", fail)
    with pytest.raises(KeyboardInterrupt):
        write_report(frame, functions, target, title="interrupted")
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no half-built folder left


def test_a_folder_holding_other_files_is_never_replaced(
    frame: pd.DataFrame, functions: list[Function], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=r"notes\.txt"):
        write_report(frame, functions, tmp_path, title="t")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_summary_shows_digits_shared_with_symbolic_and_time_per_estimate():
    f = catalog.get("squire_trapp")
    frame = sweep([f], steps=tuple(np.logspace(-12, -1, 12)), backends=["reverse", "symbolic"])
    table = summary_table(frame, {f.name: f}).set_index("method")
    assert table.loc["symbolic", "digits"] == 17  # itself
    assert table.loc["reverse", "digits"] >= 15
    # Forward differences keep about half the digits, central about two thirds.
    forward, central = table.loc["forward", "digits"], table.loc["central", "digits"]
    assert 6 < forward < 10
    assert forward + 1 < central < 13
    # One point, one call per method: that call is the warm-up, left out of the timing
    # (tests/test_report_metrics.py times several points).
    assert table["seconds"].isna().all()
    assert (table["timed_calls"] == 0).all()


def test_summary_leaves_agreement_out_at_a_kink():
    f = catalog.get("abs_kink")
    frame = sweep([f], steps=(1e-6, 1e-3), backends=["reverse", "symbolic"])
    assert summary_table(frame, {f.name: f})["digits"].isna().all()


# --- callables: traced truth, and functions without an exact reference ---------------


def _branchy(x: np.ndarray) -> np.ndarray:
    if np.all(x > 0):  # a Python branch on the input: the tracer refuses it
        return np.sin(x) * x
    return -x


@pytest.fixture(scope="module")
def callables_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    traced = Function.from_callable(lambda x: np.exp(x) * np.sin(3 * x), name="traced")
    refused = Function.from_callable(_branchy, name="refused")
    frame = sweep(
        [traced, refused], points=[0.7], steps=COARSE_STEPS, backends=["reverse", "fd-richardson"]
    )
    out = tmp_path_factory.mktemp("callables")
    return write_report(frame, [traced, refused], out / "report", title="callables")


def test_a_traced_callable_gets_a_chart_and_a_refused_one_its_own_section(
    callables_report: Path,
) -> None:
    folder = callables_report.parent
    charts = sorted(p.name for p in (folder / "figures").glob("*.png"))
    assert [c for c in charts if "traced" in c]
    assert not [c for c in charts if "refused" in c]  # no empty chart: the section says why
    summary = pd.read_csv(folder / "summary.csv")
    assert np.isfinite(summary[summary["function"] == "traced"]["best_err"]).all()
    refused = summary[summary["function"] == "refused"]
    assert refused["best_err"].isna().all()  # never counted as accurate
    assert refused["not_ok"].str.contains("no-truth").all()
    rows = pd.read_csv(folder / "sweep.csv.gz")
    info = json.loads((folder / "metadata.json").read_text())
    assert info["rows_no_truth"] == (rows["status"] == "no-truth").sum() > 0
    assert set(rows[rows["function"] == "traced"]["truth_source"]) == {"traced"}


def test_the_report_says_which_functions_have_no_exact_reference_and_what_stands_in(
    callables_report: Path,
) -> None:
    folder = callables_report.parent
    page = callables_report.read_text(encoding="utf-8")
    assert '<h2 id="no-truth">No exact reference <a class="top" href="#top"' in page
    assert 'href="#no-truth"' in page
    markdown = (folder / "report.md").read_text(encoding="utf-8")
    section = markdown[markdown.index("## No exact reference") : markdown.index("## Rows not ok")]
    assert "| refused | none |" in section
    assert "| traced |" not in section
    assert "the tracer refused 'refused'" in section
    assert "agreement between backends" in section
    # The values are shown, with the digits fd-richardson shares with reverse mode.
    line = next(row for row in section.splitlines() if "| fd-richardson |" in row)
    assert "| reverse |" in line
    assert float(line.rstrip(" |").rsplit("|", 1)[1]) > 8
    # No-truth rows are estimates, not failures: the failure table leaves them out.
    failures = markdown[markdown.index("## Rows not ok") :]
    assert "no-truth" in failures  # the sentence pointing to the section
    assert "| no-truth |" not in failures
