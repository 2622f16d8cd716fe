"""Which library differentiates a node: SymPy, or symengine (the ``fast`` extra) when installed.

``sympy.diff`` of one small node such as ``sin(t)`` costs ~120 µs; symengine does it,
including the round trip to symengine and back, in ~20 µs. Everything else stays in
SymPy: converting back builds the result with SymPy's own constructors, so a
symengine partial is the same SymPy expression ``sympy.diff`` gives, byte for byte.

Only node types whose symengine derivative was checked to be *structurally equal* to
SymPy's take that path (``tests/test_symbolic_engine.py`` checks every row). The
others stay on SymPy, because symengine
- leaves ``Abs``, ``sign``, ``Max``, ``Min`` unevaluated (``Derivative(Abs(x), x)``),
- differentiates SymPy's ``Heaviside`` (an opaque ``PyFunction`` to it) to 0, not ``DiracDelta``,
- writes ``x**y`` and ``x**pi`` as ``y*x**(y - 1)`` where SymPy writes ``x**y*y/x``,
- simplifies ``acosh'`` to ``1/sqrt(x**2 - 1)`` where SymPy keeps ``1/(sqrt(x - 1)*sqrt(x + 1))``,
and ``floor``, ``ceiling``, undefined functions must reach ``kinks.settle`` with
SymPy's own ``Derivative`` objects. Floats stay on SymPy too (their precision is
SymPy's business).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import sympy

__all__ = ["ENGINES", "differentiate", "resolve_engine", "symengine_available"]

ENGINES = ("auto", "sympy", "symengine")

# One row per node type symengine differentiates exactly as SymPy does.
_EXACT_FUNCTIONS: frozenset[type] = frozenset(
    {
        sympy.sin,
        sympy.cos,
        sympy.tan,
        sympy.cot,
        sympy.sec,
        sympy.csc,
        sympy.asin,
        sympy.acos,
        sympy.atan,
        sympy.acot,
        sympy.atan2,
        sympy.sinh,
        sympy.cosh,
        sympy.tanh,
        sympy.coth,
        sympy.asinh,
        sympy.atanh,
        sympy.exp,
        sympy.log,
        sympy.erf,
        sympy.erfc,
        sympy.gamma,
        sympy.loggamma,
    }
)


def symengine_available() -> bool:
    """Whether ``import symengine`` would succeed (without importing it)."""
    return importlib.util.find_spec("symengine") is not None


def resolve_engine(engine: str) -> str:
    """``"sympy"`` or ``"symengine"``: what ``engine`` means on this machine."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(map(repr, ENGINES))}, got {engine!r}")
    if engine == "auto":
        return "symengine" if symengine_available() else "sympy"
    if engine == "symengine" and not symengine_available():
        raise ImportError(
            "engine='symengine' needs the symengine package: pip install 'diffkit[fast]' "
            "(or use engine='auto', which falls back to SymPy)"
        )
    return engine


def _symengine_exact(node: sympy.Expr) -> bool:
    """Whether symengine's derivative of ``node`` is SymPy's, structurally."""
    if not all(a.is_Symbol or a.is_Rational for a in node.args):
        return False  # Floats, constants such as pi, compound arguments: SymPy's
    if type(node) in _EXACT_FUNCTIONS:
        return True
    if node.is_Pow:  # b**(p/q) over a symbol, or c**x with a rational c; not x**y, not x**pi
        base, power = node.args
        return (base.is_Symbol and power.is_Rational) or (base.is_Rational and power.is_Symbol)
    return False


def differentiate(node: sympy.Expr, symbols: Sequence[sympy.Symbol], engine: str) -> list[Any]:
    """``[d node / d s for s in symbols]`` as SymPy expressions, from ``engine`` when it is exact."""
    names = {s.name: s for s in node.free_symbols}
    if engine != "symengine" or len(names) != len(node.free_symbols) or not _symengine_exact(node):
        return [sympy.diff(node, s) for s in symbols]
    import symengine  # the optional ``fast`` extra

    converted = symengine.sympify(node)
    # symengine drops SymPy's assumptions (real=True): map the names back to our symbols.
    back = {sympy.Symbol(name): s for name, s in names.items()}
    return [
        symengine.diff(converted, symengine.Symbol(s.name))._sympy_().xreplace(back)
        for s in symbols
    ]
