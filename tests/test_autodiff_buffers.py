"""Recycled buffers (diffkit/autodiff/buffers.py): a buffer is reused only when nothing
else can see it, so results never depend on whether recycling is on."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from diffkit.autodiff import buffers
from diffkit.autodiff.engine import backward, derivative, grad, hessian, value_and_grad
from diffkit.autodiff.tensor import Tensor

N = 2**16  # 512 KiB of float64: above buffers.MIN_BYTES, so every step recycles
assert N * 8 >= buffers.MIN_BYTES


def rosen(x: Any) -> Any:
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_by_hand(x: np.ndarray) -> np.ndarray:
    g = np.zeros_like(x)
    g[1:-1] = (
        200 * (x[1:-1] - x[:-2] ** 2) - 400 * (x[2:] - x[1:-1] ** 2) * x[1:-1] - 2 * (1 - x[1:-1])
    )
    g[0] = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0])
    g[-1] = 200 * (x[-1] - x[-2] ** 2)
    return g


def mixed(x: Any) -> Any:
    """Every kind of rule: per-argument (power, divide), partials (sin, exp, tanh), sums."""
    y = np.sin(x) * x + np.exp(-(x**2)) / (1.5 + x**2)
    return np.sum(np.tanh(y) * y + 2.0 * x - y / 3.0)


@pytest.fixture
def point() -> np.ndarray:
    return np.random.default_rng(7).uniform(-1.5, 1.5, N)


@pytest.fixture(autouse=True)
def fresh_pool() -> Iterator[None]:
    buffers.clear()
    yield
    buffers.set_limit(256 << 20)
    buffers.clear()


def without_recycling(compute: Callable[[], Any]) -> Any:
    saved = buffers.limit()
    buffers.set_limit(0)
    try:
        return compute()
    finally:
        buffers.set_limit(saved)


# ---------------------------------------------------------------- the pool itself


def test_a_tracked_array_is_lent_only_when_nothing_else_refers_to_it() -> None:
    a = np.empty(N)
    buffers.track(a)
    assert buffers.take(a.shape, a.dtype) is None  # the caller's name `a` still refers to it
    view = a[1:]
    ident = id(a)
    del a
    assert buffers.take((N,), np.dtype(float)) is None  # a view keeps its base in use
    del view
    found = buffers.take((N,), np.dtype(float))
    assert found is not None
    assert id(found) == ident


def test_only_matching_shape_and_dtype_and_own_memory_is_tracked() -> None:
    buffers.track(np.empty(N))
    assert buffers.take((N // 2, 2), np.dtype(float)) is None
    assert buffers.take((N,), np.dtype(np.float32)) is None
    base = np.empty(2 * N)
    buffers.track(base[:N])  # a view: writing into it would write into base
    buffers.track(np.empty(16))  # small: malloc recycles those itself
    assert buffers.held() == N * 8


def test_the_limit_bounds_what_is_held_and_zero_turns_recycling_off() -> None:
    buffers.set_limit(3 * N * 8)
    for _ in range(5):
        buffers.track(np.empty(N))  # dropped at once: free, so evicted to make room
    assert buffers.held() <= 3 * N * 8
    buffers.set_limit(0)
    assert buffers.held() == 0
    buffers.track(np.empty(N))
    assert buffers.held() == 0
    assert buffers.output_for([np.ones(N), 2.0]) is None


def test_lent_views_compute_into_buffers_and_hand_back_plain_arrays() -> None:
    x = np.linspace(-1.0, 1.0, N)
    lent = buffers.lend(x)
    assert type(lent) is buffers.Lent
    product = np.ones(N) * lent
    assert type(product) is np.ndarray
    np.testing.assert_array_equal(product, x)
    compared = lent == 0  # not in the same-dtype set: NumPy allocates as usual
    assert type(compared) is np.ndarray
    assert compared.dtype == bool
    picked = np.where(lent > 0, lent, 0.0)
    assert type(picked) is np.ndarray
    assert type(buffers.lend(np.ones(3))) is np.ndarray  # small: lent as it is
    np.testing.assert_array_equal(x, np.linspace(-1.0, 1.0, N))  # never written into


# ---------------------------------------------------------------- results do not depend on it


@pytest.mark.parametrize("f", [rosen, mixed])
def test_gradients_match_with_and_without_recycling(f: Any, point: np.ndarray) -> None:
    expected = without_recycling(lambda: grad(f)(point))
    for _ in range(3):  # the second and later calls run on recycled buffers
        np.testing.assert_array_equal(grad(f)(point), expected)
    if f is rosen:
        np.testing.assert_allclose(expected, rosen_by_hand(point), rtol=1e-12, atol=1e-9)


def test_a_gradient_the_user_keeps_is_never_overwritten(point: np.ndarray) -> None:
    first = grad(rosen)(point)
    kept = first.copy()
    tail = first[1:]  # a view, too
    for k in range(3):
        grad(rosen)(point + k)
    np.testing.assert_array_equal(first, kept)
    np.testing.assert_array_equal(tail, kept[1:])


def test_intermediates_the_user_keeps_are_never_overwritten(point: np.ndarray) -> None:
    """A function that stashes its intermediate tensors: their values stay what they were."""
    stash: list[Tensor] = []

    def f(x: Any) -> Any:
        a = x[:-1] ** 2
        b = x[1:] - a
        c = 100 * b**2
        stash.extend([a, b, c])
        return np.sum(c + (1 - x[:-1]) ** 2)

    expected = without_recycling(lambda: grad(f)(point))
    stash.clear()
    g = grad(f)(point)
    copies = [t.data.copy() for t in stash]
    for k in range(3):
        grad(rosen)(point * (k + 2))
    np.testing.assert_array_equal(g, expected)
    for t, copy in zip(stash, copies, strict=True):
        np.testing.assert_array_equal(t.data, copy)
    np.testing.assert_array_equal(stash[0].data, point[:-1] ** 2)


def test_an_output_the_user_holds_is_never_overwritten(point: np.ndarray) -> None:
    x = Tensor(point)
    y = np.sin(x) * 2.0  # held: its buffer is in use
    held = y.data.copy()
    for _ in range(3):
        z = np.cos(x) * 3.0 + x
        del z
        grad(mixed)(point)
    np.testing.assert_array_equal(y.data, held)
    loss = np.sum(y * y)
    leaves = backward(loss, np.ones(()))
    np.testing.assert_allclose(leaves[id(x._node)], 8 * np.sin(point) * np.cos(point))


def test_value_and_grad_and_backward_twice_accumulate_correctly(point: np.ndarray) -> None:
    value, g = value_and_grad(mixed)(point)
    x = Tensor(point)
    y = mixed(x)
    y.backward()
    assert x.grad is not None
    np.testing.assert_array_equal(x.grad, g)
    y.backward()  # the graph is kept: a second pass adds the same again
    np.testing.assert_array_equal(x.grad, 2 * g)
    assert float(y.data) == float(value)


def test_gradients_of_gradients_match_with_and_without_recycling(point: np.ndarray) -> None:
    """create_graph records the backward pass: a Hessian-vector product through it."""
    v = np.cos(np.arange(N) * 0.01)

    def hvp() -> np.ndarray:
        return grad(lambda x: np.sum(value_and_grad(rosen, create_graph=True)(x)[1] * v))(point)

    expected = without_recycling(hvp)
    np.testing.assert_array_equal(hvp(), expected)
    np.testing.assert_array_equal(hvp(), expected)
    # and against the Hessian at a small size (by hand: tridiagonal)
    small = point[:6]
    h = hessian(rosen)(small)
    by_hand = np.diag(
        np.r_[1200 * small[:-1] ** 2 - 400 * small[1:] + 2, 0.0] + np.r_[0.0, [200] * 5]
    )
    by_hand += np.diag(-400 * small[:-1], 1) + np.diag(-400 * small[:-1], -1)
    np.testing.assert_allclose(h, by_hand, rtol=1e-12)


def test_float32_stays_float32_and_matches(point: np.ndarray) -> None:
    x32 = point.astype(np.float32)
    expected = without_recycling(lambda: grad(rosen)(x32))
    got = grad(rosen)(x32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)


def test_no_buffer_is_shared_between_two_live_gradients(point: np.ndarray) -> None:
    a = grad(mixed)(point)
    b = grad(mixed)(point)
    assert not np.shares_memory(a, b)
    np.testing.assert_array_equal(a, b)


def test_dropped_graphs_leave_only_free_buffers(point: np.ndarray) -> None:
    for _ in range(2):
        grad(rosen)(point)
    gc.collect()
    assert buffers.held() > 0
    assert buffers.take((N,), np.dtype(float)) is not None


def test_repeated_values_are_folded_and_gradients_come_back_writable(point: np.ndarray) -> None:
    """A sum's cotangent is one value repeated: multiples of it stay one value (no pass over
    memory), and the gradient handed back is still an ordinary array."""
    g = grad(lambda v: np.sum(3.0 * v - v / 4.0 + (-v)))(point)
    assert g.flags.writeable
    assert g.flags.c_contiguous
    np.testing.assert_array_equal(g, np.full(N, 3.0 - 0.25 - 1.0))
    small = grad(lambda v: np.sum(3.0 * v - v / 4.0 + (-v)))(point[:5])
    np.testing.assert_array_equal(g[:5], small)
    x = Tensor(point)
    np.sum(2.0 * x).backward()
    assert x.grad is not None
    assert x.grad.flags.writeable


def test_slices_that_leave_ends_uncovered_leave_zeros_there(point: np.ndarray) -> None:
    """The first slice's cotangent is written, not added, and only the rest is zeroed."""
    g = grad(lambda v: np.sum(v[2:] * 2.0) + np.sum(v[:-3] ** 2) + np.sum(v[5:7]))(point)
    expected = np.zeros(N)
    expected[2:] += 2.0
    expected[:-3] += 2 * point[:-3]
    expected[5:7] += 1.0
    np.testing.assert_array_equal(g, expected)
    g = grad(lambda v: np.sum(v[10:20] ** 2))(point)
    assert not g[:10].any()
    assert not g[20:].any()
    np.testing.assert_array_equal(g[10:20], 2 * point[10:20])


def test_a_large_batched_seed_through_a_recorded_pass(point: np.ndarray) -> None:
    """Hessian at n = 200: the batched identity seed is large (lent), the arguments are tensors."""
    small = point[:200]
    expected = without_recycling(lambda: hessian(rosen)(small))
    np.testing.assert_array_equal(hessian(rosen)(small), expected)
    assert expected.shape == (200, 200)
    np.testing.assert_allclose(np.diag(expected, 1), -400 * small[:-1], rtol=1e-14)


def test_a_large_seed_meets_recorded_arguments(point: np.ndarray) -> None:
    """derivative(n=2): the first pass is recorded with a large plain seed and tensor arguments."""
    second = derivative(lambda v: np.sin(v) * 3.0 + v**3, n=2)(point)
    np.testing.assert_allclose(second, -3.0 * np.sin(point) + 6 * point, rtol=1e-12, atol=1e-12)


def test_repeated_values_fold_in_any_number_of_dimensions() -> None:
    m = np.linspace(-1.0, 1.0, N).reshape(256, N // 256)
    g = grad(lambda v: np.sum(-(2.0 * v) / 8.0))(m)
    np.testing.assert_array_equal(g, np.full(m.shape, -0.25))
    assert g.flags.writeable
