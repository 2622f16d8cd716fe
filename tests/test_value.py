"""The scalar Value: micrograd's interface, ops.py's rules, an iterative backward, no cycles."""

from __future__ import annotations

import gc
import math
import subprocess
import sys
import warnings
import weakref
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffkit as dk
from diffkit import ops
from diffkit.autodiff.value import Value

# ------------------------------------------------------------------- the interface


def test_new_value_has_micrograd_attributes() -> None:
    v = Value(3.5)
    assert (v.data, v.grad, v._prev, v._op, v.label) == (3.5, 0.0, (), "", "")
    assert repr(v) == "Value(data=3.5, grad=0.0)"
    w = Value(1.0, (v,), "tanh", label="w")
    assert (w._prev, w._op, w.label) == ((v,), "tanh", "w")


def test_attributes_are_settable_but_prev_is_not() -> None:
    v = Value(1.0)
    v.data, v.grad, v.label = 2.0, 5.0, "v"
    assert (v.data, v.grad, v.label) == (2.0, 5.0, "v")
    with pytest.raises(AttributeError):
        v._prev = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        v.anything_else = 1  # type: ignore[attr-defined]


def test_numpy_scalars_become_python_numbers() -> None:
    assert type(Value(np.float64(1.5)).data) is float
    assert type(Value(np.int64(2)).data) is int


def test_ints_stay_ints_under_add_and_mul_as_in_micrograd() -> None:
    assert (Value(5) + Value(3)).data == 8
    assert type((Value(5) * 3).data) is int


def test_hand_built_node_limits() -> None:
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    with pytest.raises(ValueError, match="at most two children, got 3"):
        Value(0.0, (a, b, c))
    with pytest.raises(ValueError, match="2 children need 2 partials, got 1"):
        Value(0.0, (a, b), "+", "", (1.0,))
    # children without partials: like micrograd's default _backward, passes nothing on
    node = Value(3.0, (a, b), "+")
    node.backward()
    assert (node.grad, a.grad, b.grad) == (1.0, 0.0, 0.0)
    # with partials it takes part in backward like any other node
    node = Value(3.0, (a, b), "+", "", (1.0, 2.0))
    node.backward()
    assert (a.grad, b.grad) == (1.0, 2.0)
    assert node._partials == (1.0, 2.0)


# ----------------------------------------------------------------- values and grads

X, Y = 1.3, -0.7

BINARY: list[tuple[str, Callable[..., object], float, float, float]] = [
    # (name, op, value, d/dx, d/dy) at x = 1.3, y = -0.7
    ("add", lambda x, y: x + y, X + Y, 1.0, 1.0),
    ("sub", lambda x, y: x - y, X - Y, 1.0, -1.0),
    ("mul", lambda x, y: x * y, X * Y, Y, X),
    ("div", lambda x, y: x / y, X / Y, 1 / Y, -X / Y**2),
    ("pow", lambda x, y: x**y, X**Y, Y * X ** (Y - 1), X**Y * math.log(X)),
]


@pytest.mark.parametrize(
    ("name", "op", "value", "dx", "dy"), BINARY, ids=[case[0] for case in BINARY]
)
def test_binary_operators_on_values_and_numbers(name, op, value, dx, dy) -> None:
    for left_is_value, right_is_value in ((True, True), (True, False), (False, True)):
        x = Value(X) if left_is_value else X
        y = Value(Y) if right_is_value else Y
        out = op(x, y)
        assert isinstance(out, Value)
        assert out.data == pytest.approx(value, rel=1e-15)
        out.backward()
        if left_is_value:
            assert x.grad == pytest.approx(dx, rel=1e-15), (name, "x")
        if right_is_value:
            assert y.grad == pytest.approx(dy, rel=1e-15), (name, "y")


def test_operand_order_is_kept_in_prev() -> None:
    a = Value(2.0)
    for out in (a + 1, a - 1, a * 1, a / 1, a**2):
        assert out._prev[0] is a
    for out in (1 + a, 1 - a, 2 * a, 1 / a, 2**a):
        assert out._prev[1] is a
        assert out._prev[0].data in (1, 2)  # the number became a leaf, as in micrograd


