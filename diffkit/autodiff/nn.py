"""micrograd's tiny neural-network library (Neuron, Layer, MLP) on scalar ``Value`` nodes,
and the same model on tensors (Dense, TensorMLP) for real batch sizes.

The classes keep micrograd's shape, signatures and reprs, so its training demo runs
as written; two things differ. Weights come from a NumPy ``Generator`` (an int is a
seed, 0 by default), so a model is the same on every run, where micrograd draws from
the global ``random`` module. And ``Module`` is generic in its parameter type and
holds no scalar assumptions beyond ``zero_grad``, so a tensor-valued layer can be
added beside these classes without touching them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from .tensor import Tensor
from .value import Value

__all__ = ["MLP", "Dense", "Layer", "Module", "Neuron", "Parameter", "TensorMLP", "as_generator"]


class Parameter(Protocol):
    """What a Module's parameter needs for ``zero_grad``: a settable ``grad``."""

    data: Any
    grad: Any


P = TypeVar("P", bound=Parameter)
RngLike = np.random.Generator | int


class Module(Generic[P]):
    """Anything with parameters: ``parameters()`` lists them, ``zero_grad()`` resets them."""

    def parameters(self) -> list[P]:
        return []

    def zero_grad(self) -> None:
        """Set every parameter's ``grad`` to 0; ``backward()`` accumulates, so call it each step."""
        for p in self.parameters():
            p.grad = 0.0


def as_generator(rng: RngLike) -> np.random.Generator:
    """``rng`` itself if it is a Generator, else a new one seeded with the int ``rng``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, int | np.integer):
        raise TypeError(f"rng must be a numpy.random.Generator or an int seed, got {rng!r}")
    return np.random.default_rng(int(rng))


class Neuron(Module[Value]):
    """relu(w . x + b), or w . x + b when ``nonlin`` is False; w ~ U(-1, 1), b = 0."""

    def __init__(self, nin: int, nonlin: bool = True, *, rng: RngLike = 0) -> None:
        # tolist(): Python floats, not np.float64, keep Value on its math fast path.
        weights = as_generator(rng).uniform(-1.0, 1.0, size=nin).tolist()
        self.w = [Value(w) for w in weights]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence[Value | float]) -> Value:
        act = self.b
        for wi, xi in zip(self.w, x, strict=True):
            act = act + wi * xi  # the graph of micrograd's sum(..., self.b)
        return act.relu() if self.nonlin else act

    def parameters(self) -> list[Value]:
        return [*self.w, self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module[Value]):
    """``nout`` neurons reading the same ``nin`` inputs; keyword options go to each Neuron."""

    def __init__(self, nin: int, nout: int, *, rng: RngLike = 0, **kwargs: Any) -> None:
        generator = as_generator(rng)
        self.neurons = [Neuron(nin, rng=generator, **kwargs) for _ in range(nout)]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module[Value]):
    """Layers of sizes ``nin -> nouts[0] -> ... -> nouts[-1]``, ReLU but for the last."""

    def __init__(self, nin: int, nouts: Sequence[int], *, rng: RngLike = 0) -> None:
        generator = as_generator(rng)
        sizes = [nin, *nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], rng=generator, nonlin=i != len(nouts) - 1)
            for i in range(len(nouts))
        ]

    def __call__(self, x: Sequence[Value | float]) -> Value | list[Value]:
        out: Any = x
        for layer in self.layers:
            out = layer(out)
        return out

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


class Dense(Module[Tensor]):
    """A whole layer as one matrix product: ``act(x @ W + b)`` on a batch of rows.

    The same model as ``Layer`` (weights U(-1, 1), zero bias, ReLU unless ``nonlin``
    is False), but one node per operation instead of one per scalar: a batch of 100
    points through a 16-unit layer is three nodes, not thousands.
    """

    def __init__(self, nin: int, nout: int, *, nonlin: bool = True, rng: RngLike = 0) -> None:
        self.W = Tensor(as_generator(rng).uniform(-1.0, 1.0, size=(nin, nout)), label="W")
        self.b = Tensor(np.zeros(nout), label="b")
        self.nonlin = nonlin

    def __call__(self, x: Any) -> Any:
        act = x @ self.W + self.b
        return np.maximum(act, 0.0) if self.nonlin else act

    def parameters(self) -> list[Tensor]:
        return [self.W, self.b]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def __repr__(self) -> str:
        nin, nout = self.W.shape
        return f"Dense({nin}, {nout}, {'ReLU' if self.nonlin else 'Linear'})"


class TensorMLP(Module[Tensor]):
    """``MLP`` on tensors: a batch of inputs (rows) at once, the fast way to train."""

    def __init__(self, nin: int, nouts: Sequence[int], *, rng: RngLike = 0) -> None:
        generator = as_generator(rng)
        sizes = [nin, *nouts]
        self.layers = [
            Dense(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 1, rng=generator)
            for i in range(len(nouts))
        ]

    def __call__(self, x: Any) -> Any:
        out = x
        for layer in self.layers:
            out = layer(out)
        return out

    def parameters(self) -> list[Tensor]:
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def __repr__(self) -> str:
        return f"TensorMLP of [{', '.join(str(layer) for layer in self.layers)}]"
