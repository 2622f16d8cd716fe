"""Reverse mode on tensors: gradients, Jacobians and Hessians against ground truth."""

from __future__ import annotations

import gc
import math
import sys
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffkit as dk
from diffkit import catalog, ops, truth
from diffkit.autodiff import Tensor, UnsupportedOperationError
from diffkit.autodiff.engine import backward, derivative, grad, hessian, jacobian, value_and_grad

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


# ---------------------------------------------------------------- against ground truth


@pytest.mark.parametrize(("name", "point"), SMOOTH_1D, ids=[f"{n}@{p:g}" for n, p in SMOOTH_1D])
@pytest.mark.parametrize("n", [1, 2])
def test_derivatives_of_smooth_catalog_functions_match_truth(name, point, n):
    f = catalog.get(name)
    exact = truth.derivative(f, point, n)
    assert (
        rel(dk.ReverseMode().derivative(f, point, n=n), exact) <= 1e-12
        or abs(float(dk.ReverseMode().derivative(f, point, n=n)) - float(exact)) <= 1e-13
    )


@pytest.mark.parametrize(("name", "which"), SMOOTH_ND, ids=[f"{n}#{i}" for n, i in SMOOTH_ND])
def test_gradients_of_smooth_catalog_functions_match_truth(name, which):
    f = catalog.get(name)
    x = np.array(f.points[which], dtype=float)
    assert rel(dk.ReverseMode().gradient(f, x), truth.gradient(f, x)) <= 1e-12


@pytest.mark.parametrize(
    ("name", "which"),
    [(n, i) for n, i in SMOOTH_ND if catalog.get(n).ndim <= 13],
    ids=[f"{n}#{i}" for n, i in SMOOTH_ND if catalog.get(n).ndim <= 13],
)
def test_hessians_of_smooth_catalog_functions_match_truth(name, which):
    f = catalog.get(name)
    x = np.array(f.points[which], dtype=float)
    got = dk.ReverseMode().hessian(f, x)
    exact = truth.hessian(f, x)
    assert rel(got, exact) <= 1e-12
    assert np.array_equal(got, got.T) or rel(got, got.T) <= 1e-15


def test_plain_numpy_rosenbrock_matches_truth():
    f = catalog.get("rosenbrock10")
    x = np.array(f.points[1])
    assert rel(grad(rosen)(x), truth.gradient(f, x)) <= 1e-14
    assert rel(hessian(rosen)(x), truth.hessian(f, x)) <= 1e-14


# ---------------------------------------------------------------- structure of the engine


def test_value_and_grad_returns_both():
    value, g = value_and_grad(lambda v: np.sum(v**2))(np.array([1.0, 2.0]))
    assert float(value) == 5.0
    assert g.tolist() == [2.0, 4.0]


def test_broadcasting_reduces_back_to_each_input_shape():
    w = np.array([[1.0, 2.0, 3.0]])
    g = grad(lambda b: np.sum(w * b))(np.array([[1.0], [2.0]]))
    assert g.shape == (2, 1)
    assert g.ravel().tolist() == [6.0, 6.0]
    g = grad(lambda s: np.sum(np.ones((3, 4)) * s))(2.0)
    assert float(g) == 12.0


def test_repeated_fancy_indices_accumulate():
    g = grad(lambda v: np.sum(v[[0, 0, 2, 0]] ** 2))(np.array([1.0, 5.0, 3.0]))
    assert g.tolist() == [6.0, 0.0, 6.0]


def test_boolean_masks_and_slices():
    x = np.array([-1.0, 2.0, -3.0, 4.0])
    g = grad(lambda v: np.sum(v[v > 0] ** 2) + np.sum(v[::2]))(x)
    assert g.tolist() == [1.0, 4.0, 1.0, 8.0]


