"""The symengine engine (``diffkit.symbolic.engine``): SymPy's derivative programs, bit for bit."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

import diffkit as dk
from diffkit import catalog, ops
from diffkit.backends import symbolic as symbolic_backend
from diffkit.parse import symbol
from diffkit.symbolic import engine as engine_module
from diffkit.symbolic.compile import compile_program
from diffkit.symbolic.reverse import derivative_program, local_partials
from diffkit.symbolic.source import default_shape, expressions_of

X, Y = symbol("x"), symbol("y")
T = sympy.Symbol("_t", real=True)


@pytest.fixture(scope="module")
def symengine():
    return pytest.importorskip("symengine")


def _programs(f, shape, n):
    outputs, variables = expressions_of(f, shape)
    return [
        derivative_program(list(outputs.ravel()), variables, n, engine=engine)
        for engine in ("sympy", "symengine")
    ]


def _compiled_values(program, points):
    """The compiled program's values at ``points``, or the type of error compiling it raised."""
    try:
        compiled = compile_program(program)
        return compiled.source, compiled(*points, dtype=float)
    except (ValueError, ZeroDivisionError) as error:  # constant poles (1/0, nan): refused alike
        return type(error), None


def _assert_same_program_and_bits(plain, fast, points):
    assert fast == plain  # structural equality of every assignment and output
    (plain_source, plain_values), (fast_source, fast_values) = (
        _compiled_values(plain, points),
        _compiled_values(fast, points),
    )
    assert fast_source == plain_source
    if plain_values is not None:
        assert np.array_equal(fast_values, plain_values, equal_nan=True)


# ---------------------------------------------------------------- the switch


def test_unknown_engines_are_refused_by_name():
    with pytest.raises(ValueError, match=r"'auto', 'sympy', 'symengine'.*'maple'"):
        dk.Symbolic(engine="maple")


def test_symengine_without_the_package_names_the_extra(monkeypatch):
    monkeypatch.setattr(engine_module, "symengine_available", lambda: False)
    with pytest.raises(ImportError, match=r"pip install 'diffkit\[fast\]'"):
        dk.Symbolic(engine="symengine")
    assert dk.Symbolic(engine="auto")._engine == "sympy"
    assert dk.Symbolic().derivative(np.sin, 0.0) == 1.0


def test_engine_is_keyword_only_and_shown():
    with pytest.raises(TypeError):
        dk.Symbolic("sympy")
    assert repr(dk.Symbolic(engine="sympy")) == "Symbolic(engine='sympy')"
    assert repr(dk.Symbolic()) == "Symbolic()"


def test_auto_means_symengine_when_installed(symengine):
    assert dk.Symbolic()._engine == "symengine"


def test_the_cache_keys_on_the_engine(symengine):
    def f(x):
        return np.sin(x) * np.cos(x)

    plain = dk.Symbolic(engine="sympy").compiled(f, (), 1)
    fast = dk.Symbolic(engine="symengine").compiled(f, (), 1)
    assert plain is not fast
    assert dk.Symbolic(engine="symengine").compiled(f, (), 1) is fast
    assert (f, (), 1, "symengine") in symbolic_backend._cache


# ---------------------------------------------------------------- one node at a time

EXACT_NODES = [
    *sorted(
        (func(Y, X) if func is sympy.atan2 else func(X) for func in engine_module._EXACT_FUNCTIONS),
        key=str,
    ),
    X ** sympy.Rational(1, 3),
    X ** sympy.Rational(5, 2),
    2**X,
    sympy.Rational(1, 3) ** X,
]
FALLBACK_NODES = [  # symengine differs or gives up here: SymPy answers (engine.py says why)
    sympy.Abs(X),
    sympy.sign(X),
    sympy.Max(X, Y),
    sympy.Min(X, 0),
    sympy.Heaviside(X),
    sympy.acosh(X),
    X**Y,
    X**sympy.pi,
    X ** sympy.Float(2.5),
    sympy.sin(sympy.Float(0.5) * X),
    sympy.log(sympy.exp(X) + sympy.exp(Y)),  # compound arguments
]


@pytest.mark.parametrize("node", EXACT_NODES + FALLBACK_NODES, ids=str)
def test_local_partials_are_structurally_sympys(node, symengine):
    assert local_partials(T, node, engine="symengine") == local_partials(T, node, engine="sympy")


@pytest.mark.parametrize("node", EXACT_NODES, ids=str)
def test_exact_nodes_do_go_through_symengine(node, symengine, monkeypatch):
    calls = []
    real_diff = symengine.diff
    monkeypatch.setattr(symengine, "diff", lambda *a: calls.append(a) or real_diff(*a))
    engine_module.differentiate(node, sorted(node.free_symbols, key=str), "symengine")
    assert calls


@pytest.mark.parametrize("node", FALLBACK_NODES, ids=str)
def test_fallback_nodes_stay_on_sympy(node, symengine, monkeypatch):
    monkeypatch.setattr(symengine, "diff", lambda *a: pytest.fail("symengine was used"))
    engine_module.differentiate(node, sorted(node.free_symbols, key=str), "symengine")


# ---------------------------------------------------------------- whole programs

CATALOG = [
    (name, n)
    for name in catalog.names()
    for n in ((1, 2) if catalog.get(name).ndim <= 13 else (1,))
]


@pytest.mark.parametrize(("name", "n"), CATALOG, ids=[f"{name}-n{n}" for name, n in CATALOG])
def test_catalog_derivative_programs_are_identical(name, n, symengine):
    f = catalog.get(name)
    shape = default_shape(f, None)
    try:
        plain, fast = _programs(f, shape, n)
    except ValueError as error:  # refused (floor, ...): refused the same way by both
        with pytest.raises(type(error), match=re.escape(str(error))):
            _programs(f, shape, n)
        return
    points = np.array(f.points, dtype=float).reshape(len(f.points), -1).T
    _assert_same_program_and_bits(plain, fast, list(points))


UNARY = sorted(n for n, row in ops.PRIMITIVES.items() if row.arity == 1)
BINARY = sorted(n for n, row in ops.PRIMITIVES.items() if row.arity == 2)


def _expression(draw, depth):
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(["x", "y", "c"]))
    if draw(st.booleans()):
        return (draw(st.sampled_from(UNARY)), _expression(draw, depth - 1))
    name = draw(st.sampled_from(BINARY))
    return (name, _expression(draw, depth - 1), _expression(draw, depth - 1))


@st.composite
def trees(draw):
    return _expression(draw, 4)


def _evaluate(tree, x, y):
    if isinstance(tree, str):
        return {"x": x, "y": y, "c": 0.5}[tree]
    args = [_evaluate(a, x, y) for a in tree[1:]]
    return ops.get(tree[0]).numpy(*args)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(tree=trees(), n=st.sampled_from([1, 2]))
def test_random_expression_trees_give_identical_programs(tree, n, symengine):
    """Random trees of every ops.py primitive: the same program, the same bits, both engines."""

    def f(v):
        return _evaluate(tree, v[0], v[1])

    try:
        plain, fast = _programs(f, (2,), n)
    except ValueError as error:  # a kink SymPy leaves unevaluated: refused alike by both
        with pytest.raises(type(error), match=re.escape(str(error))):
            _programs(f, (2,), n)
        return
    grid = np.linspace(-1.7, 1.9, 7)
    _assert_same_program_and_bits(plain, fast, list(np.meshgrid(grid, grid)))
