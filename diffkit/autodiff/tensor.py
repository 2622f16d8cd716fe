"""The tensor: a NumPy array that records how it was computed.

A ``Tensor`` wraps an ndarray and speaks NumPy's dispatch protocols, so plain NumPy
code (``np.sin(x)``, ``x @ w``, ``np.sum(x[1:] ** 2)``, ``np.linalg.norm(x)``) builds a
graph when handed tensors. Each node keeps its arguments, its op and a
vector-Jacobian product (VJP): elementwise ops take theirs from the rows of
``ops.py``, everything else from the array-level table (``diffkit.arrays``, read in
``table.py``), and indexing from ``vjps.py``. A node holds no closure and no
reference to its consumers, so a dropped graph is freed by reference counting
alone, with no work for the garbage collector.

Anything NumPy does to a tensor that is in neither table raises a ``TypeError`` that
names the call as the user wrote it and which backends can do it: a silently wrong
gradient is never an option.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .. import ops
from ..arrays import rule_for, supported_names
from ..arrays.creation import running_user_code
from ..arrays.methods import ArrayMethods
from ..arrays.rule import ArrayRule, NotDifferentiable
from . import buffers, table, vjps

__all__ = [
    "Node",
    "Shaped",
    "Tensor",
    "UnsupportedOperationError",
    "plain",
    "supported_operations",
]

# Creation order of nodes: backward visits them in reverse, which is a topological
# order (a node is always created after its arguments) and makes sums deterministic.
_order = itertools.count()

# Results of at least this many bytes go to recycled buffers (see buffers.py).
_POOL_BYTES = buffers.MIN_BYTES

# ufunc -> primitive row, from the table itself: no second list of primitives here.
_UFUNC_ROWS: dict[Any, ops.Primitive] = dict(ops.UFUNCS)
# ufuncs whose result carries no gradient: comparisons and predicates.
_NON_DIFFERENTIABLE = frozenset(
    {
        np.greater,
        np.greater_equal,
        np.less,
        np.less_equal,
        np.equal,
        np.not_equal,
        np.logical_and,
        np.logical_or,
        np.logical_not,
        np.logical_xor,
        np.isfinite,
        np.isinf,
        np.isnan,
        np.signbit,
    }
)


class UnsupportedOperationError(NotDifferentiable):
    """A NumPy call on a tensor that the engine cannot differentiate."""


# NumPy's own asarray, bound before anything could replace ``np.asarray``: results are
# recorded while a user's function runs, when ``np.asarray`` is diffkit's (see
# arrays.creation), and a call site that alternates between the two is slow.
_asarray = np.asarray


def _unsupported(what: str) -> UnsupportedOperationError:
    return table.unsupported(what)


def _raw(value: Any) -> Any:
    return value.data if isinstance(value, Tensor) else value


def plain(value: Any) -> Any:
    """``value`` with tensors replaced by their data (inside lists and tuples too)."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, list | tuple):
        return type(value)(plain(v) for v in value)
    return value


Saves = Callable[[tuple[bool, ...]], tuple[tuple[bool, ...], bool]]


class Shaped:
    """What a node keeps of a value its VJP does not read: the shape and dtype."""

    __slots__ = ("dtype", "shape")

    def __init__(self, value: Any) -> None:
        self.shape, self.dtype = value.shape, value.dtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        return f"{self.dtype}{list(self.shape)} (not kept)"


# Arrays up to this many bytes are kept whole even where no VJP reads them: a shape
# record would cost more time than the array costs memory.
_KEEP_BYTES = 256

# What a node keeps, from the ``saves`` of its op and which arguments are tensors:
# (needs, which arguments are kept as shapes only, whether the output is kept).
# A handful of distinct answers, each worked out once; nodes of one and two
# arguments look theirs up by the ``saves`` function alone.
Plan = tuple[tuple[bool, ...], tuple[bool, ...], bool]
_PLANS: dict[tuple[Any, tuple[bool, ...]], Plan] = {}
_UNARY: dict[Any, Plan] = {}
_BINARY: dict[Any, tuple[tuple[Plan, Plan], tuple[Plan, Plan]]] = {}


