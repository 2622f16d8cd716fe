"""The partials of the tracer's opaque nodes: the row's own VJP, run on symbols.

For one call of an opaque row (``inv`` of one matrix, the maximum of one lane), the
whole Jacobian comes from one pass of the row's VJP over symbolic arrays: the inputs
are the call's symbols, the outputs its entries, and the cotangent the identity over
all output entries (a batch of one-hot cotangents). So ``d inv(A)_ij / d A_kl`` is
``-inv(A)_ik inv(A)_lj`` in entries of the same call, exactly what reverse mode
computes numerically, and second derivatives differentiate those entries in turn.
"""

from __future__ import annotations

import math

import numpy as np
import sympy

from ..arrays import entries
from .tracer import SymbolicArray, lift

__all__ = ["call_jacobian"]


def _split(flat: list[sympy.Expr], shapes: tuple[tuple[int, ...], ...]) -> list[np.ndarray]:
    parts, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        block = np.empty(size, dtype=object)
        block[:] = flat[start : start + size]
        parts.append(block.reshape(shape))
        start += size
    return parts


def call_jacobian(cls: type[entries.ArrayEntry], packed: entries.Inputs) -> np.ndarray:
    """d (every output entry) / d (every input entry) of one opaque call, shape (outputs, inputs)."""
    rule = cls.rule
    inputs = list(packed.args)
    total = sum(math.prod(s) for s in cls.output_shapes)
    if rule.jacobian is not None:  # piecewise constant: another opaque row computes it
        (block,) = entries.opaque_call(
            rule.jacobian, [np.asarray(inputs, dtype=object)], cls.parameters()
        )
        return np.asarray(block, dtype=object).reshape(total, len(inputs))
    if rule.constant_jacobian:
        return np.full((total, len(inputs)), sympy.S.Zero, dtype=object)
    arrays = tuple(SymbolicArray(a) for a in _split(inputs, cls.input_shapes))
    values = [v for o in entries.entries_of(cls, packed) for v in o.reshape(-1)]
    outs = [SymbolicArray(o) for o in _split(values, cls.output_shapes)]
    seeds, start = [], 0
    for shape in cls.output_shapes:
        size = math.prod(shape)
        block = np.zeros((total, size))
        block[start : start + size, :] = np.eye(size)
        seeds.append(block.reshape((total, *shape)))
        start += size
    several = len(outs) > 1
    assert rule.vjp is not None
    cotangents = rule.vjp(
        tuple(seeds) if several else seeds[0],
        arrays,
        tuple(outs) if several else outs[0],
        cls.parameters(),
        (True,) * len(arrays),
        1,
    )
    columns = []
    for ct, shape in zip(cotangents, cls.input_shapes, strict=True):
        size = math.prod(shape)
        if ct is None:
            columns.append(np.full((total, size), sympy.S.Zero, dtype=object))
            continue
        block = lift(ct)
        block = np.broadcast_to(np.asarray(block, dtype=object), (total, *shape))
        columns.append(block.reshape(total, size))
    return np.concatenate(columns, axis=1)


entries.set_partials_provider(call_jacobian)
