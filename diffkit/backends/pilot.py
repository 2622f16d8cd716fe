"""The step that follows f: a pilot measurement of the length on which f varies at x.

A rule's best step balances truncation, |C| h^p |f^(n+p)|, against rounding,
eps S |f| / h^n (``steps``), and both depend on f, not on x: cosh at 1e-4 varies on
a length of about 20 (its third derivative is 1e-4), sin(x) at 1e8 on a length of 1,
log at 1e-4 on 1e-4. Taking |x| for that length is wrong whenever f's own scale
differs from |x|, so the length is measured instead.

``pilot`` estimates, per point, the m-th derivative (m = n + p, the order behind the
truncation error) by the central rule of accuracy 2 at a pilot step hp and at 2 hp,
in one call of f for all points (6 evaluations for m = 3, 7 for m = 4, and the 7
noise nodes below). Where the two agree, the measurement is in its asymptotic range and gives

    F = max |f| near x,   M = |f^(m)|,   M2 = |f^(m+2)| (from their difference),
    L = min((F / M)^(1/m), (F / M2)^(1/(m+2))),

the length with |f^(k)| ~ F / L^k for the orders that matter (the second term keeps
L finite where f^(m) happens to vanish at x: sin at pi/2 for m = 3). The rule's step
is then the optimum on that length (``steps.optimal_step(rule, scale=L)``) and
Richardson starts at a fraction of it, but no farther than the pilot looked
(``reach``): beyond it f was not seen to be smooth (a kink, in a norm or a max).

Seven close nodes, x + j hp / 100, measure f's own noise in the same call (its 6th and
5th differences; ``measured_noise``): the rounding floor of every comparison is that
noise where it exceeds eps |f| (an argument of 1e6 inside a sin rounds to 1e-10), so
a disagreement f's noise explains is no reason to shrink, and the rule's error
estimate and step use it too.

Where they disagree, or give a length far shorter than the guess hp came from, hp
was too long for f (a fast oscillation; two quotients of garbage agree now and
then), and the next try takes hp from the length the measurement implies. Where
both are lost in rounding, f^(m) is too small to see at hp (a polynomial of degree
< m, sin at pi/2 for m = 3, a piecewise-linear f, or f varying on far more than the
guess): the guess is kept, since a longer step could only reach a kink. Where f is
not finite on the pilot's stencil (a domain edge within reach), the step shrinks by
``DOMAIN_SHRINK``. After a step too long for f, an agreement (or values lost in
rounding) may be aliasing, a step that is a multiple of a period (sin at 1e8): it is
taken only when a step ``CONFIRM`` times longer measures the same length. The first
guess is max(|x|, 1): a typical scale used only until f has been seen. After ``ITERATIONS`` tries a point keeps the last length it measured, and is
``resolved=False``; the rule's own error estimate then decides its status.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .quotients import LineFunction
from .stencils import Stencil, stencil
from .steps import MIN_SPACINGS, exact_step, machine_epsilon, optimal_step

__all__ = ["LENGTH_CAP", "Pilot", "pilot", "refuse_complex", "typical_length"]

ITERATIONS = 10
# A length from f^(m) shorter than the guess by more than this is measured again: two
# quotients of garbage (a step far too long for f) give about q / S^(1/m) ~ 1/200 of it.
TRUST_SHORTER = 16.0
# A length longer than this many times max(|x|, 1) is taken as this: beyond it the
# step is long enough that rounding is negligible, and longer steps only risk
# leaving f's domain.
LENGTH_CAP = 1e4
DOMAIN_SHRINK = 64.0
# D(hp) and D(2hp) agree when they differ by at most this fraction (the rule's
# h^2 term alone makes them differ by 3 C hp^2 f^(m+2) / f^(m), a few percent at an
# asymptotic step), or by their rounding.
AGREE = 0.5
NOISE = 8.0
CONFIRM = 1.5
# Close nodes that differ by more than this fraction of F are not noise but a step
# still far too long for f (their spacing is hp / 100): their "noise" is not used.
QUIET = 1e-6
F_ULPS = 2.0
# f's own noise: the 6th and 5th differences of f on x + j delta, j = -3..3, delta a
# hundredth of the pilot step, where f's smooth part contributes (delta / L)^6 ~ 1e-30
# of F and iid noise of size nu gives nu sqrt(C(2k, k)): sqrt(924) and sqrt(252).
NOISE_SPACING = 1e-2
_NOISE_OFFSETS = np.arange(-3.0, 4.0)
_D6 = np.array([1.0, -6.0, 15.0, -20.0, 15.0, -6.0, 1.0])
_D5 = np.array([-1.0, 5.0, -10.0, 10.0, -5.0, 1.0])


def _weighted(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    """sum_i w_i values[i] in a fixed order (the scalar path's), over axis 0."""
    total = weights[0] * values[0]
    for w, v in zip(weights[1:].tolist(), values[1:], strict=True):
        total = total + w * v
    return total


def measured_noise(values: np.ndarray) -> np.ndarray:
    """f's noise per point from its values on the 7 noise nodes (axis 0), per component max.

    The largest of the 6th difference and the two 5th differences, each over its
    standard deviation for iid noise: one sample of each can be small by chance.
    """
    d6 = np.abs(_weighted(_D6, values)) / math.sqrt(924.0)
    left = np.abs(_weighted(_D5, values[:6])) / math.sqrt(252.0)
    right = np.abs(_weighted(_D5, values[1:])) / math.sqrt(252.0)
    out = np.maximum(np.maximum(d6, left), right)
    return out.reshape(out.shape[0], -1).max(axis=1) if out.ndim > 1 else out


@dataclass
class Pilot:
    """What the pilot measured per point: f's length, its size, and the cost."""

    length: np.ndarray  # L: |f^(k)| ~ size / L^k near x
    size: np.ndarray  # F: max |f| over the pilot's stencil
    nfev: np.ndarray
    resolved: np.ndarray  # whether D(hp) and D(2hp) agreed (else the last try's length)
    reach: np.ndarray  # how far from x the accepted measurement saw f
    noise: np.ndarray  # f's own noise near x, measured (at least F_ULPS eps F)


def refuse_complex() -> None:
    """A complex-valued f at real points: there is no real derivative to estimate."""
    from .complexstep import ComplexStepError

    raise ComplexStepError(
        "f returned complex values for real input: a complex-valued f has no real "
        "derivative to estimate here; differentiate its real and imaginary parts apart"
    )


def typical_length(x: np.ndarray) -> np.ndarray:
    """max(|x|, 1): the guess before f has been seen."""
    return np.maximum(np.abs(x.astype(float)), 1.0)


@lru_cache(maxsize=64)
def _pilot_rule(
    m: int, scheme: str, dtype: Any
) -> tuple[Stencil, np.ndarray, np.ndarray, np.ndarray, float]:
    """The rule of order m, the offsets it and its doubled copy use, and their weights.

    Returns (rule, offsets of the union, weights at hp, weights at 2hp, pilot ratio q):
    D(hp) = sum w1 f(x + s hp) / hp^m and D(2hp) = sum w2 f(x + s hp) / (2hp)^m over
    the union's offsets s; the pilot step is hp = q L, q the optimum for estimating
    the m-th derivative on a length L.
    """
    rule = stencil(scheme, m, 2)
    offsets, weights = rule.used
    single = {float(s): w for s, w in zip(offsets, weights, strict=True)}
    double = {2.0 * float(s): w for s, w in zip(offsets, weights, strict=True)}
    union = sorted(set(single) | set(double))
    w1 = np.array([single.get(s, 0.0) for s in union])
    w2 = np.array([double.get(s, 0.0) for s in union])
    q = float(optimal_step(rule, dtype))
    return rule, np.array(union), w1, w2, q


def pilot(
    phi: LineFunction,
    x: np.ndarray,
    m: int,
    dtype: Any,
    guess: np.ndarray | None = None,
    *,
    scheme: str = "central",
) -> Pilot:
    """Measure f's length at points x (shape (k,)) for a rule whose error has order m.

    ``scheme`` "forward" or "backward" measures on one side only (x on a domain edge).
    """
    rule, offsets, w1, w2, q = _pilot_rule(m, scheme, np.dtype(dtype))
    eps = machine_epsilon(dtype)
    if x.size == 1 and x.dtype == np.float64 and guess is None:
        return _pilot_one(phi, float(x[0]), m, scheme, dtype, q, eps)
    cap = LENGTH_CAP * typical_length(x)
    length = typical_length(x) if guess is None else np.asarray(guess, dtype=float).copy()
    size = np.zeros(x.shape)
    nfev = np.zeros(x.shape, dtype=int)
    resolved = np.zeros(x.shape, dtype=bool)
    measured = length.copy()
    reach = np.zeros(x.shape)
    noise = np.zeros(x.shape)
    raised = np.zeros(x.shape, dtype=bool)
    garbage = np.zeros(x.shape, dtype=bool)  # a step before this one was too long for f
    before = np.zeros(x.shape)  # the length the previous try measured
    confirming = np.zeros(x.shape, dtype=bool)  # this try re-measures at CONFIRM times the step
    active = np.arange(x.size)
    spread = rule.abs_weight_sum
    constant = rule.abs_error_constant
    for _ in range(ITERATIONS):
        if active.size == 0:
            break
        xa = x[active]
        with np.errstate(all="ignore"):
            hp = exact_step(xa.astype(float), q * length[active])
            delta = exact_step(xa.astype(float), NOISE_SPACING * hp)
            t = xa[None, :] + offsets.astype(x.dtype)[:, None] * hp.astype(x.dtype)[None, :]
            near = xa[None, :] + _NOISE_OFFSETS.astype(x.dtype)[:, None] * delta.astype(x.dtype)
            values = np.asarray(phi(np.concatenate([t.reshape(-1), near.reshape(-1)])))
        nfev[active] += offsets.size + _NOISE_OFFSETS.size
        everything = values.reshape(offsets.size + _NOISE_OFFSETS.size, active.size, -1)
        fs, close = everything[: offsets.size], everything[offsets.size :]
        if np.iscomplexobj(fs):
            refuse_complex()
        with np.errstate(all="ignore"):
            big = np.abs(fs).max(axis=(0, 2))
            d1 = _weighted(w1, fs) / hp[:, None] ** m
            d2 = _weighted(w2, fs) / (2.0 * hp[:, None]) ** m
            # Rounding as f's own noise shows it on the close nodes (at least eps |f|):
            # a disagreement within it is f's noise, not a step too long (sin of a
            # 1e7 argument), while aliasing (hp a multiple of a period) leaves the close
            # nodes smooth and stays a disagreement.
            heard = measured_noise(close)
            quiet = np.isfinite(heard) & (heard <= QUIET * big)
            heard = np.maximum(np.where(quiet, heard, 0.0), F_ULPS * eps * big)
            noise1 = spread * heard / hp**m
            noise2 = noise1 / 2.0**m
            m1 = np.abs(d1).max(axis=1)
            change = np.abs(d1 - d2).max(axis=1)
        finite = np.isfinite(fs).all(axis=(0, 2))
        lost = (m1 <= NOISE * noise1) & (change <= NOISE * (noise1 + noise2))
        agree = ~lost & (change <= AGREE * m1 + NOISE * (noise1 + noise2))
        with np.errstate(all="ignore"):
            # D(2hp) - D(hp) = 3 C hp^2 f^(m+2) + ...: the next derivative's size. Where
            # a derivative is lost in rounding, its bound stands in: f's length is at
            # least what that bound implies.
            floor = NOISE * (noise1 + noise2)
            m1 = np.where(lost, np.maximum(m1, NOISE * noise1), m1)
            m2 = np.maximum(np.maximum(change - floor, 0.0), np.where(lost, floor, 0.0))
            m2 = m2 / (3.0 * constant * hp**2)
            own = np.where(m1 > 0, (big / m1) ** (1.0 / m), np.inf)
            next_ = np.where(m2 > 0, (big / m2) ** (1.0 / (m + 2)), np.inf)
        found = np.minimum(np.minimum(own, next_), cap[active])
        # Lost in rounding, the bounds say only that f's length is at least the
        # guess's tens of times; a piecewise-linear f (a norm, a max) says the same
        # right up to its next kink, so the guess is kept.
        found = np.where(lost, np.minimum(found, length[active]), found)
        found = np.where(big > 0, found, length[active])
        # A length far shorter than the guess the step came from: the step was long
        # against f, and two garbage quotients may agree by chance (sin at 1e12).
        agree &= own >= length[active] / TRUST_SHORTER
        # A length far longer than the guess is measured once more on its own scale:
        # the step Richardson starts from must have been seen (``reach``).
        longer = agree & (found > 4.0 * length[active]) & ~raised[active]
        raised[active] |= longer
        # Disagreeing by far less than f itself (|D1 - D2| hp^m << F) is not a step too
        # long for f but f's own rounding, above eps |f| (an argument of 1e7 inside sin):
        # shorter steps would only see more of it, so the guess stands.
        # (Only on a step not chosen after garbage: there, near-equal values are more
        # likely a step that is a multiple of f's period, sin at 1e8 and hp = 301 * 2 pi.)
        # After a step too long for f, an agreement (or values lost in rounding) may be
        # aliasing, hp a multiple of sin's period at 1e8: it counts once a step
        # CONFIRM times longer (no multiple of the same period) measures the same.
        settles = finite & ((agree & ~longer) | lost)
        suspect = settles & garbage[active]
        same = (found <= 4.0 * before[active]) & (4.0 * found >= before[active])
        confirmed = suspect & confirming[active] & same
        recheck = suspect & ~confirmed
        before[active] = found
        confirming[active] = recheck
        done = (settles & ~suspect) | confirmed
        size[active] = np.where(finite, big, size[active])
        noise[active] = np.where(finite, heard, noise[active])
        measured[active] = np.where(finite, found, measured[active])
        reach[active] = np.where(finite, float(np.max(np.abs(offsets))) * hp, reach[active])
        resolved[active] = done & agree
        # The next guess: shorter off the domain, the measured length (at least 4
        # times shorter) where D disagreed.
        nxt = np.where(
            ~finite,
            length[active] / DOMAIN_SHRINK,
            np.where(
                recheck,
                length[active] * CONFIRM,
                np.where(longer, found, np.minimum(length[active] / 4.0, found)),
            ),
        )
        garbage[active] |= finite & ~agree & ~lost
        still = ~done
        length[active[still]] = nxt[still]
        active = active[still]
    # A point that never saw f finite keeps the guess it ended on: the rule's own
    # fallbacks then look for the edge.
    never = size == 0
    measured[never & (nfev > 0)] = length[never & (nfev > 0)]
    return Pilot(length=measured, size=size, nfev=nfev, resolved=resolved, reach=reach, noise=noise)


@lru_cache(maxsize=64)
def _scalar_constants(
    m: int, scheme: str, dtype: Any
) -> tuple[float, float, float, list[float], list[float], list[float]]:
    """The pilot rule's numbers as Python floats, once per rule."""
    rule, offsets, w1, w2, _ = _pilot_rule(m, scheme, dtype)
    return (
        rule.abs_weight_sum,
        rule.abs_error_constant,
        float(np.max(np.abs(offsets))),
        offsets.tolist(),
        w1.tolist(),
        w2.tolist(),
    )


_SQRT_924 = math.sqrt(924.0)
_SQRT_252 = math.sqrt(252.0)


def _noise_one(rows: list[list[float]]) -> float:
    """``measured_noise`` for one point's 7 rows of values, in Python floats.

    The differences are written out (the weights of ``_D6`` and ``_D5``) in
    ``_weighted``'s order of operations: w v products added left to right.
    """
    heard = 0.0
    for a, b, c, d, e, f, g in zip(*rows, strict=True):
        d6 = abs(a - 6.0 * b + 15.0 * c - 20.0 * d + 15.0 * e - 6.0 * f + g) / _SQRT_924
        left = abs(-a + 5.0 * b - 10.0 * c + 10.0 * d - 5.0 * e + f)
        right = abs(-b + 5.0 * c - 10.0 * d + 10.0 * e - 5.0 * f + g)
        heard = max(heard, d6, max(left, right) / _SQRT_252)
    return heard


def _pilot_one(
    phi: LineFunction, x0: float, m: int, scheme: str, dtype: Any, q: float, eps: float
) -> Pilot:
    """``pilot`` for one float64 point in Python floats: the same decisions, step for step.

    A scalar derivative is the common call, and NumPy's per-operation cost on arrays
    of one element would be most of its time (a test holds the two paths equal).
    """
    typical = max(abs(x0), 1.0)
    cap = LENGTH_CAP * typical
    length = measured = typical
    size = reach = noise = 0.0
    nfev = 0
    resolved = raised = garbage = confirming = False
    before = 0.0
    spread, constant, reach_of, shifts, a1, a2 = _scalar_constants(m, scheme, np.dtype(dtype))
    count = len(shifts)
    ulp = MIN_SPACINGS * math.ulp(abs(x0))
    for _ in range(ITERATIONS):
        hp = max(q * length, ulp)  # as exact_step, in floats
        exact = (x0 + hp) - x0
        hp = exact if 0 < exact < math.inf else hp
        delta = max(NOISE_SPACING * hp, ulp)
        exact = (x0 + delta) - x0
        delta = exact if 0 < exact < math.inf else delta
        nodes = [x0 + s * hp for s in shifts] + [x0 + j * delta for j in (-3, -2, -1, 0, 1, 2, 3)]
        with np.errstate(all="ignore"):
            values = np.asarray(phi(np.array(nodes)))
        nfev += count + 7
        everything = values.reshape(count + 7, -1)
        fs, close = everything[:count], everything[count:]
        if np.iscomplexobj(fs):
            refuse_complex()
        rows = fs.tolist()
        flat = [v for row in rows for v in row]
        if not all(map(math.isfinite, flat)):
            length /= DOMAIN_SHRINK
            continue
        big = max(map(abs, flat))
        width = len(rows[0])
        d1 = [sum(a * row[c] for a, row in zip(a1, rows, strict=True)) for c in range(width)]
        d2 = [sum(b * row[c] for b, row in zip(a2, rows, strict=True)) for c in range(width)]
        hm = hp**m
        d1 = [v / hm for v in d1]
        d2 = [v / (2.0 * hp) ** m for v in d2]
        heard = _noise_one(close.tolist())
        quiet = math.isfinite(heard) and heard <= QUIET * big
        heard = max(heard if quiet else 0.0, F_ULPS * eps * big)
        noise1 = spread * heard / hm
        noise2 = noise1 / 2.0**m
        floor = NOISE * (noise1 + noise2)
        m1 = max(abs(v) for v in d1)
        change = max(abs(a - b) for a, b in zip(d1, d2, strict=True))
        lost = m1 <= NOISE * noise1 and change <= floor
        agree = not lost and change <= AGREE * m1 + floor
        if lost:
            m1 = max(m1, NOISE * noise1)
        m2 = max(max(change - floor, 0.0), floor if lost else 0.0) / (3.0 * constant * hp**2)
        own = (big / m1) ** (1.0 / m) if m1 > 0 else math.inf
        nxt = (big / m2) ** (1.0 / (m + 2)) if m2 > 0 else math.inf
        found = min(own, nxt, cap)
        if lost:
            found = min(found, length)
        if big == 0:
            found = length
        agree = agree and own >= length / TRUST_SHORTER
        longer = agree and found > 4.0 * length and not raised
        raised = raised or longer
        size, measured, reach = big, found, reach_of * hp
        noise = heard
        settles = (agree and not longer) or lost
        suspect = settles and garbage
        same = found <= 4.0 * before and 4.0 * found >= before
        confirmed = suspect and confirming and same
        recheck = suspect and not confirmed
        before, confirming = found, recheck
        if (settles and not suspect) or confirmed:
            resolved = agree
            break
        if recheck:
            length *= CONFIRM
            continue
        garbage = garbage or not agree
        length = found if longer else min(length / 4.0, found)
    if size == 0 and nfev > 0:
        measured = length
    return Pilot(
        length=np.array([measured]),
        size=np.array([size]),
        nfev=np.array([nfev]),
        resolved=np.array([resolved]),
        reach=np.array([reach]),
        noise=np.array([noise]),
    )
