"""Validation of what every backend receives: the points x and the derivative order n.

One place, so that every backend refuses the same inputs with the same words.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["as_points", "check_order"]


def check_order(n: Any, *, minimum: int = 1) -> int:
    """The derivative order as an int >= ``minimum`` (bools and floats are refused)."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < minimum:
        raise ValueError(f"derivative order n must be an integer >= {minimum}, got {n!r}")
    return int(n)


def as_points(x: Any) -> np.ndarray:
    """x as a real float array: integers become float64, float32 stays float32."""
    arr = np.asarray(x)
    if arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    if arr.dtype.kind == "c":
        raise TypeError(
            "x must be real; complex points are what the complex step makes, not what it takes"
        )
    if arr.dtype.kind != "f":
        raise TypeError(f"x must be a real number or an array of them, got dtype {arr.dtype}")
    return arr
