"""Honest metrics in the report (issue 14, item 2): every number says what it is.

Relative errors where the true derivative is non-zero and absolute ones where it is 0,
labelled as such; orders fitted only where a rule has a truncation side; timings
without the warm-up call; error axes chosen from the errors that matter; one name per
method in every table and chart; titles without digests; legends of what is drawn;
no empty chart; long expressions shortened.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from diffkit import catalog
from diffkit.backends.reverse import ReverseMode
from diffkit.function import Function
from diffkit.report.agreement_section import agreement_section
from diffkit.report.figures import (
    ERROR_CAP,
    chartable,
    error_limits,
    method_color,
    vcurve_figure,
)
from diffkit.report.noise_section import noise_section
from diffkit.report.order_section import order_section
from diffkit.report.precision_section import precision_section
from diffkit.report.sections import Section
from diffkit.report.study_sections import cost_figure, cost_section
from diffkit.report.tables import (
    EXACT_HERE,
    error_curves,
    estimate_seconds,
    expressions_table,
    method_name,
    point_text,
    short_expression,
    summary_table,
)
from diffkit.studies.cost import gradient_cost
from diffkit.sweep import sweep

# Two steps per decade: both arms of every V, h = 1 included (where exp(100 x) explodes).
STEPS = tuple(float(h) for h in np.logspace(-15, 0, 31))
BACKENDS = ["reverse", "symbolic", "fd-richardson"]


def _funcs(*names: str) -> dict[str, Function]:
    return {name: catalog.get(name) for name in names}


@pytest.fixture(scope="module")
def zeros() -> pd.DataFrame:
    """Points where the true derivative is 0: seed_parabola at 0.75, the kinks, rosenbrock2 (1, 1)."""
    parabola = sweep(
        [catalog.get("seed_parabola")], points=[0.75, 2.0], steps=STEPS, backends=BACKENDS
    )
    others = sweep(
        [catalog.get(n) for n in ("abs_kink", "relu_kink", "rosenbrock2")],
        steps=STEPS,
        backends=BACKENDS,
    )
    return pd.concat([parabola, others], ignore_index=True)


@pytest.fixture(scope="module")
def mixed() -> pd.DataFrame:
    """Two dtypes, noise, kinks and exact backends: every section of the frame has data."""
    return sweep(
        [catalog.get(n) for n in ("exp", "tanh", "abs_kink")],
        steps=STEPS,
        backends=BACKENDS,
        dtypes=("float32", "float64"),
        noise=(0.0, 1e-6),
    )


# --- relative where the truth is non-zero, absolute where it is 0 ---------------------


def test_a_zero_derivative_gives_an_absolute_error_and_says_so(zeros: pd.DataFrame) -> None:
    parabola = catalog.get("seed_parabola")
    assert vcurve_figure(zeros, parabola, 0.75).axes[0].get_ylabel() == (
        "absolute error (the derivative is 0 here)"
    )
    assert vcurve_figure(zeros, parabola, 2.0).axes[0].get_ylabel() == "relative error"
    rosenbrock = catalog.get("rosenbrock2")
    assert vcurve_figure(zeros, rosenbrock, "1, 1").axes[0].get_ylabel() == (
        "absolute error (normwise; the gradient is 0 here)"
    )
    for name in ("abs_kink", "relu_kink"):
        f = catalog.get(name)
        assert vcurve_figure(zeros, f, f.points[0]).axes[0].get_ylabel().startswith("absolute")

    curves = error_curves(zeros)
    zero_truth = curves["truth_norm"] == 0
    assert set(curves.loc[zero_truth, "kind"]) == {"absolute"}
    assert set(curves.loc[~zero_truth, "kind"]) == {"relative"}

    table = summary_table(zeros, _funcs("seed_parabola", "abs_kink", "relu_kink", "rosenbrock2"))
    measured = table[table["best_err"].notna()]
    at = measured.set_index(["function", "point"])["error_kind"]
    assert set(at.loc[("seed_parabola", "0.75")]) == {"absolute"}
    assert set(at.loc[("seed_parabola", "2")]) == {"relative"}
    assert set(at.loc[("abs_kink", "0")]) == set(at.loc[("relu_kink", "0")]) == {"absolute"}
    assert set(at.loc[("rosenbrock2", "1, 1")]) == {"absolute"}
    assert set(at.loc[("rosenbrock2", "-1.2, 1")]) == {"relative"}


# --- orders only where the rule has a truncation side -------------------------------


def test_no_order_is_fitted_where_the_rule_is_exact(zeros: pd.DataFrame) -> None:
    table = summary_table(zeros, _funcs("seed_parabola", "rosenbrock2")).set_index(
        ["function", "point", "method"]
    )
    # Central differences and the complex step are exact on a parabola, the 4th-order rule
    # on a quartic: the error is rounding noise at every step (it was fitted as -0.95, -0.22).
    for key in [
        ("seed_parabola", "0.75", "central"),
        ("seed_parabola", "0.75", "central4"),
        ("seed_parabola", "0.75", "complex"),
        ("seed_parabola", "2", "central"),
        ("rosenbrock2", "1, 1", "central4"),
    ]:
        assert np.isnan(table.loc[key, "order"]), key
        assert table.loc[key, "order_note"] == EXACT_HERE, key
    assert table.loc[("seed_parabola", "0.75", "forward"), "order"] == pytest.approx(1, abs=0.1)
    assert table.loc[("rosenbrock2", "1, 1", "central"), "order"] == pytest.approx(2, abs=0.1)
    fitted = table["order"].dropna()
    assert (fitted > 0.5).all()


def test_the_order_section_counts_exact_curves_and_never_draws_a_negative_order(
    zeros: pd.DataFrame,
) -> None:
    section = order_section(zeros)
    assert section is not None
    table = section.tables[0].frame.set_index("method")
    assert table.loc["central", "exact"] >= 2
    assert (table["median"].dropna() > 0.5).all()
    assert "exact" in section.tables[0].caption
    assert any("exact here" in p for p in section.paragraphs)


# --- timings without the warm-up ----------------------------------------------------


class _SlowFirst(ReverseMode):
    """Reverse mode whose first call pays a warm-up, as an import or a compilation does."""

    name = "slow-first"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def derivative(self, f: Any, x: Any, n: int = 1) -> Any:
        self.calls += 1
        if self.calls == 1:
            time.sleep(0.2)
        return super().derivative(f, x, n)


def test_seconds_per_estimate_leave_the_first_call_out() -> None:
    slow = _SlowFirst()
    f = catalog.get("seed_parabola")  # four points
    frame = sweep([f], steps=STEPS, backends=[slow])
    warm = frame[frame["method"] == "slow-first"]
    assert warm["seconds"].max() > 0.15  # the first call's rows carry the warm-up
    table = summary_table(frame, {f.name: f})
    mine = table[table["method"] == "slow-first"]
    # One number per function: the median over its other points, far below the warm-up.
    assert mine["seconds"].nunique() == 1
    assert (mine["seconds"] < 0.05).all()
    assert (mine["timed_calls"] == len(f.points) - 1).all()
    # A swept rule's estimate is one step: the call's time divided by its steps.
    seconds = estimate_seconds(frame).set_index("method")
    forward = frame[(frame["method"] == "forward")]
    per_call = forward.groupby("point", sort=False)["seconds"].sum() / len(STEPS)
    assert seconds.loc["forward", "seconds"] == pytest.approx(float(np.median(per_call.iloc[1:])))


def test_a_function_timed_only_by_its_warm_up_call_shows_no_time() -> None:
    f = catalog.get("seed_quadratic")  # one point: its only call is every method's first
    frame = sweep([f], steps=STEPS, backends=["reverse"])
    table = summary_table(frame, {f.name: f})
    assert table["seconds"].isna().all()
    assert (table["timed_calls"] == 0).all()


def test_the_cost_study_times_after_a_warm_up_and_says_so() -> None:
    cost = gradient_cost(dims=(2, 4), repeats=1)
    section = cost_section(cost)
    captions = " ".join(t.caption for t in section.tables)
    assert "warm-up call excluded" in captions
    assert "warm-up" in section.paragraphs[1]


# --- axis limits from the errors that matter ----------------------------------------


def test_exp100s_axis_stops_below_its_outliers_and_counts_them() -> None:
    f = catalog.get("exp100")
    frame = sweep([f], steps=STEPS, backends=BACKENDS)
    fig = vcurve_figure(frame, f, f.points[0])
    ax = fig.axes[0]
    bottom, top = ax.get_ylim()
    assert top <= ERROR_CAP  # it ran to 1e84
    assert bottom < 1e-15  # the floor of the complex step still shows
    curves = error_curves(frame)
    hidden = int((curves["err"] > top).sum())
    assert hidden > 0
    title = ax.get_legend().get_title().get_text()
    assert f"{hidden} points above 1e4 not shown" in title


def test_error_limits_keep_a_typical_large_error_in_view() -> None:
    low, top, hidden = error_limits([1e-10, 1e-3, 1.0])
    assert (hidden, top) == (0, 30.0)
    assert low == pytest.approx(1e-10 / 30)
    # Absolute errors of a function of scale 1e30: the cap moves with the median.
    _, top, hidden = error_limits([1e29, 1e30, 1e31])
    assert hidden == 0
    assert top > 1e31


# --- one name per method ------------------------------------------------------------


def _shown_methods(section: Section, frame_methods: set[str]) -> set[str]:
    """Method names in a section's tables: its "method" columns and method-named columns."""
    found: set[str] = set()
    for table in section.tables:
        columns = [str(c) for c in table.frame.columns]
        if "method" in columns:
            found |= set(table.frame["method"].astype(str))
        found |= {c for c in columns if c in frame_methods or c.startswith("fd-")}
        names = {method_name(m) for m in frame_methods}
        found |= {c for c in columns if c in names}
    return found


