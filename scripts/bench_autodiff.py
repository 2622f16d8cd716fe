"""Benchmark diffkit's reverse mode (scalar ``Value`` and vectorized ``Tensor``) against peers.

Prints plain-text tables, never asserts. Six cases, each run in one process with the
peers interleaved with diffkit:

1. micrograd's demo: ``MLP(2, [16, 16, 1])``, hinge loss ``(1 + -y*score).relu()``
   averaged over 100 two-moons points plus ``1e-4 * sum(p*p)``; forward + backward
   on diffkit ``Value`` + ``diffkit.autodiff.nn.MLP``, micrograd, and torch 0-d
   tensors running the same scalar program. Microseconds per graph node.
2. A chain ``y = y * 1.0001 + 0.0001`` of 10**5 steps, forward + backward (micrograd's
   recursive topological sort needs a raised recursion limit: reported).
3. Rosenbrock ``np.sum(100*(x[1:] - x[:-1]**2)**2 + (1 - x[:-1])**2)``: gradient time
   over plain NumPy f time at n = 10**6; microseconds per gradient at n = 10.
   diffkit ``dk.grad``, torch eager, HIPS autograd, jax (eager and jitted, float64),
   a hand-written NumPy gradient.
4. A tanh MLP 256-256-256-1, batch 100, mean squared error: gradient with respect
   to every weight (diffkit: ``dk.grad`` of a function of one flat parameter vector).
5. Hessian of Rosenbrock at n = 100.
6. Bytes per scalar node of micrograd's demo graph (``tracemalloc``).

Then a Targets block with PASS/MISS.

Measurement method
------------------
- Every engine computes the same numbers: the scalar models share diffkit's
  initial weights (copied into micrograd and torch), and one agreement line per
  case gives the largest difference between engines.
- Time: ``time.perf_counter`` around N calls; N is chosen from a warm-up call so a
  sample lasts >= 0.2 s (``--quick``: 0.05 s). The warm-up call is not timed (jax
  compiles there). Samples alternate between engines (the order rotates each
  round), so all share the machine's noise; 7 rounds (``--quick``: 3), the median
  per-call time is reported.
- Garbage collector ON while timing, as a user runs code. A timed call includes
  dropping its graph: diffkit frees graphs by reference counting, micrograd leaves
  cycles for the collector, which runs inside the timed samples. Between samples,
  untimed, ``gc.collect()`` empties the collector so no engine pays for another's
  garbage. The objects alive after importing every peer (torch and jax alone are
  hundreds of thousands) are moved out of the collector's sight with
  ``gc.freeze()``, so the collector's work does not depend on which peers are
  installed (it is then close to what a script importing one engine sees).
- Nodes: counted iteratively over ``_prev`` of the scalar graph (leaves included:
  weights, inputs and the constants a Python number becomes). Torch runs the same
  program, so its per-node time uses diffkit's node count.
- torch runs with its default intra-op threads (as a user runs it) and, for the
  large cases, also limited to one thread (NumPy's elementwise ops use one; on a
  busy 2-CPU machine one thread is often faster). Targets against torch use the
  faster of the two rows.
- NumPy's BLAS runs on one thread (``OPENBLAS_NUM_THREADS=1`` unless already set):
  its threads spin against each other on a small shared machine.
- Memory: ``tracemalloc`` current allocation after building the graph, minus
  before, divided by the node count (the built graph is kept alive while measured).

Run from the repository root: ``PYTHONPATH=. python scripts/bench_autodiff.py [--quick]
[--only rosenbrock ...]``.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib
import importlib.metadata
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# NumPy's OpenBLAS starts one thread per CPU and they spin against each other (and any
# other process) on a small shared machine: a 100x256 @ 256x256 product measured
# 0.3 ms on one thread, 2 to 16 ms on two. One thread unless the caller says otherwise;
# it must be set before NumPy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

import diffkit as dk
from diffkit.autodiff.nn import MLP as DkMLP
from diffkit.autodiff.value import Value as DkValue
from diffkit.studies.moons import make_moons

MOONS = 100
ALPHA = 1e-4
CHAIN = 10**5
ROSEN_BIG = 10**6
ROSEN_SMALL = 10
HESSIAN_N = 100
TANH_WIDTH = 256
TANH_BATCH = 100
SEED = 0

# ---------------------------------------------------------------------------- peers


def optional(name: str) -> Any:
    """The module ``name``, or None with a note when it is not installed."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        print(f"{name} not installed: skipped")
        return None
    return module


