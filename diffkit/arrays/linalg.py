"""Linear algebra: solve, inv, det, slogdet, cholesky, eigh, svd (recorded), and norms, pinv,
matrix_power built on them.

Every VJP is written with NumPy calls on the stacked (``..., n, n``) arrays, so it
holds for stacks, for batched cotangents (Jacobians in one pass), for a recorded
backward pass (Hessians) and for the tracer's symbols. Where NumPy reads one
triangle of its input (``cholesky``, ``eigh`` read the lower one unless told
otherwise), the function is one of that triangle only: the cotangent of the other
triangle is 0, and an entry below the diagonal also gets what its mirror would.
The tracer keeps each factorization as one opaque node per matrix (``entries.py``).

Sign conventions of eigenvectors and singular vectors are LAPACK's, whatever NumPy
returns at the point; the 50-digit values of the ground truth are aligned to them.
"""

from __future__ import annotations

from typing import Any

import mpmath
import numpy as np
import sympy

from ..kink_functions import indicator
from .entries import opaque_call
from .rule import (
    ArrayRule,
    Bound,
    UnsupportedOption,
    axes_of,
    concrete,
    given,
    known,
    reduce_objects,
    shape_of,
    unbroadcast,
)

__all__ = ["RULES"]


def _mT(a: Any) -> Any:
    return np.swapaxes(a, -1, -2)


def _square(a: Any, name: str) -> tuple[int, ...]:
    shape = shape_of(a)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError(
            f"{name}: last 2 dimensions of the array must be square, got shape {shape}"
        )
    return shape


def _stacked(
    rule: ArrayRule, arrays: tuple[np.ndarray, ...], core: tuple[int, ...], params: dict[str, Any]
) -> Any:
    """The tracer's form of a stacked call: one opaque node per matrix of the stack."""
    stack = np.broadcast_shapes(*(a.shape[: a.ndim - k] for a, k in zip(arrays, core, strict=True)))
    parts = [
        np.broadcast_to(a, stack + a.shape[a.ndim - k :]) for a, k in zip(arrays, core, strict=True)
    ]
    calls = {
        index: opaque_call(rule, [p[index] for p in parts], params) for index in np.ndindex(stack)
    }
    sample = next(iter(calls.values()))
    outputs = []
    for k, first in enumerate(sample):
        out = np.empty(stack + first.shape, dtype=object)
        for index, result in calls.items():
            out[(*index, Ellipsis)] = result[k]
        outputs.append(out)
    return tuple(outputs) if len(outputs) > 1 else outputs[0]


def _matrix(block: np.ndarray) -> Any:
    return mpmath.matrix(block.tolist())


