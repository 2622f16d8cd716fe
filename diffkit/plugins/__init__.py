"""Backends on third-party AD libraries (torch, jax), found through entry points.

diffkit declares them in its own ``pyproject.toml`` under the ``diffkit.backends``
entry-point group, exactly as an outside package would. The peers are optional
extras (``pip install 'diffkit[torch]'``, ``'diffkit[jax]'``) imported only when a
backend is built, never when diffkit is imported; a backend whose library is not
installed reports ``available() -> False`` and the registry leaves it out silently.

What this module shares between the two: turning whatever the user passed as ``f``
into a function of peer arrays. Expressions (strings, SymPy, a ``Function`` with an
``expr``) are evaluated node by node with the peer's counterparts of the ``ops``
rows. A plain callable is used as it is when it runs on peer arrays (written with
torch or ``jax.numpy``); NumPy code does not (NumPy converts the peer's array to an
``ndarray`` and the peer loses track of it), so it is traced once on symbols with
diffkit's tracer and the traced expression is evaluated like any other.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import sympy

from .. import ops
from ..arrays.entries import is_entry
from ..function import Function
from ..kink_functions import indicator
from ..symbolic.source import expressions_of
from ..symbolic.tracer import TracerError

__all__ = [
    "Peer",
    "PeerUnavailable",
    "UntraceableFunctionError",
    "expression_function",
    "import_peer",
    "peer_function",
    "peer_installed",
]

# SymPy class name -> ops row, for the rows whose SymPy column is a class (sin, Abs,
# maximum, ...). Rows spelled as compositions (sigmoid, log1p, ...) reach the peer as the
# exp/log/+/* nodes they expand to, so the peer needs a counterpart for these rows only.
_ROW_OF_SYMPY: Mapping[str, ops.Primitive] = {
    **ops.SYMPY_CLASSES,
    "Max": ops.get("maximum"),
    "Min": ops.get("minimum"),
}


class PeerUnavailable(ImportError):
    """The optional library a backend runs on is not installed."""


class UntraceableFunctionError(TypeError):
    """A callable that neither runs on the peer's arrays nor traces into an expression."""


def peer_installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (listing backends stays cheap)."""
    return importlib.util.find_spec(module) is not None


def import_peer(module: str, *, extra: str) -> ModuleType:
    """Import ``module``, or raise ``PeerUnavailable`` naming the extra that installs it.

    The extra pins a CPU build where one exists (``diffkit[torch]`` is ``torch==2.13.0``);
    a bare ``pip install torch`` may pull a multi-gigabyte CUDA build instead.
    """
    if not peer_installed(module):
        raise PeerUnavailable(
            f"the {extra} backend needs {module}, which is not installed; "
            f"install it with: pip install 'diffkit[{extra}]'"
        )
    return importlib.import_module(module)


@dataclass(frozen=True)
class Peer:
    """What diffkit needs from an array library to evaluate expressions and call user code.

    ``module`` holds the ops rows' counterparts under the rows' names (``torch``,
    ``jax.numpy``); ``asarray(value, like)`` makes a constant an array of ``like``'s
    dtype; ``probe(fn, example)`` returns why ``fn`` does not run on the peer's arrays
    (the exception), or ``None`` when it does.
    """

    name: str
    module: Any
    asarray: Callable[[Any, Any], Any]
    stack: Callable[[Sequence[Any]], Any]
    probe: Callable[[Callable[..., Any], Any], BaseException | None]
    written_with: str  # how the error message tells the user to write native functions

    def op(self, node: sympy.Basic, like: Any) -> Callable[..., Any]:
        """The peer function for a SymPy function node (binary rows folded over all args)."""
        name = type(node).__name__
        row = _ROW_OF_SYMPY.get(name)
        fn = getattr(self.module, row.name, None) if row is not None else None
        if fn is None and row is not None and row.name in _WRITTEN_WITH_WHERE:
            written = _WRITTEN_WITH_WHERE[row.name]
            return lambda *args: written(self.module, *args)
        if row is None or fn is None:
            raise TypeError(f"the {self.name} backend has no counterpart of {name} (in {node})")
        if row.arity == 1:
            return fn
        # SymPy flattens Max(a, Max(b, c)) into Max(a, b, c); constants (the 0 of relu) are
        # Python numbers, which torch's binary functions refuse.
        return lambda *args: functools.reduce(
            lambda a, b: fn(self.asarray(a, like), self.asarray(b, like)), args
        )


# Rows a peer has no function of its own for (jax.numpy has no relu, torch no rint),
# written with its where/round, keeping ops.py's value and kink convention.
_WRITTEN_WITH_WHERE: Mapping[str, Callable[..., Any]] = {
    "relu": lambda xp, x: xp.where(x > 0, x, x * 0),
    "rint": lambda xp, x: xp.round(x),
}

_RELATIONS = {
    sympy.StrictLessThan: operator.lt,
    sympy.LessThan: operator.le,
    sympy.StrictGreaterThan: operator.gt,
    sympy.GreaterThan: operator.ge,
    sympy.Equality: operator.eq,
    sympy.Unequality: operator.ne,
}


def _array_call(node: sympy.Basic, inputs: list[Any], peer: Peer, like: Any) -> list[Any]:
    """One opaque call of the array-level table (``inv``, ``eigh``, a maximum) on the peer:
    the peer's own function of the same name, its outputs flattened in order."""
    family = type(node)
    rule, params = family.rule, family.parameters()
    arrays, start = [], 0
    for shape in family.input_shapes:
        size = math.prod(shape)
        block = [peer.asarray(v, like) for v in inputs[start : start + size]]
        arrays.append(peer.stack(block).reshape(shape) if block else None)
        start += size
    call = _PEER_CALLS.get(rule.name)
    if call is None:
        raise TypeError(f"the {peer.name} backend has no counterpart of {rule.name}")
    outputs = call(peer.module, *arrays, **params)
    outputs = outputs if isinstance(outputs, tuple | list) else (outputs,)
    return [v for o in outputs for v in o.reshape(-1)]


