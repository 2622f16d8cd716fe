"""The symbolic backend: exact derivatives of traced NumPy code against 50-digit truth."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import diffkit as dk
from diffkit import catalog, ops, truth
from diffkit.parse import symbol
from diffkit.symbolic import (
    KINK_CONVENTIONS,
    SymbolicBranchError,
    UnevaluatedDerivativeError,
    UnsupportedTraceError,
    expression_size,
    straighten,
)
from diffkit.symbolic.reverse import derivative_program

SYM = dk.Symbolic()
X = symbol("x")

SMOOTH_1D = [
    (name, point)
    for name in catalog.names(tag="smooth")
    if catalog.get(name).ndim == 1
    for point in catalog.get(name).points
]
SMOOTH_ND = [
    (name, i)
    for name in catalog.names(tag="smooth")
    if catalog.get(name).ndim > 1
    for i in range(len(catalog.get(name).points))
]


def rel(value, exact):
    value, exact = np.asarray(value, float), np.asarray(exact, float)
    return np.max(np.abs(value - exact)) / max(np.max(np.abs(exact)), 1e-300)


def rosen(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def squire_trapp(x):
    return np.exp(x) / np.sqrt(np.sin(x) ** 3 + np.cos(x) ** 3)


def logistic(k):
    def f(x):
        value = x
        for _ in range(k):
            value = 4 * value * (1 - value)
        return value

    return f


# ---------------------------------------------------------------- against ground truth


@pytest.mark.parametrize(("name", "point"), SMOOTH_1D, ids=[f"{n}@{p:g}" for n, p in SMOOTH_1D])
@pytest.mark.parametrize("n", [1, 2])
def test_derivatives_of_smooth_catalog_functions_are_exact_to_a_few_ulps(name, point, n):
    f = catalog.get(name)
    assert rel(SYM.derivative(f, point, n=n), truth.derivative(f, point, n)) <= 1e-14


@pytest.mark.parametrize(("name", "which"), SMOOTH_ND, ids=[f"{n}#{i}" for n, i in SMOOTH_ND])
def test_gradients_and_hessians_of_multivariate_catalog_functions(name, which):
    f = catalog.get(name)
    x = np.array(f.points[which], dtype=float)
    assert rel(SYM.gradient(f, x), truth.gradient(f, x)) <= 1e-14
    if f.ndim <= 13:  # rosenbrock100's 50-digit Hessian alone takes seconds
        assert rel(SYM.hessian(f, x), truth.hessian(f, x)) <= 1e-14


def test_the_issue_examples():
    x0 = np.array([-1.2, 1.0, 0.5, 2.0])
    exact = truth.derivative(catalog.get("squire_trapp"), 1.5)
    assert rel(SYM.derivative(squire_trapp, 1.5), exact) <= 1e-15
    assert rel(SYM.derivative("exp(x)/sqrt(sin(x)**3 + cos(x)**3)", 1.5), exact) <= 1e-15
    np.testing.assert_allclose(SYM.gradient(rosen, x0), dk.ReverseMode().gradient(rosen, x0))
    np.testing.assert_allclose(SYM.hessian(rosen, x0), dk.ReverseMode().hessian(rosen, x0))


def test_traced_strings_expressions_and_functions_agree():
    expr = catalog.get("squire_trapp").expr
    values = [
        SYM.derivative(f, 0.7, n=2)
        for f in (
            squire_trapp,
            "exp(x)/sqrt(sin(x)**3 + cos(x)**3)",
            expr,
            catalog.get("squire_trapp"),
        )
    ]
    assert max(values) - min(values) <= 4e-15 * abs(values[0])


# ---------------------------------------------------------------- exactness


@pytest.mark.parametrize(
    "f",
    [squire_trapp, logistic(3), np.tanh, lambda x: np.log1p(x**2) * np.arctan(x)],
    ids=["squire_trapp", "logistic3", "tanh", "log1p_arctan"],
)
@pytest.mark.parametrize("n", [1, 2])
def test_expression_equals_sympy_diff_exactly(f, n):
    traced = f(dk.symbolic.tracer.trace_input(())).data[()]
    assert sympy.simplify(SYM.expression(f, n) - sympy.diff(traced, X, n)) == 0


def test_gradient_expression_of_rosenbrock_equals_sympy_diff():
    got = SYM.expression(rosen, ndim=4)
    expr = catalog._rosenbrock(4)
    expected = [sympy.diff(expr, symbol(f"x{i}")) for i in range(4)]
    assert got.shape == (1, 4)
    assert all(sympy.expand(a - b) == 0 for a, b in zip(got, expected, strict=True))


def test_deep_logistic_derivative_matches_sympy_at_50_digits():
    """8 compositions: SymPy's derivative tree has thousands of operations, our program ~100."""
    f = logistic(8)
    program = derivative_program([f(dk.symbolic.tracer.trace_input(())).data[()]], (X,), 1)
    raw = sympy.diff(logistic(8)(X), X)  # SymPy's own derivative of its own tree
    with mpmath.workdps(50):
        point = mpmath.mpf(0.3)
        env = {X: point}
        for t, e in program.assignments:
            env[t] = sympy.lambdify(list(env), e, "mpmath")(*env.values())
        ours = sympy.lambdify(list(env), program.outputs[0], "mpmath")(*env.values())
        theirs = sympy.lambdify(X, raw, "mpmath")(point)
        assert abs(ours - theirs) <= abs(theirs) * mpmath.mpf(10) ** -40
    assert float(SYM.derivative(f, 0.3)) == pytest.approx(float(theirs), rel=1e-9)