def test_every_section_names_a_method_the_same_way(mixed: pd.DataFrame) -> None:
    funcs = _funcs("exp", "tanh", "abs_kink")
    methods = set(mixed["method"].astype(str))
    names = {method_name(m) for m in methods}
    sections = [
        order_section(mixed),
        agreement_section(mixed[(mixed["dtype"] == "float64") & (mixed["noise"] == 0)]),
        precision_section(mixed, funcs),
        noise_section(mixed, funcs),
    ]
    shown: set[str] = set()
    for section in sections:
        assert section is not None
        shown |= _shown_methods(section, methods)
    assert shown <= names, shown - names
    assert not any(name.startswith("fd-") for name in shown)
    assert {"forward", "central", "central, order 4", "complex step"} <= shown
    assert {"reverse mode", "Richardson"} <= shown  # the agreement table's (against symbolic)
    agreement = sections[1]
    assert agreement is not None
    weakest = " / ".join(agreement.tables[0].frame["weakest"])
    assert "fd-" not in weakest
    # The cost study's backends under the same names.
    cost = cost_section(gradient_cost(dims=(2, 4), repeats=1))
    columns = {str(c) for t in cost.tables for c in t.frame.columns}
    assert {"central, auto h", "Richardson", "reverse mode", "symbolic"} <= columns
    assert not any(c.startswith("fd-") for c in columns)


