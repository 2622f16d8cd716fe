"""The backward pass, and the functional API built on it: grad, value_and_grad, jacobian, hessian.

Backward visits the nodes reachable from the output in reverse creation order
(a topological order, found without recursion, so graphs of millions of nodes work
at the default recursion limit), pushes each cotangent through its node's VJP and
sums contributions in that fixed order: same inputs, same bits.

A cotangent may carry leading *batch* axes: pushing the rows of an identity
matrix through one pass gives a whole Jacobian, and pushing them through the
recorded gradient gives a whole Hessian, in one pass instead of n.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import numpy as np

from ..arrays.creation import numpy_entry_points
from . import buffers
from .tensor import Node, Shaped, Tensor
from .vjps import IndexedCotangent

__all__ = ["backward", "derivative", "grad", "hessian", "jacobian", "reachable", "value_and_grad"]


_creation = attrgetter("order")
_SHAPED = (np.ndarray, Tensor)


def reachable(root: Tensor | Node) -> list[Node]:
    """Every node the root depends on, latest first."""
    start = root._node if isinstance(root, Tensor) else root
    seen = {start}
    found = [start]
    stack = [start]
    while stack:
        for parent in stack.pop().prev:
            if parent not in seen:
                seen.add(parent)
                found.append(parent)
                stack.append(parent)
    found.sort(key=_creation, reverse=True)
    return found


def backward(
    root: Tensor, seed: Any, *, create_graph: bool = False, wrt: tuple[Tensor, ...] = ()
) -> dict[int, Any]:
    """Cotangents of every leaf reached from ``root`` (or of the ``wrt`` tensors), keyed by
    the ``id`` of their graph node (``id(x._node)``).

    ``seed`` has the root's shape, or more leading axes for a batch of cotangents.
    With ``create_graph`` the pass itself is recorded: the results are tensors that
    can be differentiated again. A ``wrt`` tensor collects its cotangent and stops it
    there, which is what differentiating with respect to an intermediate (a tensor
    handed to ``grad`` inside a function being differentiated) means.
    """
    seed_shape = seed.shape if isinstance(seed, _SHAPED) else np.shape(seed)
    batch = len(seed_shape) - root.ndim
    if batch < 0 or seed_shape[batch:] != root.shape:
        raise ValueError(
            f"seed of shape {seed_shape} does not match an output of shape {root.shape}"
        )
    stops = {t._node for t in wrt}
    # Keyed by the nodes themselves (hashed by identity): no id() call per lookup.
    pending: dict[Node | None, Any] = {root._node: seed}
    owned: set[Node | None] = set()
    leaves: dict[int, Any] = {}
    for node in reachable(root):
        g = pending.pop(node, None)
        if g is None:
            continue
        vjp = node.vjp
        if vjp is None or node in stops:
            leaves[id(node)] = g
            continue
        if create_graph:
            cotangents = vjp(
                g, _recorded(node), _as_tensor(node.out, node), node.kwargs, node.needs, batch
            )
        else:
            cotangents = vjp(g, node.saved, node.out, node.kwargs, node.needs, batch)
        for parent, ct in zip(node.parents, cotangents, strict=True):
            if ct is None:  # VJPs return None for arguments that are not tensors
                continue
            if parent in pending or type(ct) is IndexedCotangent:
                _accumulate(pending, owned, parent, ct)
            else:
                pending[parent] = ct
    return leaves


def _as_tensor(value: Any, node: Node) -> Any:
    """A saved value as a tensor of its node, for a recorded pass; a shape stays a shape."""
    return value if value is None or isinstance(value, Shaped) else Tensor._wrap(value, node)


def _recorded(node: Node) -> tuple[Any, ...]:
    return tuple(
        saved if parent is None else _as_tensor(saved, parent)
        for parent, saved in zip(node.parents, node.saved, strict=True)
    )


def _accumulate(
    pending: dict[Node | None, Any], owned: set[Node | None], key: Node | None, ct: Any
) -> None:
    """Add a cotangent into the pending sum of one node, in place where the buffer is ours.

    ``owned`` holds the keys whose buffer this pass allocated: only those may be
    written into (a VJP may hand the same array to several arguments).
    """
    previous = pending.get(key)
    if isinstance(ct, IndexedCotangent):
        if isinstance(previous, Tensor):  # a recorded pass: keep the sum recorded
            pending[key] = previous + ct.dense()
            return
        if previous is None:
            pending[key] = ct.dense(_large_buffer(ct.shape, ct.values.dtype))
            owned.add(key)
            return
        if key not in owned:
            dense = _zeros_buffer(ct.shape, ct.values.dtype)
            dense += previous
            owned.add(key)
        else:
            dense = previous
        ct.add_into(dense)
        pending[key] = dense
    elif previous is None:
        pending[key] = ct
    elif (
        key in owned
        and isinstance(previous, np.ndarray)
        and isinstance(ct, np.ndarray)
        and ct.shape == previous.shape
    ):
        np.add(previous, ct, out=previous)
    else:
        total = _sum(previous, ct)
        pending[key] = total
        if isinstance(total, np.ndarray):
            owned.add(key)
        else:
            owned.discard(key)


def _zeros_buffer(shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray:
    """Zeros to accumulate into: a recycled buffer when large (fresh zeros cost page faults)."""
    if math.prod(shape) * dtype.itemsize < buffers.MIN_BYTES:
        return np.zeros(shape, dtype=dtype)
    dense = buffers.empty(shape, dtype)
    dense.fill(0)
    return dense


def _large_buffer(shape: tuple[int, ...], dtype: np.dtype[Any]) -> np.ndarray | None:
    """A recycled uninitialized array to write a whole cotangent into; None when small."""
    if math.prod(shape) * dtype.itemsize < buffers.MIN_BYTES:
        return None
    return buffers.empty(shape, dtype)


def _sum(a: Any, b: Any) -> Any:
    """a + b, into a recycled buffer when both are large arrays of one shape and dtype."""
    if (
        type(a) is np.ndarray
        and type(b) is np.ndarray
        and a.shape == b.shape
        and a.dtype == b.dtype
        and a.nbytes >= buffers.MIN_BYTES
    ):
        return np.add(a, b, out=buffers.empty(a.shape, a.dtype))
    return a + b


def _leaf(x: Any) -> Tensor:
    """A fresh leaf for x; a tensor stays itself, so grad can be nested (gradients of gradients)."""
    if isinstance(x, Tensor):
        return x
    data = np.asarray(x)
    if data.dtype.kind in "biu":
        data = data.astype(np.float64)
    return Tensor(data)  # no copy: the engine never writes into its inputs


def _zeros(x: Tensor, batch: tuple[int, ...] = ()) -> np.ndarray:
    return np.zeros(batch + x.shape, dtype=x.dtype)


def _call(f: Callable[..., Any], args: tuple[Any, ...], argnum: int, leaf: Any) -> Any:
    """f(*args) with ``leaf`` in place of args[argnum], ``np.array`` & co. keeping tensors."""
    with numpy_entry_points():
        return f(*args[:argnum], leaf, *args[argnum + 1 :])


def _output(out: Any, f: Callable[..., Any]) -> Tensor | None:
    """f's result as one tensor; None when it is a constant (f does not depend on x).

    Several outputs (a tuple or list, such as ``eigh``'s) count as one vector, each
    flattened, in order.
    """
    if isinstance(out, Tensor):
        return out
    if isinstance(out, list | tuple) and out:
        parts = [_output(o, f) for o in out]
        if all(p is None for p in parts):
            return None
        pieces = [
            np.reshape(p if p is not None else np.asarray(o, dtype=float), (-1,))
            for p, o in zip(parts, out, strict=True)
        ]
        return np.concatenate(pieces)  # type: ignore[return-value]
    if (
        isinstance(out, np.ndarray | np.number | float | int)
        and not isinstance(out, bool)
        and np.asarray(out).dtype.kind in "biuf"
    ):
        return None  # f does not depend on its argument: the derivative is zero
    raise TypeError(
        f"{getattr(f, '__name__', 'f')} returned {type(out).__name__}, not an array or a number"
    )


def _gradient_at(
    f: Callable[..., Any], args: tuple[Any, ...], argnum: int, leaf: Tensor, create_graph: bool
) -> tuple[Any, Any]:
    """f(*args) with ``leaf`` in place of args[argnum], and its gradient with respect to the leaf."""
    with numpy_entry_points():  # _call, inlined: dk.grad of a small f is this hot
        out = f(*args[:argnum], leaf, *args[argnum + 1 :])
    node = _output(out, f)
    if node is None:
        return out, _zeros(leaf)
    if node.size != 1:
        raise ValueError(
            f"grad needs a scalar-valued function, got an output of shape {node.shape}; use jacobian"
        )
    seed = np.array(1, dtype=node.dtype) if node.ndim == 0 else np.ones(node.shape, node.dtype)
    gradient = backward(node, seed, create_graph=create_graph, wrt=(leaf,)).get(id(leaf._node))
    return (node if create_graph else node.data), (
        _zeros(leaf) if gradient is None else writable(gradient)
    )


def writable(value: Any) -> Any:
    """A gradient the user may write into: a read-only broadcast (the cotangent of a sum,
    kept as one repeated value through the pass) becomes an array of its own."""
    if type(value) is np.ndarray and not value.flags.writeable:
        return value.copy()
    return value


def value_and_grad(
    f: Callable[..., Any], argnum: int = 0, *, create_graph: bool = False
) -> Callable[..., tuple[Any, Any]]:
    """A function returning ``(f(*args), gradient of f with respect to args[argnum])``; f scalar-valued.

    With ``create_graph`` both come back as tensors that can be differentiated again.
    """
    return lambda *args: _gradient_at(f, args, argnum, _leaf(args[argnum]), create_graph)


def grad(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """A function returning the gradient of scalar-valued f with respect to args[argnum]."""
    with_value = value_and_grad(f, argnum)
    return lambda *args: with_value(*args)[1]


def _batched_identity(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    size = int(np.prod(shape, dtype=int))
    return np.eye(size, dtype=dtype).reshape((size, *shape))


def jacobian(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """A function returning the Jacobian of f, shape ``out.shape + x.shape``, from one batched pass."""

    def evaluate(*args: Any) -> Any:
        leaf = _leaf(args[argnum])
        out = _call(f, args, argnum, leaf)
        node = _output(out, f)
        if node is None:
            return _zeros(leaf, np.shape(out))
        rows = backward(node, _batched_identity(node.shape, node.dtype), wrt=(leaf,)).get(
            id(leaf._node)
        )
        result = _zeros(leaf, (node.size,)) if rows is None else np.asarray(rows)
        return result.reshape(node.shape + leaf.shape)

    return evaluate


def hessian(f: Callable[..., Any], argnum: int = 0) -> Callable[..., Any]:
    """A function returning the Hessian of scalar f: the Jacobian of its recorded gradient, in one pass."""

    def evaluate(*args: Any) -> Any:
        leaf = _leaf(args[argnum])
        _, g = _gradient_at(f, args, argnum, leaf, create_graph=True)
        n = leaf.size
        if not isinstance(g, Tensor):  # f is at most linear: its gradient is constant
            return np.zeros(leaf.shape + leaf.shape, dtype=leaf.dtype)
        rows = backward(g, _batched_identity(g.shape, g.dtype), wrt=(leaf,)).get(id(leaf._node))
        result = np.zeros((n, *leaf.shape), dtype=leaf.dtype) if rows is None else np.asarray(rows)
        return result.reshape(leaf.shape + leaf.shape)

    return evaluate


def derivative(f: Callable[..., Any], n: int = 1) -> Callable[[Any], Any]:
    """A function returning the n-th derivative of an elementwise f at every point of x."""

    def evaluate(x: Any) -> Any:
        leaf = _leaf(x)
        current: Any = _output(_call(f, (x,), 0, leaf), f)
        for order in range(1, n + 1):
            node = current if isinstance(current, Tensor) else None
            if node is None:
                return _zeros(leaf)
            if node.shape != leaf.shape:
                raise ValueError(
                    f"derivative needs f: R -> R applied elementwise; f mapped {leaf.shape} to {node.shape}"
                )
            seed = np.ones(node.shape, dtype=node.dtype)
            current = backward(node, seed, create_graph=order < n, wrt=(leaf,)).get(id(leaf._node))
            if current is None:
                return _zeros(leaf)
        return current.data if isinstance(current, Tensor) else np.asarray(current)

    return evaluate