def test_pow_with_number_exponent_is_one_node_named_like_micrograd() -> None:
    x = Value(3.0)
    y = x**2
    assert (y.data, y._op, y._prev) == (9.0, "**2", (x,))
    y.backward()
    assert x.grad == 6.0
    z = Value(-2.0) ** 3  # negative base, integer exponent: fine
    assert z.data == -8.0
    z.backward()
    assert z._prev[0].grad == 12.0


def test_negation() -> None:
    x = Value(2.5)
    y = -x
    y.backward()
    assert (y.data, x.grad, y._op) == (-2.5, -1.0, "neg")


UNARY: list[tuple[str, float, float, float]] = [
    # (method, x, value, derivative)
    ("exp", 0.3, math.exp(0.3), math.exp(0.3)),
    ("log", 2.5, math.log(2.5), 1 / 2.5),
    ("tanh", -0.8, math.tanh(-0.8), 1 - math.tanh(-0.8) ** 2),
    ("relu", 1.7, 1.7, 1.0),
    ("relu", -1.7, 0.0, 0.0),
    ("relu", 0.0, 0.0, 0.0),  # the kink: derivative 0, micrograd's convention
    ("sigmoid", 0.4, 1 / (1 + math.exp(-0.4)), math.exp(-0.4) / (1 + math.exp(-0.4)) ** 2),
]


@pytest.mark.parametrize(("method", "x", "value", "slope"), UNARY)
def test_unary_methods(method: str, x: float, value: float, slope: float) -> None:
    v = Value(x)
    out = getattr(v, method)()
    out.backward()
    assert out.data == pytest.approx(value, rel=1e-15, abs=0)
    assert v.grad == pytest.approx(slope, rel=1e-14, abs=0)
    assert out._op == {"relu": "ReLU"}.get(method, method)


@pytest.mark.parametrize("x", [-1000.0, -40.0, 40.0, 1000.0])
def test_tanh_and_sigmoid_are_stable_for_large_arguments(x: float) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("tanh", "sigmoid"):
            v = Value(x)
            out = getattr(v, method)()
            out.backward()
            assert math.isfinite(out.data)
            assert math.isfinite(v.grad)
    assert Value(1000.0).tanh().data == 1.0
    assert Value(-1000.0).sigmoid().data == 0.0
    s = Value(-40.0)
    s.sigmoid().backward()
    assert s.grad == pytest.approx(math.exp(-40.0), rel=1e-13)  # no cancellation in the tail


def test_domain_errors_name_the_function_and_argument() -> None:
    with pytest.raises(ValueError, match=r"log\(0\.0\)"):
        Value(0.0).log()
    with pytest.raises(OverflowError, match=r"exp\(1000\.0\)"):
        Value(1000.0).exp()
    with pytest.raises(ValueError, match="not a real number"):
        Value(-8.0) ** (1 / 3)


def test_micrograd_readme_example() -> None:
    # micrograd's README prints g.data 24.7041, a.grad 138.8338, b.grad 645.5773.
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    assert f"{g.data:.4f} {a.grad:.4f} {b.grad:.4f}" == "24.7041 138.8338 645.5773"


@settings(max_examples=60, deadline=None)
@given(st.floats(-3.0, 3.0), st.floats(0.2, 3.0))
def test_gradient_matches_finite_differences(x: float, y: float) -> None:
    def f(v: Value | float, w: Value | float) -> Value:
        u = v * w + (v / w).tanh() - (w.log() if isinstance(w, Value) else math.log(w))
        return (u.sigmoid() * v.exp() + 0.5 * u**2) / (1 + w**2)

    vx, vy = Value(x), Value(y)
    f(vx, vy).backward()
    # scale=1: f varies on the scale of 1 whatever |x| is (x may be 1e-45)
    numeric = dk.FiniteDifference(richardson=True, scale=1.0).gradient(
        lambda p: f(Value(float(p[0])), Value(float(p[1]))).data, np.array([x, y])
    )
    np.testing.assert_allclose([vx.grad, vy.grad], numeric, rtol=1e-8, atol=1e-10)


# ------------------------------------------------------------------------- backward


