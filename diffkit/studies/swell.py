"""Expression swell on the logistic map, the classic case: derivative size against depth k.

Iterating x_{k+1} = r x_k (1 - x_k) k times gives a polynomial whose tree has about
2^k leaves, and SymPy's derivative of that tree (product rule at every level) grows
as fast; common-subexpression elimination recovers much of the sharing; diffkit's
derivative program and the reverse-mode tape grow by a constant per iteration,
because both keep each intermediate x_k once. The numbers come from
``symbolic.size.expression_size``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from ..symbolic.size import expression_size

__all__ = ["RAW_LIMIT", "SWELL_COLUMNS", "logistic_map", "logistic_swell"]

# SymPy's tree derivative and its CSE take ~0.17 s at k = 8 and about double per step;
# past this depth they are left out (missing) rather than waited for.
RAW_LIMIT = 8
SWELL_COLUMNS = ("k", "raw", "cse", "program", "tape")


def logistic_map(k: int, r: float = 4) -> Callable[[Any], Any]:
    """x -> the logistic map x_{j+1} = r x_j (1 - x_j) applied k times, for any array type."""

    def f(x: Any) -> Any:
        value = x
        for _ in range(k):
            value = r * value * (1 - value)
        return value

    f.__name__ = f"logistic_{k}"
    return f


def logistic_swell(ks: Iterable[int] = range(1, 13), *, raw_limit: int = RAW_LIMIT) -> pd.DataFrame:
    """Operation counts of d/dx of the k-fold logistic map: raw, CSE, program, tape.

    ``raw`` and ``cse`` are computed only for k <= ``raw_limit`` and are missing
    (``<NA>``) beyond it; ``program`` and ``tape`` are computed for every k.
    """
    rows = []
    for k in ks:
        if k < 1:
            raise ValueError(f"every k must be at least 1, got {k}")
        size = expression_size(logistic_map(int(k)), raw=k <= raw_limit)
        rows.append((int(k), size.raw, size.cse, size.program, size.tape))
    frame = pd.DataFrame(rows, columns=list(SWELL_COLUMNS))
    return frame.astype({column: "Int64" for column in SWELL_COLUMNS})
