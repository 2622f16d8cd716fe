"""The array-level table in reverse mode: a NumPy call on tensors becomes one node.

A composite row runs on the tensors themselves (its inner calls become nodes); a
passive one on their data; a recorded one is bound, computed on the data, and
recorded with the row's VJP as the node's. A row with several outputs (``eigh``'s
eigenvalues and eigenvectors) is one node whose value packs them, flattened, one
after another; the outputs the user sees are slices of it, so the backward pass
hands the row's VJP one cotangent per output, zeros for the unused ones.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..arrays import ArrayRule, UnsupportedOption, display_name, rule_for, shape_of
from . import tensor as _tensor

__all__ = ["call", "call_function", "unsupported"]


class _Packed:
    """The parameters of a packed node: the row, its parameters, the outputs' shapes."""

    __slots__ = ("params", "rule", "shapes")

    def __init__(
        self, rule: ArrayRule, params: dict[str, Any], shapes: list[tuple[int, ...]]
    ) -> None:
        self.rule, self.params, self.shapes = rule, params, shapes


def _split(packed: Any, shapes: list[tuple[int, ...]], batch: int) -> tuple[Any, ...]:
    lead = shape_of(packed)[:batch]
    parts, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        parts.append(np.reshape(packed[(..., slice(start, start + size))], lead + shape))
        start += size
    return tuple(parts)


def _packed_vjp(
    g: Any, args: tuple[Any, ...], out: Any, kw: _Packed, needs: tuple[bool, ...], batch: int
) -> tuple[Any, ...]:
    gs = _split(g, kw.shapes, batch)
    outs = _split(out, kw.shapes, 0)
    assert kw.rule.vjp is not None
    return kw.rule.vjp(gs, args, outs, kw.params, needs, batch)


def unsupported(what: str, *, symbolic: bool = False) -> _tensor.UnsupportedOperationError:
    """The error for a call reverse mode cannot differentiate, naming who can."""
    others = '"fd" (finite differences)' + (' or "symbolic"' if symbolic else "")
    return _tensor.UnsupportedOperationError(
        f"reverse mode cannot differentiate {what}; backends that can: {others}"
    )


def _refused(rule: ArrayRule, exc: UnsupportedOption) -> _tensor.UnsupportedOperationError:
    return unsupported(str(exc) or rule.name)


def call(rule: ArrayRule, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``rule`` applied to arguments that may hold tensors: a node, or the plain result."""
    if rule.composite is not None:
        try:
            return rule.composite(*args, **kwargs)
        except UnsupportedOption as exc:
            raise _refused(rule, exc) from None
    if rule.passive:
        raw_args = [_tensor.plain(a) for a in args]
        return rule.functions[0](*raw_args, **{k: _tensor.plain(v) for k, v in kwargs.items()})
    bind, forward = rule.bind, rule.forward
    assert bind is not None
    assert forward is not None
    try:
        arrays, params = bind(*args, **kwargs)
    except UnsupportedOption as exc:
        raise _refused(rule, exc) from None
    Tensor = _tensor.Tensor
    traced = False
    raw = []
    for a in arrays:  # a loop, not any(...) and a comprehension: sum(x) is this hot
        if isinstance(a, Tensor):
            traced = True
            raw.append(a.data)
        else:
            raw.append(a)
    data = forward(*raw, **params)
    if not traced:
        return rule.result(data) if isinstance(data, tuple) and rule.result else data
    assert rule.vjp is not None
    if not isinstance(data, tuple):
        return Tensor._record(data, rule.name, rule.vjp, arrays, params, rule.saves)
    shapes = [np.shape(d) for d in data]
    packed = np.concatenate([np.ravel(d) for d in data]) if data else np.empty(0)
    node = Tensor._record(packed, rule.name, _packed_vjp, arrays, _Packed(rule, params, shapes))
    outputs = _split(node, shapes, 0)
    return rule.result(outputs) if rule.result else outputs


def call_function(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A NumPy function (or gufunc) called on tensors, through its row of the table."""
    rule = rule_for(func)
    if rule is None:
        raise unsupported(f"{display_name(func)} (not in diffkit's table of NumPy functions)")
    return call(rule, args, kwargs)
