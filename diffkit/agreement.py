"""How many significant digits two backends share, from the sweep's frame.

Agreement needs no ground truth: where f has no expression it is the only check
left, and where it has one it tells whether two backends fail the same way. Between
values (or gradients) a and b,

    digits = -log10( max_i |a_i - b_i| / max(max_i |a_i|, max_i |b_i|) )

clipped to [0, cap], cap = ceil(-log10 eps) + 1 (17 for float64, 8 for float32): one
digit beyond what the dtype resolves, so that identical values stand apart from
values one rounding apart. Two zero values agree fully.

A finite-difference rule swept over steps enters at its best step (the row of least
error against the truth): what the rule can do, not what a default step does. Points
on a kink (the derivative there is a convention, not a limit), infinite derivatives
and rows that are not ok are kept out of the statistics and counted in ``excluded``,
so a convention is not mistaken for a disagreement. Noisy rows (``noise > 0``) are
left out: noise makes disagreement expected.

Rows with no exact derivative (status ``no-truth``) are estimates all the same: a
backend's enters as if it were ok, since agreement is all there is to check it by. A
swept rule's does not: without a truth there is no best step to pick (picking the
step that agrees best would manufacture agreement), so it is left out as "no-truth".
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .backends.steps import machine_epsilon
from .rows import NO_TRUTH

if TYPE_CHECKING:  # pandas costs ~0.2 s to import: only sweeps and reports load it
    import pandas as pd

__all__ = ["Agreement", "agreement", "digit_cap", "entries", "matching_digits"]

POINT_KEYS = ["function", "point", "dtype"]
PAIR_COLUMNS = [*POINT_KEYS, "a", "b", "digits"]
EXCLUDED_COLUMNS = [*POINT_KEYS, "entry", "reason"]


def digit_cap(dtype: Any) -> float:
    """The digits given to exact agreement: ceil(-log10 eps) + 1 (17 for float64, 8 for float32)."""
    return float(math.ceil(-math.log10(machine_epsilon(dtype))) + 1)


def matching_digits(a: Any, b: Any, dtype: Any = "float64") -> float:
    """Significant digits a and b share, normwise for vectors, in [0, ``digit_cap(dtype)``]."""
    va = np.atleast_1d(np.asarray(a, dtype=float))
    vb = np.atleast_1d(np.asarray(b, dtype=float))
    if va.shape != vb.shape:
        raise ValueError(f"cannot compare values of shapes {va.shape} and {vb.shape}")
    if not (np.all(np.isfinite(va)) and np.all(np.isfinite(vb))):
        raise ValueError("matching digits need finite values; exclude such rows first")
    cap = digit_cap(dtype)
    diff = float(np.max(np.abs(va - vb)))
    size = max(float(np.max(np.abs(va))), float(np.max(np.abs(vb))))
    if diff == 0:
        return cap
    return min(cap, max(0.0, -math.log10(diff / size)))


@dataclass(frozen=True)
class Agreement:
    """The tidy results of ``agreement``.

    ``pairs``: one row per (function, point, dtype, a, b) with ``digits``;
    ``by_function``: per (function, dtype, a, b) the median and least digits over points;
    ``matrix``: entry x entry median over functions of ``by_function`` digits in ``dtype``
    (symmetric, NaN on the diagonal and where a pair never met);
    ``excluded``: (function, point, dtype, entry, reason) for entries left out.
    """

    pairs: pd.DataFrame
    by_function: pd.DataFrame
    matrix: pd.DataFrame
    excluded: pd.DataFrame
    dtype: str


def _swept(frame: pd.DataFrame) -> np.ndarray:
    """Rows of finite-difference rules swept over steps (not a backend that picks its own h)."""
    method = frame["method"].astype(str)
    return np.asarray((frame["backend"] == "fd") & ~method.str.endswith("-auto"))


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Noise-free rows, with ``kink`` defaulting to False and an ``entry`` label per row."""
    work = frame
    if "noise" in work.columns:
        work = work[work["noise"].fillna(0.0).to_numpy(dtype=float) == 0]
    kink = work["kink"].fillna(False).astype(bool) if "kink" in work.columns else False
    swept = _swept(work)
    entry = np.where(swept, "fd-" + work["method"].astype(str), work["backend"].astype(str))
    return work.assign(kink=kink, swept=swept, entry=entry)


def _reasons(work: pd.DataFrame) -> pd.DataFrame:
    """Per (function, point, dtype, entry): why it is left out ("" when it is not)."""
    truth = work["truth"].to_numpy(dtype=float)
    flags = work.assign(
        infinite=(work["status"] == "infinite") | np.isinf(truth),
        bad=~work["good"],
        no_truth=work["status"] == NO_TRUTH,
        first_bad=work["status"].where(~work["good"] & (work["status"] != "ok")),
    )
    agg = flags.groupby([*POINT_KEYS, "entry"], sort=True).agg(
        kink=("kink", "any"),
        infinite=("infinite", "any"),
        swept=("swept", "first"),
        bad=("bad", "any"),
        first_bad=("first_bad", "first"),
        no_truth=("no_truth", "any"),
        rows=("good", "size"),
    )
    reason = np.where(
        agg["kink"],
        "kink",
        np.where(
            agg["infinite"],
            "infinite",
            np.where(~agg["swept"] & agg["bad"], agg["first_bad"].fillna("nonfinite"), ""),
        ),
    )
    return agg.assign(reason=reason).reset_index()


