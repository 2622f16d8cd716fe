"""The analysis sections of the report: order, agreement, precision and noise, from small sweeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from diffkit import catalog
from diffkit.function import Function
from diffkit.report.agreement_section import agreement_section
from diffkit.report.noise_section import noise_section
from diffkit.report.order_section import order_section
from diffkit.report.precision_section import precision_section
from diffkit.report.sections import Section, html_section, markdown_section
from diffkit.sweep import sweep

STEPS = tuple(float(h) for h in np.logspace(-15, 0, 31))
NAMES = ("exp", "tanh", "abs_kink")
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def funcs() -> dict[str, Function]:
    return {name: catalog.get(name) for name in NAMES}


@pytest.fixture(scope="module")
def frame(funcs: dict[str, Function]) -> pd.DataFrame:
    return sweep(
        list(funcs.values()),
        steps=STEPS,
        backends=["reverse", "symbolic"],
        dtypes=("float32", "float64"),
        noise=(0.0, 1e-6),
    )


@pytest.fixture(scope="module")
def plain(frame: pd.DataFrame) -> pd.DataFrame:
    """float64 and noise-free only: no precision, no noise section."""
    return frame[(frame["dtype"] == "float64") & (frame["noise"] == 0)]


def _check_renders(section: Section) -> None:
    for image in section.images:
        assert image.path.startswith("figures/")
        assert image.path.endswith(".png")
        assert image.data.startswith(PNG)
    assert all(path.startswith("data/") for path in section.files)
    assert section.title in html_section(section)
    assert f"## {section.title}" in markdown_section(section)


def test_order_section_recovers_each_rules_order(frame: pd.DataFrame) -> None:
    section = order_section(frame)
    assert section is not None
    _check_renders(section)
    table = section.tables[0].frame
    f64 = table[table["dtype"] == "float64"].set_index("method")
    # The methods under their names (report.tables.method_name), as in every table.
    assert list(f64.index) == ["forward", "central", "central, order 4", "complex step"]
    for method, p in [("forward", 1), ("central", 2), ("central, order 4", 4), ("complex step", 2)]:
        assert f64.loc[method, "expected_order"] == p
        assert f64.loc[method, "median"] == pytest.approx(p, abs=0.15)
    assert f64.loc["forward", "rounding"] == pytest.approx(-1.0, abs=0.3)
    # the complex step has no rounding arm: flat, or exactly 0 (nothing to fit)
    complex_slope = f64.loc["complex step", "rounding"]
    assert np.isnan(complex_slope) or abs(complex_slope) < 0.3
    # the kink point is left out: curves are exp (2 points) and tanh (2 points)
    assert f64.loc["forward", "curves"] == 4
    assert [image.path for image in section.images] == ["figures/order.png"]


def test_agreement_section_has_heatmap_table_and_excluded_kinks(plain: pd.DataFrame) -> None:
    section = agreement_section(plain)
    assert section is not None
    _check_renders(section)
    assert [image.path for image in section.images] == ["figures/agreement.png"]
    table = section.tables[0].frame
    assert set(table["function"]) == {"exp", "tanh"}
    # Entries under the methods' names: fd-forward is the swept forward rule.
    assert (table["reverse mode"] >= 15.5).all()  # against symbolic: exact backends agree fully
    assert ((table["forward"] > 6) & (table["forward"] < 10)).all()
    excluded = " ".join(section.paragraphs)
    assert "kink: 6 entries" in excluded  # 4 swept rules + 2 backends at abs_kink's point
    assert "infinite" not in excluded
    csv = section.files["data/agreement.csv"].decode()
    assert csv.splitlines()[0] == "function,point,dtype,a,b,digits"


def test_agreement_section_is_none_without_pairs() -> None:
    rows = pd.DataFrame(
        [
            {
                "function": "f",
                "point": "0",
                "dtype": "float64",
                "backend": "reverse",
                "method": "reverse",
                "component": 0,
                "h": np.nan,
                "accuracy": np.nan,
                "value": 1.0,
                "truth": 1.0,
                "abs_err": 0.0,
                "status": "ok",
            }
        ]
    )
    assert agreement_section(rows) is None


def test_precision_section_shows_h_star_moving_with_eps(
    frame: pd.DataFrame, funcs: dict[str, Function]
) -> None:
    section = precision_section(frame, funcs)
    assert section is not None
    _check_renders(section)
    shift = section.tables[0].frame.set_index("method")
    # (eps32/eps64)^(1/2) forward and ^(1/3) central, eps32/eps64 = 2^29
    assert shift.loc["forward", "predicted_shift"] == pytest.approx(2**14.5)
    assert shift.loc["central", "predicted_shift"] == pytest.approx(2 ** (29 / 3))
    for method in ("forward", "central"):
        ratio = shift.loc[method, "observed_shift"] / shift.loc[method, "predicted_shift"]
        assert 0.1 < ratio < 10
    assert (shift["err_float32"] > shift["err_float64"]).all()
    detail = section.tables[1].frame
    assert set(detail["dtype"]) == {"float32", "float64"}
    assert set(detail["function"]) == {"exp", "tanh"}  # charted: the kink has no V-curve pair
    assert [image.path for image in section.images] == [
        "figures/precision-00-exp.png",
        "figures/precision-01-tanh.png",
    ]


def test_precision_section_is_none_without_float32(
    plain: pd.DataFrame, funcs: dict[str, Function]
) -> None:
    assert precision_section(plain, funcs) is None


def test_noise_section_estimates_the_level_and_the_step(
    frame: pd.DataFrame, funcs: dict[str, Function]
) -> None:
    section = noise_section(frame, funcs)
    assert section is not None
    _check_renders(section)
    table = section.tables[0].frame
    assert set(table["method"]) == {"forward", "central"}
    assert (table["level"] == 1e-6).all()
    ratio = table["estimated"] / table["sigma"]
    assert ((ratio > 0.5) & (ratio < 2)).all()
    # the best step of one noisy draw scatters around the noise-optimal one
    decades = np.abs(np.log10(table["best_h"] / table["h_noise"]))
    assert np.median(decades) < 0.5
    assert (decades < 1.5).all()
    assert (table["err_at_h_noise"] < 3 * table["predicted_err"]).all()
    assert section.images[0].path == "figures/noise-exp.png"


def test_noise_section_is_none_without_noise(
    plain: pd.DataFrame, funcs: dict[str, Function]
) -> None:
    assert noise_section(plain, funcs) is None
    assert noise_section(plain.drop(columns=["noise"]), funcs) is None


def test_sections_are_none_on_an_empty_frame(plain: pd.DataFrame) -> None:
    empty = plain.iloc[0:0]
    assert order_section(empty) is None
    assert agreement_section(empty) is None


def test_figures_are_byte_identical_between_runs(
    frame: pd.DataFrame, funcs: dict[str, Function]
) -> None:
    first = [order_section(frame), noise_section(frame, funcs)]
    second = [order_section(frame), noise_section(frame, funcs)]
    for a, b in zip(first, second, strict=True):
        assert a is not None
        assert b is not None
        assert [i.data for i in a.images] == [i.data for i in b.images]


def test_precision_section_is_none_where_no_point_has_an_exact_derivative(
    frame: pd.DataFrame, funcs: dict[str, Function]
) -> None:
    """Ground truth that failed everywhere (stopped, or no expression): no best step in
    either dtype, and no section, where pivoting the empty columns raised KeyError."""
    blind = frame.assign(truth=np.nan, abs_err=np.nan, rel_err=np.nan, status="no-truth")
    assert precision_section(blind, funcs) is None