def _array(m: Any, shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    flat = out.reshape(-1)
    rows, cols = ((*shape, 1))[:2] if len(shape) == 1 else shape
    for i in range(rows):
        for j in range(cols):
            flat[i * cols + j] = m[i, j] if len(shape) == 2 else m[i]
    return out


def _floats(block: np.ndarray) -> np.ndarray:
    return np.array([[float(v) for v in row] for row in block], dtype=float)


# ---------------------------------------------------------------------- inv, solve, det


def _bind_inv(a: Any) -> Bound:
    _square(a, "np.linalg.inv")
    return (a,), {}


def _inv_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    inv_t = _mT(out)
    return (unbroadcast(-(inv_t @ g @ inv_t), shape_of(args[0]), batch),)


def _mp_inv(a: np.ndarray) -> tuple[np.ndarray, ...]:
    return (_array(mpmath.inverse(_matrix(a)), a.shape),)


def _bind_solve(a: Any, b: Any) -> Bound:
    _square(a, "np.linalg.solve")
    return (a, b), {"vector": len(shape_of(b)) == 1}


def _solve_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    a, b = args
    x = out
    if p["vector"]:  # b and x are vectors: work with columns
        g, x = np.expand_dims(g, -1), np.expand_dims(x, -1)
    gb = np.linalg.solve(_mT(a), g)
    ga = -(gb @ _mT(x)) if needs[0] else None
    if p["vector"]:
        gb = gb[..., 0]
    return (
        unbroadcast(ga, shape_of(a), batch) if ga is not None else None,
        unbroadcast(gb, shape_of(b), batch) if needs[1] else None,
    )


def _solve_shapes(shapes: Any, *, vector: bool) -> tuple[tuple[int, ...], ...]:
    return (shapes[1],)


def _mp_solve(a: np.ndarray, b: np.ndarray, *, vector: bool) -> tuple[np.ndarray, ...]:
    m = _matrix(a)
    if vector:
        return (_array(mpmath.lu_solve(m, mpmath.matrix(list(b))), b.shape),)
    columns = [mpmath.lu_solve(m, mpmath.matrix(list(b[:, j]))) for j in range(b.shape[1])]
    out = np.empty(b.shape, dtype=object)
    for j, column in enumerate(columns):
        for i in range(b.shape[0]):
            out[i, j] = column[i]
    return (out,)


def _bind_det(a: Any) -> Bound:
    _square(a, "np.linalg.det")
    return (a,), {}


def _det_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    (a,) = args
    scale = np.expand_dims(np.expand_dims(g * out, -1), -1)
    return (unbroadcast(scale * _mT(np.linalg.inv(a)), shape_of(a), batch),)


def _mp_det(a: np.ndarray) -> tuple[Any, ...]:
    return (mpmath.det(_matrix(a)),)


_SLOGDET_RESULT = type(np.linalg.slogdet(np.eye(1)))


def _slogdet_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    (a,) = args
    _, g_log = g
    scale = np.expand_dims(np.expand_dims(g_log, -1), -1)
    return (unbroadcast(scale * _mT(np.linalg.inv(a)), shape_of(a), batch),)


def _mp_slogdet(a: np.ndarray) -> tuple[Any, ...]:
    d = mpmath.det(_matrix(a))
    return (mpmath.sign(d), mpmath.log(abs(d)) if d != 0 else -mpmath.inf)


# ---------------------------------------------------------------------- one triangle


def _phi(n: int, lower: bool) -> np.ndarray:
    """The triangle a factorization reads, with half weight on the diagonal."""
    mask = np.tril(np.ones((n, n))) if lower else np.triu(np.ones((n, n)))
    return mask - 0.5 * np.eye(n)


def _from_triangle(p: Any, n: int, lower: bool) -> Any:
    """The cotangent of the read triangle, from ``p`` = dF/dM for the symmetric matrix M
    the triangle stands for: an entry off the diagonal also gets its mirror's share."""
    return (p + _mT(p)) * _phi(n, lower)


def _symmetric_mp(a: np.ndarray, lower: bool) -> Any:
    n = a.shape[0]
    m = mpmath.matrix(n, n)
    for i in range(n):
        for j in range(n):
            m[i, j] = a[max(i, j), min(i, j)] if lower else a[min(i, j), max(i, j)]
    return m


# ---------------------------------------------------------------------- cholesky


def _bind_cholesky(a: Any, /, *, upper: bool = False) -> Bound:
    _square(a, "np.linalg.cholesky")
    return (a,), {"upper": bool(upper)}


def _cholesky_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    # dL = L Phi(L^-1 dM L^-T) for a symmetric dM, so <g, dL> = <L^-T Phi(L^T g) L^-1, dM>.
    (a,) = args
    n = shape_of(a)[-1]
    upper = p["upper"]
    lower_factor = _mT(out) if upper else out
    g_lower = _mT(g) if upper else g
    inv = np.linalg.inv(lower_factor)
    inner = (_mT(lower_factor) @ g_lower) * _phi(n, True)
    ct = _mT(inv) @ inner @ inv
    return (unbroadcast(_from_triangle(ct, n, not upper), shape_of(a), batch),)


def _mp_cholesky(a: np.ndarray, *, upper: bool) -> tuple[np.ndarray, ...]:
    factor = mpmath.cholesky(_symmetric_mp(a, not upper))
    result = _array(factor, a.shape)
    return (result.T.copy() if upper else result,)


# ---------------------------------------------------------------------- eigh, eigvalsh


_EIGH_RESULT = type(np.linalg.eigh(np.eye(1)))


def _bind_eigh(a: Any, UPLO: str = "L") -> Bound:
    _square(a, "np.linalg.eigh")
    if UPLO not in ("L", "U"):
        raise ValueError("UPLO argument must be 'L' or 'U'")
    return (a,), {"lower": UPLO == "L"}


def _gaps(w: Any) -> Any:
    """F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it (and where eigenvalues coincide,
    whose eigenvectors have no derivative)."""
    diff = np.expand_dims(w, -2) - np.expand_dims(w, -1)
    values = concrete(diff)
    if values is None:  # symbols: distinct off the diagonal
        n = shape_of(w)[-1]
        off = 1.0 - np.eye(n)
        return off / (diff + np.eye(n))
    zero = values == 0
    return np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, diff))


