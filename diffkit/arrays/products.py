"""Products of arrays: matmul and einsum (recorded), and dot, tensordot, kron, cross built on them.

``matmul``'s VJP is two matmuls; ``einsum``'s is one einsum per operand with the
subscripts turned around (the operand's own letters as output), which covers
transposes, traces and diagonals (``ii->i``) too: a repeated letter sends its
cotangent back onto the diagonal through an identity. In the tracer both write each
entry as one exact sum of products (``Add(*terms)``: SymPy re-flattens a chain of
binary sums at every step).
"""

from __future__ import annotations

import itertools
import math
import string
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy

from .rule import ArrayRule, Bound, UnsupportedOption, given, no_options, shape_of, unbroadcast

__all__ = ["RULES"]


# ---------------------------------------------------------------------- matmul


def _bind_matmul(a: Any, b: Any, out: Any = None, **rest: Any) -> Bound:
    no_options(
        "np.matmul", out=out, **{k: v for k, v in rest.items() if k not in ("casting", "order")}
    )
    if not shape_of(a) or not shape_of(b):
        raise ValueError("matmul: Input operand does not have enough dimensions")
    return (a, b), {}


def _matmul_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: tuple[bool, ...], batch: int
) -> tuple[Any, ...]:
    """VJP of a @ b, vectors included: promote them to matrices, then drop the added axis."""
    a, b = args
    a_shape, b_shape = shape_of(a), shape_of(b)
    a_vec, b_vec = len(a_shape) == 1, len(b_shape) == 1
    a2 = np.reshape(a, (1, -1)) if a_vec else a
    b2 = np.reshape(b, (-1, 1)) if b_vec else b
    g_shape = shape_of(g)
    if a_vec and b_vec:
        g2 = np.reshape(g, (*g_shape, 1, 1))
    elif a_vec:
        g2 = np.reshape(g, (*g_shape[:-1], 1, g_shape[-1]))
    elif b_vec:
        g2 = np.reshape(g, (*g_shape, 1))
    else:
        g2 = g
    ga = gb = None
    if needs[0]:
        ga = g2 @ np.swapaxes(b2, -1, -2)
        if a_vec:
            ga = np.reshape(ga, (*shape_of(ga)[:-2], shape_of(ga)[-1]))
        ga = unbroadcast(ga, a_shape, batch)
    if needs[1]:
        gb = np.swapaxes(a2, -1, -2) @ g2
        if b_vec:
            gb = np.reshape(gb, shape_of(gb)[:-1])
        gb = unbroadcast(gb, b_shape, batch)
    return ga, gb


