"""Gradients, Jacobians, Hessian diagonals and directional derivatives as line derivatives.

Each is one engine call (``FiniteDifference._estimate_line``) per line through x: a
coordinate axis, or the direction v. So every entry gets the same step logic,
fallbacks, error estimate and status as a derivative of f: R -> R, and the result
is an ``FDResult`` whose ``error`` and ``status`` have the shape of its value.

Shapes follow f: a Jacobian is f's output shape (at least 1-D) + x's shape, as in
torch and numdifftools; a matrix-shaped x reaches f as the matrix it was written
for (a flat ``a @ a`` would be a dot product, and its derivative another's).

The complex step checks analyticity once per call, not once per variable: the
directional central difference of f along a generic direction v (2 real
evaluations) must agree with the complex-step gradient's g . v. Only where it does
not (f not analytic, or too hard to difference there) does every coordinate get the
full probe of ``complexstep.cauchy_riemann``, which refuses f or lets it pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..function import Function, as_callable, coordinate_line
from .complexstep import needs_probe
from .costs import warn_large_hessian
from .inputs import as_points
from .lines import with_arguments
from .quotients import Estimate
from .stencils import stencil
from .steps import machine_epsilon, optimal_step, step_scale

if TYPE_CHECKING:
    from .finite import FDResult, FiniteDifference

__all__ = ["directional", "gradient", "hessian", "hessian_diagonal", "jacobian", "on_flat"]

# The cheap analyticity check passes where g . v and the central difference agree
# to this fraction (the same AGREE as the per-point probe's).
CHEAP_AGREE = 1e-2


def on_flat(f: Any, shape: tuple[int, ...]) -> Any:
    """f as a function of the flat vector of a matrix-shaped point."""
    if len(shape) <= 1 or isinstance(f, Function):
        return f
    fn = as_callable(f)
    return lambda y: fn(np.reshape(y, shape))


class Lines:
    """The point, its dtype, f on the flat point, and the per-variable steps."""

    def __init__(self, fd: FiniteDifference, f: Any, x: Any, args: Any, kwargs: Any) -> None:
        point = as_points(x)
        self.shape = point.shape if point.ndim else (1,)
        self.dtype = point.dtype
        self.f = on_flat(with_arguments(f, args, kwargs), point.shape)
        self.point = np.atleast_1d(point).reshape(-1)
        self.steps = _per_variable_steps(fd, self.point)

    def along_axes(self, fd: FiniteDifference, n: int, *, probe: bool) -> list[Estimate]:
        return [
            fd._estimate_line(
                coordinate_line(self.f, self.point, i),
                self.point[i : i + 1],
                n,
                self.steps[i],
                self.dtype,
                probe=probe,
            )
            for i in range(self.point.size)
        ]


def _per_variable_steps(fd: FiniteDifference, point: np.ndarray) -> list[Any]:
    if isinstance(fd.h, str):
        return ["auto"] * point.size
    h = np.asarray(fd.h, dtype=float)
    if h.ndim == 0:
        return [float(h)] * point.size
    if h.size != point.size:
        raise ValueError(
            f"h has shape {h.shape}, but x has {point.size} variables: give one step per variable"
        )
    return [float(v) for v in h.reshape(-1)]


def _result(parts: list[Estimate], value: np.ndarray, axis_last: bool, dtype: Any) -> FDResult:
    """Stack the lines' estimates into value-shaped error and status arrays."""
    from .finite import FDResult, _cast

    out = np.asarray(parts[0].value).shape[1:]

    def spread(field: str, kind: Any) -> np.ndarray:
        cols = [
            np.broadcast_to(np.asarray(getattr(p, field), dtype=kind).reshape(-1)[0], out)
            for p in parts
        ]
        return np.stack(cols, axis=-1 if axis_last else 0)

    return FDResult(
        value=_cast(value, dtype),
        error=spread("error", float).reshape(value.shape),
        h=np.array([float(p.h[0]) for p in parts]),
        nfev=np.array(sum(int(np.sum(p.nfev)) for p in parts)),
        status=spread("status", object).reshape(value.shape),
        check_nfev=np.array(sum(int(np.sum(getattr(p, "check_nfev", 0))) for p in parts)),
    )


def _complex_parts(fd: FiniteDifference, f: Any, lines: Lines) -> list[Estimate]:
    """The complex step along each axis, with analyticity checked once (module docstring)."""
    probe = needs_probe(f, fd.analytic_check)
    parts = lines.along_axes(fd, 1, probe=False)
    if probe and not _agrees_along_a_direction(lines, parts):
        lines.along_axes(fd, 1, probe=True)  # raises ComplexStepError where f is not analytic
        for p in parts:
            p.nfev = p.nfev + 9
    elif probe:
        parts[0].nfev = parts[0].nfev + 2
    return parts