def test_backward_sets_root_grad_and_accumulates_like_micrograd() -> None:
    x = Value(3.0)
    y = x * x + x  # x used three times: contributions add up
    y.backward()
    assert (y.grad, x.grad) == (1.0, 7.0)
    # No zeroing, as in micrograd: a second call adds again, and the intermediate x * x
    # still holds grad 1 from the first call, so it now passes on 2 * 6, not 6.
    y.backward()
    assert (y.grad, y._prev[0].grad, x.grad) == (1.0, 2.0, 7.0 + 2.0 * 6.0 + 1.0)


def test_backward_on_a_leaf() -> None:
    x = Value(2.0)
    x.backward()
    assert x.grad == 1.0


def test_a_million_node_chain_at_the_default_recursion_limit() -> None:
    assert sys.getrecursionlimit() <= 10_000
    x0 = Value(0.0)
    step = Value(1e-6)
    x = x0
    for _ in range(1_000_000):
        x = x + step
    x.backward()
    assert x0.grad == 1.0
    assert step.grad == 1_000_000.0
    del x  # freeing the chain must not recurse in C either


_SUMMING_PROGRAM = """
import random, sys
sys.path.insert(0, sys.argv[1])
from diffkit.autodiff.value import Value
rng = random.Random(0)
x = Value(0.1)
total = Value(0.0)
for _ in range(300):
    total = total + x * (rng.uniform(-1, 1) * 10.0 ** rng.randint(-8, 8))
total.backward()
print(x.grad.hex())
"""