def _best_steps(work: pd.DataFrame) -> pd.DataFrame:
    """For each swept entry, the step of least normwise error among steps where all rows are good."""
    swept = work[work["swept"]]
    keys = [*POINT_KEYS, "entry", "h"]
    steps = (
        swept.assign(abs_truth=np.abs(swept["truth"].to_numpy(dtype=float)))
        .groupby(keys, sort=True)
        .agg(good=("good", "all"), abs_err=("abs_err", "max"), size=("abs_truth", "max"))
        .reset_index()
    )
    steps = steps[steps["good"]]
    size = steps["size"].to_numpy(dtype=float)
    err = steps["abs_err"].to_numpy(dtype=float) / np.where(size > 0, size, 1.0)
    steps = steps.assign(err=err)
    best = steps.loc[steps.groupby([*POINT_KEYS, "entry"], sort=True)["err"].idxmin()]
    return best[keys]


def _entry_order(work: pd.DataFrame) -> list[str]:
    """Swept rules first by accuracy order (forward, central, ...), then backends by name."""
    swept = work[work["swept"]].groupby("entry")["accuracy"].first()
    ordered = sorted(swept.index, key=lambda e: (float(swept[e]), e))
    return ordered + sorted(set(work["entry"]) - set(ordered))


def entries(
    frame: pd.DataFrame,
) -> tuple[dict[tuple[str, str, str], dict[str, np.ndarray]], pd.DataFrame]:
    """Per (function, point, dtype), each entry's values by component; and the entries left out.

    The second frame has ``EXCLUDED_COLUMNS`` and ``rows``, the frame rows each covers.
    """
    import pandas as pd

    work = _clean(frame)
    status = work["status"]
    finite = np.isfinite(work["value"].to_numpy(dtype=float))
    measured = (status == "ok") & np.isfinite(work["abs_err"].to_numpy(dtype=float))
    work = work.assign(good=finite & (measured | ((status == NO_TRUTH) & ~work["swept"])))
    reasons = _reasons(work)
    best = _best_steps(work)
    no_step = reasons["swept"] & (reasons["reason"] == "")
    missing = ~reasons.set_index([*POINT_KEYS, "entry"]).index.isin(
        best.set_index([*POINT_KEYS, "entry"]).index
    )
    reasons.loc[no_step & missing, "reason"] = np.where(
        reasons.loc[no_step & missing, "no_truth"], NO_TRUTH, "no ok step"
    )
    kept = reasons.loc[reasons["reason"] == "", [*POINT_KEYS, "entry"]]
    single = work[~work["swept"]].merge(kept, on=[*POINT_KEYS, "entry"])
    swept = (
        work[work["swept"]]
        .merge(best, on=[*POINT_KEYS, "entry", "h"])
        .merge(kept, on=[*POINT_KEYS, "entry"])
    )
    order = {e: i for i, e in enumerate(_entry_order(work))}
    chosen: dict[tuple[str, str, str], dict[str, np.ndarray]] = {}
    rows = pd.concat([swept, single], ignore_index=True)
    rows = rows.assign(_order=rows["entry"].map(order)).sort_values(
        [*POINT_KEYS, "_order", "component"], kind="mergesort"
    )
    for (function, point, dtype, entry), group in rows.groupby([*POINT_KEYS, "entry"], sort=False):
        key = (str(function), str(point), str(dtype))
        chosen.setdefault(key, {})[str(entry)] = group["value"].to_numpy(dtype=float)
    excluded = reasons.loc[reasons["reason"] != "", [*EXCLUDED_COLUMNS, "rows"]]
    return chosen, excluded.reset_index(drop=True)


def _pairs(chosen: dict[tuple[str, str, str], dict[str, np.ndarray]]) -> pd.DataFrame:
    import pandas as pd

    records = []
    for (function, point, dtype), values in chosen.items():
        for a, b in itertools.combinations(values, 2):
            if values[a].shape != values[b].shape:
                continue
            digits = matching_digits(values[a], values[b], dtype)
            records.append((function, point, dtype, a, b, digits))
    return pd.DataFrame(records, columns=PAIR_COLUMNS)


def _by_function(pairs: pd.DataFrame) -> pd.DataFrame:
    grouped = pairs.groupby(["function", "dtype", "a", "b"], sort=False)
    return grouped.agg(
        digits=("digits", "median"), min_digits=("digits", "min"), points=("digits", "size")
    ).reset_index()


def _matrix(by_function: pd.DataFrame, labels: list[str], dtype: str) -> pd.DataFrame:
    import pandas as pd

    matrix = pd.DataFrame(np.nan, index=labels, columns=labels)
    rows = by_function[by_function["dtype"] == dtype]
    medians = rows.groupby(["a", "b"], sort=False)["digits"].median()
    for a, b, digits in zip(
        medians.index.get_level_values("a"),
        medians.index.get_level_values("b"),
        medians,
        strict=True,
    ):
        matrix.loc[a, b] = matrix.loc[b, a] = digits
    return matrix


def agreement(frame: pd.DataFrame, *, dtype: str | None = None) -> Agreement:
    """Matching digits between every pair of backends at every noise-free point of ``frame``.

    ``dtype`` picks the matrix's dtype (default: float64 when present, else the first).
    """
    chosen, excluded = entries(frame)
    pairs = _pairs(chosen)
    by_function = _by_function(pairs)
    dtypes = sorted({k[2] for k in chosen})
    chosen_dtype = dtype or ("float64" if "float64" in dtypes or not dtypes else dtypes[0])
    seen: list[str] = []
    for (_, _, d), values in chosen.items():
        seen += [e for e in values if d == chosen_dtype and e not in seen]
    order = _entry_order(_clean(frame))
    labels = [e for e in order if e in seen]
    return Agreement(
        pairs, by_function, _matrix(by_function, labels, chosen_dtype), excluded, chosen_dtype
    )