def _plan(saves: Saves | None, needs: tuple[bool, ...]) -> Plan:
    """What a node keeps when the arguments flagged in ``needs`` are tensors."""
    found = _PLANS.get((saves, needs))
    if found is None:
        if saves is None:
            found = needs, (False,) * len(needs), True
        else:
            keep_args, keep_out = saves(needs)
            drop = tuple([n and not k for n, k in zip(needs, keep_args, strict=True)])
            found = needs, drop, keep_out
        if len(_PLANS) < 4096:
            _PLANS[saves, needs] = found
    return found


def _unary_plan(saves: Saves | None) -> Plan:
    found = _UNARY[saves] = _plan(saves, (True,))
    return found


def _binary_plans(saves: Saves | None) -> tuple[tuple[Plan, Plan], tuple[Plan, Plan]]:
    """Plans indexed ``[a is a tensor][b is a tensor]``."""
    found = _BINARY[saves] = (
        (_plan(saves, (False, False)), _plan(saves, (False, True))),
        (_plan(saves, (True, False)), _plan(saves, (True, True))),
    )
    return found


def _links(
    args: tuple[Any, ...],
) -> tuple[tuple[Any, ...], tuple[Any, ...], list[Any], tuple[bool, ...]]:
    """Parents, parent nodes, values and which arguments are tensors, for any number of arguments."""
    parents: list[Node | None] = []
    prev: list[Node] = []
    saved: list[Any] = []
    needs: list[bool] = []
    for a in args:
        if isinstance(a, Tensor):
            parents.append(a._node)
            prev.append(a._node)
            saved.append(a.data)
            needs.append(True)
        else:
            parents.append(None)
            saved.append(a)  # a constant: the user's own object
            needs.append(False)
    return tuple(parents), tuple(prev), saved, tuple(needs)


class Node:
    """One recorded operation: its parents, the values its VJP reads, and the VJP.

    Kept apart from the ``Tensor`` holding the result, so the graph does not keep
    every intermediate array alive: an array outlives the user's code only where a
    VJP reads it (torch's saved tensors, the same idea).
    """

    __slots__ = (
        "__weakref__",
        "kwargs",
        "needs",
        "op",
        "order",
        "out",
        "parents",
        "prev",
        "saved",
        "tensor",
        "vjp",
    )

    parents: tuple[Node | None, ...]  # one per argument; None for constants
    prev: tuple[Node, ...]  # the parents that are nodes
    saved: tuple[Any, ...]  # what the VJP gets as arguments
    out: Any  # the result, where the VJP reads it; else None
    needs: tuple[bool, ...]  # which arguments are tensors
    kwargs: Any
    vjp: Callable[..., tuple[Any, ...]] | None
    op: str
    order: int
    tensor: Any  # leaves: a weak reference to their tensor (for .grad); others None

    def __init__(
        self,
        tensor: Tensor,
        op: str,
        vjp: Callable[..., tuple[Any, ...]] | None,
        args: tuple[Any, ...],
        kwargs: Any,
        saves: Saves | None,
    ) -> None:
        parents, prev, saved, needs = _links(args)
        needs, drop, keep_out = _plan(saves, needs)
        for k in range(len(needs)):
            if drop[k] and saved[k].nbytes > _KEEP_BYTES:
                saved[k] = Shaped(saved[k])
        _fill(self, tuple(saved), parents, prev, needs, tensor.data if keep_out else None)
        self.kwargs, self.vjp, self.op = kwargs, vjp, op

    @classmethod
    def leaf(cls, tensor: Tensor) -> Node:
        """A leaf's node: no parents, no VJP, and a weak link back to its tensor (for .grad)."""
        node: Node = _new_node(cls)
        _fill(node, (), (), (), (), None)
        node.kwargs = node.vjp = None
        node.op = ""
        node.tensor = weakref.ref(tensor)
        return node

    # the duck-typed interface of graph drawing (label, data, grad, _prev, _op)
    @property
    def label(self) -> str:
        owner = self.tensor() if self.tensor is not None else None
        return owner.label if owner is not None else ""

    @property
    def data(self) -> Any:
        return self.out if self.out is not None else "(not kept)"

    @property
    def grad(self) -> Any:
        owner = self.tensor() if self.tensor is not None else None
        return owner.grad if owner is not None else None

    @property
    def _prev(self) -> tuple[Node, ...]:
        return self.prev

    @property
    def _op(self) -> str:
        return self.op


