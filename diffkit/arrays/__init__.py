"""The array-level table: every NumPy function that is not elementwise, and how to differentiate it.

``ops.py`` holds the elementwise primitives; this package holds the rest, one row
(``ArrayRule``) per function: reductions, shape functions, products, linear algebra,
and the functions whose result carries no derivative. Reverse mode and the symbolic
tracer both read it (``rule_for``), so a function is supported by both or refused by
both with the same words, and its derivative is defined once.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from . import creation, linalg, numeric, passive, products, reductions, selection, shapes
from .entries import ArrayEntry, is_entry, opaque_call, set_partials_provider
from .rule import ArrayRule, UnsupportedOption, concrete, display_name, shape_of, unbroadcast

__all__ = [
    "RULES",
    "ArrayEntry",
    "ArrayRule",
    "UnsupportedOption",
    "concrete",
    "creation",
    "display_name",
    "is_entry",
    "opaque_call",
    "rule_for",
    "set_partials_provider",
    "shape_of",
    "supported_names",
    "unbroadcast",
]

RULES: tuple[ArrayRule, ...] = (
    *reductions.RULES,
    *shapes.RULES,
    *selection.RULES,
    *products.RULES,
    *linalg.RULES,
    *numeric.RULES,
    *passive.RULES,
)


def _by_function() -> dict[Any, ArrayRule]:
    found: dict[Any, ArrayRule] = {}
    for rule in RULES:
        for function in rule.functions:
            if function in found:  # one NumPy object under two names (np.permute_dims)
                raise RuntimeError(f"{rule.name} and {found[function].name} are the same function")
            found[function] = rule
    return found


_BY_FUNCTION: Mapping[Any, ArrayRule] = MappingProxyType(_by_function())


def rule_for(function: Any) -> ArrayRule | None:
    """The row for a NumPy callable (``np.linalg.norm``, ``np.matmul``), or None."""
    try:
        return _BY_FUNCTION.get(function)
    except TypeError:  # an unhashable callable is no NumPy function of ours
        return None


def supported_names(*, differentiable: bool = True) -> tuple[str, ...]:
    """The names of the table's NumPy functions, sorted (only those with a derivative by default)."""
    return tuple(
        sorted(
            {
                rule.name
                for rule in RULES
                if rule.functions and (not differentiable or not rule.passive)
            }
        )
    )
