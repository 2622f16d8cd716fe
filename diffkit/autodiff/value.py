"""A micrograd-compatible scalar ``Value``: one float, its gradient, and how it was made.

The classic examples (Karpathy's micrograd lecture and the articles built on it) run
unchanged: ``Value(data, _children=(), _op='', label='')`` with ``data``, ``grad``,
``_prev``, ``_op``, ``label``, arithmetic with Python numbers on either side,
``exp``/``log``/``tanh``/``relu``/``sigmoid`` and ``backward()``. What differs is
underneath, and chosen for speed and determinism:

- No second table of derivative rules: every node takes its forward value from the
  primitive's ``scalar`` column and its local partial derivatives from the
  ``partials`` column of ``diffkit.ops``, evaluated once at forward time and stored
  beside the children. A node holds no closure over itself, so a graph has no
  reference cycles and is freed by reference counting the moment it is dropped
  (micrograd's ``_backward`` closures make every graph a cycle that waits for the
  garbage collector).
- ``_prev`` is a tuple in argument order, not a set, so gradients are summed in the
  same order on every run and the last bits do not vary. It is read-only: a node
  keeps its (at most two) children and their partials in slots and builds the
  ``_prev`` and ``_partials`` tuples on request, which makes each node a single
  object for the garbage collector to track (see ``__slots__``).
- ``backward()`` is iterative. Every node records a creation number, and children are
  always created before their parents, so sorting the reachable nodes by that number
  is a topological order, with no recursion (a chain of a million nodes is fine at
  the default recursion limit).
- Subtraction, division and negation are one node each (micrograd spells them as
  ``a + (-b)``, ``a * b**-1`` and ``a * -1``); a Python number operand becomes a leaf
  ``Value``, as in micrograd, so drawn graphs show it.
"""

from __future__ import annotations

import itertools
from operator import attrgetter
from typing import Any

import numpy as np

from diffkit import ops

__all__ = ["Value"]

_ADD = ops.get("add").partials
_SUBTRACT = ops.get("subtract").partials
_MULTIPLY = ops.get("multiply").partials
_DIVIDE = ops.get("divide").partials
_NEGATIVE = ops.get("negative").partials
_POWER = ops.get("power").partials
_EXP = ops.get("exp")
_LOG = ops.get("log")
_TANH = ops.get("tanh")
_RELU = ops.get("relu")
_SIGMOID = ops.get("sigmoid")

# Creation numbers: a child always gets a smaller one than its parents (see backward()).
_creation_numbers = itertools.count()
_by_creation = attrgetter("_order")