@dataclass
class Peers:
    micrograd_engine: Any = None
    micrograd_nn: Any = None
    torch: Any = None
    autograd: Any = None
    anp: Any = None
    jax: Any = None
    jnp: Any = None
    notes: list[str] = field(default_factory=list)


def load_peers() -> Peers:
    peers = Peers()
    if optional("micrograd") is not None:
        peers.micrograd_engine = importlib.import_module("micrograd.engine")
        peers.micrograd_nn = importlib.import_module("micrograd.nn")
    peers.torch = optional("torch")
    if optional("autograd") is not None:
        peers.autograd = importlib.import_module("autograd")
        peers.anp = importlib.import_module("autograd.numpy")
    jax = optional("jax")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)  # float64, like every other engine here
        peers.jax = jax
        peers.jnp = importlib.import_module("jax.numpy")
    return peers


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


# ---------------------------------------------------------------------------- timing


class Timer:
    """Interleaved medians: each round times every case once, in a rotating order."""

    def __init__(self, *, repeats: int, min_sample: float) -> None:
        self.repeats = repeats
        self.min_sample = min_sample

    def run(self, cases: dict[str, Callable[[], Any]]) -> dict[str, float]:
        """Median seconds per call of each case."""
        calls: dict[str, int] = {}
        for name, fn in cases.items():
            gc.collect()
            start = time.perf_counter()
            fn()  # warm-up: compiles, fills caches; not timed
            once = time.perf_counter() - start
            calls[name] = max(1, math.ceil(self.min_sample / max(once, 1e-9)))
        samples: dict[str, list[float]] = {name: [] for name in cases}
        names = list(cases)
        for r in range(self.repeats):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                fn, n = cases[name], calls[name]
                gc.collect()
                start = time.perf_counter()
                for _ in range(n):
                    fn()
                samples[name].append((time.perf_counter() - start) / n)
        return {name: statistics.median(v) for name, v in samples.items()}


# ---------------------------------------------------------------------------- printing


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    """Aligned plain-text columns; ``align`` has one 'l' or 'r' per column."""
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(cells, widths, align, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def section(title: str) -> None:
    print(f"\n== {title}")


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


@dataclass
class Target:
    name: str
    measured: str
    goal: str
    ok: bool | None  # None: could not be measured (a peer missing)


# ---------------------------------------------------------------------------- problems


def demo_loss(model: Any, points: list[list[float]], labels: list[float], leaf: Any) -> Any:
    """micrograd's demo loss, written once for any scalar engine (``leaf`` wraps an input)."""
    inputs = [[leaf(a), leaf(b)] for a, b in points]
    scores = [model(row) for row in inputs]
    losses = [(1 + -yi * si).relu() for yi, si in zip(labels, scores, strict=True)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = ALPHA * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


class TorchScalarMLP:
    """micrograd's MLP, neuron by neuron, on 0-d torch tensors (weights from another MLP)."""

    def __init__(self, torch: Any, layers: list[list[tuple[list[float], float]]]) -> None:
        def leaf(v: float) -> Any:
            return torch.tensor(v, dtype=torch.float64, requires_grad=True)

        self.layers = [[([leaf(w) for w in ws], leaf(b)) for ws, b in layer] for layer in layers]

    def __call__(self, x: list[Any]) -> Any:
        for i, layer in enumerate(self.layers):
            last = i == len(self.layers) - 1
            out = []
            for ws, b in layer:
                act = b
                for wi, xi in zip(ws, x, strict=True):
                    act = act + wi * xi
                out.append(act if last else act.relu())
            x = out
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Any]:
        return [p for layer in self.layers for ws, b in layer for p in (*ws, b)]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None


def mlp_weights(model: Any) -> list[list[tuple[list[float], float]]]:
    """(weights, bias) per neuron per layer of a micrograd-style MLP."""
    return [[([w.data for w in n.w], n.b.data) for n in layer.neurons] for layer in model.layers]


def count_nodes(root: Any) -> int:
    """Nodes reachable from root through ``_prev`` (iterative: graphs can be deep)."""
    seen = {id(root)}
    stack = [root]
    while stack:
        for child in stack.pop()._prev:
            if id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return len(seen)


def rosen_terms(x: Any) -> Any:
    return 100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2


def rosen(x: Any) -> Any:
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosen_grad_by_hand(x: np.ndarray) -> np.ndarray:
    """The Rosenbrock gradient written out (scipy.optimize.rosen_der)."""
    xm, xm_m1, xm_p1 = x[1:-1], x[:-2], x[2:]
    g = np.zeros_like(x)
    g[1:-1] = 200 * (xm - xm_m1**2) - 400 * (xm_p1 - xm**2) * xm - 2 * (1 - xm)
    g[0] = -400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0])
    g[-1] = 200 * (x[-1] - x[-2] ** 2)
    return g