def test_gradient_bits_are_the_same_in_every_process() -> None:
    # x.grad sums 300 contributions of magnitudes 1e-8 .. 1e8, so its last bits depend
    # on the order. micrograd keeps parents in a set and its order follows memory
    # addresses: this program printed ...a9p+26 and ...a8p+26 on different runs there.
    root = str(__import__("pathlib").Path(__file__).parent.parent)
    outputs = {
        subprocess.run(
            [sys.executable, "-c", _SUMMING_PROGRAM, root],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(outputs) == 1


def test_dropped_graph_is_freed_by_reference_counting() -> None:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        a, b = Value(2.0), Value(-3.0)
        out = ((a * b).tanh() + a.exp() / b - 1).relu() + b**2
        out.backward()
        refs = [weakref.ref(v) for v in (a, b, out, out._prev[0])]
        del a, b, out
        assert all(ref() is None for ref in refs)
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------- ops.py: the scalar column and float fast paths

SCALAR_POINTS: dict[str, tuple[tuple[float, ...], ...]] = {
    "add": ((0.7, -1.3),),
    "subtract": ((0.7, -1.3),),
    "multiply": ((0.7, -1.3),),
    "divide": ((0.7, -1.3),),
    "negative": ((0.4,),),
    "power": ((1.3, 0.5), (2.7, 2.0), (0.5, -1.5)),
    "sin": ((-1.7,), (0.4,)),
    "cos": ((-1.7,), (0.4,)),
    "tan": ((-1.1,), (0.4,)),
    "exp": ((-1.7,), (2.2,)),
    "log": ((0.3,), (10.0,)),
    "log1p": ((-0.5,), (4.0,)),
    "expm1": ((-1e-3,), (2.2,)),
    "sqrt": ((0.3,), (10.0,)),
    "abs": ((-1.7,), (0.0,), (2.2,)),
    "sign": ((-1.7,), (0.0,), (2.2,)),
    "tanh": ((-1.7,), (0.4,)),
    "sinh": ((-1.7,), (0.4,)),
    "cosh": ((-1.7,), (0.4,)),
    "arctan": ((-1.7,), (0.4,)),
    "arcsin": ((-0.9,), (0.5,)),
    "arccos": ((-0.9,), (0.5,)),
    "sigmoid": ((-745.0,), (-40.0,), (-1.7,), (0.0,), (0.4,), (40.0,), (1000.0,)),
    "softplus": ((-1000.0,), (-40.0,), (-1.7,), (0.0,), (0.4,), (40.0,), (1000.0,)),
    "relu": ((-1.7,), (0.0,), (2.2,)),
    "maximum": ((0.7, -1.3), (3.0, 3.0)),
    "minimum": ((0.7, -1.3), (3.0, 3.0)),
    "logaddexp": ((0.7, -1.3), (-2.0, 1.5), (30.0, 3.5)),
    "fmax": ((0.7, -1.3), (3.0, 3.0)),
    "fmin": ((0.7, -1.3), (3.0, 3.0)),
    "square": ((-1.7,), (0.4,)),
    "reciprocal": ((-1.7,), (0.4,)),
    "log2": ((0.3,), (10.0,)),
    "log10": ((0.3,), (10.0,)),
    "exp2": ((-1.7,), (2.2,)),
    "logaddexp2": ((0.7, -1.3), (-2.0, 1.5), (30.0, 3.5)),
    "arctan2": ((0.7, -1.3), (-2.0, 1.5)),
    "hypot": ((0.7, -1.3), (-2.0, 1.5), (0.0, 0.0)),
    "arcsinh": ((-1.7,), (0.4,)),
    "arccosh": ((1.2,), (10.0,)),
    "arctanh": ((-0.9,), (0.5,)),
    "deg2rad": ((-1.7,), (0.4,)),
    "rad2deg": ((-1.7,), (0.4,)),
    "cbrt": ((-1.7,), (0.4,)),
    "remainder": ((5.3, 2.0), (-5.3, 2.0), (5.3, -2.0)),
    "floor_divide": ((5.3, 2.0), (-5.3, 2.0)),
    "floor": ((-1.7,), (0.4,)),
    "ceil": ((-1.7,), (0.4,)),
    "trunc": ((-1.7,), (0.4,)),
    "rint": ((-1.5,), (0.5,), (2.2,)),
    "positive": ((-1.7,), (0.4,)),
    "fmod": ((5.3, 2.0), (-5.3, 2.0)),
    "copysign": ((0.7, -1.3), (-2.0, 1.5)),
    "heaviside": ((0.7, 0.5), (-2.0, 0.5), (0.0, 0.3)),
    "conjugate": ((-1.7,), (0.4,)),
}


def test_every_row_has_scalar_points() -> None:
    assert set(SCALAR_POINTS) == set(ops.PRIMITIVES)


@pytest.mark.parametrize("name", sorted(ops.PRIMITIVES))
def test_scalar_column_agrees_with_numpy_column(name: str) -> None:
    row = ops.PRIMITIVES[name]
    if row.scalar is None:
        assert name in ("maximum", "minimum", "fmax", "fmin")  # builtins' NaN handling differs
        return
    for point in SCALAR_POINTS[name]:
        fast = row.scalar(*point)
        reference = float(row.numpy(*(np.float64(v) for v in point)))
        assert type(fast) in (float, int), name
        assert fast == pytest.approx(reference, rel=4e-16, abs=0), (name, point)


@pytest.mark.parametrize("name", sorted(ops.PRIMITIVES))
def test_partials_on_python_floats_agree_with_numpy_scalars(name: str) -> None:
    row = ops.PRIMITIVES[name]
    for point in SCALAR_POINTS[name]:
        out = float(row.numpy(*(np.float64(v) for v in point)))
        fast = row.partials(*point, out)
        reference = row.partials(*(np.float64(v) for v in point), np.float64(out))
        for i, (f, r) in enumerate(zip(fast, reference, strict=True)):
            assert type(f) in (float, int), (name, i, type(f))  # the math path, no NumPy
            assert f == pytest.approx(float(np.asarray(r)), rel=4e-16, abs=0), (name, point, i)


def test_float_fast_paths_fall_back_to_numpy_where_math_refuses() -> None:
    with np.errstate(all="ignore"):
        # 0 ** -1: math.pow raises, NumPy says inf; a negative base's log is nan
        da, db = ops.get("power").partials(0.0, -1.0, math.inf)
        assert float(np.asarray(da)) == -math.inf
        assert float(np.asarray(db)) == 0.0
        da, db = ops.get("power").partials(-2.0, 3.0, -8.0)
        assert (da, math.isnan(db)) == (12.0, True)
        (slope,) = ops.get("arcsin").partials(2.0, math.nan)  # sqrt(-3): nan, as NumPy
        assert math.isnan(float(np.asarray(slope)))
    assert math.isnan(ops.get("abs").partials(math.nan, math.nan)[0])
    assert math.isnan(ops.get("relu").scalar(math.nan))  # type: ignore[misc]
