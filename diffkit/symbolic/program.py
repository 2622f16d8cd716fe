"""Straight-line programs: an expression DAG as assignments ``t_k = op(args)``, one op each.

SymPy expressions are trees that share their subtrees in memory; an expression such
as the logistic map iterated 12 times is a tree of millions of nodes but a DAG of a
few dozen. ``straighten`` walks the DAG once (iteratively, keyed by structural
equality, which is common-subexpression elimination of identical subtrees) and
names every distinct operation, so everything downstream — differentiation,
counting, code generation — costs the size of the program, not of the tree.

``sympy.cse`` does more (it also finds shared sub-sums and sub-products) but costs
0.17 s on a 200-variable Rosenbrock function before any differentiation; the
structural pass is linear and enough for reverse mode to share its work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sympy

__all__ = ["Program", "count_ops", "straighten"]

Assignment = tuple[sympy.Symbol, sympy.Expr]


@dataclass(frozen=True)
class Program:
    """Assignments in dependency order, then the outputs, all over ``variables``."""

    variables: tuple[sympy.Symbol, ...]
    assignments: tuple[Assignment, ...]
    outputs: tuple[sympy.Expr, ...]

    @property
    def temporaries(self) -> frozenset[sympy.Symbol]:
        return frozenset(t for t, _ in self.assignments)

    def operation_count(self) -> int:
        """SymPy's ``count_ops`` summed over assignments and outputs: the work of one evaluation."""
        return sum(count_ops(e) for _, e in self.assignments) + sum(
            count_ops(e) for e in self.outputs
        )

    def expand(self) -> list[sympy.Expr]:
        """The outputs as plain expressions (substituting every temporary; may swell)."""
        values: dict[sympy.Symbol, sympy.Expr] = {}
        for t, e in self.assignments:
            values[t] = e.xreplace(values)
        return [e.xreplace(values) for e in self.outputs]


def count_ops(expr: sympy.Expr) -> int:
    """Operations in ``expr`` as ``sympy.count_ops`` counts them (an atom costs nothing)."""
    return 0 if expr.is_Atom else int(sympy.count_ops(expr))


_POOLS: dict[str, list[sympy.Symbol]] = {}


class _Namer:
    """Fresh temporaries ``_<prefix><k>``: user variables never start with ``_``.

    Symbols are drawn from a module-wide pool: making a real Symbol costs ~20 µs of
    assumption handling, a tenth of a second for a program of a few thousand lines.
    """

    def __init__(self, prefix: str) -> None:
        self.pool = _POOLS.setdefault(prefix, [])
        self.prefix, self.count = prefix, 0

    def __call__(self) -> sympy.Symbol:
        if self.count == len(self.pool):
            self.pool.append(sympy.Symbol(f"_{self.prefix}{self.count}", real=True))
        self.count += 1
        return self.pool[self.count - 1]


def _rebuild(expr: sympy.Expr, args: Iterable[sympy.Expr]) -> sympy.Expr:
    # Sums, products and powers of atoms need none of SymPy's canonicalization (their
    # arguments are distinct atoms already): skipping it halves the cost of a pass.
    args = tuple(args)
    if all(new is old for new, old in zip(args, expr.args, strict=True)):
        return expr  # already over atoms (an opaque node's inputs): nothing to rebuild
    if isinstance(expr, sympy.Add | sympy.Mul):
        return expr.func._from_args(args, is_commutative=True)
    if isinstance(expr, sympy.Pow | sympy.core.relational.Relational):
        return expr.func(*args, evaluate=False)  # a relation would be re-decided, at a cost
    if isinstance(expr, sympy.Function):  # sin(t): its arguments are atoms now, nothing to fold
        return sympy.Basic.__new__(expr.func, *args)
    return expr.func(*args)


def straighten(
    outputs: Iterable[sympy.Expr],
    variables: Sequence[sympy.Symbol],
    *,
    assignments: Sequence[Assignment] = (),
    prefix: str = "t",
) -> Program:
    """The program computing ``outputs``, one operation per assignment, identical nodes shared.

    ``assignments`` may bind symbols used in the outputs (a program to re-straighten:
    a derivative program whose lines hold small compound expressions).
    """
    name = _Namer(prefix)
    nodes: dict[sympy.Expr, sympy.Symbol] = {}  # one op over atoms -> its temporary
    lines: list[Assignment] = []
    memo: dict[sympy.Expr, sympy.Expr] = {}  # input subexpression -> atom (temporary or leaf)

    def node(expr: sympy.Expr) -> sympy.Expr:
        if expr.is_Atom:
            return expr
        known = nodes.get(expr)
        if known is None:
            known = nodes[expr] = name()
            lines.append((known, expr))
        return known

    def visit(root: sympy.Expr) -> sympy.Expr:
        stack: list[tuple[sympy.Expr, bool]] = [(root, False)]
        while stack:
            expr, ready = stack.pop()
            if expr in memo:
                continue
            if expr.is_Atom:
                memo[expr] = env.get(expr, expr)
                continue
            if not ready:
                stack.append((expr, True))
                stack.extend((a, False) for a in expr.args if a not in memo)
                continue
            rebuilt = _rebuild(expr, [memo[a] for a in expr.args])
            # conditions (x < y, the pairs of a Piecewise) stay inside the node using them:
            # only expressions get a temporary
            memo[expr] = node(rebuilt) if isinstance(expr, sympy.Expr) else rebuilt
        return memo[root]

    env: dict[sympy.Expr, sympy.Expr] = {}
    for symbol, value in assignments:
        env[symbol] = visit(value)  # bound before any use: the order of a program
    results = [visit(sympy.sympify(e)) for e in outputs]
    return _prune(Program(tuple(variables), tuple(lines), tuple(results)))


def _prune(program: Program) -> Program:
    """Drop assignments no output depends on.

    A walk over the DAG that visits every node once: unions of free symbols would visit
    an opaque call's ten thousand inputs once per entry that reads them.
    """
    temporaries = {t for t, _ in program.assignments}
    needed: set[sympy.Basic] = set()
    seen: set[int] = set()

    def mark(expr: sympy.Basic) -> None:
        stack = [expr]
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node in temporaries:
                needed.add(node)
            stack.extend(node.args)

    for e in program.outputs:
        mark(e)
    kept: list[Assignment] = []
    for t, e in reversed(program.assignments):
        if t in needed:
            kept.append((t, e))
            mark(e)
    return Program(program.variables, tuple(reversed(kept)), program.outputs)


def substitute(program: Program, values: Mapping[sympy.Symbol, sympy.Expr]) -> Program:
    """``program`` with some symbols replaced (inputs fixed, kinks settled, ...)."""
    return Program(
        program.variables,
        tuple((t, e.xreplace(dict(values))) for t, e in program.assignments),
        tuple(e.xreplace(dict(values)) for e in program.outputs),
    )
