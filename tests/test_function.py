"""Function: construction, the calling convention, complex input, domains and conversion."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from diffkit.function import Function, as_callable, as_function
from diffkit.parse import ParseError, symbol

x, y, z = symbol("x"), symbol("y"), symbol("z")


# --- construction ---------------------------------------------------------------------


def test_from_string_parses_into_an_expression_and_a_callable() -> None:
    f = Function.from_string("x**2 + 1")
    assert f.name == "x**2 + 1"
    assert f.expr == x**2 + 1
    assert f.variables == (x,)
    assert f.has_expression
    assert f(3.0) == 10.0


def test_from_string_keeps_the_given_variable_order() -> None:
    f = Function.from_string("x - y", ["y", "x"], name="diff")
    assert f.name == "diff"
    assert [v.name for v in f.variables] == ["y", "x"]
    assert f(np.array([1.0, 5.0])) == 4.0  # y = 1, x = 5


def test_from_string_passes_options_through() -> None:
    f = Function.from_string("sqrt(x)", points=(1.0, 4.0), tags=("smooth",), why="w")
    assert f.points == (1.0, 4.0)
    assert f.tags == frozenset({"smooth"})
    assert f.why == "w"


def test_from_expr_defaults_to_free_symbols_sorted_by_name() -> None:
    f = Function.from_expr(z * y + x)
    assert [v.name for v in f.variables] == ["x", "y", "z"]
    assert f.ndim == 3
    assert "multivariate" in f.tags
    assert f(np.array([1.0, 2.0, 3.0])) == 7.0


def test_from_expr_names_the_function_after_its_expression() -> None:
    assert Function.from_expr(sympy.sin(x)).name == "sin(x)"


def test_from_expr_replaces_plain_symbols_with_real_ones() -> None:
    plain = sympy.Symbol("x")
    f = Function.from_expr(sympy.sqrt(plain**2), [plain])
    assert f.variables == (x,)
    assert f.variables[0].is_real
    assert f.expr == sympy.Abs(x)  # simplifies only because x is real


def test_from_expr_univariate_is_not_tagged_multivariate() -> None:
    assert "multivariate" not in Function.from_expr(sympy.exp(x)).tags


def test_from_expr_rejects_variables_that_miss_a_free_symbol() -> None:
    with pytest.raises(ValueError, match=r"\['y'\] beyond variables \['x'\]"):
        Function.from_expr(x * y, [x])


def test_from_expr_rejects_what_is_not_an_expression() -> None:
    with pytest.raises(TypeError, match="expected a SymPy expression"):
        Function.from_expr(sympy.Eq(x, 1))  # type: ignore[arg-type]


def test_from_expr_accepts_a_plain_number_as_a_constant() -> None:
    f = Function.from_expr(3)  # type: ignore[arg-type]
    assert f.variables == (x,)
    assert f(1.0) == 3


def test_from_callable_has_no_expression() -> None:
    f = Function.from_callable(np.sin, points=(1.0,), tags=("smooth",))
    assert f.name == "sin"
    assert f.expr is None
    assert not f.has_expression
    assert f.numpy is np.sin
    assert f(0.0) == 0.0


def test_from_callable_names_its_variables_x0_to_xn() -> None:
    f = Function.from_callable(lambda v: v[0] * v[1], name="prod", ndim=2)
    assert [v.name for v in f.variables] == ["x0", "x1"]
    assert f.ndim == 2
    assert f(np.array([2.0, 3.0])) == 6.0


def test_repr_shows_name_and_expression() -> None:
    assert repr(Function.from_string("sin(x)", name="s")) == "Function('s', expr=sin(x))"
    assert repr(Function.from_callable(np.cos)) == "Function('cos')"


def test_from_string_propagates_parse_errors_for_hostile_text() -> None:
    with pytest.raises(ParseError):
        Function.from_string("__import__('os').system('echo owned')")
    with pytest.raises(ParseError):
        Function.from_string("x.__class__")


# --- as_function / as_callable ----------------------------------------------------------


def test_as_function_returns_a_function_unchanged() -> None:
    f = Function.from_string("x")
    assert as_function(f) is f


def test_as_function_parses_strings() -> None:
    f = as_function("exp(x)")
    assert f.expr == sympy.exp(x)


def test_as_function_wraps_sympy_expressions() -> None:
    f = as_function(x * y)
    assert f.ndim == 2
    assert f.expr == x * y


def test_as_function_wraps_callables_without_expression() -> None:
    f = as_function(np.tanh)
    assert f.numpy is np.tanh
    assert f.expr is None


def test_as_function_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="cannot differentiate a int"):
        as_function(3)  # type: ignore[arg-type]


def test_as_callable_leaves_plain_callables_alone() -> None:
    def g(v: float) -> float:
        return v

    assert as_callable(g) is g
    assert as_callable("x**2")(3.0) == 9.0


# --- calling convention -------------------------------------------------------------------


def test_univariate_maps_an_array_elementwise() -> None:
    f = Function.from_string("sin(x)**2")
    points = np.linspace(-2.0, 2.0, 12).reshape(3, 4)
    out = f(points)
    assert out.shape == (3, 4)
    np.testing.assert_array_equal(out, np.sin(points) ** 2)


def test_univariate_scalar_in_scalar_out() -> None:
    out = Function.from_string("x**3")(2.0)
    assert np.ndim(out) == 0
    assert out == 8.0


def test_univariate_constant_broadcasts_to_the_input_shape() -> None:
    f = Function.from_expr(sympy.Integer(7))
    out = f(np.zeros((2, 3)))
    assert out.shape == (2, 3)
    assert np.all(out == 7)


def test_multivariate_first_axis_is_variables_trailing_axes_batch() -> None:
    f = Function.from_expr(x**2 + y**3 - z)
    rng = np.random.default_rng(0)
    points = rng.normal(size=(3, 4, 5))
    out = f(points)
    assert out.shape == (4, 5)
    np.testing.assert_allclose(out, points[0] ** 2 + points[1] ** 3 - points[2], rtol=1e-15)


def test_multivariate_single_point_gives_a_scalar() -> None:
    out = Function.from_expr(x * y)(np.array([2.0, 3.0]))
    assert np.ndim(out) == 0
    assert out == 6.0


def test_multivariate_constant_and_partial_expressions_broadcast_to_the_batch() -> None:
    batch = np.ones((2, 6))
    constant = Function.from_expr(sympy.Integer(2), [x, y])
    assert constant(batch).shape == (6,)
    only_x = Function.from_expr(3 * x, [x, y])
    assert only_x(batch).shape == (6,)


def test_multivariate_rejects_the_wrong_number_of_variables() -> None:
    f = Function.from_expr(x * y)
    with pytest.raises(ValueError, match="expected 2 variables along the first axis, got 3"):
        f(np.ones(3))


def test_complex_step_through_a_compiled_expression() -> None:
    """Im f(x + ih)/h = f'(x) to rounding for tiny h: the complex step needs complex input."""
    f = Function.from_string("exp(x)*sin(x)")
    h = 1e-20
    out = f(1.0 + 1j * h)
    exact = math.exp(1.0) * (math.sin(1.0) + math.cos(1.0))
    assert out.real == pytest.approx(math.exp(1.0) * math.sin(1.0), rel=1e-15)
    assert out.imag / h == pytest.approx(exact, rel=1e-14)


