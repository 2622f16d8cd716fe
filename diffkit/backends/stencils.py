"""Finite-difference stencils: exact weights, accuracy order and error constant.

A stencil is a set of integer offsets ``s_i``; the n-th derivative is estimated as
``sum_i w_i f(x + s_i h) / h**n``. Weights come from Fornberg's algorithm (SymPy's
``finite_diff_weights``) as exact rationals. Expanding f in a Taylor series gives

    sum_i w_i f(x + s_i h) / h^n = f^(n)(x) + C h^p f^(n+p)(x) + O(h^(p+1)),
    C = sum_i w_i s_i^(n+p) / (n+p)!

where p, the accuracy order, is the first power whose moment does not vanish. The
error model of the report (truncation ``|C| h^p |f^(n+p)|``, rounding
``eps sum|w_i| |f| / h^n``) is built from exactly these numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property, lru_cache
from math import factorial

import numpy as np
from sympy.calculus.finite_diff import finite_diff_weights

__all__ = ["SCHEMES", "Stencil", "StencilError", "custom_stencil", "stencil"]

SCHEMES = ("forward", "backward", "central")


class StencilError(ValueError):
    """A scheme, order and accuracy that no stencil satisfies as asked."""


@dataclass(frozen=True)
class Stencil:
    """Offsets, exact weights, accuracy order and leading error constant of one rule."""

    n: int
    offsets: tuple[int, ...]
    weights: tuple[Fraction, ...]
    accuracy: int
    error_constant: Fraction  # C in  estimate - f^(n) = C h^p f^(n+p) + ...
    symmetric: bool  # offsets symmetric about 0: the error series has only every other power

    @cached_property
    def abs_weight_sum(self) -> float:
        """sum |w_i|: how much the rule amplifies rounding errors in f."""
        return float(sum(abs(w) for w in self.weights))

    @cached_property
    def abs_error_constant(self) -> float:
        """|C| as a float, computed once (a Fraction's conversion costs a scalar call)."""
        return abs(float(self.error_constant))

    def optimal_ratio(self, eps: float) -> float:
        """h* on a unit length at unit roundoff eps (``steps.optimal_step``, in floats)."""
        n, p = self.n, self.accuracy
        ratio = n * eps * self.abs_weight_sum / (p * self.abs_error_constant)
        return float(ratio ** (1.0 / (n + p)))

    @cached_property
    def used(self) -> tuple[np.ndarray, list[float]]:
        """The offsets with a non-zero weight (as floats), and those weights as floats."""
        pairs = [(s, float(w)) for s, w in zip(self.offsets, self.weights, strict=True) if w != 0]
        return np.array([float(s) for s, _ in pairs]), [w for _, w in pairs]

    @property
    def evaluations(self) -> int:
        """Function evaluations the rule needs (points with a zero weight are skipped)."""
        return len(self.used[1])

    @property
    def error_exponents_step(self) -> int:
        """Spacing of the powers of h in the error series (2 for symmetric rules)."""
        return 2 if self.symmetric else 1


def _analyse(n: int, offsets: tuple[int, ...]) -> Stencil:
    if len(set(offsets)) != len(offsets):
        raise StencilError(f"stencil offsets must be distinct, got {offsets}")
    if len(offsets) < n + 1:
        raise StencilError(
            f"a derivative of order {n} needs at least {n + 1} points, got {len(offsets)}"
        )
    table = finite_diff_weights(n, list(offsets), 0)
    weights = tuple(Fraction(int(w.p), int(w.q)) for w in table[n][-1])
    # Moments sum w_i s_i^k vanish for k < n, equal n! at k = n, and the first k > n
    # where they do not vanish is n + p.
    k = n + 1
    while True:
        moment = sum(w * Fraction(s) ** k for w, s in zip(weights, offsets, strict=True))
        if moment != 0:
            break
        k += 1
        if k > n + 4 * len(offsets) + 8:  # cannot happen for a valid stencil; guard anyway
            raise StencilError(f"could not determine the accuracy of stencil {offsets}")
    symmetric = sorted(offsets) == sorted(-s for s in offsets)
    return Stencil(
        n=n,
        offsets=offsets,
        weights=weights,
        accuracy=k - n,
        error_constant=moment / factorial(k),
        symmetric=symmetric,
    )


def _check_orders(n: int, accuracy: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise StencilError(f"derivative order n must be an integer >= 1, got {n!r}")
    if isinstance(accuracy, bool) or not isinstance(accuracy, int | np.integer) or accuracy < 1:
        raise StencilError(f"accuracy must be an integer >= 1, got {accuracy!r}")


@lru_cache(maxsize=256)
def stencil(scheme: str, n: int = 1, accuracy: int | None = None) -> Stencil:
    """The standard rule of ``scheme`` for the n-th derivative at the given accuracy order.

    ``accuracy`` defaults to 2 for central and 1 for one-sided rules. Central rules
    only reach even orders: an odd order raises instead of being rounded up.
    """
    if scheme not in SCHEMES:
        raise StencilError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    if accuracy is None:
        accuracy = 2 if scheme == "central" else 1
    _check_orders(n, accuracy)
    if scheme == "central":
        if accuracy % 2:
            raise StencilError(
                f"central differences have even accuracy orders; accuracy={accuracy} is not "
                f"available (use {accuracy + 1}, or a one-sided scheme)"
            )
        half = (n - 1) // 2 + accuracy // 2
        offsets = tuple(range(-half, half + 1))
    else:
        sign = 1 if scheme == "forward" else -1
        offsets = tuple(sign * k for k in range(n + accuracy))
    rule = _analyse(int(n), offsets)
    if rule.accuracy < accuracy:  # pragma: no cover - the constructions above guarantee it
        raise StencilError(f"{scheme} stencil {offsets} reaches only accuracy {rule.accuracy}")
    return rule


@lru_cache(maxsize=256)
def custom_stencil(offsets: tuple[int, ...], n: int = 1) -> Stencil:
    """A rule on any set of integer offsets (Fornberg weights); its accuracy is measured, not assumed."""
    _check_orders(n, 1)
    clean = tuple(int(s) for s in offsets)
    if any(c != s for c, s in zip(clean, offsets, strict=True)):
        raise StencilError(f"stencil offsets must be integers (in units of h), got {offsets}")
    return _analyse(int(n), clean)