@pytest.mark.parametrize(
    ("f", "x", "expected"),
    [
        (lambda v: np.mean(v**2), [1.0, 3.0], [1.0, 3.0]),
        (lambda v: np.prod(v), [2.0, 3.0, 4.0], [12.0, 8.0, 6.0]),
        (lambda v: np.prod(v), [2.0, 0.0, 4.0], [0.0, 8.0, 0.0]),
        (lambda v: np.max(v), [1.0, 3.0, 3.0], [0.0, 0.5, 0.5]),
        (lambda v: np.min(v), [1.0, 3.0, -3.0], [0.0, 0.0, 1.0]),
        (lambda v: np.sum(np.clip(v, 0.0, 2.0)), [-1.0, 1.0, 3.0], [0.0, 1.0, 0.0]),
        (lambda v: np.sum(np.where(v > 0, v**2, -v)), [-1.0, 2.0], [-1.0, 4.0]),
        (lambda v: np.sum(np.concatenate([v, 2 * v])), [1.0, 1.0], [3.0, 3.0]),
        (lambda v: np.sum(np.stack([v, v**2], axis=1)[:, 1]), [1.0, 2.0], [2.0, 4.0]),
        (
            lambda v: np.sum(v.reshape(2, 2).T @ np.array([1.0, 10.0])),
            [1.0, 2.0, 3.0, 4.0],
            [1.0, 1.0, 10.0, 10.0],
        ),
        (lambda v: v @ v, [1.0, 2.0], [2.0, 4.0]),
        (lambda v: np.dot(v, np.array([3.0, 4.0])), [1.0, 2.0], [3.0, 4.0]),
        # a tie of maximum splits the gradient: half to v, half to the constant
        (lambda v: np.sum(np.maximum(v, 0.0)), [-1.0, 0.0, 2.0], [0.0, 0.5, 1.0]),
        (lambda v: np.sum(np.abs(v)), [-1.0, 0.0, 2.0], [-1.0, 0.0, 1.0]),
    ],
)
def test_structural_operations(f, x, expected):
    assert grad(f)(np.array(x)).tolist() == expected


def test_matrix_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3))
    x = rng.normal(size=(5, 4))

    def loss(w_):
        return np.mean(np.tanh(x @ w_) ** 2)

    exact = grad(loss)(w)
    numeric = dk.FiniteDifference(richardson=True).gradient(
        lambda flat: loss(flat.reshape(4, 3)), w.ravel()
    )
    assert rel(exact.ravel(), numeric) < 1e-10


def test_jacobian_is_one_batched_pass():
    def f(v):
        return np.stack([v[0] * v[1], np.sin(v[0]), v[1] ** 3])

    jac = jacobian(f)(np.array([0.3, 2.0]))
    expected = [[2.0, 0.3], [np.cos(0.3), 0.0], [0.0, 12.0]]
    np.testing.assert_allclose(jac, expected, rtol=1e-15)


def test_higher_derivatives_of_elementwise_functions():
    x = np.linspace(0.1, 2.0, 7)
    for n, expected in enumerate([np.cos(x), -np.sin(x), -np.cos(x), np.sin(x)], start=1):
        np.testing.assert_allclose(derivative(np.sin, n)(x), expected, rtol=1e-14, atol=1e-15)


def test_gradient_of_gradient_matches_hessian_vector_product():
    x = np.array([0.3, -0.7, 1.1])
    v = np.array([1.0, 2.0, -1.0])
    f = catalog.get("logsumexp")
    exact = truth.hessian(f, np.append(x, [0.2, 0.4])) @ np.append(v, [0.0, 0.0])

    def directional(y):
        _, g = value_and_grad(f, create_graph=True)(y)
        return np.sum(g * np.append(v, [0.0, 0.0]))

    got = grad(directional)(np.append(x, [0.2, 0.4]))
    assert rel(got, exact) < 1e-13


def test_float32_stays_float32():
    x = np.linspace(0.1, 1.0, 4, dtype=np.float32)
    assert dk.ReverseMode().derivative(np.tanh, x).dtype == np.float32
    assert grad(rosen)(x).dtype == np.float32
    assert hessian(rosen)(x).dtype == np.float32


def test_functions_that_ignore_their_input_have_zero_gradient():
    assert grad(lambda v: 3.0)(np.ones(2)).tolist() == [0.0, 0.0]
    assert hessian(lambda v: np.sum(2 * v))(np.ones(2)).tolist() == [[0.0, 0.0], [0.0, 0.0]]


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("f", "name"),
    [
        (lambda v: np.sum(np.fft.fft(v).real), "np.fft.fft"),
        (lambda v: np.linalg.qr(np.outer(v, v))[0][0, 0], "np.linalg.qr"),
        (lambda v: np.sum(np.i0(v)), "np.i0"),
        (lambda v: np.sum(np.frexp(v)[0]), "np.frexp"),
        (lambda v: np.sum(np.sum(v, dtype=np.float32)), "np.sum with dtype"),
        (lambda v: np.add.reduce(v), "np.add.reduce"),
    ],
)
def test_unsupported_numpy_calls_raise_a_short_type_error_naming_the_call(f, name):
    """The call as the user wrote it, and which backends can do it, in under 300 characters."""
    with pytest.raises(UnsupportedOperationError) as info:
        grad(f)(np.array([1.0, 2.0]))
    message = str(info.value)
    assert isinstance(info.value, TypeError)
    assert name in message
    assert '"fd"' in message
    assert len(message) < 300