def one_thread(torch: Any, fn: Callable[[], Any]) -> Callable[[], Any]:
    """fn run with torch limited to one intra-op thread (NumPy's elementwise ops use one)."""

    def run() -> Any:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn()
        finally:
            torch.set_num_threads(threads)

    return run


def fastest_torch(times: dict[str, float]) -> float | None:
    """The best time among the torch rows (default threads and one thread), if any."""
    found = [t for name, t in times.items() if name.startswith("torch")]
    return min(found) if found else None


def max_rel_diff(a: Any, b: Any) -> float:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


# ---------------------------------------------------------------------------- cases


def bench_mlp(peers: Peers, timer: Timer, targets: list[Target]) -> None:
    section(f"1. micrograd's demo: MLP(2, [16, 16, 1]), hinge + L2, {MOONS} two-moons points")
    X, y = make_moons(MOONS)
    points, labels = X.tolist(), y.tolist()
    dk_model = DkMLP(2, [16, 16, 1], rng=SEED)
    weights = mlp_weights(dk_model)
    models: dict[str, tuple[Any, Any]] = {"diffkit Value": (dk_model, DkValue)}
    if peers.micrograd_nn is not None:
        mg_model = peers.micrograd_nn.MLP(2, [16, 16, 1])
        for p, q in zip(mg_model.parameters(), dk_model.parameters(), strict=True):
            p.data = q.data
        models["micrograd"] = (mg_model, peers.micrograd_engine.Value)
    if peers.torch is not None:
        torch = peers.torch

        def torch_leaf(v: float) -> Any:
            return torch.tensor(v, dtype=torch.float64)

        models["torch 0-d"] = (TorchScalarMLP(torch, weights), torch_leaf)

    def step(model: Any, leaf: Any) -> Callable[[], Any]:
        def run() -> Any:
            model.zero_grad()
            loss = demo_loss(model, points, labels, leaf)
            loss.backward()
            return None  # the graph is dropped here, inside the timed call

        return run

    cases = {name: step(m, leaf) for name, (m, leaf) in models.items()}
    nodes: dict[str, int] = {}
    losses: dict[str, float] = {}
    for name, (m, leaf) in models.items():
        loss = demo_loss(m, points, labels, leaf)
        losses[name] = float(loss.item() if name == "torch 0-d" else loss.data)
        if name != "torch 0-d":
            nodes[name] = count_nodes(loss)
        del loss
    nodes.setdefault("torch 0-d", nodes["diffkit Value"])
    times = timer.run(cases)
    ours = times["diffkit Value"] / nodes["diffkit Value"]
    rows = []
    for name in models:
        per = times[name] / nodes[name]
        rows.append([name, f"{nodes[name]}", ms(times[name]), f"{per * 1e6:.3f}", ratio(per, ours)])
    print(
        table(
            ["engine", "nodes", "ms/step", "us/node", "per node vs diffkit"],
            rows,
            "lrrrr",
        )
    )
    spread = max(abs(v - losses["diffkit Value"]) for v in losses.values())
    print(f"loss {losses['diffkit Value']:.15f}; largest difference between engines {spread:.1e}")
    if "micrograd" in times:
        theirs = times["micrograd"] / nodes["micrograd"]
        targets.append(
            Target(
                "demo MLP: diffkit us/node <= 1/4 micrograd",
                f"{ours * 1e6:.3f} vs {theirs * 1e6:.3f} us/node = {ours / theirs:.2f}",
                "<= 0.25",
                ours / theirs <= 0.25,
            )
        )
    else:
        targets.append(Target("demo MLP: diffkit <= 1/4 micrograd", "-", "<= 0.25", None))