def test_complex_input_for_a_multivariate_expression() -> None:
    f = Function.from_expr(x**2 * y)
    h = 1e-20
    out = f(np.array([2.0 + 1j * h, 3.0]))
    assert out.imag / h == pytest.approx(12.0, rel=1e-15)  # d/dx x^2 y = 2xy


def test_complex_input_for_a_constant_keeps_the_complex_dtype() -> None:
    f = Function.from_expr(sympy.Integer(1), [x, y])
    out = f(np.array([[1.0 + 1j], [2.0 + 0j]]))
    assert out.shape == (1,)
    assert np.iscomplexobj(out)


# --- domain ---------------------------------------------------------------------------------


def test_in_domain_without_a_domain_is_always_true() -> None:
    f = Function.from_string("x")
    assert f.in_domain(-1e300)
    assert f.in_domain(math.inf)


def test_in_domain_checks_the_closed_interval() -> None:
    f = Function.from_string("sqrt(x)", domain=[(0.0, math.inf)])
    assert f.domain == ((0.0, math.inf),)
    assert f.in_domain(0.0)
    assert f.in_domain(1e10)
    assert not f.in_domain(-1e-300)


def test_in_domain_checks_every_variable() -> None:
    f = Function.from_expr(x * y, domain=[(0.0, 1.0), (-1.0, 1.0)])
    assert f.in_domain((0.5, -1.0))
    assert not f.in_domain((0.5, 1.5))
    assert not f.in_domain((-0.1, 0.0))


def test_nested_maximum_flattened_by_sympy_still_evaluates_every_argument():
    """SymPy turns maximum(x, maximum(y, z)) into Max(x, y, z): all three must count."""
    f = Function.from_string("maximum(x, maximum(y, z))")
    point = np.array([[1.0, 5.0], [2.0, 1.0], [3.0, 0.0]])
    z_before = point[2].copy()
    np.testing.assert_array_equal(f(point), [3.0, 5.0])
    np.testing.assert_array_equal(point[2], z_before)
