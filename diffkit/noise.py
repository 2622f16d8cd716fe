"""Noisy functions, as data and as estimates: add noise, measure it, pick the step it allows.

A simulation or an iterative solver returns f(x) + e(x) with e a small erratic
error. Finite differences divide that error by h^n, so the best step is set by the
noise level sigma, not by eps: for a forward difference the expected squared error
is (|f''| h / 2)^2 + 2 sigma^2 / h^2, least at h = 8^(1/4) sqrt(sigma / |f''|)
(Moré & Wild, "Estimating derivatives of noisy simulations", 2012).

``estimate_noise`` measures sigma from f alone with the difference-table method of
Moré & Wild ("Estimating computational noise", SIAM J. Sci. Comput. 33, 2011): the
k-th differences of m + 1 equally spaced values cancel the smooth part of f (it
contributes ~ h^k f^(k)) while independent noise survives with variance
(2k)! / (k!)^2 sigma^2, so gamma_k mean((Delta^k f)^2) estimates sigma^2 once k is
large enough and h small enough.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from .function import Function

__all__ = [
    "NoiseError",
    "NoiseEstimate",
    "NoiseStep",
    "NoisyCallable",
    "base_name",
    "estimate_noise",
    "noise_optimal_step",
    "noise_scale",
    "with_noise",
]


class NoiseError(TypeError):
    """A noisy function was called with complex input (the complex step), which noise defeats.

    The complex step reads f' from Im f(x + ih) / h; real additive noise has no
    imaginary part, so it would be silently ignored and the estimate would look
    noise-free. A ``TypeError`` so that finite differences report it as a
    ``ComplexStepError`` (an ``error`` row in a sweep).
    """


_NAME_SUFFIX = re.compile(r" \(noise [^()]*\)$")


def base_name(name: str) -> str:
    """The name of the noise-free function behind a ``with_noise`` name ("sin (noise 1e-08)" -> "sin")."""
    return _NAME_SUFFIX.sub("", name)


class NoisyCallable:
    """f's callable plus Gaussian noise of std ``level * scale`` on every value it returns.

    The noise is a pure function of (seed, the input array): the same array gives the
    same values, so a sweep's numbers do not depend on call order or on how the work
    is split over processes, while each element of a call gets its own independent draw.
    """

    def __init__(self, inner: Any, level: float, scale: float, seed: int) -> None:
        self.inner, self.level, self.scale, self.seed = inner, float(level), float(scale), int(seed)

    @property
    def sigma(self) -> float:
        """The absolute standard deviation of the noise."""
        return self.level * self.scale

    def _generator(self, x: np.ndarray) -> np.random.Generator:
        digest = hashlib.blake2b(digest_size=8)
        digest.update(f"{x.dtype.str}{x.shape}".encode())
        digest.update(np.ascontiguousarray(x).tobytes())
        return np.random.default_rng([self.seed, int.from_bytes(digest.digest(), "little")])

    def __call__(self, x: Any) -> Any:
        arr = np.asarray(x)
        if np.iscomplexobj(arr):
            raise NoiseError(
                "a noisy function cannot take complex input: the complex step would ignore "
                "the noise. Use a real finite-difference scheme (forward, central) instead."
            )
        values = np.asarray(self.inner(x))
        if self.sigma == 0:
            return values
        noise = self._generator(arr).standard_normal(values.shape) * self.sigma
        dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.float64
        return (values + noise).astype(dtype)


def noise_scale(f: Function, point: Any) -> float:
    """max(|f(point)|, 1): noise levels are relative to this, so they mean the same for any f.

    1 where f(point) is not finite: the estimates there are not finite either, and the
    level keeps a meaning.
    """
    with np.errstate(all="ignore"):
        value = np.asarray(f.numpy(np.asarray(point, dtype=float)), dtype=float)
    if not np.all(np.isfinite(value)):
        return 1.0
    return float(np.max(np.abs(value), initial=1.0))


def with_noise(
    f: Function, level: float, seed: int, *, scale: float = 1.0, name: str | None = None
) -> Function:
    """f with additive Gaussian noise of std ``level * scale`` (``scale``: see ``noise_scale``).

    The expression is kept, so the ground truth stays the noise-free derivative. The
    result is picklable (no closures) and deterministic (see ``NoisyCallable``).
    """
    if not (np.isfinite(level) and level >= 0):
        raise ValueError(f"noise level must be a finite number >= 0, got {level!r}")
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"noise scale must be a finite number > 0, got {scale!r}")
    return dataclasses.replace(
        f,
        numpy=NoisyCallable(f.numpy, level, scale, seed),
        name=name if name is not None else f"{f.name} (noise {level:g})",
        tags=f.tags | {"noisy"},
    )


@dataclass(frozen=True)
class NoiseEstimate:
    """What ``estimate_noise`` found: ``noise`` (absolute std), the difference ``order`` used.

    ``status`` is ``"ok"``, ``"h too small"`` (most values equal: raise h) or ``"h too
    large"`` (no level settled: the smooth part still dominates; lower h); ``noise`` is
    NaN unless ok. ``levels`` holds sigma_k for k = 1..m.
    """

    noise: float
    order: int
    h: float
    status: str
    message: str
    levels: tuple[float, ...]
    nfev: int

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _gamma(k: int) -> float:
    """(k!)^2 / (2k)!: the variance of k-th differences of unit white noise is 1 / gamma_k."""
    return math.factorial(k) ** 2 / math.factorial(2 * k)


def difference_table_noise(values: Any, h: float = float("nan")) -> NoiseEstimate:
    """Moré & Wild's estimate from m + 1 values of f at equally spaced points (m >= 3).

    A level k is accepted when sigma_k, sigma_k+1, sigma_k+2 agree within a factor 4
    and the k-th differences change sign (a smooth trend would keep one sign).
    """
    fval = np.asarray(values, dtype=float).reshape(-1)
    m = fval.size - 1
    if m < 3:
        raise ValueError(f"the difference table needs at least 4 values, got {fval.size}")
    fmin, fmax = float(fval.min()), float(fval.max())
    spread = (fmax - fmin) / max(abs(fmax), abs(fmin), np.finfo(float).tiny)
    # The paper's quick test; skipped where f changes sign (f ~ 0 makes any spread look large).
    if fmin * fmax > 0 and spread > 0.1:
        return _failed("h too large", f"f varies by {spread:.2g} relative over the table", h, m)
    levels, sign_change = [], []
    diffs = fval
    for k in range(1, m + 1):
        diffs = np.diff(diffs)
        if k == 1 and np.count_nonzero(diffs == 0) >= m / 2:
            return _failed("h too small", "half the values are equal: no noise is visible", h, m)
        levels.append(math.sqrt(_gamma(k) * float(np.mean(diffs**2))))
        sign_change.append(bool(diffs.min() * diffs.max() < 0))
    for k in range(1, m - 1):
        window = levels[k - 1 : k + 2]
        if max(window) <= 4 * min(window) and sign_change[k - 1]:
            return NoiseEstimate(levels[k - 1], k, h, "ok", "", tuple(levels), m + 1)
    return _failed("h too large", "no order gave a settled level", h, m, tuple(levels))


def _failed(
    status: str, message: str, h: float, m: int, levels: tuple[float, ...] = ()
) -> NoiseEstimate:
    return NoiseEstimate(float("nan"), 0, h, status, message, levels, m + 1)


# Without a given h: start at 1e-2 max(|x|, 1) and move h by a factor 100 as the
# paper advises (down when it is too large, up when too small), at most this often.
_AUTO_START = 1e-2
_AUTO_FACTOR = 100.0
_AUTO_TRIES = 6


def _improves(found: NoiseEstimate, best: NoiseEstimate) -> bool:
    """Whether an estimate at a smaller h beats an accepted one.

    A lower order averages more differences; a level less than half means the smooth
    part of f (which only adds to sigma_k, ~ h^k f^(k)) still inflated the accepted one.
    """
    return found.ok and (found.order < best.order or found.noise < 0.5 * best.noise)


def estimate_noise(
    f: Function, x: Any, h: float | None = None, m: int = 8, *, direction: Any = None
) -> NoiseEstimate:
    """The noise level of f near x from the values f(x + (i - m/2) h u), i = 0..m.

    All m + 1 points go to f in one call. ``u`` is ``direction`` (default: the unit
    diagonal for several variables). Without ``h`` the step starts at 1e-2 max(|x|, 1)
    and moves by factors of 100 (up when too small, down when too large); once a level
    is accepted, smaller steps are tried while they improve it (``_improves``).
    """
    point = np.atleast_1d(np.asarray(x, dtype=float))
    if point.size != f.ndim:
        raise ValueError(f"{f.name} takes {f.ndim} variables, x has {point.size}")
    u = np.ones(f.ndim) if direction is None else np.asarray(direction, dtype=float).reshape(-1)
    u = u / np.linalg.norm(u)
    offsets = np.arange(m + 1) - m / 2
    step = float(h) if h is not None else _AUTO_START * max(float(np.max(np.abs(point))), 1.0)
    best: NoiseEstimate | None = None
    nfev, moves = 0, set[bool]()
    for _ in range(1 if h is not None else _AUTO_TRIES):
        grid = point[:, None] + step * u[:, None] * offsets[None, :]
        found = difference_table_noise(f.numpy(grid[0] if f.ndim == 1 else grid), step)
        nfev += found.nfev
        if best is not None and best.ok and not _improves(found, best):
            break  # a smaller h changes nothing: keep the accepted estimate
        best = found
        up = found.status == "h too small"
        moves.add(up)
        if len(moves) == 2:
            break  # h was too small and too large in turn: no step shows the noise
        step = step * _AUTO_FACTOR if up else step / _AUTO_FACTOR
    if best is None:  # pragma: no cover - the loop runs at least once
        raise ValueError("no step tried")
    return dataclasses.replace(best, nfev=nfev)


@dataclass(frozen=True)
class NoiseStep:
    """The noise-optimal step of a rule and the error expected there (absolute, f' units)."""

    h: float
    error: float
    scheme: str


def noise_optimal_step(noise: float, derivative: float, scheme: str = "forward") -> NoiseStep:
    """The step balancing truncation against noise of std ``noise`` (absolute).

    ``derivative`` is f'' for ``"forward"`` and f''' for ``"central"``. Forward uses the
    expected error sqrt((|f''| h/2)^2 + 2 noise^2/h^2), least at h = 8^(1/4) sqrt(noise/|f''|)
    where it is 2^(1/4) sqrt(noise |f''|) (Moré & Wild 2012). Central uses the bound
    |f'''| h^2/6 + noise/h, least at h = (3 noise/|f'''|)^(1/3), where it is 1.5 noise/h.
    A zero derivative has no finite optimum: h and error are NaN.
    """
    sigma, d = float(noise), abs(float(derivative))
    if not (np.isfinite(sigma) and sigma >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    if scheme not in ("forward", "central"):
        raise ValueError(f"scheme must be 'forward' or 'central', got {scheme!r}")
    if not np.isfinite(d) or d == 0 or sigma == 0:
        return NoiseStep(float("nan"), float("nan"), scheme)
    if scheme == "forward":
        h = 8**0.25 * math.sqrt(sigma / d)
        return NoiseStep(h, 2**0.25 * math.sqrt(sigma * d), scheme)
    h = (3 * sigma / d) ** (1 / 3)
    return NoiseStep(h, 1.5 * sigma / h, scheme)