def bench_chain(peers: Peers, timer: Timer, targets: list[Target]) -> None:
    section(f"2. chain y = y * 1.0001 + 0.0001, {CHAIN} steps, forward + backward")
    notes: list[str] = []

    def scalar_chain(leaf: Any) -> Callable[[], Any]:
        def run() -> Any:
            x = leaf(0.5)
            y = x
            for _ in range(CHAIN):
                y = y * 1.0001 + 0.0001
            y.backward()
            return x.grad

        return run

    cases: dict[str, Callable[[], Any]] = {"diffkit Value": scalar_chain(DkValue)}

    def tensor_chain(x: Any) -> Any:
        y = x
        for _ in range(CHAIN):
            y = y * 1.0001 + 0.0001
        return y

    cases["diffkit Tensor 0-d (dk.grad)"] = lambda: dk.grad(tensor_chain)(np.float64(0.5))
    if peers.micrograd_engine is not None:
        plain = scalar_chain(peers.micrograd_engine.Value)
        limit = sys.getrecursionlimit()
        try:
            plain()
            needed = None
        except RecursionError:
            needed = 4 * CHAIN + 1000
            notes.append(
                f"micrograd: RecursionError at the default recursion limit ({limit}); "
                f"timed with sys.setrecursionlimit({needed}) around its backward only"
            )
        gc.collect()

        def micrograd_chain() -> Any:
            if needed is None:
                return plain()
            sys.setrecursionlimit(needed)
            try:
                return plain()
            finally:
                sys.setrecursionlimit(limit)

        cases["micrograd"] = micrograd_chain
    if peers.torch is not None:
        torch = peers.torch
        cases["torch 0-d"] = scalar_chain(
            lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True)
        )
    grads = {name: float(fn()) for name, fn in cases.items()}
    times = timer.run(cases)
    ours = times["diffkit Value"]
    print(
        table(
            ["engine", "ms", "vs diffkit Value"],
            [[name, ms(t), ratio(t, ours)] for name, t in times.items()],
            "lrr",
        )
    )
    spread = max(abs(v - grads["diffkit Value"]) for v in grads.values())
    print(f"dy/dx {grads['diffkit Value']:.15g}; largest difference between engines {spread:.1e}")
    for note in notes:
        print(note)
    if "micrograd" in times:
        targets.append(
            Target(
                "chain 1e5: diffkit time <= 1/4 micrograd",
                f"{ms(ours)} vs {ms(times['micrograd'])} ms = {ours / times['micrograd']:.2f}",
                "<= 0.25",
                ours / times["micrograd"] <= 0.25,
            )
        )
    else:
        targets.append(Target("chain 1e5: diffkit <= 1/4 micrograd", "-", "<= 0.25", None))


def rosen_cases(
    peers: Peers, x: np.ndarray, *, threads: bool = False
) -> tuple[dict[str, Callable[[], Any]], list[str]]:
    """Gradient of Rosenbrock at x for every engine; each case returns the gradient."""
    notes: list[str] = []
    cases: dict[str, Callable[[], Any]] = {"diffkit dk.grad": lambda: dk.grad(rosen)(x)}
    if peers.torch is not None:
        torch = peers.torch
        xt = torch.from_numpy(x.copy()).requires_grad_(True)

        def torch_grad() -> Any:
            xt.grad = None
            rosen_terms(xt).sum().backward()
            return xt.grad

        cases["torch eager"] = torch_grad
        if threads:
            cases["torch eager (1 thread)"] = one_thread(torch, torch_grad)
    if peers.autograd is not None:
        anp = peers.anp
        hips = peers.autograd.grad(lambda v: anp.sum(rosen_terms(v)))
        cases["HIPS autograd"] = lambda: hips(x)
    if peers.jax is not None:
        jax, jnp = peers.jax, peers.jnp
        xj = jnp.asarray(x)
        eager = jax.grad(lambda v: jnp.sum(rosen_terms(v)))
        jitted = jax.jit(eager)
        cases["jax grad (no jit)"] = lambda: eager(xj).block_until_ready()
        cases["jax jit(grad)"] = lambda: jitted(xj).block_until_ready()
    cases["NumPy by hand"] = lambda: rosen_grad_by_hand(x)
    return cases, notes