def _eigh_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    (a,) = args
    w, v = out
    g_w, g_v = g
    n = shape_of(a)[-1]
    inner = np.expand_dims(g_w, -2) * np.eye(n) + _gaps(w) * (_mT(v) @ g_v)
    ct = v @ inner @ _mT(v)
    return (unbroadcast(_from_triangle(ct, n, p["lower"]), shape_of(a), batch),)


def _eigh_shapes(shapes: Any, *, lower: bool) -> tuple[tuple[int, ...], ...]:
    (shape,) = shapes
    return ((shape[-1],), shape)


def _aligned(columns: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Flip each column of ``columns`` to point the way NumPy's (LAPACK's) does."""
    out = columns.copy()
    for j in range(columns.shape[1]):
        dot = sum(float(columns[i, j]) * reference[i, j] for i in range(columns.shape[0]))
        if dot < 0:
            out[:, j] = -out[:, j]
    return out


def _mp_eigh(a: np.ndarray, *, lower: bool) -> tuple[np.ndarray, ...]:
    n = a.shape[0]
    values, vectors = mpmath.eigsy(_symmetric_mp(a, lower))
    order = sorted(range(n), key=lambda i: values[i])
    w = np.empty(n, dtype=object)
    v = np.empty((n, n), dtype=object)
    for k, i in enumerate(order):
        w[k] = values[i]
        for r in range(n):
            v[r, k] = vectors[r, i]
    _, reference = np.linalg.eigh(_floats(a), UPLO="L" if lower else "U")
    return w, _aligned(v, reference)


def _eigvalsh_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    (a,) = args
    n = shape_of(a)[-1]
    _, v = np.linalg.eigh(a, UPLO="L" if p["lower"] else "U")
    ct = (v * np.expand_dims(g, -2)) @ _mT(v)
    return (unbroadcast(_from_triangle(ct, n, p["lower"]), shape_of(a), batch),)


# ---------------------------------------------------------------------- svd


_SVD_RESULT = type(np.linalg.svd(np.eye(1)))


def _bind_svd(
    a: Any, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False
) -> Bound:
    shape = shape_of(a)
    if len(shape) < 2:
        raise np.linalg.LinAlgError("np.linalg.svd needs an array of at least two dimensions")
    if hermitian:
        raise UnsupportedOption("np.linalg.svd with hermitian=True (use np.linalg.eigh)")
    if compute_uv and full_matrices and shape[-1] != shape[-2]:
        raise UnsupportedOption(
            "np.linalg.svd with full_matrices=True of a non-square matrix (the extra singular "
            "vectors are not unique, so they have no derivative): pass full_matrices=False"
        )
    return (a,), {"compute_uv": bool(compute_uv)}


def _svd_forward(a: Any, *, compute_uv: bool) -> Any:
    if not compute_uv:
        return np.linalg.svd(a, compute_uv=False)
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    return u, s, vh


def _svd_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    (a,) = args
    m, n = shape_of(a)[-2:]
    if not p["compute_uv"]:
        u, _, vh = np.linalg.svd(a, full_matrices=False)
        ct = (u * np.expand_dims(g, -2)) @ vh
        return (unbroadcast(ct, shape_of(a), batch),)
    # Townsend, "Differentiating the singular value decomposition" (2016), real case.
    u, s, vh = out
    g_u, g_s, g_vh = g
    k = min(m, n)
    v, g_v = _mT(vh), _mT(g_vh)
    f = _gaps(s * s)
    s_row = np.expand_dims(s, -2)
    eye = np.eye(k)
    ut_gu = _mT(u) @ g_u
    vt_gv = _mT(v) @ g_v
    core = (
        (f * (ut_gu - _mT(ut_gu))) * s_row
        + np.expand_dims(g_s, -2) * eye
        + np.expand_dims(s, -1) * (f * (vt_gv - _mT(vt_gv)))
    )
    ct = u @ core @ vh
    inv_s = 1.0 / s_row
    if m > k:  # tall: the part of g_u outside the span of U
        ct = ct + (g_u - u @ ut_gu) * inv_s @ vh
    if n > k:  # wide: the part of g_v outside the span of V
        ct = ct + u @ _mT((g_v - v @ vt_gv) * inv_s)
    return (unbroadcast(ct, shape_of(a), batch),)


def _svd_shapes(shapes: Any, *, compute_uv: bool) -> tuple[tuple[int, ...], ...]:
    (shape,) = shapes
    m, n = shape[-2:]
    k = min(m, n)
    return ((m, k), (k,), (k, n)) if compute_uv else ((k,),)


def _mp_svd(a: np.ndarray, *, compute_uv: bool) -> tuple[np.ndarray, ...]:
    m, n = a.shape
    k = min(m, n)
    u_mp, s_mp, v_mp = mpmath.svd_r(_matrix(a), full_matrices=False, compute_uv=True)
    order = sorted(range(k), key=lambda i: -s_mp[i])
    s = np.array([s_mp[i] for i in order], dtype=object)
    if not compute_uv:
        return (s,)
    u = np.array([[u_mp[r, i] for i in order] for r in range(m)], dtype=object)
    vt = np.array([[v_mp[i, c] for c in range(n)] for i in order], dtype=object)
    u_ref, _, _ = np.linalg.svd(_floats(a), full_matrices=False)
    flips = [-1 if sum(float(u[r, j]) * u_ref[r, j] for r in range(m)) < 0 else 1 for j in range(k)]
    for j, flip in enumerate(flips):
        if flip < 0:
            u[:, j] = -u[:, j]
            vt[j, :] = -vt[j, :]
    return u, s, vt


# ---------------------------------------------------------------------- composites


def _euclidean_vjp(
    g: Any, args: tuple[Any, ...], out: Any, p: Any, needs: Any, batch: int
) -> tuple[Any, ...]:
    # g x / ||x||, and 0 at x = 0 (a subgradient of the norm there, as abs'(0) = 0)
    (x,) = args
    shape = shape_of(x)
    axes = axes_of(p["axis"], len(shape))
    norm = (
        out
        if p["keepdims"]
        else np.reshape(out, tuple(1 if i in axes else n for i, n in enumerate(shape)))
    )
    zero = concrete(norm)
    if zero is None:
        ratio = x / norm
    else:
        zero = zero == 0
        ratio = np.where(zero, 0.0, x / np.where(zero, 1.0, norm))
    grad = g if p["keepdims"] else np.reshape(g, shape_of(g)[:batch] + shape_of(norm))
    return (grad * ratio,)


def _euclidean_forward(x: Any, *, axis: Any, keepdims: bool) -> Any:
    return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))


def _root_or_zero(total: sympy.Expr) -> sympy.Expr:
    """sqrt(total) with the derivative reverse mode's VJP gives: 0 where total = 0 (the
    norm's subgradient there; x / sqrt(total) would be 0/0), and so the Hessian 0 there.

    Written sqrt(total + [total = 0]) * (1 - [total = 0]): the root is taken of a value
    kept away from 0, so the chain rule never multiplies 0 by sqrt's infinite slope (the
    "double where" of jax's FAQ), and without a Piecewise, whose construction SymPy
    folds and simplifies at a cost that grows with nested norms."""
    if total.is_Number:
        return sympy.sqrt(total)
    zero = indicator.of(sympy.Eq(total, 0, evaluate=False))
    return sympy.sqrt(total + zero) * (1 - zero)


def _euclidean_symbolic(x: np.ndarray, *, axis: Any, keepdims: bool) -> np.ndarray:
    total = reduce_objects(sympy.Add, x * x, axis, keepdims)
    return np.asarray(np.frompyfunc(_root_or_zero, 1, 1)(total), dtype=object)


_EUCLIDEAN = ArrayRule(
    "euclidean norm",
    (),
    bind=lambda x, axis, keepdims: ((x,), {"axis": axis, "keepdims": keepdims}),
    forward=_euclidean_forward,
    vjp=_euclidean_vjp,
    symbolic=_euclidean_symbolic,
    doc="sqrt(sum(x**2)), with the subgradient 0 at x = 0",
)


def _euclidean(x: Any, axis: Any, keepdims: bool) -> Any:
    call = getattr(type(x), "__diffkit_rule__", None)
    if call is None:
        return _euclidean_forward(np.asarray(x), axis=axis, keepdims=keepdims)
    return call(x, _EUCLIDEAN, (x, axis, keepdims), {})


def _vector_norm(x: Any, ord: Any, axis: Any, keepdims: bool) -> Any:
    if ord is None or ord == 2:
        return _euclidean(x, axis, keepdims)
    if ord == np.inf:
        return np.max(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == -np.inf:
        return np.min(np.abs(x), axis=axis, keepdims=keepdims)
    if ord == 0:
        return np.sum((x != 0) * 1.0, axis=axis, keepdims=keepdims)  # a count: derivative 0
    if ord == 1:
        return np.sum(np.abs(x), axis=axis, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"Invalid norm order '{ord}' for vectors")
    power = float(ord)
    return np.sum(np.abs(x) ** power, axis=axis, keepdims=keepdims) ** (1.0 / power)


def _matrix_norm(x: Any, ord: Any, axes: tuple[int, int], keepdims: bool) -> Any:
    row, col = axes
    ndim = len(shape_of(x))
    if ord is None or ord == "fro":
        result = _euclidean(x, (row, col), True)
    elif ord in (2, -2, "nuc"):
        moved = np.moveaxis(x, (row, col), (-2, -1))
        s = np.linalg.svd(moved, compute_uv=False)
        if ord == "nuc":
            value = np.sum(s, axis=-1)
        else:
            value = np.max(s, axis=-1) if ord == 2 else np.min(s, axis=-1)
        result = np.expand_dims(value, tuple(sorted((row, col))))
    elif ord in (1, -1, np.inf, -np.inf):
        summed_axis, over_axis = (row, col) if ord in (1, -1) else (col, row)
        sums = np.sum(np.abs(x), axis=summed_axis, keepdims=True)
        result = (
            np.max(sums, axis=over_axis, keepdims=True)
            if ord in (1, np.inf)
            else np.min(sums, axis=over_axis, keepdims=True)
        )
    else:
        raise ValueError("Invalid norm order for matrices.")
    return result if keepdims else np.squeeze(result, axis=tuple(sorted((row % ndim, col % ndim))))


def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    ndim = len(shape_of(x))
    if axis is None:
        if ord is None:
            return _euclidean(x, None, keepdims)
        if ndim == 1:
            return _vector_norm(x, ord, None, keepdims)
        if ndim == 2:
            return _matrix_norm(x, ord, (0, 1), keepdims)
        raise ValueError("Improper number of dimensions to norm.")
    axes = tuple(np.atleast_1d(axis).tolist())
    if len(axes) == 1:
        return _vector_norm(x, ord, axes[0], keepdims)
    if len(axes) == 2:
        row, col = (a % ndim for a in axes)
        if row == col:
            raise ValueError("Duplicate axes given.")
        return _matrix_norm(x, ord, (row, col), keepdims)
    raise ValueError("Improper number of dimensions to norm.")


def _vector_norm_api(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:
    if axis is None:
        result = _vector_norm(np.reshape(x, (-1,)), ord, None, False)
        if keepdims:
            return np.reshape(result, (1,) * len(shape_of(x)))
        return result
    return _vector_norm(x, ord, axis, keepdims)


def _matrix_norm_api(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:
    return _matrix_norm(x, ord, (-2 % len(shape_of(x)), -1 % len(shape_of(x))), keepdims)


def _pinv(a: Any, rcond: Any = None, hermitian: bool = False, **rest: Any) -> Any:
    """The pseudo-inverse. At full rank it is a smooth function of ``a`` and is computed as
    one (``inv(a)``, or the normal equations off the square), so its derivative is right
    where singular values repeat (``pinv(2 I)``), which the SVD's derivative is not (it
    divides by their differences). Below full rank, NumPy's truncated SVD, whose cut is
    a choice of values: the tracer, which has none, takes the matrix at full rank."""
    rtol = given(rest.pop("rtol", None), None)
    if hermitian:
        raise UnsupportedOption("np.linalg.pinv with hermitian=True")
    m, n = shape_of(a)[-2:]
    cutoff_ratio = (
        rcond
        if rcond is not None
        else (rtol if rtol is not None else max(m, n) * np.finfo(float).eps)
    )
    values = concrete(a)
    if values is not None:
        s = np.linalg.svd(values, compute_uv=False)
        keep = s > cutoff_ratio * np.max(s, axis=-1, keepdims=True)
        if not keep.all():
            return _truncated_pinv(a, cutoff_ratio)
    if m == n:
        return np.linalg.inv(a)
    if m > n:  # full column rank: (A^T A)^-1 A^T
        return np.linalg.solve(_mT(a) @ a, _mT(a))
    return _mT(np.linalg.solve(a @ _mT(a), a))  # full row rank: A^T (A A^T)^-1


def _truncated_pinv(a: Any, cutoff_ratio: Any) -> Any:
    u, s, vh = np.linalg.svd(a, full_matrices=False)
    values = known(s)
    keep = values > cutoff_ratio * np.max(values, axis=-1, keepdims=True)
    s_inv = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    return (_mT(vh) * np.expand_dims(s_inv, -2)) @ _mT(u)


def _matrix_power(a: Any, n: int) -> Any:
    shape = _square(a, "np.linalg.matrix_power")
    n = int(n)
    if n == 0:
        return np.broadcast_to(np.eye(shape[-1]), shape) + 0.0 * a
    if n < 0:
        a, n = np.linalg.inv(a), -n
    result = None
    base = a
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def _cond(x: Any, p: Any = None) -> Any:
    if p is None or p in (2, -2):
        s = np.linalg.svd(x, compute_uv=False)
        ratio = np.max(s, axis=-1) / np.min(s, axis=-1)
        return ratio if p != -2 else 1.0 / ratio
    return _norm(x, p, axis=(-2, -1)) * _norm(np.linalg.inv(x), p, axis=(-2, -1))


def _square_shapes(shapes: Any, **params: Any) -> tuple[tuple[int, ...], ...]:
    return (shapes[0],)


def _tracer_stacked(rule_name: str, core: tuple[int, ...]) -> Any:
    def symbolic(*arrays: np.ndarray, **params: Any) -> Any:
        return _stacked(_BY_NAME[rule_name], arrays, core, params)

    return symbolic


RULES: tuple[ArrayRule, ...] = (
    ArrayRule(
        "np.linalg.inv",
        (np.linalg.inv,),
        bind=_bind_inv,
        forward=lambda a: np.linalg.inv(a),
        vjp=_inv_vjp,
        saves=lambda needs: ((False,), True),
        opaque=True,
        shapes=_square_shapes,
        mpmath=_mp_inv,
        symbolic=_tracer_stacked("np.linalg.inv", (2,)),
    ),
    ArrayRule(
        "np.linalg.solve",
        (np.linalg.solve,),
        bind=_bind_solve,
        forward=lambda a, b, *, vector: np.linalg.solve(a, b),
        vjp=_solve_vjp,
        opaque=True,
        shapes=_solve_shapes,
        mpmath=_mp_solve,
        symbolic=lambda a, b, *, vector: _stacked(
            _BY_NAME["np.linalg.solve"], (a, b), (2, 1 if vector else 2), {"vector": vector}
        ),
    ),
    ArrayRule(
        "np.linalg.det",
        (np.linalg.det,),
        bind=_bind_det,
        forward=lambda a: np.linalg.det(a),
        vjp=_det_vjp,
        opaque=True,
        shapes=lambda shapes: ((),),
        mpmath=_mp_det,
        symbolic=_tracer_stacked("np.linalg.det", (2,)),
    ),
    ArrayRule(
        "np.linalg.slogdet",
        (np.linalg.slogdet,),
        bind=_bind_det,
        forward=lambda a: tuple(np.linalg.slogdet(a)),
        vjp=_slogdet_vjp,
        opaque=True,
        shapes=lambda shapes: ((), ()),
        mpmath=_mp_slogdet,
        result=lambda outs: _SLOGDET_RESULT(*outs),
        symbolic=_tracer_stacked("np.linalg.slogdet", (2,)),
    ),
    ArrayRule(
        "np.linalg.cholesky",
        (np.linalg.cholesky,),
        bind=_bind_cholesky,
        forward=lambda a, *, upper: np.linalg.cholesky(a, upper=upper),
        vjp=_cholesky_vjp,
        opaque=True,
        shapes=_square_shapes,
        mpmath=_mp_cholesky,
        symbolic=_tracer_stacked("np.linalg.cholesky", (2,)),
    ),
    ArrayRule(
        "np.linalg.eigh",
        (np.linalg.eigh,),
        bind=_bind_eigh,
        forward=lambda a, *, lower: tuple(np.linalg.eigh(a, UPLO="L" if lower else "U")),
        vjp=_eigh_vjp,
        opaque=True,
        shapes=_eigh_shapes,
        mpmath=_mp_eigh,
        result=lambda outs: _EIGH_RESULT(*outs),
        symbolic=_tracer_stacked("np.linalg.eigh", (2,)),
    ),
    ArrayRule(
        "np.linalg.eigvalsh",
        (np.linalg.eigvalsh,),
        bind=_bind_eigh,
        forward=lambda a, *, lower: np.linalg.eigvalsh(a, UPLO="L" if lower else "U"),
        vjp=_eigvalsh_vjp,
        opaque=True,
        shapes=lambda shapes, *, lower: ((shapes[0][-1],),),
        mpmath=lambda a, *, lower: (_mp_eigh(a, lower=lower)[0],),
        symbolic=_tracer_stacked("np.linalg.eigvalsh", (2,)),
    ),
    ArrayRule(
        "np.linalg.svd",
        (np.linalg.svd,),
        bind=_bind_svd,
        forward=_svd_forward,
        vjp=_svd_vjp,
        opaque=True,
        shapes=_svd_shapes,
        mpmath=_mp_svd,
        result=lambda outs: _SVD_RESULT(*outs),
        symbolic=_tracer_stacked("np.linalg.svd", (2,)),
    ),
    _EUCLIDEAN,
    ArrayRule("np.linalg.norm", (np.linalg.norm,), composite=_norm),
    ArrayRule("np.linalg.vector_norm", (np.linalg.vector_norm,), composite=_vector_norm_api),
    ArrayRule("np.linalg.matrix_norm", (np.linalg.matrix_norm,), composite=_matrix_norm_api),
    ArrayRule(
        "np.linalg.svdvals",
        (np.linalg.svdvals,),
        composite=lambda x: np.linalg.svd(x, compute_uv=False),
    ),
    ArrayRule("np.linalg.pinv", (np.linalg.pinv,), composite=_pinv),
    ArrayRule("np.linalg.matrix_power", (np.linalg.matrix_power,), composite=_matrix_power),
    ArrayRule("np.linalg.cond", (np.linalg.cond,), composite=_cond),
)

_BY_NAME: dict[str, ArrayRule] = {rule.name: rule for rule in RULES}