def _linalg(xp: Any) -> Any:
    return xp.linalg


_PEER_CALLS: Mapping[str, Callable[..., Any]] = {
    "np.linalg.inv": lambda xp, a: _linalg(xp).inv(a),
    "np.linalg.det": lambda xp, a: _linalg(xp).det(a),
    "np.linalg.slogdet": lambda xp, a: tuple(_linalg(xp).slogdet(a)),
    "np.linalg.solve": lambda xp, a, b, *, vector: _linalg(xp).solve(a, b),
    "np.linalg.cholesky": lambda xp, a, *, upper: _linalg(xp).cholesky(a, upper=upper),
    "np.linalg.eigh": lambda xp, a, *, lower: tuple(
        _linalg(xp).eigh(a, UPLO="L" if lower else "U")
    ),
    "np.linalg.eigvalsh": lambda xp, a, *, lower: _linalg(xp).eigvalsh(
        a, UPLO="L" if lower else "U"
    ),
    "np.linalg.svd": lambda xp, a, *, compute_uv: (
        tuple(_linalg(xp).svd(a, full_matrices=False)) if compute_uv else _linalg(xp).svdvals(a)
    ),
    "np.max": lambda xp, x, *, axis, keepdims: xp.amax(x, -1),
    "np.min": lambda xp, x, *, axis, keepdims: xp.amin(x, -1),
}


def _constant(node: sympy.Basic) -> int | float:
    # Whole constant subtrees (exp(2), pi/3) are evaluated by SymPy, correctly rounded,
    # so peer functions only ever see arrays; Python numbers keep the input's float dtype.
    if node.is_Integer:
        return int(node)
    try:
        return float(node)
    except TypeError:
        raise ValueError(f"the expression has the non-real constant {node}") from None


def _apply(node: sympy.Basic, args: list[Any], peer: Peer, like: Any) -> Any:
    relation = _RELATIONS.get(type(node))
    if relation is not None:
        return relation(*args)
    if isinstance(node, sympy.And | sympy.Or):
        combine = peer.module.logical_and if isinstance(node, sympy.And) else peer.module.logical_or
        return functools.reduce(combine, args)
    if isinstance(node, sympy.Not):
        return peer.module.logical_not(args[0])
    if isinstance(node, sympy.ITE):  # SymPy's fold of a Piecewise inside a relation
        return peer.module.where(*args)
    if isinstance(node, sympy.functions.elementary.piecewise.ExprCondPair):
        return tuple(args)
    if isinstance(node, sympy.Piecewise):
        *pieces, (last, condition) = args
        result = last if condition is True else peer.asarray(float("nan"), like)
        for value, cond in reversed(pieces):
            result = peer.module.where(cond, peer.asarray(value, like), peer.asarray(result, like))
        return result
    if isinstance(node, indicator):
        return peer.asarray(args[0], like) * 1
    if isinstance(node, sympy.Add):
        return functools.reduce(operator.add, args)
    if isinstance(node, sympy.Mul):
        return functools.reduce(operator.mul, args)
    if isinstance(node, sympy.Pow):
        base, exponent = args
        return peer.module.sqrt(base) if node.exp == sympy.S.Half else base**exponent
    if isinstance(node, sympy.Symbol):
        raise ValueError(f"the expression uses {node}, which is not one of the input's variables")
    return peer.op(node, like)(*args)