def bench_rosenbrock(peers: Peers, timer: Timer, targets: list[Target]) -> None:
    section(f"3. Rosenbrock gradient, plain NumPy code, n = {ROSEN_BIG} and n = {ROSEN_SMALL}")
    rng = np.random.default_rng(SEED)
    x = rng.uniform(-2.0, 2.0, ROSEN_BIG)
    cases, _ = rosen_cases(peers, x, threads=True)
    cases = {"plain f (NumPy)": lambda: rosen(x), **cases}
    reference = rosen_grad_by_hand(x)
    agreement = {
        name: max_rel_diff(np.asarray(fn()), reference)
        for name, fn in cases.items()
        if name != "plain f (NumPy)"
    }
    times = timer.run(cases)
    base = times["plain f (NumPy)"]
    rows = [
        [name, ms(t), ratio(t, base), f"{agreement[name]:.1e}" if name in agreement else ""]
        for name, t in times.items()
    ]
    print(f"n = {ROSEN_BIG}")
    print(table(["engine", "ms", "grad / f", "max rel diff vs by hand"], rows, "lrrr"))
    ours = times["diffkit dk.grad"]
    targets.append(
        Target(
            "Rosenbrock 1e6: dk.grad / plain f",
            f"{ours / base:.2f}",
            "<= 3",
            ours / base <= 3,
        )
    )
    torch_t = fastest_torch(times)
    if torch_t is not None:
        targets.append(
            Target(
                "Rosenbrock 1e6: dk.grad faster than torch eager (best row)",
                f"{ms(ours)} vs {ms(torch_t)} ms",
                "< torch",
                ours < torch_t,
            )
        )
    else:
        targets.append(Target("Rosenbrock 1e6: faster than torch eager", "-", "< torch", None))

    small = rng.uniform(-2.0, 2.0, ROSEN_SMALL)
    cases_small, _ = rosen_cases(peers, small)
    times_small = timer.run(cases_small)
    ours_small = times_small["diffkit dk.grad"]
    print(f"\nn = {ROSEN_SMALL}")
    print(
        table(
            ["engine", "us/gradient", "vs diffkit"],
            [[name, us(t), ratio(t, ours_small)] for name, t in times_small.items()],
            "lrr",
        )
    )
    targets.append(
        Target(
            "Rosenbrock n=10: dk.grad us/gradient",
            us(ours_small),
            "< 100",
            ours_small < 100e-6,
        )
    )


