"""The safe expression parser: text to a SymPy expression through a whitelist over ``ast``.

A string such as ``"exp(x)/sqrt(sin(x)**3 + cos(x)**3)"`` is read with
``ast.parse(text, mode="eval")`` and nothing else: no ``eval``, ``exec``,
``sympify`` or ``parse_expr`` ever sees it. Only these pieces are accepted:

- numbers: ``int`` literals become ``sympy.Integer``; ``float`` literals become
  ``sympy.Float(value)``, the exact 53-bit binary value Python read (``0.1`` is
  0.1000000000000000055511151231257827...), so a string and the float a NumPy
  function would use mean the same number;
- names: variables (identifiers not starting with ``_``), made with :func:`symbol`,
  and the constants ``pi`` and ``e``;
- ``+ - * / **`` between expressions, unary ``-`` and ``+``;
- calls ``name(arg, ...)`` of a function row of :mod:`diffkit.ops`, by name or
  alias, with exactly the row's number of positional arguments.

The expression is built from the rows' ``sympy`` column, so the parser and the
symbolic tracer agree on what ``sigmoid`` or ``log1p`` is.

Hostile text must fail fast with :class:`ParseError`, never run anything, never
hang and never exhaust the stack. The limits below do that:

- the raw text is checked for length, digit runs and bracket depth *before* ``ast.parse``
  (CPython's parser recurses on nesting), and the ``RecursionError`` /
  ``MemoryError`` it can still raise (a chain of thousands of operators) become
  ``ParseError`` too;
- the tree is checked for size and node kinds iteratively (``ast.walk``), and the
  builder recurses at most ``MAX_DEPTH`` levels: a chain ``a + b - c + ...`` (or
  ``a * b / c ...``) is one level, read with a loop and combined pairwise so a
  sum of n terms costs O(n log n) in SymPy, not O(n^2);
- SymPy evaluates numbers exactly as it builds, so ``10**10**5`` or
  ``exp(10**6*log(10))`` would make a million-digit integer. Powers are checked
  *before* they are built: a constant exponent has ``|p| <= MAX_EXPONENT``, and
  the exact numbers it can make stay below ``2**MAX_NUMBER_BITS``. Every constant
  subexpression must evaluate to a finite real number within the float64 range,
  which also keeps SymPy's own numeric comparisons (``Max``, ``Abs``) cheap:
  ``exp(exp(exp(100)))`` is refused at ``exp(exp(100))`` instead of hanging.
  ``exp(p)`` is ``e**p``, so a constant ``p`` has the same limit even where the row's
  value is finite (``logaddexp(10**300, 0)``): SymPy evaluates ``exp`` of an exact
  integer by repeated squaring, 20 ms a time at ``10**300``;
- SymPy decides ``Max``, ``Min``, ``Abs`` and ``sign`` of constants numerically, raising
  its precision while they look equal (``Min(log(1 + exp(1000)), 1000)``, 1e-434
  apart) before it gives up. The parser looks once, at 15 digits: what that cannot
  decide is built unevaluated, as SymPy would have left it;
- a constant sum or product of constants already checked is judged by the triangle
  inequality instead of being evaluated again.

Within these limits hostile text is refused in milliseconds; the slowest *accepted*
text is a few seconds of SymPy's own construction work (thousands of nodes, each
costing SymPy's assumption system a millisecond or so).
"""

from __future__ import annotations

import ast
import math
import re
import sys
from collections.abc import Callable, Sequence
from types import MappingProxyType
from typing import Any, NoReturn

import sympy

from . import ops

__all__ = ["ParseError", "free_variable_names", "parse_expression", "symbol"]

MAX_TEXT_LENGTH = 10_000
"""Longest accepted text, in characters (a 1 MB string is refused before parsing)."""

MAX_NODES = 5_000
"""Most ``ast`` nodes in one expression (operators and their ``Load``/op nodes count)."""

MAX_DEPTH = 64
"""Deepest nesting: of brackets in the raw text, and of operations in the tree.

A chain of one operator family (``a + b - c``, ``a * b / c``) counts as one level,
because SymPy flattens it; ``sin(sin(x))``, ``-(-x)`` and ``x**y**z`` nest.
"""

