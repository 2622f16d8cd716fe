"""Train micrograd's demo network on two moons with diffkit, gradients checked first.

micrograd's demo, as written there: ``MLP(2, [16, 16, 1])`` (ReLU, linear output),
hinge loss ``relu(1 - y * score)`` averaged over 100 points plus
``1e-4 * sum(p * p)``, full-batch gradient descent for 100 steps with learning rate
``1.0 - 0.9 * k / 100``. Two engines train the same network from the same weights,
in lockstep:

- ``Value``: ``diffkit.autodiff.nn.MLP`` on scalar ``Value`` nodes, ``loss.backward()``;
- ``Tensor``: ``diffkit.autodiff.nn.TensorMLP`` (one ``Dense`` matrix product per
  layer, the whole batch at once) given the Value MLP's weights, ``loss.backward()``.

Before training, the first step's gradients of both engines are compared with
``dk.FiniteDifference(richardson=True).gradient`` of the loss as a function of the
flat parameters (a plain NumPy function, also differentiated by ``dk.grad``). The
loss is piecewise linear (ReLU, hinge): a difference quotient whose steps cross a
kink is biased, and Richardson's base steps are the widest, so the plain central
rule is shown too. Then the loss curve every 10 steps, the final accuracy and the time
per step. Deterministic: fixed seeds, no global random state.

Run from the repository root: ``PYTHONPATH=. python scripts/train_moons.py``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

import diffkit as dk
from diffkit.autodiff.nn import MLP, TensorMLP
from diffkit.autodiff.value import Value
from diffkit.studies.moons import make_moons

SEED = 0
POINTS = 100
SIZES = (2, 16, 16, 1)
ALPHA = 1e-4
STEPS = 100


def value_loss(model: MLP, points: list[list[float]], labels: list[float]) -> tuple[Value, float]:
    """micrograd's demo loss on Value scalars, and the accuracy of the scores."""
    inputs = [[Value(a), Value(b)] for a, b in points]
    scores = [model(row) for row in inputs]
    losses = [(1 + -yi * si).relu() for yi, si in zip(labels, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    hits = [(yi > 0) == (si.data > 0) for yi, si in zip(labels, scores, strict=True)]
    return data_loss + reg_loss, sum(hits) / len(hits)


def flat_scores(params: Any, X: np.ndarray) -> Any:
    """The MLP's scores for every row of X, from its parameters in ``parameters()`` order.

    Each layer's block holds, neuron by neuron, the neuron's weights then its bias:
    an ``(nout, nin + 1)`` matrix.
    """
    h: Any = X
    offset = 0
    layers = list(itertools.pairwise(SIZES))
    for i, (nin, nout) in enumerate(layers):
        block = params[offset : offset + nout * (nin + 1)].reshape(nout, nin + 1)
        offset += nout * (nin + 1)
        h = h @ block[:, :nin].T + block[:, nin]
        if i < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h[:, 0]


def make_flat_loss(X: np.ndarray, y: np.ndarray) -> Any:
    def loss_of_flat_params(params: Any) -> Any:
        """The demo loss as plain NumPy code of the flat parameters (arrays or Tensors)."""
        data_loss = np.mean(np.maximum(1.0 - y * flat_scores(params, X), 0.0))
        return data_loss + ALPHA * np.sum(params * params)

    return loss_of_flat_params


def max_rel_diff(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(max |a - b| / max |b|, max over entries of |a_i - b_i| / |b_i|, entries |b_i| > 1e-8)."""
    scale = float(np.max(np.abs(b)))
    big = np.abs(b) > 1e-8
    per_entry = float(np.max(np.abs(a[big] - b[big]) / np.abs(b[big]))) if big.any() else 0.0
    return float(np.max(np.abs(a - b))) / scale, per_entry


def copy_into_tensor_mlp(model: MLP, tmodel: TensorMLP) -> None:
    """Give the TensorMLP the Value MLP's weights: neuron j's weights are column j of W."""
    for layer, dense in zip(model.layers, tmodel.layers, strict=True):
        dense.W.data = np.array([[w.data for w in n.w] for n in layer.neurons]).T.copy()
        dense.b.data = np.array([n.b.data for n in layer.neurons])


def tensor_flat(tmodel: TensorMLP, attribute: str) -> np.ndarray:
    """A TensorMLP's ``data`` or ``grad`` in the Value MLP's ``parameters()`` order."""
    blocks = []
    for dense in tmodel.layers:
        W, b = getattr(dense.W, attribute), getattr(dense.b, attribute)
        blocks.append(np.concatenate([W.T, b[:, None]], axis=1).ravel())
    return np.concatenate(blocks)


def tensor_loss(tmodel: TensorMLP, X: np.ndarray, y: np.ndarray) -> tuple[Any, float]:
    """The demo loss on the whole batch at once, and the accuracy of the scores."""
    scores = tmodel(X)[:, 0]
    data_loss = np.mean(np.maximum(1.0 - y * scores, 0.0))
    reg_loss = ALPHA * sum(np.sum(p * p) for p in tmodel.parameters())
    accuracy = float(np.mean((scores.data > 0) == (y > 0)))
    return data_loss + reg_loss, accuracy


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=STEPS, help="gradient steps (100)")
    args = parser.parse_args(argv)

    X, y = make_moons(POINTS)
    points, labels = X.tolist(), y.tolist()
    model = MLP(SIZES[0], list(SIZES[1:]), rng=SEED)
    params = model.parameters()
    flat = np.array([p.data for p in params])
    tmodel = TensorMLP(SIZES[0], list(SIZES[1:]), rng=SEED)
    copy_into_tensor_mlp(model, tmodel)
    loss_of_flat_params = make_flat_loss(X, y)
    print(f"micrograd's demo on diffkit: MLP{SIZES}, {len(params)} parameters, {POINTS} points")
    print(
        f"engines: Value ({type(model).__name__}) and Tensor ({type(tmodel).__name__}), same weights"
    )

    # ---- gradient check at the initial weights
    model.zero_grad()
    loss, _ = value_loss(model, points, labels)
    loss.backward()
    g_value = np.array([p.grad for p in params])
    tmodel.zero_grad()
    loss_t, _ = tensor_loss(tmodel, X, y)
    loss_t.backward()
    g_tensor = tensor_flat(tmodel, "grad")
    g_functional = dk.grad(loss_of_flat_params)(flat)
    start = time.perf_counter()
    g_fd = dk.FiniteDifference(richardson=True).gradient(loss_of_flat_params, flat)
    fd_seconds = time.perf_counter() - start
    g_central = dk.FiniteDifference().gradient(loss_of_flat_params, flat)
    print(
        f"\nfirst-step gradient check against FiniteDifference(richardson=True) ({fd_seconds:.1f} s)"
    )
    print(f"  {'':<38}  {'max|diff|/max|g|':>16}  {'max per-entry':>13}")
    for name, g, ref in (
        ("Value MLP .backward() vs richardson FD", g_value, g_fd),
        ("TensorMLP .backward() vs richardson FD", g_tensor, g_fd),
        ("dk.grad(flat loss)    vs richardson FD", g_functional, g_fd),
        ("Value MLP vs TensorMLP", g_value, g_tensor),
        ("Value MLP vs plain central FD (h auto)", g_value, g_central),
    ):
        norm, entry = max_rel_diff(g, ref)
        print(f"  {name:<38}  {norm:>16.1e}  {entry:>13.1e}")
    print(f"  initial loss: Value {loss.data:.15f}, Tensor {float(loss_t.data):.15f}")
    del loss, loss_t

    # ---- training, both engines in lockstep from the same weights
    print(f"\n{'step':>4}  {'loss (Value)':>16}  {'accuracy':>8}  {'loss (Tensor)':>16}  |diff|")
    value_seconds = tensor_seconds = 0.0
    for k in range(args.steps):
        learning_rate = 1.0 - 0.9 * k / 100
        start = time.perf_counter()
        model.zero_grad()
        loss, accuracy = value_loss(model, points, labels)
        loss.backward()
        for p in params:
            p.data -= learning_rate * p.grad
        value_seconds += time.perf_counter() - start

        start = time.perf_counter()
        tmodel.zero_grad()
        loss_t, _ = tensor_loss(tmodel, X, y)
        loss_t.backward()
        for t in tmodel.parameters():
            t.data = t.data - learning_rate * t.grad
        tensor_seconds += time.perf_counter() - start

        if k % 10 == 0 or k == args.steps - 1:
            lt = float(loss_t.data)
            print(
                f"{k:>4}  {loss.data:>16.12f}  {accuracy:>8.0%}  {lt:>16.12f}"
                f"  {abs(loss.data - lt):.1e}"
            )
        del loss, loss_t
    _, final_accuracy = value_loss(model, points, labels)
    _, tensor_accuracy = tensor_loss(tmodel, X, y)
    drift = float(np.max(np.abs(np.array([p.data for p in params]) - tensor_flat(tmodel, "data"))))
    print(
        f"\nfinal accuracy: Value {final_accuracy:.0%}, Tensor {tensor_accuracy:.0%}; "
        f"max parameter difference between engines {drift:.1e}"
    )
    print(
        "time per step (forward + backward + update): "
        f"Value {value_seconds / args.steps * 1e3:.1f} ms, "
        f"Tensor {tensor_seconds / args.steps * 1e3:.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