def bench_tanh_mlp(peers: Peers, timer: Timer, targets: list[Target]) -> None:
    w, batch = TANH_WIDTH, TANH_BATCH
    section(f"4. tanh MLP {w}-{w}-{w}-1, batch {batch}, MSE: gradient wrt all weights")
    rng = np.random.default_rng(SEED)
    shapes = [(w, w), (w,), (w, w), (w,), (w, 1), (1,)]
    params = [
        rng.normal(scale=1 / math.sqrt(s[0]), size=s) if len(s) == 2 else np.zeros(s)
        for s in shapes
    ]
    flat = np.concatenate([p.ravel() for p in params])
    bounds = np.cumsum([0] + [math.prod(s) for s in shapes])
    x = rng.normal(size=(batch, w))
    y = rng.normal(size=(batch, 1))

    def loss_of_flat(p: Any) -> Any:
        W1, b1, W2, b2, W3, b3 = (
            p[bounds[i] : bounds[i + 1]].reshape(s) for i, s in enumerate(shapes)
        )
        out = np.tanh(np.tanh(x @ W1 + b1) @ W2 + b2) @ W3 + b3
        return np.mean((out - y) ** 2)

    cases: dict[str, Callable[[], Any]] = {
        "diffkit dk.grad (flat)": lambda: dk.grad(loss_of_flat)(flat)
    }
    if peers.torch is not None:
        torch = peers.torch
        tparams = [torch.from_numpy(p.copy()).requires_grad_(True) for p in params]
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def torch_grad() -> Any:
            W1, b1, W2, b2, W3, b3 = tparams
            for p in tparams:
                p.grad = None
            out = torch.tanh(torch.tanh(xt @ W1 + b1) @ W2 + b2) @ W3 + b3
            torch.mean((out - yt) ** 2).backward()
            return torch.cat([p.grad.reshape(-1) for p in tparams])

        cases["torch eager"] = torch_grad
        cases["torch eager (1 thread)"] = one_thread(torch, torch_grad)
    if peers.autograd is not None:
        anp = peers.anp

        def loss_anp(p: Any) -> Any:
            W1, b1, W2, b2, W3, b3 = (
                p[bounds[i] : bounds[i + 1]].reshape(s) for i, s in enumerate(shapes)
            )
            out = anp.tanh(anp.tanh(x @ W1 + b1) @ W2 + b2) @ W3 + b3
            return anp.mean((out - y) ** 2)

        hips = peers.autograd.grad(loss_anp)
        cases["HIPS autograd (flat)"] = lambda: hips(flat)
    grads = {name: np.asarray(fn()) for name, fn in cases.items()}
    times = timer.run(cases)
    ours = times["diffkit dk.grad (flat)"]
    reference = grads.get("torch eager", grads["diffkit dk.grad (flat)"])
    print(
        table(
            ["engine", "ms", "vs diffkit", "max rel diff vs torch"],
            [
                [name, ms(t), ratio(t, ours), f"{max_rel_diff(grads[name], reference):.1e}"]
                for name, t in times.items()
            ],
            "lrrr",
        )
    )
    print(f"{flat.size} parameters")
    t = fastest_torch(times)
    if t is not None:
        targets.append(
            Target(
                "tanh MLP: diffkit / torch (best row)",
                f"{ms(ours)} vs {ms(t)} ms = {ours / t:.2f}",
                "<= 1.2",
                ours / t <= 1.2,
            )
        )
    else:
        targets.append(Target("tanh MLP: diffkit / torch", "-", "<= 1.2", None))


def bench_hessian(peers: Peers, timer: Timer, targets: list[Target]) -> None:
    section(f"5. Hessian of Rosenbrock, n = {HESSIAN_N}")
    x = np.random.default_rng(SEED).uniform(-2.0, 2.0, HESSIAN_N)
    cases: dict[str, Callable[[], Any]] = {"diffkit dk.hessian": lambda: dk.hessian(rosen)(x)}
    if peers.torch is not None:
        torch = peers.torch
        xt = torch.from_numpy(x.copy())

        def rosen_t(v: Any) -> Any:
            return rosen_terms(v).sum()

        hess = torch.autograd.functional.hessian
        cases["torch functional.hessian"] = lambda: hess(rosen_t, xt)
        cases["torch hessian(vectorize=True)"] = lambda: hess(rosen_t, xt, vectorize=True)
    if peers.autograd is not None:
        anp = peers.anp
        hips = peers.autograd.hessian(lambda v: anp.sum(rosen_terms(v)))
        cases["HIPS autograd.hessian"] = lambda: hips(x)
    if peers.jax is not None:
        jax, jnp = peers.jax, peers.jnp
        xj = jnp.asarray(x)
        jh = jax.hessian(lambda v: jnp.sum(rosen_terms(v)))
        cases["jax hessian (no jit)"] = lambda: jh(xj).block_until_ready()
    results = {name: np.asarray(fn()) for name, fn in cases.items()}
    times = timer.run(cases)
    ours = times["diffkit dk.hessian"]
    reference = results["diffkit dk.hessian"]
    print(
        table(
            ["engine", "ms", "vs diffkit", "max rel diff vs diffkit"],
            [
                [name, ms(t), ratio(t, ours), f"{max_rel_diff(results[name], reference):.1e}"]
                for name, t in times.items()
            ],
            "lrrr",
        )
    )
    targets.append(Target("Hessian n=100: dk.hessian ms", ms(ours), "<= 2", ours <= 2e-3))


