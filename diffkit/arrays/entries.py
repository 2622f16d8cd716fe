"""Opaque nodes: an array function the tracer keeps as one SymPy node per entry of its output.

``inv``, ``eigh`` or a maximum over ten thousand entries have no closed form SymPy
could differentiate at a useful size. The tracer keeps such a call as a *family* of
SymPy functions, ``entry_k(inputs...)`` for every entry ``k`` of the (flattened,
packed) outputs, all sharing the same inputs. What SymPy needs of them comes from the
row of the array-level table:

- the partials (``fdiff``): the row's VJP run on the tracer's symbolic arrays with a
  one-hot cotangent per output entry, so ``d inv(A)_ij / d A_kl`` is the expression
  ``-inv(A)_ik inv(A)_lj`` in entries of the same family, and Hessians follow;
- values in NumPy (``numpy_call``, what compiled programs call, once per family and
  vectorized over points) and at 50 digits in mpmath (``mpmath_call``, the ground truth).

The partials need the tracer, which sits above this module: it registers itself with
``set_partials_provider`` when imported (an entry only exists once the tracer made it).
"""

from __future__ import annotations

import itertools
import math
import re
import weakref
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import mpmath
import numpy as np
import sympy

from .rule import ArrayRule

__all__ = [
    "ArrayEntry",
    "Inputs",
    "entries_of",
    "family",
    "is_entry",
    "opaque_call",
    "set_partials_provider",
]

Shapes = tuple[tuple[int, ...], ...]
_counter = itertools.count()
_FAMILIES: dict[tuple[Any, ...], type[ArrayEntry]] = {}
_INTERNED: weakref.WeakValueDictionary[tuple[Any, ...], Inputs] = weakref.WeakValueDictionary()
_PROVIDER: list[Callable[[type[ArrayEntry], Inputs], np.ndarray]] = []


def set_partials_provider(
    provider: Callable[[type[ArrayEntry], Inputs], np.ndarray],
) -> None:
    """Register what computes a family's Jacobian (n_outputs, n_inputs) at symbolic inputs."""
    _PROVIDER[:] = [provider]


class Inputs(sympy.Tuple):
    """The inputs of one opaque call, one object shared by all its entries.

    Every entry of a maximum over ten thousand numbers reads all of them; as separate
    arguments that would be ten thousand references per entry. Packed, an entry has
    two arguments (its index and this tuple), and what depends on the inputs (their
    free symbols) is found once.
    """

    def __new__(cls, *args: Any) -> Inputs:
        # One object per list of inputs: entries of calls on the same inputs (a maximum
        # and its tie shares) then compare their inputs by identity, not element by element.
        key = (
            tuple(sympy.sympify(a) for a in args)
            if not all(isinstance(a, sympy.Basic) for a in args)
            else args
        )
        found = _INTERNED.get(key)
        if found is None:
            found = super().__new__(cls, *key)
            _INTERNED[key] = found
        return found

    def __hash__(self) -> int:
        # SymPy's Tuple hashes all its arguments on every call; a dictionary lookup of one
        # of ten thousand entries would do that each time
        found: int | None = self.__dict__.get("_hash")
        if found is None:
            found = self.__dict__["_hash"] = hash(self.args)
        return found

    def __eq__(self, other: object) -> bool:
        return self is other or super().__eq__(other)

    @property
    def free_symbols(self) -> set[sympy.Basic]:
        # a set, as SymPy's own (Derivative checks ``isinstance(..., set)``), cached: an
        # entry of a 100x100 max is asked once per entry, and a copy would cost n^2
        found: set[sympy.Basic] | None = self.__dict__.get("_free")
        if found is None:
            found = self.__dict__["_free"] = set().union(*(a.free_symbols for a in self.args))
        return found


