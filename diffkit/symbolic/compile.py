"""Compiled evaluation: a straight-line program as one NumPy function, one line per op.

Every temporary becomes one NumPy call on whole arrays, in program order, and the
adjoints reuse the forward values: that is ``lambdify(..., cse=True)`` with our own
common subexpressions, and it is what brings the compiled derivative close to
hand-written NumPy. Function names resolve in ``function.py``'s namespace (the NumPy
column of the ``ops.py`` rows, ``Max``/``Min`` folded over their arguments); a node
outside the table is printed by SymPy's own ``NumPyPrinter``, as ``lambdify`` would.
Lines are printed here rather than by ``lambdify`` because its general printer costs
0.1 ms a line (0.33 s for a 200-variable Rosenbrock gradient); ours costs a few µs.

Constants print as Python numbers, which NumPy treats as weakly typed: float32 points
are computed in float32 and come back float32.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy
from sympy.core.function import AppliedUndef
from sympy.printing.numpy import NumPyPrinter

from .. import ops
from ..arrays.entries import is_entry
from ..function import _NUMPY_NAMESPACE
from ..kink_functions import indicator
from .kinks import settle
from .program import Program

__all__ = ["CompiledProgram", "compile_program", "source"]

_NAMESPACE: dict[str, Any] = {
    **_NUMPY_NAMESPACE,
    "numpy": np,
    "where": np.where,
    "logical_and": np.logical_and,
    "logical_or": np.logical_or,
    "logical_xor": np.logical_xor,
    "logical_not": np.logical_not,
    "nan": np.nan,
    "_sum": lambda terms: functools.reduce(operator.add, terms),
    "_product": lambda terms: functools.reduce(operator.mul, terms),
    "sqrt": ops.get("sqrt").numpy,  # sympy.sqrt is a Pow, not a class: printed by name here
    "Heaviside": np.heaviside,
}
_HALF = sympy.Rational(1, 2)
_compiled_count = itertools.count()
# Longest sum or product printed as ``a + b + ...``: CPython's compiler recurses once
# per operator; longer ones are folded at run time, left to right (the same bits).
_LONG = 200


def _number(value: sympy.Expr) -> str:
    """A constant as Python source; values outside the reals print as nan, as the
    ground truth reports them, and infinities as infinities."""
    if value.is_Integer:
        return repr(int(value))
    if value is sympy.oo:
        return "float('inf')"
    if value is sympy.S.NegativeInfinity:
        return "float('-inf')"
    if value is sympy.zoo or value is sympy.nan:
        return "float('nan')"
    number = complex(value)
    if number.imag != 0:
        return "float('nan')"
    real = number.real
    return repr(real) if np.isfinite(real) else f"float('{real}')"


_RELATION_OPERATORS = {
    sympy.StrictLessThan: "<",
    sympy.LessThan: "<=",
    sympy.StrictGreaterThan: ">",
    sympy.GreaterThan: ">=",
    sympy.Equality: "==",
    sympy.Unequality: "!=",
}
_LOGIC_FUNCTIONS = {sympy.And: "logical_and", sympy.Or: "logical_or", sympy.Xor: "logical_xor"}


class _Printer:
    """Python source for single-operation nodes over named atoms.

    The entries of one opaque call (``diffkit.arrays.entries``) share one line that
    computes all of them: the first entry of a call prints that line before its own.
    """

    def __init__(self, names: dict[sympy.Symbol, str]) -> None:
        self.names = names
        self.fallback = NumPyPrinter({"fully_qualified_modules": True})
        self.calls: dict[tuple[Any, ...], str] = {}
        self.families: dict[str, Any] = {}
        self.pending: list[str] = []

    def condition(self, c: Any) -> str:
        """A condition (relation, logical combination) as a NumPy boolean expression."""
        if c is sympy.true:
            return "True"
        if c is sympy.false:
            return "False"
        operator = _RELATION_OPERATORS.get(type(c))
        if operator is not None:
            return f"({self.operand(c.lhs)} {operator} {self.operand(c.rhs)})"
        if isinstance(c, sympy.Not):
            return f"logical_not({self.condition(c.args[0])})"
        if isinstance(c, sympy.ITE):  # SymPy's fold of a Piecewise inside a relation
            a, b, other = (self.condition(arg) for arg in c.args)
            return f"where({a}, {b}, {other})"
        logic = _LOGIC_FUNCTIONS.get(type(c))
        if logic is not None:
            inner = [self.condition(a) for a in c.args]
            text = inner[0]
            for item in inner[1:]:
                text = f"{logic}({text}, {item})"
            return text
        raise TypeError(f"cannot compile the condition {c}")

    def operand(self, e: Any) -> str:
        return self.atom(e) if e.is_Atom else f"({self.line(e)})"

    def piecewise(self, e: sympy.Piecewise) -> str:
        """Nested ``where``s, the first condition outermost (NaN where none holds)."""
        *pieces, (last_value, last_condition) = e.args
        if last_condition is sympy.true:
            text = self.operand(last_value)
        else:
            pieces.append((last_value, last_condition))
            text = "nan"
        for value, condition in reversed(pieces):
            text = f"where({self.condition(condition)}, {self.operand(value)}, {text})"
        return text

    def entry(self, e: Any) -> str:
        family = type(e)
        key = (family, e.args[1])
        call = self.calls.get(key)
        if call is None:
            call = self.calls[key] = f"_c{len(self.calls)}"
            self.families[family.__name__] = family.numpy_call
            inputs = ", ".join(self.atom(a) for a in e.inputs)
            self.pending.append(f"{call} = {family.__name__}({inputs})")
        return f"{call}[..., {e.index}]"

    def atom(self, e: sympy.Expr) -> str:
        if e.is_Symbol:
            return self.names[e]
        text = _number(e)
        return f"({text})" if text.startswith("-") else text

    def line(self, e: sympy.Expr) -> str:
        if e.is_Atom:
            return self.atom(e)
        if is_entry(e):
            return self.entry(e)
        if not e.free_symbols:  # a constant the program left unevaluated, 1/0 included
            return self.atom(e.doit())
        if isinstance(e, sympy.Piecewise):
            return self.piecewise(e)
        if isinstance(e, indicator):
            return f"1.0*{self.condition(e.args[0])}"
        args = e.args
        if not all(a.is_Atom for a in args):
            return self.general(e)
        if e.is_Add:
            if len(args) > _LONG:  # a chain this long overflows Python's compiler
                return f"_sum(({', '.join(self.atom(a) for a in args)},))"
            return " + ".join(self.atom(a) for a in args)
        if e.is_Mul:
            if len(args) > _LONG:
                return f"_product(({', '.join(self.atom(a) for a in args)},))"
            if args[0] == -1:
                return "-(" + "*".join(self.atom(a) for a in args[1:]) + ")"
            return "*".join(self.atom(a) for a in args)
        if e.is_Pow:
            base, power = self.atom(args[0]), args[1]
            if power == _HALF:
                return f"sqrt({base})"
            if power == -_HALF:
                return f"1/sqrt({base})"
            if power == -1:
                return f"1/{base}"
            if power in (2, 3, 4):  # repeated products: far cheaper than np.power on arrays
                return "*".join([base] * int(power))
            return f"{base}**{self.atom(power) if power.is_Symbol else _number(power)}"
        if isinstance(e, sympy.Heaviside):
            at = self.atom(args[1]) if len(args) > 1 else "0.5"
            return f"Heaviside({self.atom(args[0])}, {at})"
        name = type(e).__name__
        if name in _NUMPY_NAMESPACE:
            return f"{name}({', '.join(self.atom(a) for a in args)})"
        return self.general(e)

    def general(self, e: sympy.Expr) -> str:
        if e.atoms(AppliedUndef):
            raise TypeError(f"cannot compile {e}: it calls an undefined function")
        renamed = e.xreplace(
            {s: sympy.Symbol(n) for s, n in self.names.items() if s in e.free_symbols}
        )
        return str(self.fallback.doprint(renamed))


def source(program: Program, name: str = "evaluate") -> str:
    """The Python source of ``program`` as a function of its variables, returning a list."""
    text, _ = _source(program, name)
    return text


def _source(program: Program, name: str) -> tuple[str, dict[str, Any]]:
    """The source, and the opaque families it calls (name -> NumPy evaluation)."""
    names = {v: f"_v{i}" for i, v in enumerate(program.variables)}
    names.update({t: f"_t{i}" for i, (t, _) in enumerate(program.assignments)})
    printer = _Printer(names)
    body: list[str] = []
    for t, e in program.assignments:
        line = printer.line(e)
        body.extend(f"    {p}" for p in printer.pending)
        printer.pending.clear()
        body.append(f"    {names[t]} = {line}")
    results = [printer.line(e) for e in program.outputs]
    body.extend(f"    {p}" for p in printer.pending)
    arguments = ", ".join(names[v] for v in program.variables)
    lines = [f"def {name}({arguments}):", *body, f"    return [{', '.join(results)}]", ""]
    return "\n".join(lines), printer.families


class CompiledProgram:
    """A program compiled to NumPy: ``evaluate(*coordinates)`` gives every output, broadcast."""

    def __init__(self, program: Program) -> None:
        self.program = Program(
            program.variables,
            tuple((t, settle(e)) for t, e in program.assignments),
            tuple(settle(e) for e in program.outputs),
        )
        self.source, families = _source(self.program, "evaluate")
        namespace = {**_NAMESPACE, **families}
        filename = f"<diffkit-symbolic-{next(_compiled_count)}>"
        exec(compile(self.source, filename, "exec"), namespace)  # our own generated code
        self._function: Callable[..., list[Any]] = namespace["evaluate"]

    def __call__(self, *coordinates: Any, dtype: Any) -> np.ndarray:
        """All outputs at the points, shape ``(n_outputs, *broadcast shape)``, in ``dtype``."""
        shape = np.broadcast_shapes(*(np.shape(c) for c in coordinates))
        with np.errstate(all="ignore"):  # poles give inf, outside the domain nan: by design
            values = self._function(*coordinates)
        result = np.empty((len(values), *shape), dtype=dtype)
        for i, value in enumerate(values):
            result[i] = value
        return result


def compile_program(program: Program) -> CompiledProgram:
    """Compile ``program`` (kink conventions applied, unevaluated derivatives refused)."""
    return CompiledProgram(program)
