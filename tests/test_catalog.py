"""The built-in catalog: well-formed entries whose NumPy side agrees with the ground truth."""

from __future__ import annotations

import re

import numpy as np
import pytest

from diffkit import catalog, truth
from diffkit.catalog import CATALOG, UnknownFunctionError

TAG_VOCABULARY = frozenset(
    {
        "seed",
        "smooth",
        "kink",
        "infinite-derivative",
        "multivariate",
        "steep",
        "oscillatory",
        "near-singularity",
        "classic",
    }
)
CLI_SAFE = re.compile(r"^[a-z][a-z0-9_]*$")


def _entry_points(*, smooth_only: bool = False) -> list[object]:
    """One pytest param per (catalog name, point), with a readable id."""
    return [
        pytest.param(name, point, id=f"{name}[{i}]")
        for name, fn in CATALOG.items()
        if not smooth_only or "smooth" in fn.tags
        for i, point in enumerate(fn.points)
    ]


# --- shape of the catalog -----------------------------------------------------------


def test_catalog_has_at_least_24_entries() -> None:
    assert len(CATALOG) >= 24


def test_names_are_cli_safe_and_match_the_function_name() -> None:
    for name, fn in CATALOG.items():
        assert CLI_SAFE.match(name), name
        assert fn.name == name


def test_names_lists_every_entry_once_in_display_order() -> None:
    listed = catalog.names()
    assert listed == tuple(CATALOG)
    assert len(set(listed)) == len(listed)
    assert listed[0] == "seed_quadratic"


def test_catalog_is_read_only() -> None:
    with pytest.raises(TypeError):
        CATALOG["new"] = CATALOG["exp"]  # type: ignore[index]


@pytest.mark.parametrize("name", list(CATALOG))
def test_entry_has_one_line_why_points_and_an_expression(name: str) -> None:
    fn = CATALOG[name]
    assert fn.why.strip()
    assert "\n" not in fn.why
    assert fn.points
    assert fn.has_expression


@pytest.mark.parametrize("name", list(CATALOG))
def test_entry_tags_come_from_the_documented_vocabulary(name: str) -> None:
    fn = CATALOG[name]
    assert fn.tags <= TAG_VOCABULARY
    assert catalog.__doc__ is not None
    for tag in fn.tags:
        assert f'"{tag}"' in catalog.__doc__


@pytest.mark.parametrize("name", list(CATALOG))
def test_entry_is_smooth_unless_it_has_a_kink_or_an_infinite_derivative(name: str) -> None:
    tags = CATALOG[name].tags
    assert ("smooth" in tags) != bool(tags & {"kink", "infinite-derivative"})


@pytest.mark.parametrize("name", list(CATALOG))
def test_points_fit_the_number_of_variables(name: str) -> None:
    fn = CATALOG[name]
    assert ("multivariate" in fn.tags) == (fn.ndim > 1)
    for point in fn.points:
        if fn.ndim == 1:
            assert isinstance(point, float)
        else:
            assert isinstance(point, tuple)
            assert len(point) == fn.ndim
            assert all(isinstance(c, float) for c in point)


@pytest.mark.parametrize(("name", "point"), _entry_points())
def test_point_is_in_the_domain(name: str, point: object) -> None:
    assert CATALOG[name].in_domain(point)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "point"), _entry_points())
def test_numpy_callable_agrees_with_ground_truth_value(name: str, point: object) -> None:
    fn = CATALOG[name]
    computed = fn(np.asarray(point, dtype=float))
    assert np.shape(computed) == ()
    np.testing.assert_allclose(computed, truth.value(fn, point), rtol=1e-13, atol=0)


@pytest.mark.parametrize(("name", "point"), _entry_points(smooth_only=True))
def test_smooth_entry_has_a_finite_true_derivative(name: str, point: object) -> None:
    fn = CATALOG[name]
    d = truth.derivative(fn, point, 1) if fn.ndim == 1 else truth.gradient(fn, point)
    assert np.all(np.isfinite(d)), d