def _evaluate(
    roots: Sequence[sympy.Basic], env: dict[Any, Any], peer: Peer, like: Any
) -> list[Any]:
    # Post-order without recursion (deep expressions would exhaust the stack); the memo
    # shares each common subexpression between the outputs.
    values: dict[Any, Any] = dict(env)
    calls: dict[tuple[Any, ...], list[Any]] = {}  # one opaque call serves all its entries
    stack = list(roots)
    while stack:
        node = stack[-1]
        if node in values:
            stack.pop()
        elif node is sympy.true or node is sympy.false:
            values[stack.pop()] = node is sympy.true
        elif not node.free_symbols and isinstance(node, sympy.Expr):
            values[stack.pop()] = _constant(node)
        elif pending := [arg for arg in node.args if arg not in values]:
            stack.extend(pending)
        else:
            stack.pop()
            args = [values[arg] for arg in node.args]
            if is_entry(node):
                key = (type(node), node.args[1])
                if key not in calls:
                    calls[key] = _array_call(node, list(args[1]), peer, like)
                values[node] = calls[key][node.index]
            elif isinstance(node, sympy.Tuple):  # an opaque call's packed inputs
                values[node] = tuple(args)
            else:
                values[node] = _apply(node, args, peer, like)
    return [values[root] for root in roots]


def expression_function(f: Any, shape: tuple[int, ...], peer: Peer) -> Callable[[Any], Any]:
    """``f`` (expression or traceable NumPy callable) as a function of one peer array of ``shape``.

    The expression is evaluated node by node rather than through ``lambdify``: SymPy's
    Python printer writes ``sign`` as a Python ``if`` and ``Max`` as the builtin ``max``,
    both of which break the peer's tracing.
    """
    outputs, variables = expressions_of(f, shape)
    roots = list(outputs.ravel())

    def evaluated(x: Any) -> Any:
        flat = x.reshape(-1)
        env = {v: flat[i] for i, v in enumerate(variables)}
        values = [peer.asarray(v, x) for v in _evaluate(roots, env, peer, x)]
        return values[0] if outputs.shape == () else peer.stack(values).reshape(outputs.shape)

    return evaluated


def _has_expression(f: Any) -> bool:
    return isinstance(f, str | sympy.Expr) or (isinstance(f, Function) and f.expr is not None)


def peer_function(f: Any, example: Any, peer: Peer) -> Callable[[Any], Any]:
    """``f`` as a function of peer arrays shaped like ``example``, native when it can be.

    Expressions are evaluated on the peer; a callable that runs on peer arrays is used
    as it is; NumPy code is traced once into an expression. A callable that does neither
    raises ``UntraceableFunctionError`` with both reasons.
    """
    shape = tuple(example.shape)
    if _has_expression(f):
        return expression_function(f, shape, peer)
    fn = f.numpy if isinstance(f, Function) else f
    if not callable(fn):
        raise TypeError(
            f"cannot differentiate a {type(f).__name__}: pass a callable, an expression string, "
            "a SymPy expression or a diffkit.Function"
        )
    native = peer.probe(fn, example)
    if native is None:

        def called(x: Any) -> Any:
            out = fn(x)
            return peer.stack(list(out)) if isinstance(out, list | tuple) else out

        return called
    try:
        return expression_function(fn, shape, peer)
    except TracerError as traced:
        name = getattr(fn, "__name__", type(fn).__name__)
        raise UntraceableFunctionError(
            f"the {peer.name} backend cannot differentiate {name}: it does not run on "
            f"{peer.name} arrays ({type(native).__name__}: {native}) and cannot be traced "
            f"into an expression ({traced}). Write it with {peer.written_with}, or pass "
            "an expression string, a SymPy expression or a diffkit.Function with an expression."
        ) from native