def _matmul_symbolic(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b on object arrays, stacks and vectors included: each entry one ``Add``."""
    a2 = a.reshape(1, -1) if a.ndim == 1 else a
    b2 = b.reshape(-1, 1) if b.ndim == 1 else b
    if a2.shape[-1] != b2.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align")
    stack = np.broadcast_shapes(a2.shape[:-2], b2.shape[:-2])
    left = np.broadcast_to(a2, stack + a2.shape[-2:])
    right = np.broadcast_to(b2, stack + b2.shape[-2:])
    result = np.empty((*stack, a2.shape[-2], b2.shape[-1]), dtype=object)
    for index in np.ndindex(stack):
        m, n = left[index], right[index]
        for i in range(m.shape[0]):
            row = m[i]
            for j in range(n.shape[1]):
                result[(*index, i, j)] = sympy.Add(
                    *[p * q for p, q in zip(row, n[:, j], strict=True)]
                )
    if a.ndim == 1:
        result = result[..., 0, :]
    if b.ndim == 1:
        result = result[..., 0]
    return result


# ---------------------------------------------------------------------- einsum


_LETTERS = string.ascii_letters


def _parse_einsum(subscripts: str, shapes: Sequence[tuple[int, ...]]) -> tuple[list[str], str]:
    """Subscripts as explicit input and output letter strings, ellipses spelled out."""
    text = subscripts.replace(" ", "")
    inputs_text, arrow, output = text.partition("->")
    inputs = inputs_text.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"einsum: {len(inputs)} operands in the subscripts, {len(shapes)} given")
    used = set(text) - set(".,->")
    free = [c for c in _LETTERS if c not in used]
    width = max(
        (
            len(shape) - len(s.replace("...", ""))
            for s, shape in zip(inputs, shapes, strict=True)
            if "..." in s
        ),
        default=0,
    )
    ellipsis = "".join(free[:width])
    explicit = []
    for s, shape in zip(inputs, shapes, strict=True):
        if "..." in s:
            n = len(shape) - len(s.replace("...", ""))
            s = s.replace("...", ellipsis[width - n :] if n else "")
        if len(s) != len(shape):
            raise ValueError(f"einsum: subscripts {s!r} for an operand of shape {shape}")
        explicit.append(s)
    if arrow:
        out = output.replace("...", ellipsis)
    else:
        counts = {c: "".join(explicit).count(c) for c in set("".join(explicit))}
        out = ellipsis + "".join(
            sorted(c for c, n in counts.items() if n == 1 and c not in ellipsis)
        )
    return explicit, out


def _bind_einsum(*operands: Any, out: Any = None, optimize: Any = False, **rest: Any) -> Bound:
    no_options("np.einsum", out=out, dtype=rest.pop("dtype", None))
    if not operands or not isinstance(operands[0], str):
        raise UnsupportedOption("np.einsum with sublists (write the subscripts as a string)")
    subscripts, arrays = operands[0], operands[1:]
    inputs, output = _parse_einsum(subscripts, [shape_of(a) for a in arrays])
    return tuple(arrays), {"inputs": tuple(inputs), "output": output}


def _spec(inputs: Sequence[str], output: str) -> str:
    return ",".join(inputs) + "->" + output


def _einsum_forward(*arrays: Any, inputs: tuple[str, ...], output: str) -> Any:
    if any(getattr(a, "dtype", None) == np.dtype(object) for a in arrays):
        return _einsum_symbolic(*arrays, inputs=inputs, output=output)
    return np.einsum(_spec(inputs, output), *arrays, optimize=len(arrays) > 2)


def _letter_sizes(arrays: Sequence[Any], inputs: Sequence[str]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for s, a in zip(inputs, arrays, strict=True):
        for c, n in zip(s, shape_of(a), strict=True):
            if sizes.get(c, 1) == 1:
                sizes[c] = n
    return sizes


def _einsum_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: tuple[bool, ...], batch: int
) -> tuple[Any, ...]:
    inputs, output = p["inputs"], p["output"]
    used = set("".join(inputs)) | set(output)
    batch_letters = "".join(c for c in _LETTERS if c not in used)[:batch]
    sizes = _letter_sizes(args, inputs)
    cts: list[Any] = []
    for i, (s, need) in enumerate(zip(inputs, needs, strict=True)):
        if not need:
            cts.append(None)
            continue
        others = [(t, a) for j, (t, a) in enumerate(zip(inputs, args, strict=True)) if j != i]
        available = set(output) | {c for t, _ in others for c in t}
        unique = "".join(dict.fromkeys(s))
        present = "".join(c for c in unique if c in available)
        terms = [batch_letters + output, *(t for t, _ in others)]
        ct = np.einsum(_spec(terms, batch_letters + present), g, *(a for _, a in others))
        if present != unique:  # letters summed inside this operand alone: broadcast back
            ct = np.reshape(
                ct, shape_of(ct)[:batch] + tuple(sizes[c] if c in present else 1 for c in unique)
            )
            ct = np.broadcast_to(ct, shape_of(ct)[:batch] + tuple(sizes[c] for c in unique))
        if unique != s:  # a repeated letter: back onto the diagonal through identities
            spare = iter(c for c in _LETTERS if c not in used and c not in batch_letters)
            full, eyes, specs = [], [], []
            seen: set[str] = set()
            for c in s:
                if c in seen:
                    new = next(spare)
                    full.append(new)
                    eyes.append(np.eye(sizes[c]))
                    specs.append(c + new)
                else:
                    seen.add(c)
                    full.append(c)
            ct = np.einsum(
                _spec([batch_letters + unique, *specs], batch_letters + "".join(full)), ct, *eyes
            )
        cts.append(unbroadcast(ct, shape_of(args[i]), batch))
    return tuple(cts)


def _einsum_symbolic(*arrays: np.ndarray, inputs: tuple[str, ...], output: str) -> np.ndarray:
    sizes = _letter_sizes(arrays, inputs)
    summed = sorted({c for s in inputs for c in s} - set(output))
    result = np.empty(tuple(sizes[c] for c in output), dtype=object)
    for out_index in np.ndindex(result.shape):
        fixed = dict(zip(output, out_index, strict=True))
        terms = []
        for inner in itertools.product(*(range(sizes[c]) for c in summed)):
            where = {**fixed, **dict(zip(summed, inner, strict=True))}
            factors = [
                a[tuple(where[c] if n > 1 else 0 for c, n in zip(s, a.shape, strict=True))]
                for s, a in zip(inputs, arrays, strict=True)
            ]
            terms.append(sympy.Mul(*factors))
        result[out_index] = sympy.Add(*terms)
    return result


# ---------------------------------------------------------------------- built on them


def _tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    a_shape, b_shape = shape_of(a), shape_of(b)
    if np.ndim(axes) == 0:
        n = int(axes)
        axes_a, axes_b = list(range(len(a_shape) - n, len(a_shape))), list(range(n))
    else:
        axes_a, axes_b = (np.atleast_1d(ax).tolist() for ax in axes)
    axes_a = [int(x) % len(a_shape) for x in axes_a]
    axes_b = [int(x) % len(b_shape) for x in axes_b]
    if [a_shape[x] for x in axes_a] != [b_shape[x] for x in axes_b]:
        raise ValueError("shape-mismatch for sum")
    free_a = [x for x in range(len(a_shape)) if x not in axes_a]
    free_b = [x for x in range(len(b_shape)) if x not in axes_b]
    k = math.prod(a_shape[x] for x in axes_a)
    left = np.reshape(np.transpose(a, free_a + axes_a), (-1, k))
    right = np.reshape(np.transpose(b, axes_b + free_b), (k, -1))
    result = left @ right
    return np.reshape(result, tuple(a_shape[x] for x in free_a) + tuple(b_shape[x] for x in free_b))


def _dot(a: Any, b: Any, out: Any = None) -> Any:
    no_options("np.dot", out=out)
    a_nd, b_nd = len(shape_of(a)), len(shape_of(b))
    if a_nd == 0 or b_nd == 0:
        return np.multiply(a, b)
    if b_nd == 1 or (a_nd <= 2 and b_nd <= 2):
        return np.matmul(a, b)
    return _tensordot(a, b, axes=([-1], [-2]))


def _vdot(a: Any, b: Any) -> Any:
    return np.sum(np.reshape(a, (-1,)) * np.reshape(b, (-1,)))


def _inner(a: Any, b: Any) -> Any:
    if not shape_of(a) or not shape_of(b):
        return np.multiply(a, b)
    return _tensordot(a, b, axes=([-1], [-1]))


def _outer(a: Any, b: Any, out: Any = None) -> Any:
    no_options("np.outer", out=out)
    return np.reshape(a, (-1, 1)) * np.reshape(b, (1, -1))


def _full_convolution(a: Any, v: Any) -> Any:
    """sum_i a[i] v[k - i] for every k, as a product with the banded matrix of v (built by
    indexing a zero-padded v), so it is a composition of rules both backends have."""
    n, m = shape_of(a)[0], shape_of(v)[0]
    padded = np.concatenate([np.zeros(n - 1), v, np.zeros(n - 1)])
    band = np.arange(n + m - 1)[:, None] - np.arange(n)[None, :] + (n - 1)
    return padded[band] @ a


def _one_dimensional(name: str, a: Any, v: Any) -> tuple[int, int]:
    n, m = shape_of(a), shape_of(v)
    if len(n) != 1 or len(m) != 1 or not n[0] or not m[0]:
        raise UnsupportedOption(f"{name} of arrays that are not non-empty and 1-D")
    return n[0], m[0]


def _as_operand(x: Any) -> Any:
    return x if hasattr(x, "shape") else np.asarray(x, dtype=float)  # a list of numbers


def _convolve(a: Any, v: Any, mode: str = "full") -> Any:
    a, v = _as_operand(a), _as_operand(v)
    n, m = _one_dimensional("np.convolve", a, v)
    full = _full_convolution(a, v) if n >= m else _full_convolution(v, a)
    longer, shorter = max(n, m), min(n, m)
    if mode == "full":
        return full
    if mode == "same":
        start = (shorter - 1) // 2
        return full[start : start + longer]
    if mode == "valid":
        return full[shorter - 1 : longer]
    raise UnsupportedOption(f"np.convolve with mode={mode!r}")


def _correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    # c[k] = sum_j a[j + k] v[j]: the convolution with v reversed; NumPy reverses the
    # result when v is the longer one (its correlation is computed with them swapped)
    a, v = _as_operand(a), _as_operand(v)
    n, m = _one_dimensional("np.correlate", a, v)
    if n >= m:
        return _convolve(a, np.flip(v), mode)
    return np.flip(_convolve(v, np.flip(a), mode))


def _kron(a: Any, b: Any) -> Any:
    a_shape, b_shape = shape_of(a), shape_of(b)
    d = max(len(a_shape), len(b_shape))
    a_shape = (1,) * (d - len(a_shape)) + a_shape
    b_shape = (1,) * (d - len(b_shape)) + b_shape
    left = np.reshape(a, tuple(n for s in a_shape for n in (s, 1)))
    right = np.reshape(b, tuple(n for s in b_shape for n in (1, s)))
    return np.reshape(left * right, tuple(x * y for x, y in zip(a_shape, b_shape, strict=True)))


def _component(v: Any, axis: int, i: int) -> Any:
    return np.moveaxis(v, axis, -1)[..., i]


def _cross(
    a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis: Any = None
) -> Any:
    if axis is not None:
        axisa = axisb = axisc = axis
    na = shape_of(a)[axisa]
    nb = shape_of(b)[axisb]
    if na not in (2, 3) or nb not in (2, 3):
        raise ValueError("incompatible dimensions for cross product (dimension must be 2 or 3)")
    a0, a1 = _component(a, axisa, 0), _component(a, axisa, 1)
    b0, b1 = _component(b, axisb, 0), _component(b, axisb, 1)
    a2 = _component(a, axisa, 2) if na == 3 else None
    b2 = _component(b, axisb, 2) if nb == 3 else None
    z = a0 * b1 - a1 * b0
    if a2 is None and b2 is None:
        return z
    x = (a1 * b2 if b2 is not None else 0.0) - (a2 * b1 if a2 is not None else 0.0)
    y = (a2 * b0 if a2 is not None else 0.0) - (a0 * b2 if b2 is not None else 0.0)
    parts = np.broadcast_arrays(x * np.ones(shape_of(z)), y * np.ones(shape_of(z)), z)
    result = np.stack(list(parts), axis=-1)
    return np.moveaxis(result, -1, axisc) if len(shape_of(result)) > 1 else result


def _multi_dot(arrays: Sequence[Any], *, out: Any = None) -> Any:
    no_options("np.linalg.multi_dot", out=out)
    items = list(arrays)
    result = items[0]
    for item in items[1:]:
        result = np.matmul(result, item)
    return result


def _gufunc_options(name: str, rest: dict[str, Any]) -> None:
    # the gufunc options (axes=, keepdims=, out=, dtype=, ...) change the result: refused,
    # never ignored
    no_options(name, **{k: given(v, None) for k, v in rest.items()})


def _vecdot(x1: Any, x2: Any, /, *, axis: int = -1, **rest: Any) -> Any:
    _gufunc_options("np.vecdot", rest)
    return np.sum(x1 * x2, axis=axis)


def _matvec(x1: Any, x2: Any, /, **rest: Any) -> Any:
    _gufunc_options("np.matvec", rest)
    return np.matmul(x1, np.expand_dims(x2, -1))[..., 0]


def _vecmat(x1: Any, x2: Any, /, **rest: Any) -> Any:
    _gufunc_options("np.vecmat", rest)
    return np.matmul(np.expand_dims(x1, -2), x2)[..., 0, :]


def _linalg_diagonal(x: Any, /, *, offset: int = 0) -> Any:
    return np.diagonal(x, offset, -2, -1)


def _linalg_trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    no_options("np.linalg.trace", dtype=dtype)
    return np.sum(np.diagonal(x, offset, -2, -1), axis=-1)


_ufunc_products = tuple(
    getattr(np, name) for name in ("vecdot", "matvec", "vecmat") if hasattr(np, name)
)

RULES: tuple[ArrayRule, ...] = (
    ArrayRule(
        "np.matmul",
        (np.matmul, np.linalg.matmul),
        bind=_bind_matmul,
        forward=lambda a, b: (
            np.matmul(a, b) if a.dtype != object and b.dtype != object else _matmul_symbolic(a, b)
        ),
        vjp=_matmul_vjp,
        saves=lambda needs: ((needs[1], needs[0]), False),
        symbolic=_matmul_symbolic,
    ),
    ArrayRule(
        "np.einsum",
        (np.einsum,),
        bind=_bind_einsum,
        forward=_einsum_forward,
        vjp=_einsum_vjp,
        symbolic=_einsum_symbolic,
    ),
    ArrayRule("np.tensordot", (np.tensordot, np.linalg.tensordot), composite=_tensordot),
    ArrayRule("np.dot", (np.dot,), composite=_dot),
    ArrayRule("np.vdot", (np.vdot,), composite=_vdot),
    ArrayRule("np.inner", (np.inner,), composite=_inner),
    ArrayRule("np.outer", (np.outer, np.linalg.outer), composite=_outer),
    ArrayRule("np.kron", (np.kron,), composite=_kron),
    ArrayRule("np.convolve", (np.convolve,), composite=_convolve),
    ArrayRule("np.correlate", (np.correlate,), composite=_correlate),
    ArrayRule("np.cross", (np.cross, np.linalg.cross), composite=_cross),
    ArrayRule("np.linalg.multi_dot", (np.linalg.multi_dot,), composite=_multi_dot),
    ArrayRule("np.vecdot", (*_ufunc_products[:1], np.linalg.vecdot), composite=_vecdot),
    ArrayRule("np.matvec", _ufunc_products[1:2], composite=_matvec),
    ArrayRule("np.vecmat", _ufunc_products[2:3], composite=_vecmat),
    ArrayRule("np.linalg.diagonal", (np.linalg.diagonal,), composite=_linalg_diagonal),
    ArrayRule("np.linalg.trace", (np.linalg.trace,), composite=_linalg_trace),
)