_new_node = object.__new__


def _fill(
    node: Node,
    saved: tuple[Any, ...],
    parents: tuple[Any, ...],
    prev: tuple[Any, ...],
    needs: tuple[bool, ...],
    out: Any,
) -> None:
    node.saved, node.parents, node.prev, node.needs, node.out = saved, parents, prev, needs, out
    node.order = next(_order)
    # results do not point back at their tensor, so a dropped intermediate is freed
    node.tensor = None


def _binary_node(
    data: Any,
    op: str,
    vjp: Callable[..., tuple[Any, ...]],
    a: Any,
    b: Any,
    ta: bool,
    tb: bool,
    kwargs: Any,
    saves: Saves | None,
) -> Node:
    """The node of a two-argument operation (``ta``, ``tb``: which arguments are tensors).

    Written out, not looped: this runs once per recorded operator, and on Python
    3.11 every loop, comprehension and call is a measurable part of that.
    """
    node: Node = _new_node(Node)
    plans = _BINARY.get(saves)
    if plans is None:
        plans = _binary_plans(saves)
    needs, drop, keep_out = plans[ta][tb]
    pa = a._node if ta else None
    pb = b._node if tb else None
    sa = a.data if ta else a
    sb = b.data if tb else b
    if drop[0] and sa.nbytes > _KEEP_BYTES:
        sa = Shaped(sa)
    if drop[1] and sb.nbytes > _KEEP_BYTES:
        sb = Shaped(sb)
    node.saved = (sa, sb)
    parents: tuple[Any, ...] = (pa, pb)
    node.parents = parents
    node.prev = parents if ta and tb else (pa,) if ta else (pb,) if tb else ()
    node.needs = needs
    node.out = data if keep_out else None
    node.kwargs, node.vjp, node.op = kwargs, vjp, op
    node.order = next(_order)
    node.tensor = None
    return node


def _unary_node(
    data: Any, op: str, vjp: Callable[..., tuple[Any, ...]], x: Tensor, kwargs: Any, saves: Any
) -> Node:
    """The node of a one-argument operation on a tensor."""
    node: Node = _new_node(Node)
    plan = _UNARY.get(saves)
    needs, drop, keep_out = _unary_plan(saves) if plan is None else plan
    value = x.data
    node.saved = (Shaped(value) if drop[0] and value.nbytes > _KEEP_BYTES else value,)
    node.parents = node.prev = (x._node,)
    node.needs = needs
    node.out = data if keep_out else None
    node.kwargs, node.vjp, node.op = kwargs, vjp, op
    node.order = next(_order)
    node.tensor = None
    return node


_new_tensor = object.__new__