def test_program_size_grows_linearly_where_sympy_grows_faster():
    sizes = [expression_size(logistic(k), raw=k <= 6, tape=False) for k in range(2, 13)]
    steps = np.diff([s.program for s in sizes])
    assert np.all(steps == steps[0])  # exactly linear in k
    six = sizes[6 - 2]
    assert six.raw is not None
    assert six.raw > 5 * six.program


def test_expression_size_counts_all_four_ways():
    size = expression_size(squire_trapp)
    assert size.order == 1
    assert size.raw
    assert size.cse
    assert size.program
    assert size.tape
    assert size.cse <= size.raw
    hess = expression_size(rosen, 2, ndim=5, tape=False)
    assert hess.program > 0
    assert hess.raw is not None


# ---------------------------------------------------------------- evaluation


def test_derivative_is_vectorized_and_keeps_float32():
    xs = np.linspace(0.2, 1.4, 1001)
    np.testing.assert_allclose(
        SYM.derivative(squire_trapp, xs), dk.ReverseMode().derivative(squire_trapp, xs), rtol=1e-13
    )
    got = SYM.derivative(squire_trapp, xs.astype(np.float32))
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, SYM.derivative(squire_trapp, xs), rtol=1e-5)
    assert SYM.gradient(rosen, np.float32([0.5, 0.5])).dtype == np.float32
    assert SYM.derivative(lambda x: 3 * x, np.ones(3)).tolist() == [3.0, 3.0, 3.0]


def test_jacobian_of_a_vector_function():
    def f(v):
        return np.stack([v[0] * v[1] * v[2], np.exp(v[0]) - v[2]])

    x = np.array([0.5, -1.0, 2.0])
    exact = [[x[1] * x[2], x[0] * x[2], x[0] * x[1]], [np.exp(x[0]), 0.0, -1.0]]
    np.testing.assert_allclose(SYM.jacobian(f, x), exact, rtol=1e-15)


def test_compiled_programs_are_cached():
    first = SYM.compiled(squire_trapp, (), 1)
    assert SYM.compiled(squire_trapp, (), 1) is first


# ---------------------------------------------------------------- the tracer


def test_tracer_speaks_numpy_arrays():
    def f(v):
        m = np.reshape(v[:4], (2, 2))
        w = np.concatenate([v[:2], np.array([1.0])])
        u = np.stack([v[0], v[3]])
        return (
            np.sum(m @ v[:2])
            + np.mean(w)
            + np.prod(u)
            + np.dot(v[1:3], v[2:4])
            + np.where([True, False], v[:2], 2.0).sum()
            + m.T[0, 1]
        )

    x = np.array([0.3, -0.7, 1.1, 0.4])
    np.testing.assert_allclose(SYM.gradient(f, x), dk.ReverseMode().gradient(f, x), rtol=1e-14)


def test_branching_on_a_symbolic_value_names_the_backends_that_can():
    def f(x):
        return x if x > 0 else -x

    with pytest.raises(SymbolicBranchError, match=r'branches.*"fd".*"reverse"'):
        SYM.derivative(f, 1.0)
    assert isinstance(SymbolicBranchError("x"), TypeError)


def test_unsupported_calls_name_the_call_and_the_alternatives():
    with pytest.raises(UnsupportedTraceError, match=r'np\.argmax.*"fd".*"reverse"'):
        SYM.gradient(lambda v: v[np.argmax(v)], np.ones(3))
    with pytest.raises(UnsupportedTraceError, match=r"np\.fft\.fft") as info:
        SYM.gradient(lambda v: np.sum(np.fft.fft(v).real), np.ones(3))
    assert '"fd"' in str(info.value)
    assert '"reverse"' not in str(info.value)
    assert len(str(info.value)) < 300
    with pytest.raises(UnsupportedTraceError, match=r"float\(\)"):
        SYM.derivative(lambda x: math.sin(x), 1.0)


def test_comparisons_and_steps_trace_as_the_piecewise_constant_values_they_are():
    assert SYM.derivative(lambda x: np.floor(x) * x, 1.5) == 1.0  # floor' = 0
    assert SYM.derivative(lambda x: np.where(x > 0, x**2, -x), 1.5) == 3.0
    assert SYM.derivative(lambda x: np.where(x > 0, x**2, -x), -1.5) == -1.0
    grad = SYM.gradient(
        lambda v: np.sum(v < 0.5) + 0.0 + np.sum((v > 0) * v**2), np.array([0.2, 0.9])
    )
    assert grad.tolist() == [0.4, 1.8]


def test_results_are_deterministic():
    x = np.linspace(-1, 1, 20)
    a = SYM.hessian(rosen, x)
    dk.symbolic.tracer.variables_for.cache_clear()
    b = dk.Symbolic().hessian(lambda v: rosen(v), x)
    assert np.array_equal(a, b)