def bench_memory(peers: Peers) -> None:
    section("6. memory per scalar node, micrograd's demo graph (tracemalloc)")
    X, y = make_moons(MOONS)
    points, labels = X.tolist(), y.tolist()
    dk_model = DkMLP(2, [16, 16, 1], rng=SEED)
    engines: dict[str, tuple[Any, Any]] = {"diffkit Value": (dk_model, DkValue)}
    if peers.micrograd_nn is not None:
        mg_model = peers.micrograd_nn.MLP(2, [16, 16, 1])
        for p, q in zip(mg_model.parameters(), dk_model.parameters(), strict=True):
            p.data = q.data
        engines["micrograd"] = (mg_model, peers.micrograd_engine.Value)
    rows = []
    for name, (model, leaf) in engines.items():
        for with_backward in (False, True):
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            loss = demo_loss(model, points, labels, leaf)
            if with_backward:
                loss.backward()
            after, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            n = count_nodes(loss)
            rows.append(
                [
                    name,
                    "build + backward" if with_backward else "build",
                    f"{n}",
                    f"{(after - before) / n:.0f}",
                    f"{(peak - before) / n:.0f}",
                ]
            )
            del loss
            model.zero_grad()
    print(table(["engine", "after", "nodes", "bytes/node", "peak bytes/node"], rows, "llrrr"))


# ---------------------------------------------------------------------------- main


CASES: dict[str, Callable[[Peers, Timer, list[Target]], None]] = {
    "mlp": bench_mlp,
    "chain": bench_chain,
    "rosenbrock": bench_rosenbrock,
    "tanh": bench_tanh_mlp,
    "hessian": bench_hessian,
    "memory": lambda peers, timer, targets: bench_memory(peers),
}


def header(args: argparse.Namespace, peers: Peers, timer: Timer) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), cpu
            )
    except OSError:
        pass
    versions = [f"diffkit {dk.__version__}", f"numpy {np.__version__}"]
    for dist, present in (
        ("micrograd", peers.micrograd_engine),
        ("torch", peers.torch),
        ("autograd", peers.autograd),
        ("jax", peers.jax),
    ):
        versions.append(f"{dist} {version(dist) if present is not None else '-'}")
    threads = f"torch threads {peers.torch.get_num_threads()}" if peers.torch else ""
    return "\n".join(
        [
            "diffkit reverse-mode benchmark (scripts/bench_autodiff.py)",
            f"date      {datetime.date.today().isoformat()}",
            f"machine   {platform.platform()}, {cpu}, {os.cpu_count()} CPUs {threads}".rstrip(),
            f"load      {' '.join(f'{v:.2f}' for v in os.getloadavg())} (1, 5, 15 min averages "
            "at start: other processes share the CPUs)",
            f"python    {platform.python_implementation()} {platform.python_version()}",
            f"versions  {', '.join(versions)}",
            f"timing    time.perf_counter, gc ON; N calls per sample (from a warm-up call, "
            f">= {timer.min_sample * 1e3:g} ms); median of {timer.repeats} samples, engines "
            "interleaved in rotating order; gc.collect() untimed between samples; "
            "startup objects gc.freeze()d" + (" (--quick)" if args.quick else ""),
            f"threads   OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')} (NumPy's "
            "BLAS: diffkit, HIPS autograd, by hand); torch rows at default threads and at 1",
            "precision float64 everywhere (jax with jax_enable_x64)",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 samples of >= 50 ms, not 7 of >= 200 ms"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=sorted(CASES),
        metavar="CASE",
        help=f"run only these cases ({', '.join(sorted(CASES))}); default: all",
    )
    args = parser.parse_args(argv)
    peers = load_peers()
    timer = Timer(repeats=3, min_sample=0.05) if args.quick else Timer(repeats=7, min_sample=0.2)
    gc.collect()
    gc.freeze()
    print(header(args, peers, timer))
    targets: list[Target] = []
    started = time.perf_counter()
    for name, bench in CASES.items():
        if args.only is None or name in args.only:
            bench(peers, timer, targets)
    section("Targets")
    print(
        table(
            ["target", "measured", "goal", "result"],
            [
                [t.name, t.measured, t.goal, "-" if t.ok is None else ("PASS" if t.ok else "MISS")]
                for t in targets
            ],
            "lrrl",
        )
    )
    missed = sum(t.ok is False for t in targets)
    print(f"\n{len(targets) - missed} of {len(targets)} targets met; {missed} missed")
    print(f"total {time.perf_counter() - started:.0f} s")
    gc.unfreeze()
    return 0


if __name__ == "__main__":
    sys.exit(main())