MAX_NAME_LENGTH = 64
"""Longest identifier, in characters."""

MAX_NUMBER_BITS = 1024
"""Exact integers and rationals (literal or computed) stay below ``2**1024`` ~ 1.8e308.

That is the float64 range: a bigger exact number cannot be evaluated in double
precision anyway, and bounding it bounds what SymPy's exact arithmetic costs.
"""

MAX_DIGITS = 400
"""Longest run of digits in the text (a float64 has 17 significant digits; an integer
below ``2**MAX_NUMBER_BITS`` has at most 309)."""

MAX_EXPONENT = 1000
"""Largest ``|p|`` of a constant exponent ``b**p`` (also ``exp(p*log(b))``, which SymPy
rewrites to ``b**p``). Non-constant exponents, as in ``x**y``, are not limited."""

CONSTANTS: MappingProxyType[str, sympy.Expr] = MappingProxyType({"pi": sympy.pi, "e": sympy.E})
"""Names that mean a mathematical constant, never a variable."""

_MAX_PIECE_CHARS = 60
_DECISION_DIGITS = 15
_DECISION_MAX_DIGITS = 30
_DECISION_GAP = 2.0**-40  # relative; 15 correct digits resolve any larger gap
_FLOAT_MAX = sys.float_info.max
_NON_FINITE = (sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)

_ADD = ops.get("add")
_SUBTRACT = ops.get("subtract")
_MULTIPLY = ops.get("multiply")
_DIVIDE = ops.get("divide")
_NEGATIVE = ops.get("negative")
_POWER = ops.get("power")

_ADDITIVE = (ast.Add, ast.Sub)
_MULTIPLICATIVE = (ast.Mult, ast.Div)

_OPERATOR_SYMBOLS: dict[type[ast.AST], str] = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.Invert: "~",
    ast.Not: "not",
}

_NODE_KINDS: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Slice: "slice",
    ast.Lambda: "lambda",
    ast.ListComp: "comprehension",
    ast.SetComp: "comprehension",
    ast.DictComp: "comprehension",
    ast.GeneratorExp: "generator expression",
    ast.IfExp: "conditional expression",
    ast.Compare: "comparison",
    ast.BoolOp: "boolean operator",
    ast.NamedExpr: "assignment expression (:=)",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
    ast.Tuple: "tuple",
    ast.List: "list",
    ast.Set: "set",
    ast.Dict: "dict",
    ast.Starred: "starred argument",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

_NEWLINE = re.compile(r"\r\n|\r|\n")
_LONG_DIGITS = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")