class Value:
    """A scalar node of a computation graph, with micrograd's attributes and operators."""

    # Up to two children and their partials live in slots (_a, _b, _da, _db), and
    # _prev / _partials are tuples built on demand: a node is then one object the
    # garbage collector tracks instead of two (the node and its children tuple). On
    # micrograd's demo with the collector on, that cut build + backward from 3.7 to
    # 1.0 us per node: full collections, triggered by surviving tracked objects and
    # costing time per tracked object, dominate a large graph's build.
    __slots__ = ("__weakref__", "_a", "_b", "_da", "_db", "_op", "_order", "data", "grad", "label")

    data: float
    grad: float
    label: str
    _op: str
    _a: Value | None
    _b: Value | None
    _da: float
    _db: float
    _order: int

    def __init__(
        self,
        data: float,
        _children: tuple[Value, ...] = (),
        _op: str = "",
        label: str = "",
        _partials: tuple[float, ...] = (),
    ) -> None:
        # _partials (d self / d child, one per child) is set by the operators; a node
        # built by hand with children but no partials passes no gradient on, like a
        # micrograd node whose _backward was never set.
        if isinstance(data, np.generic):
            data = data.item()  # np.float64 -> float: keeps ops.py's math fast paths
        self.data = data
        self.grad = 0.0
        self._op = _op
        self.label = label
        self._order = next(_creation_numbers)
        n = len(_children)
        if n > 2:
            raise ValueError(f"a Value has at most two children, got {n}")
        if _partials and len(_partials) != n:
            raise ValueError(f"{n} children need {n} partials, got {len(_partials)}")
        da, db = (*_partials, 0.0, 0.0)[:2]
        if n == 0:
            self._a = self._b = None
        elif n == 1:
            (self._a,) = _children
            self._b = None
        else:
            self._a, self._b = _children
        self._da = da
        self._db = db

    @property
    def _prev(self) -> tuple[Value, ...]:
        """The children, in argument order (micrograd: a set)."""
        a = self._a
        if a is None:
            return ()
        b = self._b
        return (a,) if b is None else (a, b)

    @property
    def _partials(self) -> tuple[float, ...]:
        """d self / d child for each child of ``_prev``, computed at forward time."""
        return (self._da, self._db)[: len(self._prev)]

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"

    # ------------------------------------------------------------------ operators

    def __add__(self, other: Value | float) -> Value:
        if not isinstance(other, Value):
            other = Value(other)
        a = self.data
        b = other.data
        out = a + b
        return _binary(out, self, other, "+", _ADD(a, b, out))

    def __radd__(self, other: float) -> Value:
        return Value(other) + self

    def __sub__(self, other: Value | float) -> Value:
        if not isinstance(other, Value):
            other = Value(other)
        a = self.data
        b = other.data
        out = a - b
        return _binary(out, self, other, "-", _SUBTRACT(a, b, out))

    def __rsub__(self, other: float) -> Value:
        return Value(other) - self

    def __mul__(self, other: Value | float) -> Value:
        if not isinstance(other, Value):
            other = Value(other)
        a = self.data
        b = other.data
        out = a * b
        return _binary(out, self, other, "*", _MULTIPLY(a, b, out))

    def __rmul__(self, other: float) -> Value:
        return Value(other) * self

    def __truediv__(self, other: Value | float) -> Value:
        if not isinstance(other, Value):
            other = Value(other)
        a = self.data
        b = other.data
        out = a / b
        return _binary(out, self, other, "/", _DIVIDE(a, b, out))

    def __rtruediv__(self, other: float) -> Value:
        return Value(other) / self

    def __neg__(self) -> Value:
        a = self.data
        out = -a
        return _unary(out, self, "neg", _NEGATIVE(a, out)[0])

    def __pow__(self, other: Value | float) -> Value:
        """``self ** other``; a number exponent is a constant (micrograd's ``**k`` node)."""
        a = self.data
        if isinstance(other, Value):
            b = other.data
            out = _real_power(a, b)
            return _binary(out, self, other, "**", _POWER(a, b, out))
        out = _real_power(a, other)
        return _unary(out, self, f"**{other}", _POWER(a, other, out)[0])

    def __rpow__(self, other: float) -> Value:
        return Value(other) ** self

    # ----------------------------------------------------------- elementary functions

    def exp(self) -> Value:
        return self._apply(_EXP, "exp")

    def log(self) -> Value:
        return self._apply(_LOG, "log")

    def tanh(self) -> Value:
        """tanh, exact to the last bit and without overflow for any |x| (math.tanh)."""
        return self._apply(_TANH, "tanh")

    def relu(self) -> Value:
        """max(x, 0), with derivative 0 at the kink (micrograd's and ops.py's convention)."""
        return self._apply(_RELU, "ReLU")

    def sigmoid(self) -> Value:
        """1 / (1 + e^-x), computed so that neither tail overflows nor cancels."""
        return self._apply(_SIGMOID, "sigmoid")

    def _apply(self, row: ops.Primitive, op: str) -> Value:
        scalar = row.scalar
        if scalar is None:  # pragma: no cover - every row used above has one
            raise TypeError(f"primitive {row.name!r} has no scalar implementation")
        x = self.data
        try:
            out = scalar(x)
        except (ValueError, OverflowError) as err:
            raise type(err)(f"{row.name}({x!r}): {err}") from None
        return _unary(out, self, op, row.partials(x, out)[0])

    # ------------------------------------------------------------------- backward

    def backward(self) -> None:
        """Add d self / d node to ``node.grad`` for every node this one depends on.

        As in micrograd, ``self.grad`` is set to 1 and every other gradient is
        *accumulated*, never reset: call ``backward()`` twice, or on two outputs that
        share inputs, and the contributions add up. Zero the leaves' ``grad`` first
        (``Module.zero_grad()`` in ``diffkit.autodiff.nn``) when that is not wanted.
        """
        seen = {self}
        stack = [self]
        push = stack.append
        pop = stack.pop
        mark = seen.add
        while stack:
            node = pop()
            a = node._a
            if a is not None:
                if a not in seen:
                    mark(a)
                    push(a)
                b = node._b
                if b is not None and b not in seen:
                    mark(b)
                    push(b)
        self.grad = 1.0
        for node in sorted(seen, key=_by_creation, reverse=True):
            a = node._a
            if a is not None:
                grad = node.grad
                a.grad += node._da * grad
                b = node._b
                if b is not None:
                    b.grad += node._db * grad


_new_value = object.__new__


def _unary(data: Any, a: Value, op: str, da: Any) -> Value:
    """A node with one child, without __init__'s checks (the operators' fast path)."""
    node: Value = _new_value(Value)
    node.data = data
    node.grad = 0.0
    node._a = a
    node._b = None
    node._da = da
    node._db = 0.0
    node._op = op
    node.label = ""
    node._order = next(_creation_numbers)
    return node


def _binary(data: Any, a: Value, b: Value, op: str, partials: tuple[Any, Any]) -> Value:
    """A node with two children, without __init__'s checks (the operators' fast path)."""
    node: Value = _new_value(Value)
    node.data = data
    node.grad = 0.0
    node._a = a
    node._b = b
    node._da, node._db = partials
    node._op = op
    node.label = ""
    node._order = next(_creation_numbers)
    return node


def _real_power(a: Any, b: Any) -> Any:
    # Python's ** turns a negative base and a fractional exponent into a complex number;
    # a real-valued graph cannot carry it, so say so instead.
    out = a**b
    if type(out) is complex:
        raise ValueError(
            f"{a!r} ** {b!r} is not a real number (negative base, fractional exponent)"
        )
    return out