def test_multivariate_variables_keep_their_numeric_order() -> None:
    names = [v.name for v in CATALOG["rosenbrock10"].variables]
    assert names == [f"x{i}" for i in range(10)]
    assert [v.name for v in CATALOG["mlp_tanh"].variables] == [f"w{i}" for i in range(13)]
    assert [v.name for v in CATALOG["seed_abcf"].variables] == ["a", "b", "c", "f"]


def test_catalog_evaluates_a_batch_of_points_at_once() -> None:
    fn = CATALOG["rosenbrock10"]
    batch = np.array(fn.points).T  # first axis: variables; second: points
    expected = [fn(np.array(p)) for p in fn.points]
    np.testing.assert_array_equal(fn(batch), expected)


# --- the seed articles' numbers -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "point", "slope"),
    [
        ("seed_quadratic", 5.0, 76.0),
        ("seed_parabola", 0.75, 0.0),
        ("seed_parabola", 2.0, 5.0),
        ("seed_parabola", -2.0, -11.0),
        ("seed_square", 3.0, 6.0),
        ("abs_kink", 0.0, 0.0),
        ("relu_kink", 0.0, 0.0),
        ("sqrt_zero", 0.0, np.inf),
    ],
)
def test_known_derivative(name: str, point: float, slope: float) -> None:
    assert truth.derivative(CATALOG[name], point, 1) == slope


@pytest.mark.parametrize(
    ("name", "point", "grad"),
    [
        ("seed_abc", (2.0, -3.0, 10.0), (-3.0, 2.0, 1.0)),
        ("seed_abcf", (2.0, -3.0, 10.0, -2.0), (6.0, -4.0, -2.0, 4.0)),
        ("seed_xyz", (2.0, 3.0, 4.0), (4.0, 27.0, -1.0)),
    ],
)
def test_known_gradient(name: str, point: tuple[float, ...], grad: tuple[float, ...]) -> None:
    np.testing.assert_array_equal(truth.gradient(CATALOG[name], point), grad)


def test_seed_abcf_value_matches_micrograd() -> None:
    """L = (a*b + c)*f = -8 at the article's point."""
    assert truth.value(CATALOG["seed_abcf"], (2.0, -3.0, 10.0, -2.0)) == -8.0


@pytest.mark.parametrize("name", ["rosenbrock2", "rosenbrock10", "rosenbrock100"])
def test_rosenbrock_gradient_vanishes_at_its_minimum(name: str) -> None:
    fn = CATALOG[name]
    ones = np.ones(fn.ndim)
    assert fn(ones) == 0.0
    np.testing.assert_array_equal(truth.gradient(fn, ones), np.zeros(fn.ndim))


def test_softmax_xent_gradient_is_softmax_minus_onehot() -> None:
    fn = CATALOG["softmax_xent"]
    z = np.array(fn.points[0])
    softmax = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(truth.gradient(fn, z), softmax - np.eye(4)[2], rtol=1e-14)


# --- lookup ---------------------------------------------------------------------------


def test_get_returns_the_entry() -> None:
    assert catalog.get("squire_trapp") is CATALOG["squire_trapp"]


def test_get_unknown_name_lists_the_available_names() -> None:
    with pytest.raises(UnknownFunctionError, match=r"'nope'.*squire_trapp.*rosenbrock2"):
        catalog.get("nope")
    assert issubclass(UnknownFunctionError, KeyError)


def test_names_filters_by_tag() -> None:
    multivariate = catalog.names(tag="multivariate")
    assert multivariate == tuple(n for n, fn in CATALOG.items() if fn.ndim > 1)
    assert {"seed_abc", "rosenbrock100", "mlp_tanh"} <= set(multivariate)
    assert catalog.names(tag="kink") == ("abs_kink", "relu_kink")
    assert catalog.names(tag="no-such-tag") == ()


def test_names_excludes_tags() -> None:
    kept = catalog.names(exclude_tags=("kink", "infinite-derivative"))
    assert kept == catalog.names(tag="smooth")
    assert catalog.names(tag="seed", exclude_tags=["multivariate"]) == (
        "seed_quadratic",
        "seed_parabola",
        "seed_square",
    )