def _agrees_along_a_direction(lines: Lines, parts: list[Estimate]) -> bool:
    """g . v against the central difference of f along v, 2 real evaluations."""
    k = lines.point.size
    scale = step_scale(lines.point)
    # A generic direction: no coordinate left out, no two alike, signs mixed.
    v = scale * (0.5 + (np.arange(k) * 0.6180339887498949) % 1.0) * (-1.0) ** np.arange(k)
    g = np.concatenate([np.asarray(p.value).reshape(-1) for p in parts])
    if g.size != k or not np.all(np.isfinite(g)):
        return True  # a vector f or a point outside the domain: the per-point checks decide
    eps = machine_epsilon(lines.dtype)
    h = float(optimal_step(stencil("central", 1), lines.dtype))
    fn = as_callable(lines.f)
    with np.errstate(all="ignore"):
        up = float(np.asarray(fn(lines.point + h * v)).reshape(-1)[0])
        down = float(np.asarray(fn(lines.point - h * v)).reshape(-1)[0])
    slope = (up - down) / (2 * h)
    along = float(g @ v)
    rounding = 8.0 * eps * max(abs(up), abs(down)) / h
    return abs(slope - along) <= CHEAP_AGREE * max(abs(slope), abs(along)) + rounding


def _first_derivatives(fd: FiniteDifference, f: Any, lines: Lines) -> list[Estimate]:
    """One line derivative per axis; the complex step checks analyticity once for all."""
    if fd.scheme == "complex":
        return _complex_parts(fd, f, lines)
    return lines.along_axes(fd, 1, probe=False)


def gradient(
    fd: FiniteDifference, f: Any, x: Any, *, args: Any = (), kwargs: Any = None
) -> FDResult:
    """Gradient of f: R^n -> R at one point, shaped like x."""
    lines = Lines(fd, f, x, args, kwargs)
    parts = _first_derivatives(fd, f, lines)
    values = [np.asarray(p.value).reshape(-1) for p in parts]
    if any(v.size != 1 for v in values):
        raise ValueError("gradient needs a scalar-valued f; use jacobian for vector outputs")
    result = _result(parts, np.concatenate(values), False, lines.dtype)
    return _reshaped(result, lines.shape)


def jacobian(
    fd: FiniteDifference, f: Any, x: Any, *, args: Any = (), kwargs: Any = None
) -> FDResult:
    """Jacobian at one point: f's output shape (at least 1-D) + x's shape."""
    lines = Lines(fd, f, x, args, kwargs)
    parts = _first_derivatives(fd, f, lines)
    columns = [np.asarray(p.value)[0] for p in parts]
    value = np.stack(columns, axis=-1)
    if value.ndim == 1:
        value = value[None, :]
    result = _result(parts, value, True, lines.dtype)
    return _reshaped(result, value.shape[:-1] + lines.shape)


def hessian_diagonal(
    fd: FiniteDifference, f: Any, x: Any, *, args: Any = (), kwargs: Any = None
) -> FDResult:
    """The second derivative along each axis, shaped like x (f scalar-valued)."""
    lines = Lines(fd, f, x, args, kwargs)
    probe = fd.scheme == "complex" and needs_probe(f, fd.analytic_check)
    parts = lines.along_axes(fd, 2, probe=probe)
    values = [np.asarray(p.value).reshape(-1) for p in parts]
    if any(v.size != 1 for v in values):
        raise ValueError("hessian_diagonal needs a scalar-valued f")
    return _reshaped(_result(parts, np.concatenate(values), False, lines.dtype), lines.shape)


def directional(
    fd: FiniteDifference, f: Any, x: Any, v: Any, *, args: Any = (), kwargs: Any = None
) -> FDResult:
    """d/dt f(x + t v) at t = 0, shaped like f's output."""
    lines = Lines(fd, f, x, args, kwargs)
    direction = np.asarray(v, dtype=float).reshape(-1)
    if direction.size != lines.point.size or not np.all(np.isfinite(direction)):
        raise ValueError(
            f"v must be a finite direction with as many entries as x ({lines.point.size}), got {v!r}"
        )
    fn = as_callable(lines.f)
    point = lines.point

    def line(t: np.ndarray) -> np.ndarray:
        return np.stack([np.asarray(fn(point + ti * direction)) for ti in t])

    probe = fd.scheme == "complex" and needs_probe(f, fd.analytic_check)
    h = fd.h if isinstance(fd.h, str) else float(np.min(np.asarray(fd.h, dtype=float)))
    part = fd._estimate_line(line, np.zeros(1, dtype=lines.dtype), 1, h, lines.dtype, probe=probe)
    value = np.asarray(part.value)[0]
    result = _result([part], value[..., None], True, lines.dtype)
    return _reshaped(result, value.shape)


def hessian(
    fd: FiniteDifference, f: Any, x: Any, *, args: Any = (), kwargs: Any = None
) -> FDResult:
    """Hessian at one point: (n, n) for scalar f, f's output shape + (n, n) otherwise."""
    from .hessians import complex_hessian, contour_hessian, matrix_hessian

    lines = Lines(fd, f, x, args, kwargs)
    warn_large_hessian(int(np.size(x)), "finite-difference")
    if fd.scheme == "complex":
        return complex_hessian(fd, f, lines)
    if fd.scheme == "contour":
        return contour_hessian(fd, lines)
    return matrix_hessian(fd, lines)


def _reshaped(result: FDResult, shape: tuple[int, ...]) -> FDResult:
    from dataclasses import replace

    return replace(
        result,
        value=result.value.reshape(shape),
        error=result.error.reshape(shape),
        status=result.status.reshape(shape),
    )