# ---------------------------------------------------------------- kinks and edges


def test_kink_conventions_match_reverse_mode():
    assert len(KINK_CONVENTIONS) >= 6
    assert SYM.derivative(np.abs, 0.0) == 0.0
    assert SYM.derivative(lambda x: np.maximum(x, 0.0), 0.0) == 0.5
    assert SYM.derivative(lambda x: np.maximum(x, x), 0.3) == 1.0
    assert SYM.derivative(catalog.get("relu_kink"), 0.0) == 0.0
    assert SYM.derivative(catalog.get("abs_kink"), 0.0) == 0.0
    tie = np.array([1.0, 1.0])
    assert SYM.gradient(lambda v: np.maximum(v[0], v[1]), tie).tolist() == [0.5, 0.5]
    assert SYM.gradient(lambda v: np.minimum(v[0], v[1]), tie).tolist() == [0.5, 0.5]
    assert SYM.gradient(lambda v: np.max(v), np.array([1.0, 3.0, 3.0])).tolist() == [0, 0.5, 0.5]
    for f in (
        lambda v: np.maximum(v[0], v[1]),
        lambda v: np.max(v),
        lambda v: np.sum(np.maximum(v, 1.0)),
    ):
        assert SYM.gradient(f, tie).tolist() == dk.grad(f)(tie).tolist()
    assert SYM.derivative(lambda x: np.maximum(x, 0.0), 0.0, n=2) == 0.0
    assert SYM.derivative(np.sign, 0.3) == 0.0


def test_infinite_and_undefined_derivatives_are_flagged():
    assert SYM.derivative(np.sqrt, 0.0) == np.inf
    result = SYM.estimate(np.sqrt, np.array([0.0, 1.0, -1.0]))
    assert result.status.tolist() == ["infinite", "ok", "undefined"]
    assert not result.ok
    assert result.value[1] == 0.5
    assert SYM.derivative("x**(-1/3)", 0.0) == -np.inf


def test_derivatives_sympy_cannot_evaluate_are_refused():
    assert SYM.derivative(sympy.floor(X) * X, 1.5) == 1.0  # a step: derivative 0 by convention
    assert SYM.derivative(sympy.floor(X / 2) * X, 1.5) == 0.0  # SymPy's Subs form too
    with pytest.raises(UnevaluatedDerivativeError, match="unevaluated"):
        SYM.derivative(sympy.Function("g")(X), 1.5)


def test_straighten_shares_identical_subtrees():
    e = sympy.sin(X) ** 2 + sympy.exp(sympy.sin(X))
    program = straighten([e], (X,))
    assert sum(1 for _, a in program.assignments if isinstance(a, sympy.sin)) == 1


# ---------------------------------------------------------------- random expression trees

UNARY = sorted(
    n
    for n, row in ops.PRIMITIVES.items()
    if row.arity == 1 and row.kind == "function" and row.smooth
)


def _expression(draw, depth):
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(["x", "y", "c"]))
    kind = draw(st.sampled_from(["unary", "add", "mul", "sub", "div"]))
    if kind == "unary":
        return (draw(st.sampled_from(UNARY)), _expression(draw, depth - 1))
    return (kind, _expression(draw, depth - 1), _expression(draw, depth - 1))


@st.composite
def trees(draw):
    return _expression(draw, 4)


def _evaluate(tree, x, y):
    if tree == "x":
        return x
    if tree == "y":
        return y
    if tree == "c":
        return 0.5
    if tree[0] in ("add", "mul", "sub", "div"):
        a, b = _evaluate(tree[1], x, y), _evaluate(tree[2], x, y)
        if tree[0] == "div":
            return a / (2.0 + np.tanh(b))
        return {"add": np.add, "mul": np.multiply, "sub": np.subtract}[tree[0]](a, b)
    return ops.get(tree[0]).numpy(0.9 * np.tanh(_evaluate(tree[1], x, y)))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(tree=trees(), x=st.floats(-2, 2), y=st.floats(-2, 2))
def test_random_expression_trees_agree_with_reverse_mode(tree, x, y):
    """Symbolic and reverse mode on random trees of ops.py primitives agree to 1e-12."""

    def f(v):
        return _evaluate(tree, v[0], v[1])

    point = np.array([x, y])
    with np.errstate(all="ignore"):
        ours = dk.Symbolic().gradient(f, point)
        theirs = dk.ReverseMode().gradient(f, point)
    both = np.isfinite(ours) & np.isfinite(theirs)
    assert np.allclose(ours[both], theirs[both], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("text", "exact"),
    [
        ("exp(2)*x", float(np.exp(2))),
        ("tanh(1)*x + log(3)", float(np.tanh(1))),
        ("sin(2) + 0*x", 0.0),
    ],
)
def test_constant_subexpressions_have_no_partials(text, exact):
    """A node without symbols (exp(2)) is a constant of the program, not a crash."""
    assert float(dk.Symbolic().derivative(text, 1.0)) == pytest.approx(exact, rel=1e-15, abs=0)