def test_method_name_is_one_name_per_method() -> None:
    assert method_name("fd-richardson-auto") == method_name("fd-richardson") == "Richardson"
    assert method_name("fd-forward") == method_name("forward") == "forward"
    assert method_name("fd-central-auto") == "central, auto h"
    assert method_name("central4") == "central, order 4"
    assert method_name(method_name("complex")) == method_name("complex") == "complex step"
    assert method_name("torch") == "torch"
    # A method and its name have one color.
    assert method_color("fd-richardson-auto") == method_color("Richardson")
    assert method_color("reverse") == method_color("reverse mode")


def test_section_tables_have_headers_in_words(mixed: pd.DataFrame) -> None:
    funcs = _funcs("exp", "tanh", "abs_kink")
    sections = [
        order_section(mixed),
        precision_section(mixed, funcs),
        noise_section(mixed, funcs),
        agreement_section(mixed[(mixed["dtype"] == "float64") & (mixed["noise"] == 0)]),
        cost_section(gradient_cost(dims=(2, 4), repeats=1)),
    ]
    for section in sections:
        assert section is not None
        for table in section.tables:
            headers = [table.headers.get(str(c), str(c)) for c in table.frame.columns]
            assert not [h for h in headers if "_" in h], (section.key, headers)


# --- titles and legends -------------------------------------------------------------


def test_titles_carry_no_digest() -> None:
    f = catalog.get("rosenbrock10")
    frame = sweep([f], steps=STEPS[::3], methods=["central"])
    label = frame["point"].iloc[0]
    assert "#" in label  # the frame's label keeps long vectors apart by a digest
    title = vcurve_figure(frame, f, label).axes[0].get_title()
    assert "#" not in title
    assert "(10 values)" in title
    assert (
        point_text("0.5, 0.5, ..., 0.5 (100 values, #b68352)") == "0.5, 0.5, ..., 0.5 (100 values)"
    )


