"""The seed articles' code written against diffkit: graphs, training loop, quotients.

Seeds 000 and 002 build L = (a*b + c) * f; seed 003 builds L = (a + b) * d and trains
it by gradient descent. The graph builders are shared by the seeds study, its tests
and the report's graph picture, so all of them compute the same numbers. Below them,
the articles' small functions and the thunks ``seed_rows`` uses to recompute each
printed number (forward quotients with the article's h, backward passes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..autodiff.value import Value
from ..backends.finite import FiniteDifference
from ..backends.reverse import ReverseMode

Thunk = Callable[[], float]

__all__ = ["abcf_graph", "micrograd_graph", "micrograd_loss", "micrograd_training"]
# The other public names are the articles' small functions and computations, shared
# only with ``seed_rows``.


def abcf_graph(
    a: float = 2.0, b: float = -3.0, c: float = 10.0, f: float = -2.0
) -> dict[str, Value]:
    """L = (a*b + c) * f with every node labelled as in seeds 000 and 002 (e = a*b, d = e + c)."""
    nodes = {"a": Value(a, label="a"), "b": Value(b, label="b"), "c": Value(c, label="c")}
    nodes["e"] = nodes["a"] * nodes["b"]
    nodes["d"] = nodes["e"] + nodes["c"]
    nodes["f"] = Value(f, label="f")
    nodes["L"] = nodes["d"] * nodes["f"]
    for name in ("e", "d", "L"):
        nodes[name].label = name
    return nodes


def micrograd_graph() -> dict[str, Value]:
    """Seed 003's graph: c = a + b, L = c * d with a = 5, b = 3, d = 10 (ints, as printed)."""
    a, b, d = Value(5, label="a"), Value(3, label="b"), Value(10, label="d")
    c = a + b
    c.label = "c"
    L = c * d
    L.label = "L"
    return {"a": a, "b": b, "c": c, "d": d, "L": L}


def micrograd_loss(ha: float = 0, hb: float = 0, hc: float = 0, hd: float = 0) -> float:
    """Seed 003's ``f(ha, hb, hc, hd)``: L with each input shifted, built from ``Value``."""
    c = Value(5 + ha) + Value(3 + hb) + Value(hc)
    return float((c * Value(10 + hd)).data)


def micrograd_training(lr: float, steps: int | None = None) -> list[float]:
    """Losses of seed 003's descent loop on L = (a + b) * d, from one backward pass at the start.

    The article's ``_backward`` assigns gradients where diffkit's accumulates; the leaves
    are zeroed before every backward pass, which makes the two agree (each node here has
    one path to L). With ``steps=None`` the loop stops, as the article's, at the first
    negative loss (not returned).
    """
    g = micrograd_graph()
    a, b, d = g["a"], g["b"], g["d"]
    g["L"].backward()
    losses: list[float] = []
    while steps is None or len(losses) < steps:
        for leaf in (a, b, d):
            leaf.data -= lr * leaf.grad
        L = (a + b) * d
        for leaf in (a, b, d):
            leaf.grad = 0.0
        L.backward()
        if steps is None and L.data < 0:
            break
        losses.append(float(L.data))
    return losses


# ------------------------------------------------------------------ the articles' computations, by diffkit


def forward_quotient(f: Callable[[Any], Any], x: float, h: float) -> Thunk:
    return lambda: float(FiniteDifference(scheme="forward", h=h).derivative(f, x))


def partial_quotient(f: Callable[[Any], Any], point: Sequence[float], h: float, i: int) -> Thunk:
    def compute() -> float:
        grad = FiniteDifference(scheme="forward", h=h).gradient(f, np.array(point, dtype=float))
        return float(grad[i])

    return compute


def exact_partial(f: Callable[[Any], Any], point: Sequence[float], i: int) -> Thunk:
    return lambda: float(ReverseMode().gradient(f, np.array(point, dtype=float))[i])


def backprop(graph: Callable[[], dict[str, Value]], node: str) -> Thunk:
    def compute() -> float:
        nodes = graph()
        nodes["L"].backward()
        return float(nodes[node].grad)

    return compute


def shifted_loss(name: str, t: float) -> float:
    return micrograd_loss(**{f"h{name}": t})


def on_value_graph(name: str, h: float) -> Thunk:
    """Forward difference of seed 003's ``f(h<name>=t)``, a ``Value`` graph, at t = 0."""

    def line(t: Any) -> Any:
        return np.array([shifted_loss(name, float(ti)) for ti in np.ravel(t)]).reshape(np.shape(t))

    return forward_quotient(line, 0.0, h)


def nudged_loss() -> float:
    """Seed 000: every leaf moved by 0.01 times its gradient, then L again."""
    nodes = abcf_graph()
    nodes["L"].backward()
    for name in ("a", "b", "c", "f"):
        nodes[name].data += 0.01 * nodes[name].grad
    return float(((nodes["a"] * nodes["b"] + nodes["c"]) * nodes["f"]).data)


def one_step(lr: float) -> float:
    g = micrograd_graph()
    g["L"].backward()
    for name in ("a", "b", "d"):
        g[name].data -= lr * g[name].grad
    return float(((g["a"] + g["b"]) * g["d"]).data)


def epoch_loss(lr: float, epoch: int) -> float:
    return micrograd_training(lr, steps=epoch + 1)[epoch]


def product(wrt: str) -> float:
    """Seed 001's trivial case c = a * b with a = 1, b = 2: c, or a gradient."""
    a, b = Value(1.0), Value(2.0)
    c = a * b
    c.backward()
    return float({"c": c.data, "a": a.grad, "b": b.grad}[wrt])


def neuron_grad(node: str) -> float:
    """Seed 001's h1 = w1 x1 + w2 x2; only x1 = 2 is in the text (see ``_LECTURE``)."""
    x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
    o1, o2 = w1 * x1, w2 * x2
    h1 = o1 + o2
    h1.backward()
    return float({"w1": w1, "o1": o1, "o2": o2}[node].grad)


def car_over_human() -> float:
    human = Value(3.0)
    car = 4 * (2 * human)
    car.backward()
    return float(human.grad)


def f_quadratic_000(x: Any) -> Any:
    return (7 * x**2) + (6 * x) + 3


def f_quadratic_002(x: Any) -> Any:
    return 2 * x**2 - 3 * x + 4


def f_square(x: Any) -> Any:
    return x**2


def f_identity(x: Any) -> Any:
    return x


def f_abc(v: Any) -> Any:
    return v[0] * v[1] + v[2]


def f_sum_times(v: Any) -> Any:
    return (v[0] + v[1]) * v[2]


def f_add(v: Any) -> Any:
    return v[0] + v[1]


def f_mul(v: Any) -> Any:
    return v[0] * v[1]


def f_xyz(v: Any) -> Any:
    return v[0] ** 2 + v[1] ** 3 - v[2]