def test_in_place_assignment_is_refused():
    def f(v):
        v[0] = 1.0
        return np.sum(v)

    with pytest.raises(UnsupportedOperationError, match="assignment"):
        grad(f)(np.array([1.0, 2.0]))


def test_grad_needs_a_scalar_output():
    with pytest.raises(ValueError, match="scalar-valued"):
        grad(lambda v: v * 2)(np.ones(3))


def test_seed_shape_is_checked():
    t = Tensor(np.ones(3))
    with pytest.raises(ValueError, match="does not match"):
        backward(np.sin(t), np.ones(2))


# ---------------------------------------------------------------- scale and memory


def test_a_million_node_chain_needs_no_recursion():
    """Backward is iterative: a 10^6-node graph works at the default recursion limit."""
    assert sys.getrecursionlimit() <= 10_000
    x = Tensor(np.array(0.5))
    y = x
    for _ in range(10**6):
        y = y * 1.0
    leaves = backward(y, np.ones(()))
    assert float(leaves[id(x._node)]) == 1.0


def test_graphs_are_freed_without_the_garbage_collector():
    gc.disable()
    try:
        x = Tensor(np.ones(3))
        y = np.sum(np.sin(x) * x)
        probe = weakref.ref(y)
        backward(y, np.ones(()))
        del y
        assert probe() is None
    finally:
        gc.enable()


def test_results_are_deterministic():
    x = np.linspace(-1, 1, 50)
    f = catalog.get("softmax_xent")
    point = np.array(f.points[0])
    assert np.array_equal(grad(rosen)(x), grad(rosen)(x))
    assert np.array_equal(hessian(f)(point), hessian(f)(point))


# ---------------------------------------------------------------- random expression trees

UNARY = sorted(
    n
    for n, row in ops.PRIMITIVES.items()
    # arccosh is defined on [1, inf) only, outside the (-0.9, 0.9) arguments are squashed into
    if row.arity == 1 and row.kind == "function" and row.smooth and n != "arccosh"
)


def _expression(draw, depth):
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(["x", "y", "c"]))
    kind = draw(st.sampled_from(["unary", "add", "mul", "sub"]))
    if kind == "unary":
        name = draw(st.sampled_from(UNARY))
        return (name, _expression(draw, depth - 1))
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
    if tree[0] in ("add", "mul", "sub"):
        a, b = _evaluate(tree[1], x, y), _evaluate(tree[2], x, y)
        return {"add": np.add, "mul": np.multiply, "sub": np.subtract}[tree[0]](a, b)
    arg = _evaluate(tree[1], x, y)
    # squash arguments into every primitive's domain: (-0.9, 0.9) is inside all of them
    return ops.get(tree[0]).numpy(0.9 * np.tanh(arg))


@settings(max_examples=80, deadline=None, derandomize=True)
@given(tree=trees(), x=st.floats(-2, 2), y=st.floats(-2, 2))
def test_random_expression_trees_agree_with_truth_and_finite_differences(tree, x, y):
    """Reverse mode on random trees of ops.py primitives: equal to 50-digit truth where finite."""
    import sympy

    from diffkit.parse import symbol

    def f(v):
        return _evaluate(tree, v[0], v[1])

    point = np.array([x, y])
    with np.errstate(all="ignore"):  # log(0) and friends: compared only where truth is finite
        got = grad(f)(point)
    sx, sy = symbol("x"), symbol("y")
    expr = sympy.sympify(0) + _sympy_tree(tree, sx, sy)
    exact = truth.gradient(dk.Function.from_expr(expr, [sx, sy]), point)
    if not np.all(np.isfinite(exact)):
        return
    assert np.allclose(got, exact, rtol=1e-12, atol=1e-12)