def _drawn(ax: Axes) -> list[Line2D]:
    return [line for line in ax.get_lines() if len(np.atleast_1d(line.get_xdata())) > 0]


def _style(line: Line2D) -> tuple[str, str]:
    return str(line.get_linestyle()), str(line.get_marker())


def _colors(line: Line2D) -> set[str]:
    from matplotlib.colors import to_hex

    return {to_hex(c) for c in (line.get_color(), line.get_markeredgecolor())}


def _undrawn_entries(fig: Figure) -> list[str]:
    """Legend entries standing for nothing drawn on their axes.

    An entry is drawn when its handle is a line of the axes with data, or a proxy whose
    style (line style and marker) some drawn line of the axes has, in one of its colors
    or in gray (a key to a style, such as "theory: truncation, rounding").
    """
    missing = []
    gray = "#595959"
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        drawn = _drawn(ax)
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            if handle in drawn:
                continue
            assert isinstance(handle, Line2D), text.get_text()
            style, colors = _style(handle), _colors(handle)
            same = [line for line in drawn if _style(line) == style]
            if style == ("None", "None") or not any(
                colors & _colors(line) or gray in colors for line in same
            ):
                missing.append(text.get_text())
    return missing


def test_legends_list_only_what_is_drawn(mixed: pd.DataFrame, zeros: pd.DataFrame) -> None:
    funcs = _funcs("exp", "tanh", "abs_kink")
    figures = [
        vcurve_figure(mixed, funcs["exp"], 0.0),  # exact backends: no step, drawn as levels
        vcurve_figure(zeros, catalog.get("seed_parabola"), 0.75),  # errors of 0: a note
        vcurve_figure(zeros, catalog.get("rosenbrock2"), "-1.2, 1"),  # a step per variable
        cost_figure(gradient_cost(dims=(2, 4), repeats=1), "rosenbrock"),
    ]
    for fig in figures:
        assert _undrawn_entries(fig) == [], fig.axes[0].get_title()
    texts = [t.get_text() for t in figures[0].axes[0].get_legend().get_texts()]
    assert any(t.startswith("reverse mode, symbolic: no step") for t in texts)
    # Notes are the legend's title, not entries.
    legend = figures[1].axes[0].get_legend()
    assert "error 0 drawn at 1e-17" in legend.get_title().get_text()
    assert not any("drawn at" in t.get_text() for t in legend.get_texts())


def test_section_charts_list_only_what_is_drawn(mixed: pd.DataFrame) -> None:
    """The precision and noise charts: their markers' keys only where a marker is drawn."""
    from diffkit.report import noise_section as noise_module
    from diffkit.report import precision_section as precision_module

    funcs = _funcs("exp", "tanh", "abs_kink")
    grid = mixed[(mixed["backend"] == "fd") & ~mixed["kink"] & (mixed["noise"] == 0)]
    fig = precision_module._precision_figure(grid, funcs["tanh"], "0.5", ["forward", "central"])
    assert _undrawn_entries(fig) == []
    noisy = mixed[(mixed["backend"] == "fd") & (mixed["dtype"] == "float64") & ~mixed["kink"]]
    records = noise_module._noise_rows(noisy, funcs["exp"], "0", 0.0, 1e-6)
    fig = noise_module._noise_figure(noisy, pd.DataFrame.from_records(records), funcs["exp"], "0")
    assert _undrawn_entries(fig) == []
    texts = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert "noise-optimal h (ECnoise)" in texts


# --- no empty chart, short expressions ----------------------------------------------


def test_a_point_with_nothing_to_draw_is_not_chartable() -> None:
    f = catalog.get("sqrt_zero")  # the derivative is infinite at 0: no finite error
    frame = sweep([f, catalog.get("exp")], steps=STEPS, backends=["reverse"])
    assert not chartable(frame[frame["function"] == "sqrt_zero"])
    assert chartable(frame[(frame["function"] == "exp") & (frame["point"] == "0")])


def test_long_expressions_are_shortened_and_kept_whole_in_the_table() -> None:
    f = catalog.get("rosenbrock100")
    full = str(f.expr)
    assert len(full) > 2000
    short = short_expression(f.expr)
    assert len(short) <= 201
    assert short.endswith("…")
    assert full.startswith(short[:-1].rstrip())
    assert short_expression(catalog.get("exp").expr) == str(catalog.get("exp").expr)
    table = expressions_table({f.name: f}).set_index("function")
    assert table.loc["rosenbrock100", "expression"] == full