class Tensor(ArrayMethods):
    """An ndarray that records its computation, for reverse-mode differentiation.

    ``grad`` is filled on leaves by ``backward()`` as a convenience; the functional
    ``diffkit.grad`` returns gradients without touching it.
    """

    __slots__ = ("__weakref__", "_node", "data", "grad", "label")
    __array_priority__ = 1000.0

    data: np.ndarray
    grad: np.ndarray | None
    _node: Node

    def __init__(self, data: Any, *, label: str = "") -> None:
        array = np.array(data, copy=True) if not isinstance(data, np.ndarray) else data
        if array.dtype.kind in "biu":
            array = array.astype(np.float64)
        if array.dtype.kind not in "fc":
            raise TypeError(f"a Tensor holds floating-point numbers, got dtype {array.dtype}")
        self.data = array
        self.grad = None
        self.label = label
        self._node = Node.leaf(self)

    @classmethod
    def _wrap(cls, data: Any, node: Node) -> Tensor:
        """A tensor for a value already in the graph (a saved value in a recorded backward pass)."""
        out = cls.__new__(cls)
        out.data = data if isinstance(data, np.ndarray) else _asarray(data)
        out.grad = None
        out.label = ""
        out._node = node
        return out

    @classmethod
    def _record(
        cls,
        data: Any,
        op: str,
        vjp: Callable[..., tuple[Any, ...]],
        args: tuple[Any, ...],
        kwargs: Any = None,
        saves: Saves | None = None,
    ) -> Tensor:
        """A recorded result: ``vjp(g, args, out, kwargs, needs, batch)`` gives each argument's cotangent.

        ``saves(needs) -> (which arguments, whether the output)`` says what the VJP
        reads; everything else is kept as its shape only, so intermediates nobody
        needs are freed as soon as the user's code drops them (default: keep all).
        """
        out = _new_tensor(cls)
        out.data = data = data if type(data) is np.ndarray else _asarray(data)
        out.grad = None
        out.label = ""
        if len(args) == 2:
            a, b = args
            out._node = _binary_node(
                data, op, vjp, a, b, isinstance(a, Tensor), isinstance(b, Tensor), kwargs, saves
            )
        elif len(args) == 1 and isinstance(args[0], Tensor):
            out._node = _unary_node(data, op, vjp, args[0], kwargs, saves)
        else:
            out._node = Node(out, op, vjp, args, kwargs, saves)
        return out

    @property
    def _prev(self) -> tuple[Node, ...]:
        return self._node.prev

    @property
    def _op(self) -> str:
        return self._node.op

    # ------------------------------------------------------------------ NumPy protocols

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method != "__call__" or "out" in kwargs or kwargs.get("where", True) is not True:
            options = ", ".join(sorted(kwargs))
            raise _unsupported(
                f"np.{ufunc.__name__}.{method}" + (f" with {options}" if options else "")
            )
        return _apply(ufunc, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func is _NP_SUM:  # the commonest call, without the table lookup
            return table.call(_SUM, args, kwargs)
        return table.call_function(func, args, kwargs)

    def __diffkit_rule__(self, rule: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Apply a row of the array-level table (the table's own calls, e.g. ``scatter``)."""
        return table.call(rule, args, kwargs)

    def __diffkit_values__(self) -> np.ndarray:
        """The numbers, for choices that carry no derivative (which entry is the maximum)."""
        return self.data

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        if dtype is not None and np.dtype(dtype).kind in "biu":
            return self.data.astype(dtype)  # integer values (indices) carry no derivative
        raise _unsupported(
            "np.array/np.asarray of a Tensor here: it would cut the graph (inside dk.grad, "
            "dk.jacobian, ... np.array works; else build arrays with np.stack)"
        )

    # ------------------------------------------------------------------ array facade

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.data.dtype

    @property
    def T(self) -> Tensor:
        return table.call(_TRANSPOSE, (self,), {})

    def __len__(self) -> int:
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self.data)))

    def __getitem__(self, index: Any) -> Tensor:
        return vjps.getitem(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        raise _unsupported("assignment into a Tensor (x[i] = v): build a new array instead")

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        # Inside a function diffkit differentiates, float(x), math.exp(x) or writing x into
        # a NumPy array would give a number with no derivative, and the gradient would
        # silently lose that path. Outside (a training loop's float(loss)) it is the value.
        if not running_user_code():
            return float(self.data)
        raise _unsupported(
            "float() of a Tensor (math.exp(x), float(x), x stored into a NumPy array): it "
            "would drop the derivative; use np.exp(x) etc., or x.item() for a constant"
        )

    def __int__(self) -> int:
        return int(self.data)

    def backward(self, seed: Any = None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf tensor it depends on.

        A convenience in torch's and micrograd's style (grads add up until reset);
        ``diffkit.grad`` is the functional way and leaves tensors untouched.
        """
        from .engine import backward, reachable, writable

        start = np.ones(self.shape, dtype=self.dtype) if seed is None else seed
        cotangents = backward(self, start)
        for node in reachable(self._node):
            g = cotangents.get(id(node))
            owner = node.tensor() if node.tensor is not None else None
            if g is not None and owner is not None:
                owner.grad = writable(g) if owner.grad is None else owner.grad + g

    def item(self, *index: Any) -> float:
        """The value (one entry of it) as a Python number: a constant, on purpose."""
        return float(self.data.item(*index))

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        op = f", op={self._op!r}" if self._op else ""
        return f"Tensor({np.array2string(self.data, threshold=8)}{op}{label})"

    # NumPy's array methods come from ArrayMethods (each the NumPy function); these are
    # the ones a tensor answers faster, or differently.
    def sum(
        self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False
    ) -> Any:
        return table.call(_SUM, (self, axis, dtype, out, keepdims), {})

    def copy(self) -> Tensor:
        return self  # tensors are never written in place: a copy is the tensor itself

    def astype(self, dtype: Any, *args: Any, **kwargs: Any) -> Any:
        """A cast: to another float type it records (the gradient comes back in the
        input's dtype); to an integer or bool type it gives plain values, which carry
        no derivative (indices, counts)."""
        target = np.dtype(dtype)
        if target.kind not in "fc":
            return self.data.astype(target)
        if target == self.dtype:
            return self
        return Tensor._record(
            self.data.astype(target), "astype", _astype_vjp, (self,), None, _SHAPES_ONLY
        )

    # micrograd-style methods, so the classic examples read the same on tensors
    def exp(self) -> Any:
        return np.exp(self)

    def log(self) -> Any:
        return np.log(self)

    def tanh(self) -> Any:
        return np.tanh(self)

    def relu(self) -> Any:
        return np.maximum(self, 0.0)

    # ------------------------------------------------------------------ operators

    def __add__(self, other: Any) -> Any:
        return _operator(np.add, _ADD, self, other)

    def __radd__(self, other: Any) -> Any:
        return _operator(np.add, _ADD, other, self)

    def __sub__(self, other: Any) -> Any:
        return _operator(np.subtract, _SUBTRACT, self, other)

    def __rsub__(self, other: Any) -> Any:
        return _operator(np.subtract, _SUBTRACT, other, self)

    def __mul__(self, other: Any) -> Any:
        return _operator(np.multiply, _MULTIPLY, self, other)

    def __rmul__(self, other: Any) -> Any:
        return _operator(np.multiply, _MULTIPLY, other, self)

    def __truediv__(self, other: Any) -> Any:
        return _operator(np.true_divide, _DIVIDE, self, other)

    def __rtruediv__(self, other: Any) -> Any:
        return _operator(np.true_divide, _DIVIDE, other, self)

    def __pow__(self, other: Any) -> Any:
        return _operator(np.power, _POWER, self, other)

    def __rpow__(self, other: Any) -> Any:
        return _operator(np.power, _POWER, other, self)

    def __matmul__(self, other: Any) -> Any:
        return _apply(np.matmul, (self, other), _NO_OPTIONS)

    def __rmatmul__(self, other: Any) -> Any:
        return _apply(np.matmul, (other, self), _NO_OPTIONS)

    def __neg__(self) -> Any:
        return _apply(np.negative, (self,), _NO_OPTIONS)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Any:
        return np.absolute(self)

    def __lt__(self, other: Any) -> Any:
        return np.less(self, other)

    def __le__(self, other: Any) -> Any:
        return np.less_equal(self, other)

    def __gt__(self, other: Any) -> Any:
        return np.greater(self, other)

    def __ge__(self, other: Any) -> Any:
        return np.greater_equal(self, other)

    def __eq__(self, other: Any) -> Any:
        return np.equal(self, other)

    def __ne__(self, other: Any) -> Any:
        return np.not_equal(self, other)

    __hash__ = object.__hash__  # identity: nodes are keys of the backward pass


def _apply(ufunc: Any, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """A ufunc on tensors: the plain result, recorded as a node when it has a derivative."""
    raw = [a.data if isinstance(a, Tensor) else a for a in inputs]
    if ufunc in _NON_DIFFERENTIABLE:
        return ufunc(*raw, **kwargs)
    row = _UFUNC_ROWS.get(ufunc)
    if row is None:
        if rule_for(ufunc) is not None:  # a gufunc of the array-level table (matmul, vecdot)
            return table.call_function(ufunc, inputs, kwargs)
        raise _unsupported(f"np.{ufunc.__name__} (not a row of diffkit.ops)")
    data = ufunc(*raw, **kwargs) if kwargs else _evaluate(ufunc, raw)
    return Tensor._record(data, row.name, vjps.elementwise, inputs, row, row.saves)


def _operator(ufunc: Any, row: ops.Primitive, a: Any, b: Any) -> Tensor:
    """A binary operator with a tensor on one side, without NumPy's dispatch.

    Tensor's operators call this directly: NumPy's dispatch costs a microsecond a
    call, which is most of a small array's cost (and so is every Python call saved
    by writing ``Tensor._record`` out here).
    """
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    ra = a.data if ta else a
    rb = b.data if tb else b
    if (type(ra) is np.ndarray and ra.nbytes >= _POOL_BYTES) or (
        type(rb) is np.ndarray and rb.nbytes >= _POOL_BYTES
    ):
        data = _evaluate(ufunc, [ra, rb])
    else:  # the ** operator takes NumPy's fast paths (x**2 is a multiply); np.power does not
        data = ra**rb if ufunc is np.power else ufunc(ra, rb)
    out = _new_tensor(Tensor)
    out.data = data = data if type(data) is np.ndarray else _asarray(data)
    out.grad = None
    out.label = ""
    out._node = _binary_node(data, row.name, vjps.elementwise, a, b, ta, tb, row, row.saves)
    return out


def _evaluate(ufunc: Any, raw: list[Any]) -> Any:
    """ufunc(*raw), written into a recycled buffer when the result is a large array."""
    first = raw[0] if type(raw[0]) is np.ndarray else raw[-1]
    if type(first) is np.ndarray and first.nbytes >= _POOL_BYTES:
        data = _into_buffer(ufunc, raw)
        if data is not None:
            return data
    return raw[0] ** raw[1] if ufunc is np.power else ufunc(*raw)


def _into_buffer(ufunc: Any, raw: list[Any]) -> Any:
    """ufunc(*raw) in a recycled buffer, or None when the result does not fit one."""
    out = buffers.output_for(raw)
    return None if out is None else ufunc(*raw, out=out)


_NO_OPTIONS: dict[str, Any] = {}
_ADD, _SUBTRACT, _MULTIPLY, _DIVIDE, _POWER = (
    _UFUNC_ROWS[u] for u in (np.add, np.subtract, np.multiply, np.true_divide, np.power)
)


def _rule(function: Any) -> ArrayRule:
    found = rule_for(function)
    assert found is not None, function
    return found


_SUM = _rule(np.sum)
_NP_SUM = np.sum
_TRANSPOSE = _rule(np.transpose)


def _shapes_only(needs: tuple[bool, ...]) -> tuple[tuple[bool, ...], bool]:
    return (False,) * len(needs), False


_SHAPES_ONLY = _shapes_only


def _astype_vjp(
    g: Any, args: tuple[Any, ...], out: Any, kw: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    return (g.astype(args[0].dtype),)


def supported_operations() -> tuple[str, ...]:
    """Names of the NumPy calls reverse mode differentiates, sorted."""
    names = {f"np.{u.__name__}" for u in _UFUNC_ROWS} | {"indexing and slicing"}
    names |= set(supported_names())
    return tuple(sorted(names))