def _sympy_tree(tree, sx, sy):
    import sympy

    if tree == "x":
        return sx
    if tree == "y":
        return sy
    if tree == "c":
        return sympy.Rational(1, 2)
    if tree[0] in ("add", "mul", "sub"):
        a, b = _sympy_tree(tree[1], sx, sy), _sympy_tree(tree[2], sx, sy)
        return {"add": a + b, "mul": a * b, "sub": a - b}[tree[0]]
    arg = _sympy_tree(tree[1], sx, sy)
    return ops.get(tree[0]).sympy(sympy.Rational(9, 10) * sympy.tanh(arg))


# ---------------------------------------------------------------- tensors as models


def test_tensor_backward_accumulates_into_leaf_grads():
    w = Tensor(np.array([1.0, 2.0]))
    loss = np.sum(w**2)
    loss.backward()
    assert w.grad.tolist() == [2.0, 4.0]
    np.sum(3 * w).backward()
    assert w.grad.tolist() == [5.0, 7.0]


def test_tensor_mlp_matches_the_scalar_mlp_it_mirrors():
    """Same seed, same weights: the batched Dense layers give the scalar MLP's loss and gradient."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(8, 2))
    scalar = dk.nn.MLP(2, [4, 1], rng=3)
    batched = dk.nn.TensorMLP(2, [4, 1], rng=3)
    # copy the scalar model's weights into the tensor model, layer by layer
    for layer, dense in zip(scalar.layers, batched.layers, strict=True):
        dense.W.data = np.array(
            [[n.w[i].data for n in layer.neurons] for i in range(len(layer.neurons[0].w))]
        )
        dense.b.data = np.array([n.b.data for n in layer.neurons])
    scalar_loss = sum((scalar(list(map(float, row))) for row in x), dk.Value(0.0))
    scalar_loss.backward()
    batched_loss = np.sum(batched(x))
    batched_loss.backward()
    assert float(batched_loss) == pytest.approx(scalar_loss.data, rel=1e-13)
    first = batched.layers[0].W.grad
    expected = [[n.w[i].grad for n in scalar.layers[0].neurons] for i in range(2)]
    np.testing.assert_allclose(first, expected, rtol=1e-12, atol=1e-14)


def test_training_a_tensor_mlp_lowers_the_loss():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 2))
    y = np.sign(x[:, 0] * x[:, 1])
    model = dk.nn.TensorMLP(2, [16, 16, 1], rng=0)
    losses = []
    for _ in range(40):
        model.zero_grad()
        loss = np.mean(np.maximum(1.0 - y * model(x)[:, 0], 0.0))
        loss.backward()
        for p in model.parameters():
            p.data = p.data - 0.1 * p.grad
        losses.append(float(loss))
    assert losses[-1] < 0.6 * losses[0]


def test_the_graph_keeps_only_the_values_its_derivatives_read():
    """x + 1 and a sum read no values: once the user drops t, its array is freed."""
    x = Tensor(np.ones(1000))
    t = x + 1.0
    kept = np.tanh(x)  # tanh's derivative reads its output: that array stays
    probe_t, probe_kept = weakref.ref(t.data), weakref.ref(kept.data)
    y = np.sum(t) + np.sum(kept)
    del t, kept
    assert probe_t() is None
    assert probe_kept() is not None
    g = grad(lambda v: np.sum(v + 1.0) + np.sum(np.tanh(v)))(np.ones(3))
    np.testing.assert_allclose(g, 1.0 + (1 - np.tanh(1.0) ** 2))
    assert float(y) > 0


def _stored_into_zeros(v):
    z = np.zeros(3)
    z[0] = v[0]  # NumPy converts the tensor to a float: the path through v[0] would be lost
    return np.sum(z * v)


@pytest.mark.parametrize(
    "f",
    [
        lambda v: math.exp(v[0]) + np.sum(v),
        lambda v: float(v[0]) * np.sum(v),
        _stored_into_zeros,
    ],
    ids=["math.exp", "float", "stored-into-np.zeros"],
)
def test_a_value_that_would_lose_its_derivative_is_refused_not_dropped(f):
    """Each of these once gave a gradient silently missing a term."""
    for backend in (dk.ReverseMode(), dk.Symbolic()):
        with pytest.raises(TypeError, match="float\\(\\)") as info:
            backend.gradient(f, np.array([0.5, 1.0, 2.0]))
        assert len(str(info.value)) < 300
        assert '"fd"' in str(info.value)


def test_float_of_a_tensor_outside_a_differentiated_function_is_its_value():
    loss = np.sum(Tensor(np.array([1.0, 2.0])) ** 2)
    assert float(loss) == 5.0  # a training loop's float(loss), as in torch