class ArrayEntry(sympy.Function):
    """Entry ``args[0]`` of the packed outputs of one opaque call at inputs ``args[1]``.

    Subclasses (one per family: rule, parameters, input shapes) are made by ``family``.
    """

    rule: ArrayRule
    params: tuple[tuple[str, Any], ...]
    input_shapes: Shapes
    output_shapes: Shapes
    # every row's outputs are real numbers at real inputs; saying so spares SymPy's
    # assumption system a walk over thousands of arguments
    is_commutative = True
    is_extended_real = True

    @classmethod
    def eval(cls, *args: Any) -> None:
        return None  # always kept as it is: the point of an opaque node

    @property
    def index(self) -> int:
        return int(self.args[0])

    @property
    def inputs(self) -> tuple[sympy.Expr, ...]:
        return tuple(self.args[1].args)

    @property
    def free_symbols(self) -> set[sympy.Basic]:
        return self.args[1].free_symbols

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return sympy.S.Zero  # the index; the inputs are differentiated in _eval_derivative

    def _eval_derivative(self, s: sympy.Symbol) -> sympy.Expr:
        """The chain rule over the packed inputs (SymPy's would differentiate the tuple)."""
        inputs = self.inputs
        if s not in self.free_symbols:
            return sympy.S.Zero
        row = partials(type(self), self.args[1])[self.index]  # type: ignore[arg-type]
        terms = [row[j] * a.diff(s) for j, a in enumerate(inputs) if s in a.free_symbols]
        return sympy.Add(*terms)

    def _eval_evalf(self, prec: int) -> sympy.Expr | None:
        inputs = self.inputs
        if any(a.free_symbols for a in inputs):
            return None
        with mpmath.workprec(prec):
            values = type(self).mpmath_call(*[mpmath.mpf(a.evalf(prec)) for a in inputs])
            value = values[self.index]
        return sympy.Float(value, precision=prec)

    # ------------------------------------------------------------------ evaluation

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        return dict(cls.params)

    @classmethod
    def numpy_call(cls, *flat: Any) -> np.ndarray:
        """The packed outputs at NumPy inputs: each argument an array over the points (or a
        number), the result of shape (*points, total outputs)."""
        arrays = np.broadcast_arrays(*[np.asarray(v, dtype=float) for v in flat])
        points = arrays[0].shape if arrays else ()
        stacked = np.stack(arrays, axis=-1) if arrays else np.empty((*points, 0))
        inputs, start = [], 0
        for shape in cls.input_shapes:
            size = math.prod(shape)
            inputs.append(stacked[..., start : start + size].reshape(points + shape))
            start += size
        with np.errstate(all="ignore"):
            forward = cls.rule.forward
            assert forward is not None  # an opaque family is made only of a recorded rule
            outputs = _as_tuple(forward(*inputs, **cls.parameters()))
        return (
            np.concatenate([np.reshape(o, (*points, -1)) for o in outputs], axis=-1)
            if outputs
            else np.empty((*points, 0))
        )

    @classmethod
    def mpmath_call(cls, *flat: Any) -> tuple[Any, ...]:
        """The packed outputs at mpmath numbers, at the working precision (cached)."""
        return _mpmath_outputs(cls, tuple(flat), mpmath.mp.prec)  # type: ignore[arg-type]


@lru_cache(maxsize=4096)
def _mpmath_outputs(cls: type[ArrayEntry], flat: tuple[Any, ...], prec: int) -> tuple[Any, ...]:
    if cls.rule.mpmath is None:
        raise NotImplementedError(f"{cls.rule.name} has no 50-digit evaluation")
    inputs, start = [], 0
    for shape in cls.input_shapes:
        size = math.prod(shape)
        block = np.empty(size, dtype=object)
        block[:] = list(flat[start : start + size])
        inputs.append(block.reshape(shape))
        start += size
    outputs = _as_tuple(cls.rule.mpmath(*inputs, **cls.parameters()))
    return tuple(v for o in outputs for v in np.asarray(o, dtype=object).reshape(-1))


@lru_cache(maxsize=1024)
def partials(cls: type[ArrayEntry], inputs: Inputs) -> np.ndarray:
    """The Jacobian of one opaque call, (total outputs, total inputs), as SymPy expressions."""
    if not _PROVIDER:
        raise RuntimeError("the symbolic tracer (diffkit.symbolic) was not imported")
    return _PROVIDER[0](cls, inputs)


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def _hashable(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, np.ndarray):
        return ("array", value.shape, tuple(value.ravel().tolist()))
    return value


def family(rule: ArrayRule, params: dict[str, Any], input_shapes: Shapes) -> type[ArrayEntry]:
    """The SymPy function class for calls of ``rule`` with ``params`` on inputs of these shapes."""
    frozen = tuple(sorted((k, _hashable(v)) for k, v in params.items()))
    key = (rule.name, frozen, input_shapes)
    found = _FAMILIES.get(key)
    if found is None:
        if rule.shapes is None:
            raise TypeError(f"{rule.name} has no output shapes for the tracer")
        short = re.sub(r"\W", "_", rule.name.removeprefix("np."))
        found = type(
            f"{short}_{next(_counter)}",
            (ArrayEntry,),
            {
                "rule": rule,
                "params": frozen,
                "input_shapes": input_shapes,
                "output_shapes": tuple(rule.shapes(input_shapes, **params)),
            },
        )
        _FAMILIES[key] = found
    return found


def is_entry(expr: Any) -> bool:
    return isinstance(expr, ArrayEntry)


def opaque_call(
    rule: ArrayRule, inputs: Sequence[np.ndarray], params: dict[str, Any]
) -> tuple[np.ndarray, ...]:
    """One opaque call on object arrays of SymPy expressions: its outputs as object arrays
    of entries (a tuple, one per output of the row)."""
    arrays = [np.asarray(a, dtype=object) for a in inputs]
    cls = family(rule, params, tuple(a.shape for a in arrays))
    packed = Inputs(*(v for a in arrays for v in a.reshape(-1)))
    return entries_of(cls, packed)


def entries_of(cls: type[ArrayEntry], packed: Inputs) -> tuple[np.ndarray, ...]:
    """Every entry of the call of ``cls`` at ``packed``, as object arrays of the output shapes."""
    outputs, k = [], 0
    for shape in cls.output_shapes:
        size = math.prod(shape)
        block = np.empty(size, dtype=object)
        # the node as SymPy would build it, without its argument checks (thousands of entries)
        block[:] = [sympy.Basic.__new__(cls, sympy.Integer(k + i), packed) for i in range(size)]
        outputs.append(block.reshape(shape))
        k += size
    return tuple(outputs)