class ParseError(ValueError):
    """Text the safe parser refuses; the message names the offending piece and where it is.

    ``piece`` is the offending source text (when there is one), ``line`` and
    ``column`` its 1-based position (when known).
    """

    def __init__(
        self,
        message: str,
        *,
        piece: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.piece = piece
        self.line = line
        self.column = column


def symbol(name: str) -> sympy.Symbol:
    """The SymPy symbol every diffkit module uses for variable ``name``: real-valued.

    Real symbols make SymPy's rules the ones of real analysis: ``Abs(x)' = sign(x)``,
    ``sqrt(x**2) = Abs(x)``, ``log(exp(x)) = x``.
    """
    return sympy.Symbol(name, real=True)


def free_variable_names(expr: sympy.Basic) -> tuple[str, ...]:
    """Sorted names of the free symbols of ``expr``."""
    return tuple(sorted(str(s) for s in expr.free_symbols))


def parse_expression(text: str, *, variables: Sequence[str] | None = None) -> sympy.Expr:
    """Parse ``text`` into a SymPy expression over real symbols, refusing anything else.

    ``variables``, when given, lists the names the text may use; any other free
    name is an error. Raises :class:`ParseError` (a ``ValueError``) for text
    outside the grammar described in the module docstring or beyond its limits.
    """
    if not isinstance(text, str):
        raise TypeError(f"expected the expression as a str, got {type(text).__name__}")
    allowed = _check_variables(variables)
    _prescan(text)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        line, column = exc.lineno, exc.offset
        if line and column:
            where = f" at line {line}, column {column}"
        else:  # CPython reports offset 0 when the text ends too early
            where, column = (f" at the end of line {line}", None) if line else ("", None)
        near = f" near {exc.text.strip()[:_MAX_PIECE_CHARS]!r}" if exc.text else ""
        raise ParseError(
            f"invalid syntax{where}: {exc.msg}{near}", piece=exc.text, line=line, column=column
        ) from exc
    except ValueError as exc:  # null bytes on some Python versions
        raise ParseError(f"invalid text: {exc}") from exc
    except (RecursionError, MemoryError) as exc:
        raise ParseError(
            "expression is nested or chained too deeply for Python's parser; "
            "split it into smaller pieces"
        ) from exc
    builder = _Builder(text, allowed)
    builder.check_nodes(tree)
    try:
        expr = builder.build(tree.body, 1)
    except (RecursionError, MemoryError) as exc:  # a guard against SymPy internals
        raise ParseError("expression is too large to build") from exc
    return expr


def _check_variables(variables: Sequence[str] | None) -> frozenset[str] | None:
    if variables is None:
        return None
    if isinstance(variables, str):
        raise TypeError("variables must be a sequence of names, not one str")
    functions = set(ops.function_names())
    for name in variables:
        if not isinstance(name, str) or not name.isidentifier():
            raise ParseError(f"variables: {name!r} is not an identifier")
        if name.startswith("_"):
            raise ParseError(f"variables: {name!r} starts with '_', which is not allowed")
        if name in functions or name in CONSTANTS:
            raise ParseError(f"variables: {name!r} is a function or constant name")
    return frozenset(variables)


def _prescan(text: str) -> None:
    """Checks on the raw text that keep ``ast.parse`` itself cheap and shallow."""
    if len(text) > MAX_TEXT_LENGTH:
        raise ParseError(
            f"expression is {len(text)} characters long; the limit is {MAX_TEXT_LENGTH}"
        )
    if not text.strip():
        raise ParseError("empty expression")
    digits = _LONG_DIGITS.search(text)
    if digits:
        line, column = _line_column(text, digits.start())
        raise ParseError(
            f"number with more than {MAX_DIGITS} digits at line {line}, column {column}",
            line=line,
            column=column,
        )
    depth = 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                line, column = _line_column(text, index)
                raise ParseError(
                    f"brackets nested more than {MAX_DEPTH} deep at line {line}, column {column}",
                    line=line,
                    column=column,
                )
        elif char in ")]}":
            depth -= 1


def _line_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character ``index`` of ``text``."""
    starts = [0] + [m.end() for m in _NEWLINE.finditer(text, 0, index)]
    return len(starts), index - starts[-1] + 1


def _height_bits(expr: sympy.Basic) -> float:
    """Bits an exact number built from ``expr``'s rationals can need, summed (an upper bound).

    Rational exponents (the ``1/2`` of ``sqrt(2)``) are roots, not sizes, and are skipped.
    """
    total = 0.0
    stack = [expr]
    while stack:
        item = stack.pop()
        if item.is_Rational:
            total += math.log2(max(abs(int(item.p)), int(item.q), 1))
        elif item.is_Pow and item.exp.is_Rational:
            stack.append(item.base)
        else:
            stack.extend(item.args)
    return total


def _undecidable_comparison(args: tuple[sympy.Expr, ...]) -> bool:
    """Whether a comparison of constant ``args`` (with 0, for one argument) needs high precision.

    SymPy decides ``Max``, ``Min``, ``Abs`` and ``sign`` of constants numerically, raising
    the working precision while the values look equal, and asks again for every pair
    and assumption: ``Min(log(1 + exp(1000)), 1000)`` (a difference of 1e-434) costs
    dozens of failed evaluations before SymPy gives up and leaves it unevaluated.
    Here each value is computed once to ``_DECISION_DIGITS`` digits (at most
    ``_DECISION_MAX_DIGITS`` of working precision); when two distinct arguments, or
    one argument and 0, cannot be told apart at that precision, the caller builds the
    node unevaluated, as SymPy would end up doing. Exact numbers compare cheaply.
    """
    if any(arg.free_symbols for arg in args) or all(arg.is_Number for arg in args):
        return False
    values: list[tuple[sympy.Expr | None, sympy.Float]] = []
    for arg in args:
        try:
            value = arg.evalf(_DECISION_DIGITS, strict=True, maxn=_DECISION_MAX_DIGITS)
        except (ArithmeticError, ValueError, TypeError):  # PrecisionExhausted: maybe 0
            return True
        if not value.is_Float:  # not real: SymPy refuses it, quickly
            return False
        values.append((arg, value))
    if len(args) == 1:
        values.append((None, sympy.Float(0)))
    for i, (a, value_a) in enumerate(values):
        for b, value_b in values[i + 1 :]:
            if a != b and abs(value_a - value_b) <= _DECISION_GAP * max(abs(value_a), abs(value_b)):
                return True
    return False


def _unevaluated(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` building its SymPy node unevaluated (``Min(a, b)`` stays as it is)."""

    def build(*args: sympy.Expr) -> Any:
        with sympy.evaluate(False):
            return function(*args)

    return build


class _Builder:
    """One parse: validates the tree, then builds it bottom-up with depth-bounded recursion."""

    def __init__(self, text: str, allowed: frozenset[str] | None) -> None:
        self.text = text
        self.allowed = allowed
        self.functions = frozenset(ops.function_names())
        self.checked: set[sympy.Basic] = set()  # subexpressions check_exponentials has seen
        self.values: dict[sympy.Expr, float] = {}  # constants checked, and their values

    # ------------------------------------------------------------------ errors

    def fail(self, message: str, node: ast.AST | None = None) -> NoReturn:
        """Raise ParseError naming ``node``'s source text and position."""
        line: int | None = getattr(node, "lineno", None)
        offset: int | None = getattr(node, "col_offset", None)
        if node is None or line is None or offset is None:
            raise ParseError(message)
        piece = ast.get_source_segment(self.text, node) or ""
        if len(piece) > _MAX_PIECE_CHARS:
            piece = piece[: _MAX_PIECE_CHARS - 3] + "..."
        lines = _NEWLINE.split(self.text)
        if 0 < line <= len(lines):
            # col_offset counts UTF-8 bytes; report characters.
            prefix = lines[line - 1].encode("utf-8")[:offset]
            column: int | None = len(prefix.decode("utf-8", errors="replace")) + 1
        else:
            column = None
        where = f" (line {line}, column {column})" if column is not None else ""
        raise ParseError(f"{message}: {piece!r}{where}", piece=piece, line=line, column=column)

    # -------------------------------------------------------------- validation

    def check_nodes(self, tree: ast.Expression) -> None:
        """Iterative pass over every node: size, kinds, names, calls, literals."""
        for count, node in enumerate(ast.walk(tree), start=1):
            if count > MAX_NODES:
                raise ParseError(f"expression has more than {MAX_NODES} syntax nodes")
            self.check_node(node)

    def check_node(self, node: ast.AST) -> None:
        if isinstance(node, ast.Expression | ast.Load | ast.operator | ast.unaryop):
            return  # operators are judged with their BinOp/UnaryOp
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _ADDITIVE + _MULTIPLICATIVE + (ast.Pow,)):
                if isinstance(node.op, ast.BitXor):
                    self.fail("'^' is bitwise xor, not a power; write '**' for powers", node)
                symbol_ = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
                self.fail(f"operator {symbol_!r} is not allowed (use + - * / **)", node)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, ast.USub | ast.UAdd):
                symbol_ = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
                self.fail(f"unary operator {symbol_!r} is not allowed", node)
        elif isinstance(node, ast.Constant):
            self.check_constant(node)
        elif isinstance(node, ast.Name):
            self.check_name(node)
        elif isinstance(node, ast.Call):
            self.check_call(node)
        elif isinstance(node, ast.Attribute):
            self.fail(f"attribute access ('.{node.attr}') is not allowed", node)
        elif isinstance(node, ast.keyword):
            self.fail(f"keyword argument {node.arg!r} is not allowed", node)
        else:
            kind = _NODE_KINDS.get(type(node), type(node).__name__)
            self.fail(f"{kind} is not allowed", node)

    def check_constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            self.fail(f"{value!r} is not a number", node)
        if isinstance(value, int):
            if value.bit_length() > MAX_NUMBER_BITS:
                self.fail(f"integer literal exceeds 2**{MAX_NUMBER_BITS} in size", node)
        elif isinstance(value, float):
            if not math.isfinite(value):
                self.fail("float literal overflows to infinity", node)
        elif isinstance(value, complex):
            self.fail("complex literals are not allowed", node)
        else:
            self.fail(f"{type(value).__name__} literals are not allowed", node)

    def check_name(self, node: ast.Name) -> None:
        name = node.id
        if name.startswith("_"):
            self.fail(f"names starting with '_' are not allowed ({name!r})", node)
        if len(name) > MAX_NAME_LENGTH:
            self.fail(f"name longer than {MAX_NAME_LENGTH} characters", node)

    def check_call(self, node: ast.Call) -> None:
        if not isinstance(node.func, ast.Name):
            self.fail("only primitive functions can be called, by name", node)
        name = node.func.id
        if name not in self.functions:
            hint = ""
            if name in ops.PRIMITIVES or name == "pow":
                hint = " (it is an operator: write + - * / ** instead)"
            self.fail(
                f"unknown function {name!r}{hint}; "
                f"known functions: {', '.join(sorted(self.functions))}",
                node,
            )
        if node.keywords:
            self.fail(f"keyword arguments are not allowed in a call of {name}", node)
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            self.fail(f"starred arguments are not allowed in a call of {name}", node)
        arity = ops.get(name).arity
        if len(node.args) != arity:
            self.fail(
                f"{name} takes {arity} argument{'s' * (arity != 1)}, got {len(node.args)}",
                node,
            )

    # ---------------------------------------------------------------- building

    def build(self, node: ast.expr, depth: int) -> sympy.Expr:
        """The SymPy expression for ``node``; recursion is bounded by ``MAX_DEPTH``."""
        if depth > MAX_DEPTH:
            self.fail(f"expression nested more than {MAX_DEPTH} operations deep", node)
        if isinstance(node, ast.Constant):
            if isinstance(node.value, int):
                return sympy.Integer(node.value)
            return sympy.Float(node.value)
        if isinstance(node, ast.Name):
            return self.build_name(node)
        if isinstance(node, ast.UnaryOp):
            operand = self.build(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return operand
            return self.apply(_NEGATIVE.sympy, (operand,), node)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):
                return self.build_power(node, depth)
            return self.build_chain(node, depth)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            row = ops.get(node.func.id)
            args = tuple(self.build(arg, depth + 1) for arg in node.args)
            for arg in args:
                self.check_log_terms(arg, node)
            if not row.smooth and _undecidable_comparison(args):
                return self.apply(_unevaluated(row.sympy), args, node)
            return self.apply(row.sympy, args, node)
        self.fail("unsupported expression", node)  # unreachable after check_nodes

    def build_name(self, node: ast.Name) -> sympy.Expr:
        name = node.id
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in self.functions:
            self.fail(f"{name} is a function; call it, as in {name}(x)", node)
        if self.allowed is not None and name not in self.allowed:
            known = ", ".join(sorted(self.allowed)) or "none"
            self.fail(f"unknown variable {name!r} (allowed variables: {known})", node)
        return symbol(name)

    def build_power(self, node: ast.BinOp, depth: int) -> sympy.Expr:
        base = self.build(node.left, depth + 1)
        exponent = self.build(node.right, depth + 1)
        if not exponent.free_symbols:
            size = abs(self.constant_value(exponent, node.right))
            if size > MAX_EXPONENT:
                self.fail(f"constant exponent {size:.6g} exceeds the limit {MAX_EXPONENT}", node)
            bits = _height_bits(base) * size
            if bits > MAX_NUMBER_BITS:
                self.fail(
                    f"power would make an exact number of about {bits:.0f} bits "
                    f"(limit {MAX_NUMBER_BITS})",
                    node,
                )
        self.check_log_terms(exponent, node)  # e**(k*log(b)) is b**k
        return self.apply(_POWER.sympy, (base, exponent), node)

    def build_chain(self, node: ast.BinOp, depth: int) -> sympy.Expr:
        """``a + b - c + ...`` or ``a * b / c ...``: one level, combined pairwise.

        Each operand carries an "inverted" flag (subtracted, or divided by). Pairs are
        combined with the add/subtract (multiply/divide) rows so every step is a row
        of the table, and a balanced reduction keeps SymPy's flattening O(n log n).
        """
        family = _ADDITIVE if isinstance(node.op, _ADDITIVE) else _MULTIPLICATIVE
        inverse_ops = (ast.Sub, ast.Div)
        operands: list[tuple[bool, ast.expr]] = []
        current: ast.expr = node
        while isinstance(current, ast.BinOp) and isinstance(current.op, family):
            operands.append((isinstance(current.op, inverse_ops), current.right))
            current = current.left
        operands.append((False, current))
        operands.reverse()
        if family is _ADDITIVE:
            same, inverse = _ADD.sympy, _SUBTRACT.sympy
        else:
            same, inverse = _MULTIPLY.sympy, _DIVIDE.sympy
        items = [(inverted, self.build(operand, depth + 1)) for inverted, operand in operands]
        while len(items) > 1:
            paired: list[tuple[bool, sympy.Expr]] = []
            for i in range(0, len(items) - 1, 2):
                (inv_a, a), (inv_b, b) = items[i], items[i + 1]
                if inv_a == inv_b:
                    paired.append((inv_a, self.apply(same, (a, b), node)))
                elif inv_b:
                    paired.append((False, self.apply(inverse, (a, b), node)))
                else:
                    paired.append((False, self.apply(inverse, (b, a), node)))
            if len(items) % 2:
                paired.append(items[-1])
            items = paired
        inverted, result = items[0]
        if inverted:  # unreachable: the first operand is never inverted
            identity = sympy.Integer(0 if family is _ADDITIVE else 1)
            result = self.apply(inverse, (identity, result), node)
        return result

    # ------------------------------------------------------------------ checks

    def apply(
        self, function: Callable[..., Any], args: tuple[sympy.Expr, ...], node: ast.AST
    ) -> sympy.Expr:
        """``function(*args)`` with SymPy's errors turned into ParseError, result checked."""
        try:
            result = function(*args)
        except ParseError:
            raise
        except (ArithmeticError, ValueError, TypeError) as exc:
            self.fail(f"SymPy cannot build this ({exc})", node)
        self.check_result(result, node)
        self.check_exponentials(result, node)
        return result

    def check_result(self, result: sympy.Expr, node: ast.AST) -> None:
        """Keep every number SymPy made finite, real and of bounded size."""
        if not result.free_symbols:
            self.constant_value(result, node)
            return
        if result.is_Pow and result.exp.is_Number and abs(result.exp) > MAX_EXPONENT:
            self.fail(f"exponent {result.exp} exceeds the limit {MAX_EXPONENT}", node)
        if result.is_Mul:
            coefficients = [result.args[0]]
        elif result.is_Add:
            coefficients = [term.as_coeff_Mul()[0] for term in result.args]
        else:
            return
        if any(arg in _NON_FINITE for arg in (*coefficients, *result.args)):
            self.fail("expression is not finite (division by zero?)", node)
        for coefficient in coefficients:
            if coefficient.is_Rational:
                self.check_rational_size(coefficient, node)
            elif coefficient.is_Float and not abs(coefficient) <= _FLOAT_MAX:
                self.fail("constant is outside the float64 range", node)

    def check_exponentials(self, result: sympy.Expr, node: ast.AST) -> None:
        """Bound ``|p|`` in every ``exp(p)`` of a constant ``p`` that ``result`` brought in.

        ``exp(p)`` is ``e**p`` and gets the limit of a constant exponent. The rows
        ``logaddexp``, ``softplus`` and ``sigmoid`` hide an exponential inside a finite
        value, and SymPy evaluates ``exp`` of an exact integer by repeated squaring:
        ``exp(10**300)`` costs 20 ms each time, and deciding ``Min``/``Abs`` of
        ``log(1 + exp(10**300))`` takes hundreds of such evaluations. Nodes seen in
        earlier results are not walked again, so the check costs O(size) per parse.
        """
        stack = [result]
        while stack:
            item = stack.pop()
            if item in self.checked:
                continue
            self.checked.add(item)
            if isinstance(item, sympy.exp) and not item.exp.free_symbols:
                size = abs(self.constant_value(item.exp, node))
                if size > MAX_EXPONENT:
                    self.fail(
                        f"exp of a constant {size:.6g} exceeds the exponent limit "
                        f"{MAX_EXPONENT} (exp(p) is e**p)",
                        node,
                    )
            stack.extend(item.args)

    def check_rational_size(self, value: sympy.Rational, node: ast.AST) -> None:
        if max(abs(int(value.p)).bit_length(), int(value.q).bit_length()) > MAX_NUMBER_BITS:
            self.fail(f"exact number exceeds 2**{MAX_NUMBER_BITS} in size", node)

    def constant_value(self, expr: sympy.Expr, node: ast.AST) -> float:
        """The float value of a constant expression; it must be finite, real, in range.

        A sum or product of constants already checked is judged from their values
        (the triangle inequality keeps it in range), not evaluated again: evaluating a
        sum evaluates every term, so a chain of n terms would cost n log n evaluations,
        each one a precision ladder when a term is close to 0.
        """
        known = self.known_value(expr)
        if known is not None:
            return known
        value = self.evaluate_constant(expr, node)
        self.values[expr] = value
        return value

    def known_value(self, expr: sympy.Expr) -> float | None:
        """A float value for ``expr`` from checked parts, if it surely stays in range."""
        if expr in self.values:
            return self.values[expr]
        if not (expr.is_Add or expr.is_Mul):
            return None
        parts = []
        for arg in expr.args:
            if arg.is_Number and arg.is_finite and arg.is_extended_real:
                if arg.is_Rational and _height_bits(arg) > MAX_NUMBER_BITS:
                    return None
                parts.append(float(arg))
            elif arg in self.values:
                parts.append(self.values[arg])
            else:
                return None
        if expr.is_Add:
            bound, value = math.fsum(abs(v) for v in parts), math.fsum(parts)
        else:
            bound = value = math.prod(parts)
        if not abs(bound) <= _FLOAT_MAX / 2:
            return None
        self.values[expr] = value
        return value

    def evaluate_constant(self, expr: sympy.Expr, node: ast.AST) -> float:
        if expr in _NON_FINITE:
            self.fail("expression is not finite (division by zero or log(0)?)", node)
        if expr.is_Rational:
            self.check_rational_size(expr, node)
        try:
            real, imag = expr.evalf(15).as_real_imag()
            real_value, imag_value = float(real), float(imag)
        except (TypeError, ValueError, ArithmeticError):
            self.fail("constant does not evaluate to a finite number", node)
        if math.isnan(real_value) or math.isnan(imag_value):
            self.fail("constant is not a number (nan)", node)
        if math.isinf(real_value) or math.isinf(imag_value):
            self.fail("constant is infinite or outside the float64 range", node)
        if abs(imag_value) > 1e-12 * max(1.0, abs(real_value)):
            self.fail("constant is not a real number", node)
        return real_value

    def check_log_terms(self, expr: sympy.Expr, node: ast.AST) -> None:
        """Bound ``k`` in every constant-coefficient term ``k*log(b)`` of ``expr``.

        SymPy rewrites ``exp(k*log(b))`` (inside exp, sigmoid, softplus, ``e**``) to
        ``b**k`` and computes it exactly, so ``k`` gets the same limits as an exponent.
        """
        for term in sympy.Add.make_args(expr):
            if not term.has(sympy.log):
                continue
            factors = sympy.Mul.make_args(term)
            logs = [f for f in factors if f.has(sympy.log)]
            rest = [f for f in factors if not f.has(sympy.log)]
            if any(f.free_symbols for f in rest):
                continue  # SymPy only rewrites when the coefficient is a number
            size = abs(self.constant_value(sympy.Mul(*rest), node)) if rest else 1.0
            if size > MAX_EXPONENT:
                self.fail(
                    f"coefficient {size:.6g} of a logarithm exceeds the exponent limit "
                    f"{MAX_EXPONENT} (exp(k*log(b)) is b**k)",
                    node,
                )
            bits = sum(_height_bits(f) for f in logs) * size
            if bits > MAX_NUMBER_BITS:
                self.fail(
                    f"exp(k*log(b)) would make an exact number of about {bits:.0f} bits "
                    f"(limit {MAX_NUMBER_BITS})",
                    node,
                )
