"""The array-level table in the tracer: a NumPy call on symbols becomes SymPy expressions.

The same rows reverse mode reads (``diffkit.arrays``): a composite runs on the
symbolic arrays themselves; a recorded row is bound and built by its ``symbolic``
construction on object arrays of expressions (or by ``forward``, which shape
functions can run on object arrays as on numbers); an opaque one becomes entries of
one SymPy node per call (``diffkit.arrays.entries``). A passive row that reads only
shapes runs on stand-ins; one that reads values has nothing to read here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..arrays import ArrayRule, UnsupportedOption, display_name, rule_for
from .tracer import SymbolicArray, lift, unsupported, wrap

__all__ = ["call", "call_function"]


def _wrapped(rule: ArrayRule, result: Any) -> Any:
    if isinstance(result, tuple):
        outputs = tuple(wrap(r) for r in result)
        return rule.result(outputs) if rule.result else outputs
    if isinstance(result, list):
        return [wrap(r) for r in result]
    return wrap(result)


def _stand_in(value: Any) -> Any:
    """What a shape-only function may read of a symbolic array: an array of its shape."""
    if isinstance(value, SymbolicArray):
        return np.zeros(value.shape)
    return value


def _passive(rule: ArrayRule, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if not rule.shape_only:
        raise unsupported(
            f"{rule.name} of a symbolic value (it reads the values, which a traced function "
            "does not have)",
            reverse=True,
        )
    return rule.functions[0](*[_stand_in(a) for a in args], **kwargs)


def call(rule: ArrayRule, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``rule`` applied to arguments that may hold symbolic arrays."""
    try:
        if rule.composite is not None:
            return rule.composite(*args, **kwargs)
        if rule.passive:
            return _passive(rule, args, kwargs)
        assert rule.bind is not None
        assert rule.forward is not None
        arrays, params = rule.bind(*args, **kwargs)
        conditions = rule.conditions
        lifted = [lift(a, numeric=i not in conditions) for i, a in enumerate(arrays)]
        build = rule.symbolic if rule.symbolic is not None else rule.forward
        return _wrapped(rule, build(*lifted, **params))
    except UnsupportedOption as exc:
        raise unsupported(str(exc) or rule.name, reverse=exc.tracer_only) from None


def call_function(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A NumPy function (or gufunc) called on symbolic arrays, through its row of the table."""
    rule = rule_for(func)
    if rule is None:
        raise unsupported(f"{display_name(func)} (not in diffkit's table of NumPy functions)")
    return call(rule, args, kwargs)
