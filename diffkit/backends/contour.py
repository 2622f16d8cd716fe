"""The contour integral: every Taylor coefficient of an analytic f from one FFT on a circle.

For f analytic in a disk of radius R around a real x, the trapezoidal rule on the
circle z_j = x + r w^j, w = exp(2 pi i / N), r < R, gives (Lyness and Moler 1967,
Fornberg 1981)

    c_k = (1/N) sum_j f(z_j) w^(-jk) = a_k r^k + a_(k+N) r^(k+N) + ...,  a_k = f^(k)(x) / k!,

so one FFT yields f, f', ..., f^(n) together. Two errors compete: aliasing,
a_(k+N) r^(k+N), relative size (r/R)^N, small for r well inside the disk; and
rounding, about eps max|f| in each c_k, so relative eps (R/r)^n in f^(n) = n! c_n / r^n,
large for r small. The radius is therefore searched per point.

Error estimate of f^(k): k! / r^k (A_k + F + S), in Taylor-coefficient units:

- A_k, aliasing: for decaying coefficients a_(k+N) r^(k+N) is below T = max |c_j| over
  the last quarter, j in [3N/4, N); with q = (T / M)^(2/N) their decay per index (M the
  largest in [N/4, N/2)), A_k = T q^((N/4 + k) / 2), half the extrapolation to k + N
  (a branch point decays slower at k + N than between the quarters: sqrt(x - 2));
- F, the floor: ROUND eps max|f| on the circle, or the largest |c_j| of the last eighth
  where larger. A decaying series has sunk below its noise there, so what is left is
  f's noise, which can exceed ROUND ulps (f losing digits inside); where the series has
  not sunk yet, F bounds its aliasing, pessimistically, and the search moves on;
- S, the nodes: x + r cos t rounds to the grid of x (1.5e-8 absolute at x = 1e8, which
  would cost 8 digits); the slip (fl(x + r cos t) - x) - r cos t is exact (Sterbenz), and
  the coefficients are corrected for it to second order (a fixed-point iteration, two
  FFTs per step, no evaluations); S bounds the third-order rest.

The N versus N/2 comparison (even nodes) was not used: it measures c_(n+N/2), the N/2
rule's aliasing, and says less than T about the N-point rule's.

Symmetry: f real on the real axis means f(conj z) = conj f(z), so f is evaluated on the
closed upper half circle (N/2 + 1 points) and reflected. Measured against full circles
(N points, with the imaginary parts of the c_k as an extra reality check) on the
not-analytic and analytic cases of tests/test_contour.py: the same status everywhere.
NumPy's complex abs, sqrt, log, maximum are conjugate-symmetric themselves, so both
circles hold the same data; an f not real on the axis shows an imaginary part at the
two real nodes, or a jump between the reflected halves.

Checks, per circle; a circle failing one is unusable (the search shrinks r): f not
finite on it (a pole, an overflow, a domain edge inside); f not real at the real nodes;
negative frequencies: the spectrum falls from its first eighth to the quarter before
the middle and rises again, its last quarter above NEGATIVE times that quarter or its
last eighth above MIRROR times the first (a modulus, a branch cut, a jump, a
singularity in the disk); a spectrum rising without falling first, or a tail above
TAIL_MAX max|f| (the series has not decayed: r far too large for an entire f, every
c_k aliased; no evidence against analyticity). Across circles: a_k does not depend on r,
so the derivatives 0..n of the chosen circle and the nearest other usable one must
agree within their estimates; what they differ beyond that is added to the error
(``_cross_check``; it catches eps |z - x|^2, which no single circle tells from eps r^2).

Search, vectorized over the points still searching (one call of phi per round):
start at ``radius``; while no circle is usable, shrink r by 16, 16, 256, 65536 (64 first
where f is not finite), not below the grid of x or eps^2 ``radius``; where aliasing or
the last eighth exceed rounding, predict the error at r s from the circle (c_k(r s) =
c_k(r) s^k) and move to the best s down to 1/64; where rounding dominates, grow by 4, or
bisect (in log r) towards a radius found too large; a point stops at the first move that
does not improve its estimate 1.5-fold, after MAX_RADII circles at most, and gets the
circle r / 2 where only one circle was usable, for the cross-radius check.

Cost, measured on tests/test_contour.py's cases, starting radius max(|x|, 1) as the
engine passes (evaluations of f per point, every circle counted in nfev): a circle is
N/2 + 1 = 17 evaluations for n <= 8 (N = 32), 33 for n > 8 (N = 64); a typical point
takes 2 to 4 circles, median 51 evaluations for n <= 8 and 99 for n > 8 (sin, exp, cos,
1/(1+x^2) at 1: 34 to 68); a poor starting radius costs more (log at 1e-4 from 1, sin at
1e8 from 1e8: 102 and 85 to 231); a not-analytic point 102 to 119, at most
(MAX_RADII + 1) circles. Full circles would cost N, 1.9 times as much, for the same
statuses. Time: about 15 ms per call for one point (the search's NumPy overhead), 0.07
to 0.15 ms per point for 10^4 points.

Statuses: "ok" where the error estimate is finite and at most OK_RELATIVE |f^(n)|, or
where f^(n) is zero to rounding: the error at most the zero level ZERO eps max|f|
n! / L^n, the rounding error of a circle of radius L = f's length (the chosen radius
where its circle resolves f and a radius at most BRACKET times larger was too large,
else max(r, ``radius``)); "nonfinite" where f was not finite on any circle;
"not-analytic" where nothing is ok and either a circle showed negative frequencies or f
not real while no larger usable circle resolved f (larger ones only: a singularity
beyond the usable disk, as for log at 1e-4), or two circles disagreed beyond their
estimates; "not-converged" otherwise. Values are NaN (errors inf) where not-analytic or
no circle was usable, NaN (NaN) where nonfinite; a not-converged value keeps its error.

Limits: the estimate covers f's own error where it is white (the last eighth shows it)
or differs between radii; an error common to all nodes is invisible. NumPy's complex
2**z is exp(z log 2), 311 ulps off at z = 1000 on the real axis itself, so f^(n) of
2**x there is 4e-14 off where the estimate says 1e-14. Nor is a discontinuity seen
that lies strictly inside the circle without crossing it (a region |z - c| < rho cut
out of f).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .complexstep import ComplexStepError
from .quotients import Estimate, LineFunction
from .steps import machine_epsilon

__all__ = ["MAX_CONTOUR_ORDER", "ContourEstimate", "contour", "nodes_for"]

MAX_CONTOUR_ORDER = 20
# f's rounding per coefficient, in eps max|f| on the circle: a few ulps per value,
# averaged over the circle by the FFT.
ROUND = 2.0
# Negative frequencies: the spectrum falls from the first eighth to the quarter before
# the middle by NEGATIVE, and the last quarter rises above NEGATIVE times that quarter
# (plus rounding) or the last eighth above MIRROR times the first. An analytic f's last
# eighth is q^(N - 2m) of its first, far below MIRROR on a circle with its tail below
# TAIL_MAX; a jump's or a modulus's is of the same order (the jump of
# np.maximum(z, 0)**2 at 0 has a tail only 2.3 times its middle, 0.2 of its first).
NEGATIVE = 4.0
MIRROR = 1e-2
TAIL_MAX = 1e-3
# Imaginary parts at the two real nodes above this many eps max|f|: f not real at x.
REAL_ULPS = 64.0
# Node slips (relative to r) above this: r is too small for the grid of x.
SLIP_MAX = 1e-3
CORRECTIONS = 3  # fixed-point steps correcting the coefficients for the slips
OK_RELATIVE = 1e-3
ZERO = 4.0 * ROUND
# A circle resolves f where some |c_k|, 0 < k < N/2, reaches this fraction of max|f|.
RESOLVED = 1e-3
# Search.
MAX_RADII = 12
SHRINK = 16.0
SHRINK_NONFINITE = 64.0
GROW = 4.0
BISECT = 2.0  # bisect between a good and a bad radius while their ratio is above this
IMPROVE = 1.5  # a move must improve the estimate this much for the search to go on
CLOSE = 1.2  # a radius within this factor of one tried is not tried again
BRACKET = 1.25 * GROW  # how near a too large radius makes the chosen one f's length
CHECK = 0.5  # the extra radius, relative to the best, where only one was usable
FACTORS = 2.0 ** (-np.arange(25) / 4.0)  # the moves a prediction considers, to 1/64
PREDICTION_CHUNK = 1 << 22

UNUSABLE, ALIASED, ROUNDED = 0, 1, 2


@dataclass
class ContourEstimate(Estimate):
    """An ``Estimate`` (h: the radius) with every derivative 0..n from the same circle.

    ``value`` and ``error`` have phi's output shape (points, *outputs), one error per
    component; ``coefficients`` holds f^(k)(x) for k = 0..n, (points, n + 1, *outputs):
    the derivatives, not the Taylor coefficients f^(k)(x) / k!, ``value`` its last entry.
    """

    coefficients: np.ndarray = field(default_factory=lambda: np.empty(0))
    message: str = ""


def nodes_for(n: int) -> int:
    """N, the points of the circle: 32 up to n = 8, 64 beyond (the checks need n <= N/4)."""
    return 32 if n <= 8 else 64


def contour(
    phi: LineFunction, x: np.ndarray, n: int, dtype: Any, radius: np.ndarray
) -> ContourEstimate:
    """f^(n) (and f, ..., f^(n-1)) at real points x, on circles searched per point.

    ``phi`` takes one 1-D complex array (the nodes of every point) and returns values
    whose first axis matches; ``x`` holds real points, taken in ``dtype`` (float64 or
    float32, whose eps the estimates use); ``radius`` is the starting radius per point,
    a length on which f varies (max(|x|, 1) if nothing better is known).
    """
    rdtype = np.dtype(dtype)
    points = np.asarray(x).astype(rdtype)
    start = np.broadcast_to(np.asarray(radius, dtype=float), points.shape).astype(float)
    _validate(points, n, start)
    k, size = points.size, nodes_for(n)
    if k == 0:
        empty = np.empty(0)
        status = np.empty(0, dtype=object)
        return ContourEstimate(empty, empty, empty, np.empty(0, dtype=int), status, empty)
    cdtype = np.result_type(rdtype, np.complex64)
    eps = machine_epsilon(rdtype)
    history = _History(k)
    nfev = np.zeros(k, dtype=int)
    r = start.copy()
    active = np.arange(k)
    with np.errstate(all="ignore"):
        for _ in range(MAX_RADII):
            circle, outputs = _circle(phi, points, r, start, active, n, size, cdtype, eps)
            nfev[active] += size // 2 + 1
            history.add(active, r[active], circle)
            step = _next_radii(
                history, active, points[active], r[active], start[active], circle, n, eps
            )
            keep = np.isfinite(step)
            r[active[keep]] = step[keep]
            active = active[keep]
            if not active.size:
                break
        lone = np.flatnonzero((history.stacked("kind") >= ALIASED).sum(axis=0) == 1)
        if lone.size:
            r[lone] = CHECK * _best(history)[1][lone]
            circle, outputs = _circle(phi, points, r, start, lone, n, size, cdtype, eps)
            nfev[lone] += size // 2 + 1
            history.add(lone, r[lone], circle)
        return _result(history, start, n, eps, nfev, outputs, points, rdtype)


def _validate(x: np.ndarray, n: int, radius: np.ndarray) -> None:
    if (
        not isinstance(n, int | np.integer)
        or isinstance(n, bool)
        or not 0 <= n <= MAX_CONTOUR_ORDER
    ):
        raise ValueError(
            f"the contour integral takes derivative orders n in 0..{MAX_CONTOUR_ORDER}, got {n!r}"
        )
    if x.ndim != 1:
        raise ValueError(f"contour needs a 1-D array of points, got shape {x.shape}")
    if not (np.isfinite(x) & np.isfinite(radius) & (radius > 0)).all():
        raise ValueError(
            "contour needs finite points and a positive finite starting radius per point "
            f"(a length on which f varies, e.g. max(|x|, 1)), got x={x!r}, radius={radius!r}"
        )


# ---------------------------------------------------------------- one circle per point


@dataclass
class _Circle:
    """One circle per point: the derivatives and their errors, and what the checks saw."""

    kind: np.ndarray  # UNUSABLE, ALIASED (aliasing or the floor above rounding), ROUNDED
    finite: np.ndarray
    negative: np.ndarray  # negative frequencies, or f not real at the real nodes
    merit: np.ndarray  # the search's figure, ``_merit``; inf where unusable
    derivatives: np.ndarray  # (points, n + 1, outputs)
    errors: np.ndarray  # (points, n + 1, outputs)
    size: np.ndarray  # max |f| on the circle, (points, outputs)
    resolved: np.ndarray  # whether f visibly varies on the circle, (points, outputs)
    magnitudes: np.ndarray  # |c_k|, (points, N, outputs)
    slip: np.ndarray  # the largest node slip relative to r, per point


def _circle(
    phi: LineFunction,
    points: np.ndarray,
    r: np.ndarray,
    start: np.ndarray,
    idx: np.ndarray,
    n: int,
    size: int,
    cdtype: Any,
    eps: float,
) -> tuple[_Circle, tuple[int, ...]]:
    values, slips, outputs = _evaluate(phi, points[idx], r[idx], size, cdtype)
    return _examine(values, slips, r[idx], start[idx], n, eps), outputs


def _evaluate(
    phi: LineFunction, x: np.ndarray, r: np.ndarray, size: int, cdtype: Any
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """f on the closed upper half circles, reflected: values (points, N, outputs), and the
    slip of each node, (z_j - x) / (r w^j) - 1 for the z_j f actually saw.
    """
    half = size // 2
    angle = 2.0 * np.pi * np.arange(half + 1) / size
    cos, sin = np.cos(angle), np.sin(angle)
    cos[half // 2], cos[half], sin[0], sin[half // 2], sin[half] = 0.0, -1.0, 0.0, 1.0, 0.0
    radius = r.astype(x.dtype)
    across = radius[:, None] * cos.astype(x.dtype)
    real = x[:, None] + across
    slipped = (real - x[:, None]) - across  # exact: the rounding of x + r cos t
    z = np.empty(real.shape, dtype=cdtype)
    z.real, z.imag = real, radius[:, None] * sin.astype(x.dtype)
    try:
        out = np.asarray(phi(z.reshape(-1)))
    except TypeError as exc:
        raise ComplexStepError(
            f"the contour integral calls f with complex numbers, and f raised: {exc}. "
            "Use scheme='central' for functions that only take real input."
        ) from exc
    if not np.iscomplexobj(out):
        raise ComplexStepError(
            "the contour integral needs f to return complex values for complex input, but "
            f"f returned {out.dtype}: it drops the imaginary part (abs, real-only code?). "
            "Use scheme='central' for such functions."
        )
    if out.ndim == 0 or out.shape[0] != z.size:
        raise ValueError(
            f"phi must return one value (or row) per point it is given: {z.size} points, "
            f"{out.shape} values"
        )
    upper = out.reshape(x.size, half + 1, -1).astype(np.complex128)
    values = np.concatenate([upper, np.conj(upper[:, half - 1 : 0 : -1])], axis=1)
    rel = slipped.astype(float) / (radius.astype(float)[:, None] * (cos + 1j * sin)[None, :])
    slips = np.concatenate([rel, np.conj(rel[:, half - 1 : 0 : -1])], axis=1)
    return values, slips, out.shape[1:]


def _taylor(values: np.ndarray, slips: np.ndarray, threshold: float) -> np.ndarray:
    """c_k = a_k r^k, (points, N, outputs), from f at the slipped nodes x + r w^j (1 + e_j).

    f(z_j) = sum_k c_k w^(jk) (1 + e_j)^k: the terms in e_j and e_j^2 go to the data side,
    and the FFT is repeated, for the points whose slips exceed ``threshold`` (eps: below
    it the correction is below rounding). Index k is the power k, not a signed frequency:
    an entire f's coefficients near N are its high powers (a signed k would leave 6e-14
    in sin at 1e8).
    """
    size = values.shape[1]
    c = np.fft.fft(values, axis=1) / size
    slipping = np.flatnonzero(np.abs(slips).max(axis=1) > threshold)
    if not slipping.size:
        return c
    k = np.arange(size, dtype=float)[None, :, None]
    e = slips[slipping, :, None]
    data, part = values[slipping], c[slipping]
    for _ in range(CORRECTIONS):
        first = np.fft.ifft(part * k, axis=1) * size
        second = np.fft.ifft(part * (k * (k - 1.0)), axis=1) * size
        part = np.fft.fft(data - e * first - 0.5 * e * e * second, axis=1) / size
    c[slipping] = part
    return c


def _residual(mag: np.ndarray, slip: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """S, the third-order rest of the slip correction: slip^3 sum_k k^3 |c_k|.

    Summed relative to max|f| (``scale``): near the largest floats the plain sum overflows.
    """
    power = np.arange(mag.shape[1], dtype=float)[None, :, None] ** 3
    with np.errstate(all="ignore"):
        relative = np.nan_to_num((mag / scale[:, None, :]) * power, nan=0.0).sum(axis=1)
    return np.asarray(slip[:, None] ** 3 * relative * scale)


def aliasing(tail: np.ndarray, middle: np.ndarray, size: int, orders: np.ndarray) -> np.ndarray:
    """A_k = T q^((N/4 + k) / 2), q = (T / M)^(2/N) in [0, 1]: the aliasing bound of c_k.

    Shape: that of ``tail`` with the orders inserted before the last axis.
    """
    with np.errstate(all="ignore"):
        decay = np.nan_to_num((tail / middle) ** (2.0 / size), nan=1.0, posinf=1.0)
    exponent = ((size / 4.0 + orders) / 2.0)[:, None]
    return tail[..., None, :] * np.clip(decay, 0.0, 1.0)[..., None, :] ** exponent


def zero_level(size: Any, r: Any, length: Any, n: int, eps: float) -> Any:
    """ZERO eps max|f| n! / max(r, length)^n: an f^(n) this small is zero to rounding.

    The search divides by it too, taken at max(r, the caller's length), which does not
    shrink with r: that compares radii by the absolute error where f^(n) is zero
    (1/(1+x^2) at 1, n = 7), and stops the growth of r once at rounding (x^3, n = 4).
    """
    return ZERO * eps * size * math.factorial(n) / np.maximum(r, length) ** n


def _merit(err: np.ndarray, top: np.ndarray, zero: np.ndarray) -> np.ndarray:
    """Max over outputs (last axis) of err / (max(|f^(n)| - err, 0) + zero level).

    The relative error where f^(n) is resolved, the error in zero levels where not: a
    value that is noise (|f^(n)| below its error) does not make its circle look good.
    """
    denominator = np.maximum(top - err, 0.0) + zero
    ratio = np.divide(err, denominator, out=np.full_like(err, np.inf), where=denominator > 0)
    ratio[err == 0] = 0.0
    return np.asarray(ratio.max(axis=-1))


def _examine(
    values: np.ndarray, slips: np.ndarray, r: np.ndarray, length: np.ndarray, n: int, eps: float
) -> _Circle:
    """Derivatives, their errors and the checks of one circle per point (module docstring)."""
    size = values.shape[1]
    quarter, eighth = size // 4, size // 8
    finite = np.isfinite(values).all(axis=(1, 2))
    scale = np.abs(values).max(axis=1)
    on_axis = np.abs(values[:, [0, size // 2]].imag).max(axis=1)
    not_real = (on_axis > REAL_ULPS * eps * scale).any(axis=1)
    values[:, [0, size // 2]] = values[:, [0, size // 2]].real
    c = _taylor(values, slips, eps)
    mag = np.abs(c)
    rounding = ROUND * eps * scale
    tail = mag[:, 3 * quarter :].max(axis=1)
    middle = mag[:, quarter : 2 * quarter].max(axis=1)
    last = mag[:, size - eighth :].max(axis=1)
    first = mag[:, 1 : eighth + 1].max(axis=1)
    # A spectrum that falls from its first eighth to its middle (or has no first eighth:
    # 1/(z - x)) and rises again at the end has negative frequencies; one that rises
    # without falling first is a series still growing (an entire f on far too large a
    # circle, aliased nearly flat, about max|f| / N everywhere).
    rising = tail > NEGATIVE * (middle + rounding)
    falling = (first >= NEGATIVE * middle) | (first <= NEGATIVE * rounding)
    mirrored = last > MIRROR * first + NEGATIVE * rounding
    negative = not_real | (falling & (rising | mirrored)).any(axis=1)
    growing = (rising & ~falling).any(axis=1)
    slip = np.abs(slips).max(axis=1)
    residual = _residual(mag, slip, scale)
    orders = np.arange(n + 1)
    alias = aliasing(tail, middle, size, orders)  # (points, n + 1, outputs)
    floor = np.maximum(rounding, last)
    factorial = np.array([math.factorial(j) for j in orders], dtype=float)
    gain = (factorial[None, :] / r[:, None] ** orders[None, :])[:, :, None]  # k! / r^k
    derivatives = c[:, : n + 1].real * gain
    errors = (alias + (floor + residual)[:, None, :]) * gain
    zero = zero_level(scale, r[:, None], length[:, None], n, eps)
    decayed = (tail <= TAIL_MAX * scale).all(axis=1)
    usable = finite & ~negative & ~growing & decayed & (slip <= SLIP_MAX)
    merit = np.where(usable, _merit(errors[:, n], np.abs(derivatives[:, n]), zero), np.inf)
    aliased = ((alias[:, n] > rounding) | (last > rounding)).any(axis=1)
    return _Circle(
        kind=np.where(usable, np.where(aliased, ALIASED, ROUNDED), UNUSABLE),
        finite=finite,
        negative=negative & finite,
        merit=np.nan_to_num(merit, nan=np.inf, posinf=np.inf),
        derivatives=derivatives,
        errors=errors,
        size=scale,
        resolved=mag[:, 1 : 2 * quarter].max(axis=1) >= RESOLVED * scale,
        magnitudes=mag,
        slip=slip,
    )


def _predicted_factor(
    circle: _Circle,
    idx: np.ndarray,
    r: np.ndarray,
    length: np.ndarray,
    lowest: np.ndarray,
    n: int,
    eps: float,
) -> np.ndarray:
    """The factor s in FACTORS, r s above CLOSE ``lowest``, that minimizes the predicted
    merit of the circle r s.

    From one circle, c_k(r s) = c_k(r) s^k: the tail, the last eighth, max|f| (at most
    sum |c_k| s^k, and at most its value on the larger circle) and the node residual
    (the slips grow as 1 / s) follow, so the error at r s is predicted without
    evaluating f. Returns 1 where no smaller radius is predicted better. Points go in
    chunks of about PREDICTION_CHUNK numbers (points x factors x N x outputs).
    """
    mag = circle.magnitudes[idx]
    points, size, outputs = mag.shape
    chunk = max(1, PREDICTION_CHUNK // (FACTORS.size * size * outputs))
    best = np.empty(points)
    for lo in range(0, points, chunk):
        part = slice(lo, lo + chunk)
        best[part] = _predicted_chunk(
            circle, idx[part], r[part], length[part], lowest[part], n, eps
        )
    return best


def _predicted_chunk(
    circle: _Circle,
    idx: np.ndarray,
    r: np.ndarray,
    length: np.ndarray,
    lowest: np.ndarray,
    n: int,
    eps: float,
) -> np.ndarray:
    mag = circle.magnitudes[idx]
    points, size, outputs = mag.shape
    many = FACTORS.size
    powers = FACTORS[:, None] ** np.arange(size)[None, :]  # (factors, N)
    scaled = (mag[:, None] * powers[None, :, :, None]).reshape(points * many, size, outputs)
    radii = (r[:, None] * FACTORS[None, :]).reshape(-1)
    tail = scaled[:, 3 * size // 4 :].max(axis=1)
    middle = scaled[:, size // 4 : size // 2].max(axis=1)
    scale = np.minimum(np.repeat(circle.size[idx], many, axis=0), scaled.sum(axis=1))
    floor = np.maximum(ROUND * eps * scale, scaled[:, 7 * size // 8 :].max(axis=1))
    slip = (circle.slip[idx][:, None] / FACTORS[None, :]).reshape(-1)
    residual = _residual(scaled, slip, scale)
    alias = aliasing(tail, middle, size, np.array([n]))[:, 0]
    err = (alias + floor + residual) * (math.factorial(n) / radii**n)[:, None]
    top = np.repeat(np.abs(circle.derivatives[idx, n]), many, axis=0)
    zero = zero_level(scale, radii[:, None], np.repeat(length, many)[:, None], n, eps)
    merits = _merit(err, top, zero).reshape(points, many)
    merits[radii.reshape(points, many) <= CLOSE * lowest[:, None]] = np.inf
    merits[:, 0] = np.minimum(merits[:, 0], circle.merit[idx])
    return np.asarray(FACTORS[np.argmin(merits, axis=1)])


# ---------------------------------------------------------------- the search


class _History:
    """Every circle tried, per point (NaN, inf or False where a point had none that round)."""

    FIELDS: ClassVar[dict[str, Any]] = {
        "kind": -1,
        "merit": np.inf,
        "finite": False,
        "negative": False,
        "derivatives": np.nan,
        "errors": np.inf,
        "size": np.nan,
        "resolved": False,
    }

    def __init__(self, points: int) -> None:
        self.points = points
        self.rounds: dict[str, list[np.ndarray]] = {name: [] for name in (*self.FIELDS, "radius")}

    def add(self, idx: np.ndarray, r: np.ndarray, circle: _Circle) -> None:
        radius = np.full(self.points, np.nan)
        radius[idx] = r
        self.rounds["radius"].append(radius)
        for name, fill in self.FIELDS.items():
            part = getattr(circle, name)
            full = np.full((self.points, *part.shape[1:]), fill, dtype=part.dtype)
            full[idx] = part
            self.rounds[name].append(full)

    def stacked(self, name: str) -> np.ndarray:
        """One field over the rounds, (rounds, points, ...)."""
        return np.stack(self.rounds[name])


def _next_radii(
    history: _History,
    idx: np.ndarray,
    x: np.ndarray,
    r: np.ndarray,
    length: np.ndarray,
    circle: _Circle,
    n: int,
    eps: float,
) -> np.ndarray:
    """The next radius of each point just evaluated, NaN where the point stops (module docstring)."""
    radii = history.stacked("radius")[:, idx]
    kinds = history.stacked("kind")[:, idx]
    merits = history.stacked("merit")[:, idx]
    usable = kinds >= ALIASED
    with np.errstate(invalid="ignore"):
        below = np.where(usable & (radii < r), radii, 0.0).max(axis=0)
        bad = np.where((kinds == UNUSABLE) | (kinds == ALIASED), radii, np.inf).min(axis=0)
        low = np.where(kinds == ROUNDED, radii, 0.0).max(axis=0)
    before = np.where(usable[:-1], merits[:-1], np.inf).min(axis=0, initial=np.inf)
    improved = circle.merit * IMPROVE < before
    kind = circle.kind
    step = np.full(r.shape, np.nan)

    unusable = kind == UNUSABLE
    halve = unusable & (below > 0) & (r > BISECT * below)
    step[halve] = np.sqrt(below * r)[halve]
    # No usable circle yet: shrink, faster after the second miss (16, 16, 256, 65536, ...
    # where finite: log at 1e-14 from radius 1 needs 1e-14), but not below the grid of x
    # nor eps^2 of the caller's length (at x = 0, r^2 would underflow).
    fresh = unusable & (below == 0) & (circle.slip <= SLIP_MAX)
    misses = np.isfinite(radii).sum(axis=0)
    power = 2.0 ** np.clip(misses - 2, 0, 4)
    factor = np.where(circle.finite, SHRINK, SHRINK_NONFINITE) ** power
    finest = np.maximum(4.0 * np.spacing(np.abs(x)).astype(float) / SLIP_MAX, eps**2 * length)
    fresh &= r > finest
    step[fresh] = np.maximum(r / factor, finest)[fresh]

    aliased = np.flatnonzero((kind == ALIASED) & improved)
    if aliased.size:
        s = _predicted_factor(circle, aliased, r[aliased], length[aliased], low[aliased], n, eps)
        step[aliased] = np.where(s < 1.0, r[aliased] * s, np.nan)

    # Rounding dominates: grow by GROW, or bisect (in log r) towards a bad radius.
    grow = (kind == ROUNDED) & improved
    far = np.isfinite(bad) & (bad > GROW**2 * r)
    step[grow] = np.where(far, np.sqrt(r * bad), r * GROW)[grow]
    room = grow & (bad <= GROW**2 * r) & (r * GROW >= bad)
    step[room] = np.where(bad > BISECT * r, np.sqrt(r * bad), np.nan)[room]

    with np.errstate(invalid="ignore", divide="ignore"):
        tried = (np.abs(np.log(step[None, :] / radii)) < math.log(CLOSE)).any(axis=0)
    step[tried] = np.nan
    return step


def _best(history: _History) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per point: the round of the best usable circle, its radius, whether any was usable."""
    usable = history.stacked("kind") >= ALIASED
    it = np.argmin(np.where(usable, history.stacked("merit"), np.inf), axis=0)
    any_usable = np.asarray(usable.any(axis=0))
    it = np.where(any_usable, it, 0)
    return it, history.stacked("radius")[it, np.arange(history.points)], any_usable


# ---------------------------------------------------------------- the result


def _cross_check(
    history: _History, it: np.ndarray, r_best: np.ndarray, value: np.ndarray, error: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What the nearest other usable circle adds to the best one's error of f^(n).

    a_k does not depend on r for an analytic f, so the derivatives 0..n of two circles
    differ by at most their two errors. What they differ beyond that, taken to Taylor
    coefficients at the best radius (gap_k r^k / k!) and back to order n (n! / r^n),
    is added: it is the error of an f evaluated less accurately than the estimates
    assume (cos(cos(16 z^3 + 4 z^2)) at -1.588, 24 ulps and partly smooth), and about
    the error a perturbation no circle shows makes (eps |z - x|^2: 2 eps in f'').
    Returns the addition (points, outputs), whether it is nonzero, and whether there
    was another usable circle.
    """
    cols = np.arange(history.points)
    with np.errstate(invalid="ignore", divide="ignore"):
        distance = np.abs(np.log(history.stacked("radius") / r_best[None, :]))
    distance[history.stacked("kind") < ALIASED] = np.inf
    distance[it, cols] = np.inf
    other = np.argmin(distance, axis=0)
    paired = np.asarray(np.isfinite(distance[other, cols]))
    gap = np.abs(value - history.stacked("derivatives")[other, cols])
    allowed = error + history.stacked("errors")[other, cols]
    with np.errstate(all="ignore"):
        excess = np.where(np.isfinite(allowed), np.maximum(gap - allowed, 0.0), 0.0)
        excess = np.nan_to_num(excess, nan=np.inf)
        orders = np.arange(value.shape[1])
        factorial = np.array([math.factorial(j) for j in orders], dtype=float)
        taylor = excess * (r_best[:, None] ** orders / factorial)[:, :, None]
        added = (
            np.nan_to_num(taylor, nan=np.inf).max(axis=1)
            * (factorial[-1] / r_best ** orders[-1])[:, None]
        )
    added = np.where(paired[:, None], np.nan_to_num(added, nan=np.inf), 0.0)
    return added, np.asarray(paired & (excess > 0).any(axis=(1, 2))), paired


def _zero_length(
    history: _History, it: np.ndarray, r_best: np.ndarray, start: np.ndarray
) -> np.ndarray:
    """f's length for the zero level, (points, outputs): 0 (the chosen radius itself)
    where its circle resolves f and a radius at most BRACKET times larger was too
    large, else the caller's length (a circle far too small would call its noise zero:
    float32 log at 1, r = 1/16, f^(10) of noise 6e8 +- 6e10).
    """
    resolved = history.stacked("resolved")[it, np.arange(history.points)]
    radii = history.stacked("radius")
    kinds = history.stacked("kind")
    with np.errstate(invalid="ignore"):
        above = (radii > r_best) & (radii <= BRACKET * r_best) & (kinds <= ALIASED)
    bracketed = np.asarray((above & (kinds >= UNUSABLE)).any(axis=0))
    return np.where(resolved & bracketed[:, None], 0.0, start[:, None])


def _result(
    history: _History,
    start: np.ndarray,
    n: int,
    eps: float,
    nfev: np.ndarray,
    outputs: tuple[int, ...],
    points: np.ndarray,
    rdtype: Any,
) -> ContourEstimate:
    """The best circle per point, the cross-radius check, and the statuses."""
    k = history.points
    cols = np.arange(k)
    it, r_best, any_usable = _best(history)
    value = history.stacked("derivatives")[it, cols]  # (points, n + 1, outputs)
    error = history.stacked("errors")[it, cols]
    added, inconsistent, paired = _cross_check(history, it, r_best, value, error)
    error[:, n] += added
    size = history.stacked("size")[it, cols]
    zero = zero_level(size, r_best[:, None], _zero_length(history, it, r_best, start), n, eps)
    err = error[:, n]
    fine = np.isfinite(err) & ((err <= OK_RELATIVE * np.abs(value[:, n])) | (err <= zero))
    ok = any_usable & paired & fine.all(axis=1)

    # Negative frequencies on circles larger than every usable one that resolves f are
    # a singularity beyond it; on a smaller one, or with none usable, f is not analytic.
    radii, negative = history.stacked("radius"), history.stacked("negative")
    seen = (history.stacked("kind") >= ALIASED) & history.stacked("resolved").all(axis=2)
    with np.errstate(invalid="ignore"):
        analytic_to = np.where(seen, radii, 0.0).max(axis=0)
        inside = (negative & (radii <= analytic_to)).any(axis=0)
    refuted = inside | (negative.any(axis=0) & (analytic_to == 0))
    status = np.full(k, "not-converged", dtype=object)
    status[ok] = "ok"
    status[~ok & (inconsistent | refuted)] = "not-analytic"
    status[~history.stacked("finite").any(axis=0)] = "nonfinite"
    refused = (status == "not-analytic") | (status == "nonfinite") | ~any_usable
    value[refused] = np.nan
    error[refused] = np.inf
    error[status == "nonfinite"] = np.nan
    return ContourEstimate(
        value=value[:, n].reshape((k, *outputs)).astype(rdtype),
        error=error[:, n].reshape((k, *outputs)),
        h=np.where(any_usable, r_best, np.nan),
        nfev=nfev,
        status=status,
        size=np.where(any_usable, size.max(axis=1), np.nan),
        coefficients=value.reshape((k, n + 1, *outputs)).astype(rdtype),
        message=_message(status, points, inconsistent),
    )


def _message(status: np.ndarray, x: np.ndarray, inconsistent: np.ndarray) -> str:
    """One clause per failing status, naming its first point."""
    why = {
        "nonfinite": "f is not finite on any circle tried",
        "not-analytic": "f is not analytic in the circles tried, or not real on the real "
        "axis (negative frequencies, an imaginary part at real nodes, or derivatives that "
        "change with the radius)",
        "not-converged": f"no circle brought the error estimate below {OK_RELATIVE:g} of "
        "the derivative, or to rounding where it is zero",
    }
    parts = []
    for name, reason in why.items():
        hit = np.flatnonzero(status == name)
        if hit.size:
            first = int(hit[0])
            extra = "; here the derivatives changed with the radius" if inconsistent[first] else ""
            parts.append(
                f"{name} at {hit.size} of {status.size} points, first x = {float(x[first])!r}: "
                f"{reason}{extra}"
            )
    return "; ".join(parts)
