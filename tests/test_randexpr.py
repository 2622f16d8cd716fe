"""Random expressions: deterministic per (seed, index), real on their points, bounded, traceable."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import sympy

from diffkit import ops, truth
from diffkit.randexpr import (
    MAX_MAGNITUDE,
    random_expression,
    random_function,
    random_functions,
)


def test_same_seed_gives_the_same_functions_and_others_differ() -> None:
    first = [str(f.expr) for f in random_functions(20, 7)]
    again = [str(f.expr) for f in random_functions(20, 7)]
    other = [str(f.expr) for f in random_functions(20, 8)]
    assert first == again
    assert first != other


def test_function_i_does_not_depend_on_count_or_start() -> None:
    whole = list(random_functions(10, 3))
    tail = list(random_functions(4, 3, start=6))
    assert [str(f.expr) for f in whole[6:]] == [str(f.expr) for f in tail]
    assert [f.points for f in whole[6:]] == [f.points for f in tail]
    assert [f.name for f in tail] == [f"rand-3-{i}" for i in range(6, 10)]


def test_expressions_do_not_depend_on_the_python_hash_seed() -> None:
    code = (
        "from diffkit.randexpr import random_functions\n"
        "print([(str(f.expr), f.points) for f in random_functions(8, 11)])\n"
    )
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_points_give_finite_bounded_values_and_exact_derivatives() -> None:
    for f in random_functions(25, 0):
        assert len(f.points) == 2
        for point in f.points:
            value = float(f.numpy(np.asarray(point)))
            exact = truth.derivative(f, point)
            assert abs(value) <= MAX_MAGNITUDE, (f.name, f.expr, point)  # False for nan too
            assert abs(exact) <= MAX_MAGNITUDE * 1.01, (f.name, f.expr, point)


def test_depth_bounds_the_tree_and_ops_restrict_the_rows() -> None:
    rng = np.random.default_rng(0)
    for _ in range(30):
        expr = random_expression(rng, depth=2, ops=["sin", "add"])
        assert expr.free_symbols
        assert not expr.has(sympy.exp, sympy.log, sympy.cos)
    leaf = random_expression(np.random.default_rng(1), depth=0)
    assert leaf == sympy.Symbol("x", real=True)


def test_guarded_rows_stay_real_everywhere() -> None:
    """log, sqrt, arcsin, ... get guarded arguments, so any real point is in the domain."""
    rng = np.random.default_rng(5)
    restricted = ["log", "sqrt", "arcsin", "arccos", "log1p", "tan", "divide", "power", "add"]
    for _ in range(30):
        expr = random_expression(rng, depth=3, ops=restricted)
        f = sympy.lambdify(sorted(expr.free_symbols, key=str), expr, "mpmath")
        for x in (-2.5, -0.3, 0.0, 0.7, 2.9):
            assert sympy.im(sympy.sympify(f(x))) == 0, (expr, x)


def test_several_variables_are_named_x0_x1_and_used() -> None:
    f = random_function(2, 0, variables=(3,), depth=(3, 4))
    assert [v.name for v in f.variables] == ["x0", "x1", "x2"]
    assert all(len(p) == 3 for p in f.points)
    assert "multivariate" in f.tags


def test_default_ops_cover_the_table_and_kinks_are_tagged() -> None:
    functions = list(random_functions(60, 1))
    names = {type(node).__name__ for f in functions for node in sympy.preorder_traversal(f.expr)}
    assert {"sin", "exp", "log", "maximum"} <= names
    assert any("kink" in f.tags for f in functions)
    assert all("random" in f.tags for f in functions)
    assert all(f.why == str(f.expr) for f in functions)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"depth": (3, 1)}, "depth must be a range"),
        ({"variables": ()}, "at least one count"),
        ({"ops": ["no-such-row"]}, "not a primitive"),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises((ValueError, ops.UnknownPrimitiveError), match=match):
        random_function(0, 0, **kwargs)  # type: ignore[arg-type]
