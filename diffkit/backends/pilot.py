"""The step that follows f: a pilot measurement of the length on which f varies at x.

A rule's best step balances truncation, |C| h^p |f^(n+p)|, against rounding,
eps S |f| / h^n (``steps``), and both depend on f, not on x: cosh at 1e-4 varies on
a length of about 20 (its third derivative is 1e-4), sin(x) at 1e8 on a length of 1,
log at 1e-4 on 1e-4. Taking |x| for that length is wrong whenever f's own scale
differs from |x|, so the length is measured instead.

``pilot`` estimates, per point, the m-th derivative (m = n + p, the order behind the
truncation error) by the central rule of accuracy 2 at a pilot step hp and at 2 hp,
in one call of f for all points (8 evaluations for m = 3, 10 for m = 4). Where the
two agree, the measurement is in its asymptotic range and gives

    F = max |f| near x,   M = |f^(m)|,   M2 = |f^(m+2)| (from their difference),
    L = min((F / M)^(1/m), (F / M2)^(1/(m+2))),

the length with |f^(k)| ~ F / L^k for the orders that matter (the second term keeps
L finite where f^(m) happens to vanish at x: sin at pi/2 for m = 3). The rule's step
is then the optimum on that length (``steps.optimal_step(rule, scale=L)``) and
Richardson starts at a fraction of it, but no farther than the pilot looked
(``reach``): beyond it f was not seen to be smooth (a kink, in a norm or a max).

Where they disagree, or give a length far shorter than the guess hp came from, hp
was too long for f (a fast oscillation; two quotients of garbage agree now and
then), and the next try takes hp from the length the measurement implies. Where
both are lost in rounding, f^(m) is too small to see at hp (a polynomial of degree
< m, sin at pi/2 for m = 3, a piecewise-linear f, or f varying on far more than the
guess): the guess is kept, since a longer step could only reach a kink. Where f is
not finite on the pilot's stencil (a domain edge within reach), the step shrinks by
``DOMAIN_SHRINK``. The first guess is
max(|x|, 1) (or the caller's scale): a typical scale used only until f has been
seen. After ``ITERATIONS`` tries a point keeps the last length it measured, and is
``resolved=False``; the rule's own error estimate then decides its status.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from .quotients import LineFunction
from .stencils import Stencil, stencil
from .steps import exact_step, machine_epsilon, optimal_step

__all__ = ["LENGTH_CAP", "Pilot", "pilot", "typical_length"]

ITERATIONS = 8
# A measured length shorter than the guess by more than this is measured again.
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
F_ULPS = 2.0


@dataclass
class Pilot:
    """What the pilot measured per point: f's length, its size, and the cost."""

    length: np.ndarray  # L: |f^(k)| ~ size / L^k near x
    size: np.ndarray  # F: max |f| over the pilot's stencil
    nfev: np.ndarray
    resolved: np.ndarray  # whether D(hp) and D(2hp) agreed (else the last try's length)
    reach: np.ndarray  # how far from x the accepted measurement saw f


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
    cap = LENGTH_CAP * typical_length(x)
    length = typical_length(x) if guess is None else np.asarray(guess, dtype=float).copy()
    size = np.zeros(x.shape)
    nfev = np.zeros(x.shape, dtype=int)
    resolved = np.zeros(x.shape, dtype=bool)
    measured = length.copy()
    reach = np.zeros(x.shape)
    raised = np.zeros(x.shape, dtype=bool)
    active = np.arange(x.size)
    spread = rule.abs_weight_sum
    constant = abs(float(rule.error_constant))
    for _ in range(ITERATIONS):
        if active.size == 0:
            break
        xa = x[active]
        with np.errstate(all="ignore"):
            hp = exact_step(xa.astype(float), q * length[active])
            t = xa[None, :] + offsets.astype(x.dtype)[:, None] * hp.astype(x.dtype)[None, :]
            values = np.asarray(phi(t.reshape(-1)))
        nfev[active] += offsets.size
        fs = values.reshape(offsets.size, active.size, -1)
        if np.iscomplexobj(fs):
            fs = fs.real
        with np.errstate(all="ignore"):
            big = np.abs(fs).max(axis=(0, 2))
            d1 = np.tensordot(w1, fs, axes=1) / hp[:, None] ** m
            d2 = np.tensordot(w2, fs, axes=1) / (2.0 * hp[:, None]) ** m
            noise1 = F_ULPS * eps * spread * big / hp**m
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
        agree &= found >= length[active] / TRUST_SHORTER
        # A length far longer than the guess is measured once more on its own scale:
        # the step Richardson starts from must have been seen (``reach``).
        longer = agree & (found > 4.0 * length[active]) & ~raised[active]
        raised[active] |= longer
        done = finite & ((agree & ~longer) | lost)
        size[active] = np.where(finite, big, size[active])
        measured[active] = np.where(finite, found, measured[active])
        reach[active] = np.where(finite, float(np.max(np.abs(offsets))) * hp, reach[active])
        resolved[active] = done & agree
        # The next guess: shorter off the domain, the measured length (at least 4
        # times shorter) where D disagreed.
        nxt = np.where(
            ~finite,
            length[active] / DOMAIN_SHRINK,
            np.where(longer, found, np.minimum(length[active] / 4.0, found)),
        )
        still = ~done
        length[active[still]] = nxt[still]
        active = active[still]
    # A point that never saw f finite keeps the guess it ended on: the rule's own
    # fallbacks then look for the edge.
    never = size == 0
    measured[never & (nfev > 0)] = length[never & (nfev > 0)]
    return Pilot(length=measured, size=size, nfev=nfev, resolved=resolved, reach=reach)
