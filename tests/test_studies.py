"""The studies behind the report's cost, swell and seeds sections, and those sections.

Counts and values are checked exactly; nothing here depends on a timing.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from diffkit.autodiff import graph as graph_module
from diffkit.report.sections import html_section, markdown_section
from diffkit.report.study_sections import cost_section, seeds_section, swell_section
from diffkit.studies import TIME_COLUMNS, gradient_cost, logistic_swell, seed_examples, seeds_graph
from diffkit.studies.cost import DATA_COLUMNS, cost_point, rosenbrock
from diffkit.studies.seed_code import abcf_graph, micrograd_training
from diffkit.studies.seeds import matches_printed
from diffkit.studies.swell import logistic_map

DIMS = (2, 4, 8, 16)
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def cost() -> pd.DataFrame:
    return gradient_cost(DIMS, repeats=1)


@pytest.fixture(scope="module")
def swell() -> pd.DataFrame:
    return logistic_swell(range(1, 11), raw_limit=6)


@pytest.fixture(scope="module")
def seeds() -> pd.DataFrame:
    return seed_examples()


def _evals(frame: pd.DataFrame, backend: str) -> np.ndarray:
    rows = frame[frame["backend"] == backend].sort_values("n")
    return rows["evals_gradient"].to_numpy()


# ---------------------------------------------------------------------- cost


def test_central_difference_gradient_costs_a_pilot_and_2_evaluations_per_variable(cost):
    # The pilot measures f's length and noise along each axis (6 + 7 evaluations), then 2,
    # and 4 more along an axis where the 2nd order's estimate is above 1e-8 relative
    # (the 4th order is tried there: FiniteDifference's RAISE_RTOL).
    evals = _evals(cost, "fd-central-auto")
    assert np.all(evals >= 15 * np.array(DIMS))
    assert np.all(evals <= 19 * np.array(DIMS))
    assert evals[0] == 15 * DIMS[0]  # two variables, neither short of 1e-8


def test_richardson_cost_grows_linearly_in_n(cost):
    per_variable = _evals(cost, "fd-richardson-auto") / np.array(DIMS)
    assert np.all(per_variable == per_variable[0])
    assert per_variable[0] > 2  # more than a central difference: several levels per variable


def test_reverse_mode_calls_f_once_whatever_n(cost):
    assert _evals(cost, "reverse").tolist() == [1] * len(DIMS)


def test_symbolic_traces_f_once_then_never_calls_it(cost):
    rows = cost[cost["backend"] == "symbolic"]
    assert rows["evals_setup"].tolist() == [1] * len(DIMS)
    assert rows["evals_gradient"].tolist() == [0] * len(DIMS)
    assert rows["seconds_setup"].notna().all()


def test_exact_backends_agree_with_the_hand_written_gradient(cost):
    exact = cost[cost["backend"].isin(["reverse", "symbolic"])]
    assert (exact["rel_error"] < 1e-14).all()
    assert (cost[cost["backend"] == "fd-central-auto"]["rel_error"] < 1e-6).all()


def test_cost_columns_keep_times_apart_and_data_reproducible(cost):
    assert list(cost.columns) == [*DATA_COLUMNS, *TIME_COLUMNS]
    again = gradient_cost(DIMS, repeats=1)
    pd.testing.assert_frame_equal(cost[list(DATA_COLUMNS)], again[list(DATA_COLUMNS)])


def test_cost_second_function_and_bad_arguments():
    frame = gradient_cost((3,), function="sin_chain", repeats=1)
    assert set(frame["function"]) == {"sin_chain"}
    assert frame["evals_gradient"].tolist() == [45, 69, 1, 0]  # pilots included
    with pytest.raises(ValueError, match="function must be one of"):
        gradient_cost((2,), function="nope")
    with pytest.raises(ValueError, match="at least 2"):
        gradient_cost((1,))
    with pytest.raises(ValueError, match="repeats"):
        gradient_cost((2,), repeats=0)


def test_cost_point_gives_rosenbrock_its_known_value():
    x = cost_point(2)
    assert rosenbrock(x) == pytest.approx(100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2)


# ---------------------------------------------------------------------- swell


def test_logistic_map_iterates_r_x_one_minus_x():
    assert logistic_map(2)(0.3) == pytest.approx(4 * 0.84 * (1 - 0.84))


def test_raw_derivative_swells_faster_than_doubling_and_cse_recovers_it(swell):
    computed = swell.dropna(subset=["raw"])
    raw = computed["raw"].to_numpy(dtype=float)
    assert computed["k"].tolist() == [1, 2, 3, 4, 5, 6]
    assert np.all(raw[3:] / raw[2:-1] > 2)
    assert np.all(np.diff(raw) > 0)
    assert np.all(computed["cse"].to_numpy(dtype=float) <= raw)


def test_raw_and_cse_are_not_computed_past_the_limit(swell):
    beyond = swell[swell["k"] > 6]
    assert beyond["raw"].isna().all()
    assert beyond["cse"].isna().all()


def test_program_and_tape_grow_by_a_constant_per_iteration(swell):
    for column in ("program", "tape"):
        steps = np.diff(swell[column].to_numpy(dtype=int))
        assert np.all(steps == steps[0]), column
        assert steps[0] > 0, column
    assert np.diff(swell["tape"].to_numpy(dtype=int))[0] == 3  # x*r, 1 - x, product


# ---------------------------------------------------------------------- seeds


def _seed_texts() -> str | None:
    folder = Path(
        os.environ.get("DIFFKIT_SEEDS", Path(__file__).resolve().parents[2] / "shared" / "seeds")
    )
    files = sorted(folder.glob("*.txt")) if folder.is_dir() else []
    return "\n".join(f.read_text(encoding="utf-8") for f in files) if len(files) == 4 else None


def test_every_reproducible_seed_number_matches(seeds):
    assert seeds["match"].all(), seeds[~seeds["match"]]
    # Seed 002's d(a*b+c)/da: the code shown says h = 1e-4, the printed digits are h = 1e-5's.
    other_step = seeds[seeds["printed_text"] == "-2.0000000000131024"].iloc[0]
    assert other_step["method"] == "forward difference, h=1e-05"
    assert "h = 0.00001" in other_step["note"]
    assert seeds["printed"].tolist() == [float(t) for t in seeds["printed_text"]]
    assert len(seeds) >= 70
    assert seeds["article"].str[:3].unique().tolist() == ["000", "001", "002", "003"]


def test_the_printed_quotient_is_the_one_h_1e_5_gives(seeds):
    a, b, c = 3.0, -2.0, 8.0
    as_shown, as_printed = ((((a + h) * b + c) - (a * b + c)) / h for h in (1e-4, 1e-5))
    row = seeds[seeds["quantity"] == "dd/da"].iloc[0]
    assert row["diffkit"] == as_printed == -2.0000000000131024
    assert repr(as_shown) in row["note"]


def test_long_printed_numbers_match_bit_for_bit(seeds):
    long = seeds[seeds["printed_text"].str.len() >= 16]
    assert len(long) >= 20
    assert (long[long["match"]]["abs_diff"] == 0).all()


def test_printed_values_are_in_the_article_text(seeds):
    text = _seed_texts()
    if text is None:
        pytest.skip("the seed articles are not next to this checkout (set DIFFKIT_SEEDS)")
    missing = [t for t in seeds["printed_text"] if t not in text]
    assert missing == []
    for loss in ("Loss: 55.87", "Loss: 0.34", "77.376", "-7.286496", "df/da: -3.000000000010772"):
        assert loss in text


@pytest.mark.parametrize(
    ("value", "printed", "expected"),
    [
        (76.00069999995185, "76.00069999995185", True),
        (76.00069999995186, "76.00069999995185", False),
        (-1.9999999999953388, "-1.9999999999", True),  # cut short
        (45.769020, "45.77", True),  # rounded
        (45.764, "45.77", False),
        (90.0, "90", True),
        (89.6, "90", True),
        (89.4, "90", False),
    ],
)
def test_matches_printed_rounds_or_cuts_to_the_printed_decimals(value, printed, expected):
    assert matches_printed(value, printed) is expected


def test_training_loop_stops_at_the_first_negative_loss():
    losses = micrograd_training(0.05)
    assert len(losses) == 9
    assert losses[0] == 67.2
    assert min(losses) > 0


def test_seeds_graph_is_the_backprop_example_after_backward():
    dot, svg = seeds_graph()
    assert dot.startswith("digraph {")
    for label, data, grad in (("a", "2.0000", "6.0000"), ("L", "-8.0000", "1.0000")):
        assert f"{{ {label} | data {data} | grad {grad} }}" in dot
    assert dot == seeds_graph()[0]
    assert svg is None or svg.lstrip().startswith((b"<?xml", b"<svg"))
    assert set(abcf_graph()) == {"a", "b", "c", "d", "e", "f", "L"}


def test_seeds_graph_without_graphviz_gives_no_svg(monkeypatch):
    monkeypatch.setattr(graph_module.shutil, "which", lambda name: None)
    assert seeds_graph()[1] is None


# ---------------------------------------------------------------------- sections


def _renders(section) -> None:
    assert section.title in "\n".join(markdown_section(section))
    assert f'id="{section.key}"' in html_section(section)


def test_cost_section_has_tables_chart_and_csv(cost):
    section = cost_section(cost)
    assert section.key == "cost"
    assert [t.caption.split(":")[1].strip() for t in section.tables][:1] == [
        "evaluations of f per gradient"
    ]
    assert [image.path for image in section.images] == ["figures/cost-rosenbrock.png"]
    assert section.images[0].data.startswith(PNG)
    csv = section.files["data/cost.csv"].decode()
    assert csv.splitlines()[0] == ",".join([*DATA_COLUMNS, *TIME_COLUMNS])
    central = int(_evals(cost, "fd-central-auto")[-1])  # the largest n's, as measured
    # Backends under the names every table uses (fd-central-auto: "central, auto h").
    assert f"at n = 16: central, auto h {central}," in section.paragraphs[1]
    _renders(section)


def test_swell_section_has_table_chart_and_csv(swell):
    section = swell_section(swell)
    assert section.tables[0].frame["program"].tolist() == swell["program"].tolist()
    assert [image.path for image in section.images] == ["figures/swell-logistic.png"]
    assert section.images[0].data.startswith(PNG)
    assert "data/swell.csv" in section.files
    assert "tape +3 per iteration" in section.paragraphs[1]
    assert "| 10 | - | - |" in "\n".join(markdown_section(section))
    _renders(section)


def test_seeds_section_without_svg_shows_the_dot_text(seeds):
    dot, _ = seeds_graph()
    section = seeds_section(seeds, dot, None)
    assert len(section.tables) == 4
    assert sum(len(t.frame) for t in section.tables) == len(seeds)
    assert section.images == ()
    assert section.code[0][1] == dot
    assert section.files["data/seed-graph.dot"] == dot.encode()
    assert f"{int(seeds['match'].sum())} of {len(seeds)}" in section.paragraphs[1]
    _renders(section)


def test_seeds_section_with_svg_embeds_it(seeds):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"/>'
    section = seeds_section(seeds, "digraph {}\n", svg)
    (image,) = section.images
    assert (image.path, image.mime, image.data) == ("figures/seed-graph.svg", "image/svg+xml", svg)
    assert section.code == ()
    for path in [*section.files, image.path]:
        assert path.startswith(("data/", "figures/"))
    _renders(section)


def test_swell_chart_is_the_same_bytes_every_time(swell):
    assert swell_section(swell).images[0].data == swell_section(swell).images[0].data
