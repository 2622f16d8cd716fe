"""The finite-difference rules a sweep runs over its step grid, and the default grid.

A rule is swept with the domain fallbacks off, so each estimate shows what that rule
does at that exact h (a stencil outside the domain gives a non-finite value, not a
silently changed step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backends import FiniteDifference

__all__ = ["DEFAULT_STEPS", "FD_METHODS", "FDMethod"]

# 4 steps per decade from 1e-16 to 1: enough to see both arms of every V-curve.
DEFAULT_STEPS = tuple(float(h) for h in np.logspace(-16, 0, 65))


@dataclass(frozen=True)
class FDMethod:
    """A finite-difference rule swept over steps: a label for charts, and its options."""

    label: str
    scheme: str
    accuracy: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def make(self, h: Any) -> FiniteDifference:
        return FiniteDifference(
            scheme=self.scheme, accuracy=self.accuracy, h=h, fallback=False, **self.options
        )

    def accuracy_order(self, n: int) -> int:
        return 2 if self.scheme == "complex" else self.make("auto").rule(n).accuracy


FD_METHODS: tuple[FDMethod, ...] = (
    FDMethod("forward", "forward", 1),
    FDMethod("central", "central", 2),
    FDMethod("central4", "central", 4),
    FDMethod("complex", "complex"),
)
