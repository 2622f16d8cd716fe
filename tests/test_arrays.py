"""The array-level table (diffkit.arrays): every row against finite differences and across backends.

Each case is a NumPy function of one array, written as a user would write it, at a
point away from kinks. Reverse mode's Jacobian (one batched backward pass) must match
Richardson finite differences, the symbolic backend must match reverse mode, and
the Hessian of a fixed random projection of the output (reverse over reverse, and
the symbolic backend's) must match finite differences of the reverse gradient. So
each rule's VJP is checked at a batch of cotangents, through a recorded backward
pass, and in the tracer.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import diffkit as dk
from diffkit.arrays import supported_names


def _spd(n: int, seed: int = 0) -> np.ndarray:
    m = np.random.default_rng(seed).normal(size=(n, n))
    return m @ m.T + n * np.eye(n)


def _point(shape: tuple[int, ...], seed: int, low: float = -1.5, high: float = 1.5) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, size=shape)


@dataclass(frozen=True)
class Case:
    name: str
    f: Callable[[Any], Any]
    x: np.ndarray
    symbolic: bool = True  # the tracer takes it (partition does not: NumPy's own order)
    hessian: bool = True
    tags: tuple[str, ...] = field(default=())


R = np.random.default_rng(7)
M34 = R.normal(size=(3, 4))
V4 = R.normal(size=4)
B = R.normal(size=(3, 2))
MASK = R.normal(size=(3, 4)) > 0

CASES: list[Case] = [
    # reductions
    Case("sum axis", lambda x: np.sum(x**2, axis=1), _point((3, 4), 1)),
    Case("sum keepdims", lambda x: np.sum(x * x, axis=(0,), keepdims=True), _point((3, 4), 2)),
    Case("mean", lambda x: np.mean(np.sin(x), axis=0), _point((3, 4), 3)),
    Case("prod", lambda x: np.prod(x, axis=1), _point((2, 3), 4, 0.5, 1.5)),
    Case("prod with a zero", lambda x: np.prod(x), np.array([0.0, 2.0, 3.0])),
    Case("prod of a matrix", lambda x: np.prod(x, axis=(0, 1)), _point((2, 3), 5, 0.5, 1.5)),
    Case("max", lambda x: np.max(x, axis=0), _point((3, 4), 6)),
    Case("min keepdims", lambda x: np.min(x, axis=1, keepdims=True), _point((3, 4), 7)),
    Case("amax of all", lambda x: np.amax(x**3), _point((5,), 8)),
    Case("var", lambda x: np.var(x, axis=1, ddof=1), _point((3, 4), 9)),
    Case("std", lambda x: np.std(x), _point((6,), 10)),
    Case(
        "average",
        lambda x: np.average(x, axis=1, weights=np.array([1.0, 2.0, 3.0, 4.0])),
        _point((3, 4), 11),
    ),
    Case("cumsum", lambda x: np.cumsum(x, axis=1), _point((3, 4), 12)),
    Case("cumsum flat", lambda x: np.cumsum(x**2), _point((2, 3), 13)),
    Case("cumprod", lambda x: np.cumprod(x, axis=0), _point((3, 2), 14, 0.5, 1.5)),
    Case("cumprod with a zero", lambda x: np.cumprod(x), np.array([1.5, 0.0, 2.0, -1.0])),
    Case("diff", lambda x: np.diff(x**2, n=2), _point((6,), 15)),
    Case("ptp", lambda x: np.ptp(x, axis=0), _point((3, 4), 16)),
    Case("trace", lambda x: np.trace(x, offset=1), _point((4, 4), 17)),
    Case("median", lambda x: np.median(x, axis=1), _point((3, 5), 18)),
    # shapes
    Case("reshape", lambda x: np.reshape(x, (2, 6)) @ np.ones(6), _point((3, 4), 19)),
    Case("transpose", lambda x: np.transpose(x**2, (2, 0, 1)), _point((2, 3, 2), 20)),
    Case(
        "swapaxes moveaxis",
        lambda x: np.moveaxis(np.swapaxes(x, 0, 2), 0, 1),
        _point((2, 3, 2), 21),
    ),
    Case("rollaxis", lambda x: np.rollaxis(x, 2), _point((2, 3, 2), 22)),
    Case("broadcast_to", lambda x: np.broadcast_to(x, (3, 4)) * M34, _point((4,), 23)),
    Case(
        "expand squeeze ravel",
        lambda x: np.ravel(np.squeeze(np.expand_dims(x, 0))) ** 2,
        _point((2, 3), 24),
    ),
    Case("atleast_2d 3d", lambda x: np.atleast_3d(np.atleast_2d(x)) * 2.0, _point((3,), 25)),
    Case(
        "concatenate",
        lambda x: np.concatenate([x, x**2, np.ones((3, 1))], axis=1),
        _point((3, 2), 26),
    ),
    Case("stack", lambda x: np.stack([x, np.sin(x)], axis=1), _point((3,), 27)),
    Case("vstack hstack", lambda x: np.vstack([x, x]) + np.hstack([x, x])[:3], _point((3,), 28)),
    Case(
        "dstack column_stack",
        lambda x: np.sum(np.dstack([x, x])) + np.column_stack([x, x]),
        _point((3,), 29),
    ),
    Case("split", lambda x: np.split(x, 2)[1] * np.array_split(x, 3)[0][0], _point((6,), 30)),
    Case("hsplit vsplit", lambda x: np.hsplit(x, 2)[0] + np.vsplit(x, 2)[1], _point((2, 2), 31)),
    Case("flip", lambda x: np.flip(x, axis=1) * np.fliplr(x) + np.flipud(x), _point((3, 4), 32)),
    Case("rot90", lambda x: np.rot90(x, 3) ** 2, _point((3, 4), 33)),
    Case("roll", lambda x: np.roll(x, 2, axis=1) * x + np.roll(x, -1), _point((3, 4), 34)),
    Case("append", lambda x: np.append(x, x[:2] ** 2), _point((4,), 35)),
    # selection
    Case("where constant", lambda x: np.where(MASK, x, x**2), _point((3, 4), 36)),
    Case("where on x", lambda x: np.where(x > 0, x**2, -x), _point((3, 4), 37)),
    Case(
        "select",
        lambda x: np.select([x < -0.5, x < 0.5], [x**2, x**3], default=np.sin(x)),
        _point((3, 4), 38),
    ),
    Case("clip", lambda x: np.clip(x, -0.5, 0.7), _point((3, 4), 39)),
    Case(
        "clip array bounds",
        lambda x: np.clip(x[:4], x[4:] - 0.4, x[4:] + 0.4),
        np.array([-1.0, 0.2, 1.3, 0.5, 0.4, 0.0, 0.6, 0.4]),
    ),
    Case(
        "sort",
        lambda x: np.sort(x) * np.arange(1.0, 7.0),
        np.array([0.3, -1.2, 2.0, 0.8, -0.4, 1.1]),
    ),
    Case("sort axis", lambda x: np.sort(x, axis=0), _point((3, 4), 40)),
    Case(
        "partition",
        lambda x: np.partition(x, 2),
        np.array([0.3, -1.2, 2.0, 0.8, -0.4]),
        symbolic=False,
    ),
    Case("take", lambda x: np.take(x, [2, 0, 2]) + np.take(x, [1], axis=0)[0], _point((3,), 41)),
    Case(
        "take_along_axis",
        lambda x: np.take_along_axis(x, np.array([[0, 2], [1, 1], [3, 0]]), axis=1),
        _point((3, 4), 42),
    ),
    Case("repeat", lambda x: np.repeat(x, [1, 3, 2], axis=0), _point((3, 2), 43)),
    Case("tile", lambda x: np.tile(x, (2, 3)), _point((2, 2), 44)),
    Case(
        "pad constant",
        lambda x: np.pad(x, ((1, 2), (0, 1)), constant_values=0.5),
        _point((2, 3), 45),
    ),
    Case(
        "pad reflect edge",
        lambda x: np.pad(x, 3, mode="reflect") + np.pad(x, 3, mode="edge"),
        _point((4,), 46),
    ),
    Case(
        "pad symmetric wrap",
        lambda x: np.pad(x, (2, 5), mode="symmetric") * np.pad(x, (2, 5), mode="wrap"),
        _point((3,), 47),
    ),
    Case("diagonal", lambda x: np.diagonal(x, offset=-1) ** 2, _point((4, 3), 48)),
    Case("diag", lambda x: np.diag(np.diag(x) ** 2, k=1), _point((3, 3), 49)),
    Case("tril triu", lambda x: np.tril(x, -1) + np.triu(x**2, 1), _point((3, 4), 50)),
    Case("delete", lambda x: np.delete(x, [0, 2]) ** 2, _point((5,), 51)),
    Case("linspace", lambda x: np.linspace(x[0], x[1], 5) ** 2, np.array([0.3, 1.4])),
    Case(
        "round and floor",
        lambda x: x * np.round(x * 3) + np.floor(x) * x,
        np.array([0.31, -1.22, 1.41]),
    ),
    # products
    Case("dot matrix vector", lambda x: np.dot(x, V4), _point((3, 4), 52)),
    Case("dot N-d", lambda x: np.dot(x, np.ones((4, 2))) ** 2, _point((2, 3, 4), 53)),
    Case("matmul stacks", lambda x: np.matmul(x, np.swapaxes(x, -1, -2)), _point((2, 3, 2), 54)),
    Case("vector @ matrix", lambda x: x[0] @ x, _point((3, 3), 55)),
    Case("einsum matmul", lambda x: np.einsum("ij,jk->ik", x, M34), _point((2, 3), 56)),
    Case(
        "einsum trace diag",
        lambda x: np.einsum("ii", x) + np.einsum("ii->i", x) ** 2,
        _point((3, 3), 57),
    ),
    Case("einsum ellipsis", lambda x: np.einsum("...ij,...kj->...ik", x, x), _point((2, 3, 2), 58)),
    Case(
        "einsum three operands",
        lambda x: np.einsum("ij,jk,k->i", x, x.T, V4[:3]),
        _point((3, 3), 59),
    ),
    Case("einsum implicit", lambda x: np.einsum("ij,ij", x, x**2), _point((2, 3), 60)),
    Case(
        "tensordot",
        lambda x: np.tensordot(x, np.ones((3, 4, 2)), axes=([1, 2], [0, 1])),
        _point((2, 3, 4), 61),
    ),
    Case("tensordot int", lambda x: np.tensordot(x, x, axes=1), _point((3, 3), 62)),
    Case("inner outer", lambda x: np.inner(x, x[::-1]) + np.outer(x, x**2), _point((3,), 63)),
    Case("vdot", lambda x: np.vdot(x, np.sin(x)), _point((2, 3), 64)),
    Case("kron", lambda x: np.kron(x, np.array([[1.0, 2.0], [3.0, 4.0]])), _point((2, 2), 65)),
    Case("split at a negative index", lambda x: np.split(x, [-2])[0] * x[:3], _point((5,), 155)),
    Case(
        "nanvar with correction",
        lambda x: np.nanvar(x, axis=0, correction=1),
        _point((3, 2), 156),
        symbolic=False,  # the tracer refuses nan*: an expression is NaN depending on the point
    ),
    Case(
        "median keepdims of all",
        lambda x: np.median(x, keepdims=True)[0, 0] * x,
        _point((2, 3), 157),
    ),
    Case("convolve", lambda x: np.convolve(x, np.array([1.0, -2.0, 0.5])), _point((5,), 150)),
    Case(
        "convolve same, x the shorter",
        lambda x: np.convolve(x, V4 * x[0], "same"),
        _point((3,), 151),
    ),
    Case("convolve valid", lambda x: np.convolve(x**2, x, mode="valid"), _point((4,), 152)),
    Case("correlate", lambda x: np.correlate(x, np.array([0.5, 1.0])), _point((5,), 153)),
    Case("correlate full, v longer", lambda x: np.correlate(x[:2], x, "full"), _point((4,), 154)),
    Case("cross", lambda x: np.cross(x, x**2), _point((2, 3), 66)),
    Case("multi_dot", lambda x: np.linalg.multi_dot([x, x.T, x]), _point((2, 2), 67)),
    # linear algebra
    Case("norm", lambda x: np.linalg.norm(x), _point((5,), 68)),
    Case(
        "norm ords",
        lambda x: np.stack([np.linalg.norm(x, o) for o in (1, 3, np.inf, -np.inf, -1.5)]),
        _point((5,), 69),
    ),
    Case(
        "norm axis keepdims", lambda x: np.linalg.norm(x, axis=1, keepdims=True), _point((3, 4), 70)
    ),
    Case(
        "matrix norms",
        lambda x: np.stack([np.linalg.norm(x, o) for o in ("fro", 1, -1, np.inf, -np.inf)]),
        _point((3, 4), 71),
    ),
    Case(
        "norm svd-based",
        lambda x: np.stack([np.linalg.norm(x, o) for o in ("nuc", 2, -2)]),
        _point((3, 4), 72),
    ),
    Case(
        "norm matrix axes",
        lambda x: np.linalg.norm(x, ord="nuc", axis=(0, 2)),
        _point((3, 2, 4), 73),
    ),
    Case(
        "vector_norm matrix_norm",
        lambda x: np.linalg.vector_norm(x, ord=3) + np.linalg.matrix_norm(x, ord=1),
        _point((3, 3), 74),
    ),
    Case("inv", lambda x: np.linalg.inv(x), _point((3, 3), 75) + 3 * np.eye(3)),
    Case("inv stack", lambda x: np.linalg.inv(x), _point((2, 3, 3), 76) + 3 * np.eye(3)),
    Case("solve vector", lambda x: np.linalg.solve(x, V4[:3]), _point((3, 3), 77) + 3 * np.eye(3)),
    Case("solve matrix", lambda x: np.linalg.solve(x, B), _point((3, 3), 78) + 3 * np.eye(3)),
    Case("solve for b", lambda x: np.linalg.solve(_spd(3), x), _point((3, 2), 79)),
    Case("det", lambda x: np.linalg.det(x), _point((3, 3), 80) + np.eye(3)),
    Case("det stack", lambda x: np.linalg.det(x), _point((2, 2, 2), 81)),
    Case("slogdet", lambda x: np.linalg.slogdet(x)[1], _point((3, 3), 82) + np.eye(3)),
    Case("cholesky", lambda x: np.linalg.cholesky(x), _spd(3, 1)),
    Case("cholesky upper", lambda x: np.linalg.cholesky(x, upper=True), _spd(3, 2)),
    Case("eigh", lambda x: np.linalg.eigh(x), _spd(3, 3)),
    Case("eigh upper values", lambda x: np.linalg.eigh(x, UPLO="U").eigenvalues, _spd(3, 4)),
    Case("eigvalsh", lambda x: np.linalg.eigvalsh(x), _spd(4, 5)),
    Case("svd", lambda x: np.linalg.svd(x, full_matrices=False), _point((3, 2), 83)),
    Case("svd wide", lambda x: np.linalg.svd(x, full_matrices=False), _point((2, 3), 84)),
    Case("svd values", lambda x: np.linalg.svd(x, compute_uv=False), _point((3, 3), 85)),
    Case("pinv", lambda x: np.linalg.pinv(x), _point((3, 2), 86)),
    Case(
        "matrix_power",
        lambda x: np.linalg.matrix_power(x, 3) + np.linalg.matrix_power(x, -1),
        _point((2, 2), 87) + 2 * np.eye(2),
    ),
    # creation and methods
    Case(
        "np.array of a list",
        lambda x: np.array([x[0], x[1] * 2.0, x[0] + 2.5]),
        np.array([0.7, -0.3]),
    ),
    Case(
        "nested np.array",
        lambda x: np.array([[x[0], 1.0], [x[1] ** 2, x[0] * x[1]]]),
        np.array([0.7, -0.3]),
    ),
    Case("np.asarray", lambda x: np.asarray(x) ** 2, _point((3,), 88)),
    Case("np.r_ and np.c_", lambda x: np.sum(np.r_[x, 2.0, x**2]) + np.c_[x, x], _point((3,), 89)),
    Case(
        "methods",
        lambda x: x.T.sum(axis=0) + x.mean() + x.flatten()[:3] + x.ravel()[::4] + x.std(),
        _point((3, 4), 90),
    ),
    Case(
        "astype and squeeze",
        lambda x: x.astype(np.float64).squeeze() ** 2 + x.prod(),
        _point((1, 3), 91),
    ),
    Case(
        "reshape method",
        lambda x: x.reshape(2, 3).cumsum(axis=1) * x.reshape((3, 2)).T,
        _point((6,), 92),
    ),
    Case(
        "real imag angle copy",
        lambda x: np.real(x) * np.copy(x) + np.imag(x) + np.angle(x) + np.real_if_close(x) ** 2,
        _point((4,), 94),
    ),
    Case(
        "atleast_1d broadcast_arrays",
        lambda x: np.prod(np.stack(np.broadcast_arrays(x[:, None], np.atleast_1d(x[0]))), axis=0),
        _point((3,), 95),
    ),
    Case(
        "count_nonzero full_like",
        lambda x: np.count_nonzero(x > 0) * x + np.full_like(x, x[0]) * x,
        _point((4,), 96),
    ),
    Case(
        "diagflat dsplit",
        lambda x: np.diagflat(x**2, 1)[:2, :2] + np.dsplit(x.reshape(1, 2, 2), 2)[1].reshape(2, 1),
        _point((4,), 97),
    ),
    Case("nan_to_num", lambda x: np.nan_to_num(x) ** 2, _point((4,), 98)),
    Case(
        "cond svdvals",
        lambda x: np.linalg.cond(x) + np.linalg.svdvals(x),
        _point((3, 3), 99) + 2 * np.eye(3),
    ),
    Case(
        "vecdot matvec vecmat",
        lambda x: np.vecdot(x, x) + np.matvec(x, x[0]) + np.vecmat(x[1], x),
        _point((3, 3), 100),
    ),
    Case(
        "np.linalg's array API",
        lambda x: (
            np.linalg.trace(x)
            + np.linalg.diagonal(x)
            + np.linalg.vecdot(x, x)
            + np.linalg.outer(x[0], x[1])[0]
            + np.linalg.cross(x, x[::-1])[1]
            + np.linalg.matmul(x, x)[0]
            + np.linalg.tensordot(x, x, axes=1)[2]
        ),
        _point((3, 3), 101),
    ),
    Case(
        "fix sinc", lambda x: np.fix(x * 2) * x + np.sinc(x) + np.sinc(x * 1e-4), _point((4,), 102)
    ),
    Case("sinc at 0", lambda x: np.sinc(x), np.array([0.0, 1e-5, 0.5])),
    Case(
        "fmod copysign heaviside",
        lambda x: np.fmod(x, 0.7) + np.copysign(x, -1.0) + np.heaviside(x, 0.5) * x,
        _point((4,), 103),
    ),
    Case(
        "float_power",
        lambda x: np.float_power(x, 2.5) + np.float_power(2.0, x),
        _point((3,), 104, 0.3, 1.5),
    ),
    Case(
        "nan reductions",
        lambda x: np.stack(
            [
                np.nansum(x),
                np.nanmean(x),
                np.nanmax(x),
                np.nanmin(x),
                np.nanstd(x),
                np.nanvar(x),
                np.nanprod(x),
            ]
        ),
        _point((4,), 105),
        symbolic=False,
    ),
    Case(
        "nan scans", lambda x: np.nancumsum(x) + np.nancumprod(x), _point((4,), 106), symbolic=False
    ),
    Case(
        "cumulative_sum prod",
        lambda x: (
            np.cumulative_sum(x, include_initial=True) + np.cumulative_prod(x, include_initial=True)
        ),
        _point((4,), 107),
    ),
    Case("ediff1d", lambda x: np.ediff1d(x**2, to_end=x[:1], to_begin=[0.5]), _point((4,), 108)),
    Case(
        "polyval vander",
        lambda x: np.polyval(x, 0.7) + np.polyval([1.0, -2.0, 0.5], x) + np.vander(x, 3)[1],
        _point((3,), 109),
    ),
    Case(
        "trapezoid",
        lambda x: np.stack(
            [
                np.trapezoid(x**2),
                np.trapezoid(x, x=np.linspace(0, 1, 5)),
                np.trapezoid(np.sin(x), dx=0.1),
            ]
        ),
        _point((5,), 110),
    ),
    Case(
        "cov corrcoef",
        lambda x: np.cov(x) + np.corrcoef(x) + np.cov(x, rowvar=False, bias=True)[0, 0],
        _point((3, 4), 111),
    ),
    Case(
        "quantile percentile",
        lambda x: np.quantile(x, [0.2, 0.5, 0.9]) + np.percentile(x, 35.0),
        np.array([0.3, -1.2, 2.0, 0.8, -0.4, 1.1]),
    ),
    Case(
        "interp",
        lambda x: np.interp(np.array([0.15, 0.5, 0.95]), np.linspace(0, 1, 5), x),
        _point((5,), 112),
        symbolic=False,
    ),
    Case(
        "interp in x",
        lambda x: np.interp(x, np.array([0.0, 0.4, 1.0]), np.array([1.0, -2.0, 3.0])),
        np.array([0.1, 0.55, 0.9]),
        symbolic=False,
    ),
    Case(
        "meshgrid unstack",
        lambda x: (
            np.meshgrid(x, x**2)[0] * np.meshgrid(x, x, indexing="ij")[1]
            + np.stack(np.unstack(np.outer(x, x)))
        ),
        _point((3,), 113),
    ),
    Case("matrix_transpose", lambda x: np.matrix_transpose(x) @ x, _point((2, 3, 2), 114)),
    Case(
        "lstsq",
        lambda x: np.linalg.lstsq(x, np.array([1.0, 2.0, 0.5]))[0],
        _point((3, 2), 115),
        symbolic=False,
    ),
    Case(
        "pad stat and ramp",
        lambda x: (
            np.pad(x, 2, mode="mean")
            + np.pad(x, 2, mode="maximum")
            + np.pad(x, 2, mode="linear_ramp", end_values=1.5)
        ),
        _point((3,), 116),
    ),
    Case("remainder", lambda x: x % 0.7 + np.remainder(1.9, x), _point((4,), 93, 0.3, 1.1)),
]

_IDS = [c.name for c in CASES]


def _richardson_jacobian(f: Callable[[Any], Any], x: np.ndarray) -> np.ndarray:
    flat = lambda v: np.ravel(_flatten(f(v.reshape(x.shape))))  # noqa: E731
    return dk.FiniteDifference(richardson=True).jacobian(flat, x.ravel())


def _flatten(out: Any) -> Any:
    if isinstance(out, tuple | list):
        return np.concatenate([np.ravel(o) for o in out])
    return out


def _reverse_jacobian(f: Callable[[Any], Any], x: np.ndarray) -> np.ndarray:
    jac = dk.jacobian(f)(x)
    return np.asarray(jac).reshape(-1, x.size)


def _close(got: np.ndarray, want: np.ndarray, rtol: float) -> None:
    scale = max(float(np.max(np.abs(want))), 1.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=rtol * scale)


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_reverse_jacobian_matches_finite_differences(case: Case) -> None:
    """One batched backward pass, against Richardson extrapolation, to 1e-8."""
    _close(_reverse_jacobian(case.f, case.x), _richardson_jacobian(case.f, case.x), 1e-8)


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_jacobian_in_one_pass_equals_one_gradient_per_output(case: Case) -> None:
    """The batched cotangents of every VJP give what one-hot backward passes give."""
    jac = _reverse_jacobian(case.f, case.x)
    for k in range(jac.shape[0]):
        row = dk.grad(lambda v, k=k: np.reshape(_flatten(case.f(v)), (-1,))[k])(case.x)
        np.testing.assert_allclose(row.reshape(-1), jac[k], rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.symbolic], ids=[c.name for c in CASES if c.symbolic]
)
def test_symbolic_jacobian_matches_reverse_mode(case: Case) -> None:
    got = dk.Symbolic().jacobian(case.f, case.x)
    _close(got, _reverse_jacobian(case.f, case.x), 1e-10)


def _projected(case: Case) -> Callable[[Any], Any]:
    """A scalar function of x: the output against fixed random weights."""
    size = np.size(_flatten(case.f(case.x)))
    w = np.random.default_rng(size).normal(size=size)
    return lambda v: np.sum(np.reshape(_flatten(case.f(v)), (-1,)) * w)


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_reverse_hessian_matches_finite_differences_of_the_gradient(case: Case) -> None:
    """create_graph through every rule: reverse over reverse against Richardson."""
    s = _projected(case)
    hess = np.asarray(dk.hessian(s)(case.x)).reshape(case.x.size, case.x.size)
    grad = lambda v: dk.grad(s)(v.reshape(case.x.shape)).reshape(-1)  # noqa: E731
    reference = dk.FiniteDifference(richardson=True).jacobian(grad, case.x.ravel())
    _close(hess, reference, 1e-7)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.symbolic], ids=[c.name for c in CASES if c.symbolic]
)
def test_symbolic_hessian_matches_reverse_mode(case: Case) -> None:
    s = _projected(case)
    reverse = np.asarray(dk.hessian(s)(case.x)).reshape(case.x.size, case.x.size)
    _close(dk.Symbolic().hessian(s, case.x), reverse, 1e-9)


def test_every_differentiable_row_has_a_case() -> None:
    """A row without a case here is a row whose derivative nobody checked."""
    source = pathlib.Path(__file__).read_text()
    untested = [
        name
        for name in supported_names()
        if name.removeprefix("np.").removeprefix("linalg.") + "(" not in source
        and name + "(" not in source
    ]
    assert not untested, untested


@pytest.mark.parametrize(
    ("f", "option"),
    [
        (lambda v: np.vecdot(M34, v, axes=[0, 0, ()]), "np.vecdot"),
        (lambda v: np.matvec(M34.T, v, keepdims=True), "np.matvec"),
        (lambda v: np.nansum(v, where=v > 0), "np.nansum"),
        (lambda v: np.full_like(v, 2.7, dtype=int) * v, "np.full_like"),
        (lambda v: np.median(v, axis=(0, 1)), "np.median"),
    ],
    ids=["vecdot axes", "matvec keepdims", "nansum where", "full_like int", "median axes"],
)
def test_an_option_that_changes_the_result_is_refused_not_ignored(f, option) -> None:
    """Each once gave a value (and gradient) computed without the option, silently."""
    x = _point((3, 4), 158)
    for backend in (dk.ReverseMode(), dk.Symbolic()):
        with pytest.raises(TypeError, match=option.replace(".", r"\.")):
            backend.jacobian(f, x)
