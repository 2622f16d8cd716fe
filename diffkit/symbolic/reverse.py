"""Symbolic reverse mode: differentiate a straight-line program, not an expression tree.

Walking the assignments ``t_k = op(args)`` backwards, each temporary's adjoint is
the sum of its consumers' adjoints times their local partials; a local partial is
``sympy.diff`` of one small node with respect to one of its arguments (with the
forward value reused where the rule allows: ``exp' = exp``, ``sqrt' = 1/(2 sqrt)``,
``(b**p)' = p b**p / b``). The derivative program is the forward program plus one
line per adjoint, so its size grows with the program, never with the tree, and a
gradient costs one pass, not one ``sympy.diff`` per variable. With ``engine="symengine"``
the nodes symengine differentiates exactly as SymPy does go through symengine
(``symbolic.engine``); the program is the same either way.

Higher derivatives repeat the pass on the (re-straightened) derivative program:
reverse over reverse, as ``autodiff`` does with recorded backward passes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import sympy

from ..arrays.entries import is_entry, partials
from .engine import differentiate, resolve_engine
from .kinks import settle
from .program import Program, _Namer, straighten

__all__ = ["derivative_program", "gradient_program", "jacobian_program", "local_partials"]

_HALF = sympy.Rational(1, 2)
Partials = list[tuple[sympy.Symbol, sympy.Expr]]


def local_partials(t: sympy.Symbol, node: sympy.Expr, *, engine: str = "sympy") -> Partials:
    """The partials of ``t = node`` with respect to each symbol it uses, forward values shared."""
    if is_entry(node):  # an opaque node: its row's VJP gives every partial at once
        return _entry_partials(t, node)
    if not node.free_symbols:  # a constant node (exp(2), a folded number): no partials
        return []
    args = node.args
    if all(a.is_Atom for a in args):
        if node.is_Add:  # a sum of distinct atoms: every partial is 1
            return [(a, sympy.S.One) for a in args if a.is_Symbol]
        if node.is_Mul:  # a product of distinct atoms: the product of the others
            return [
                (a, sympy.Mul(*args[:i], *args[i + 1 :])) for i, a in enumerate(args) if a.is_Symbol
            ]
    symbols = sorted(node.free_symbols, key=lambda s: s.name)
    if node.is_Pow and not node.exp.is_Number:
        return _power_partials(t, node)
    if node.is_Pow and node.base.is_Symbol and node.exp.is_Number:
        base, power = node.args
        if power == _HALF:  # sqrt: 1 / (2 t), +inf at 0 like ops.py's rule
            return [(base, 1 / (2 * t))]
        if power.is_negative:  # p b**p / b: one division instead of a second power
            return [(base, power * t / base)]
        if power.is_Integer:
            return [(base, power * base ** (power - 1))]
    if isinstance(node, sympy.exp):
        return [(symbols[0], t)]
    if isinstance(node, sympy.tanh):
        return [(symbols[0], 1 - t**2)]
    result = []
    for s, raw in zip(symbols, differentiate(node, symbols, engine), strict=True):
        partial = settle(raw, what=node)
        if partial != 0:
            result.append((s, partial.xreplace({node: t})))
    return result


def _power_partials(t: sympy.Symbol, node: sympy.Expr) -> Partials:
    """a**b with a variable exponent, as ops.py's rule has it: d/db = a**b log a, taken as
    0 where a = 0 (0**b is 0 wherever it is defined, not 0 * log 0), and d/da = b a**(b-1)
    (SymPy's b a**b / a is 0/0 at a = 0)."""
    base, power = node.args
    result = []
    if base.is_Symbol:
        result.append((base, power * base ** (power - 1)))
    if power.is_Symbol:
        if base.is_zero:
            pass  # 0**b: no partial at all
        elif base.is_positive:
            result.append((power, t * sympy.log(base)))
        else:
            result.append(
                (power, sympy.Piecewise((0, sympy.Eq(base, 0)), (t * sympy.log(base), True)))
            )
    return result


def _entry_partials(t: sympy.Symbol, node: sympy.Expr) -> Partials:
    """d node / d arg for an entry of an opaque call, duplicate arguments summed."""
    family = type(node)
    if family.rule.constant_jacobian:
        return []
    row = partials(family, node.args[1])[node.index]  # type: ignore[arg-type]
    total: dict[sympy.Symbol, list[sympy.Expr]] = defaultdict(list)
    for arg, partial in zip(node.inputs, row, strict=True):
        if arg.is_Symbol and partial != 0:
            total[arg].append(partial)
    # The partials name entries of the call (the maximum itself, inv's other entries):
    # the derivative program is straightened again, which shares them with the forward
    # program's nodes, so they are not replaced by ``t`` here (an O(n) pass per partial).
    return [(s, parts[0] if len(parts) == 1 else sympy.Add(*parts)) for s, parts in total.items()]


def _total(parts: list[sympy.Expr]) -> sympy.Expr:
    if not parts:
        return sympy.S.Zero
    return parts[0] if len(parts) == 1 else sympy.Add(*parts)


class _Backward:
    """Backward passes over one program, sharing partials and emitted adjoint lines."""

    def __init__(self, program: Program, engine: str = "sympy") -> None:
        self.program = program
        self.engine = resolve_engine(engine)
        self.lines: list[tuple[sympy.Symbol, sympy.Expr]] = []
        self.emitted: dict[sympy.Expr, sympy.Symbol] = {}
        self.partials: dict[sympy.Symbol, Partials] = {}
        self.name = _Namer("a")

    def emit(self, expr: sympy.Expr) -> sympy.Expr:
        if expr.is_Atom:
            return expr
        known = self.emitted.get(expr)
        if known is None:
            known = self.emitted[expr] = self.name()
            self.lines.append((known, expr))
        return known

    def adjoints(self, output: sympy.Expr) -> list[sympy.Expr]:
        """d(output)/d(variable) for every variable, as atoms over the emitted lines."""
        pending: dict[sympy.Basic, list[sympy.Expr]] = defaultdict(list)
        if output.is_Symbol:
            pending[output].append(sympy.S.One)
        elif not output.is_Atom:  # a compound output: differentiate it as a last line
            head = sympy.Symbol("_out", real=True)
            return _Backward(
                Program(
                    self.program.variables,
                    (*self.program.assignments, (head, output)),
                    (head,),
                ),
                self.engine,
            ).adjoints(head)
        for t, node in reversed(self.program.assignments):
            parts = pending.pop(t, None)
            if not parts:
                continue
            g = self.emit(parts[0] if len(parts) == 1 else sympy.Add(*parts))
            if g == 0:
                continue
            local = self.partials.get(t)
            if local is None:
                local = self.partials[t] = local_partials(t, node, engine=self.engine)
            for s, p in local:
                pending[s].append(p if g == 1 else g if p == 1 else g * p)
        # The adjoints as expressions over the emitted lines; the program built from them
        # is straightened again, which names what needs a name (a lone opaque entry, the
        # whole adjoint of a maximum's input, does not).
        return [_total(pending.get(v, [])) for v in self.program.variables]


def jacobian_program(program: Program, *, engine: str = "sympy") -> Program:
    """The program of d(outputs)/d(variables), outputs flattened row by row (m * n)."""
    backward = _Backward(program, engine)
    rows = [a for output in program.outputs for a in backward.adjoints(output)]
    return Program(program.variables, (*program.assignments, *backward.lines), tuple(rows))


def gradient_program(program: Program, *, engine: str = "sympy") -> Program:
    """The gradient of a one-output program: one backward pass."""
    if len(program.outputs) != 1:
        raise ValueError(f"a gradient needs one output, the program has {len(program.outputs)}")
    return jacobian_program(program, engine=engine)


def derivative_program(
    outputs: Sequence[sympy.Expr],
    variables: Sequence[sympy.Symbol],
    order: int,
    *,
    engine: str = "sympy",
) -> Program:
    """The program of the ``order``-th derivative tensor, flattened, straightened at every order.

    ``engine`` is ``"sympy"``, ``"symengine"`` or ``"auto"`` (``symbolic.engine``).
    """
    engine = resolve_engine(engine)  # once, not once per order
    program = straighten(outputs, variables)
    for _ in range(order):
        derived = jacobian_program(program, engine=engine)
        program = straighten(derived.outputs, variables, assignments=derived.assignments)
    return program
