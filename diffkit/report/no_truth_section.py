"""Report section: the functions and points without an exact derivative, and what stands in.

Where the ground truth has no exact value (the tracer refused a plain callable, or
the exact derivative could not be evaluated), no error can be measured: such rows
read ``no-truth``, enter no V-curve and no error statistic, and are never counted as
accurate. What the report can still say is whether independent methods agree, so
this section lists, per point, each backend's value and the significant digits it
shares with a reference backend (``diffkit.agreement``). A pure function of the
sweep's frame returning a ``Section``, or None when every row has its truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..agreement import POINT_KEYS, entries, matching_digits
from ..rows import NO_TRUTH
from .sections import Section, Table

__all__ = ["REFERENCE_ORDER", "no_truth_points", "no_truth_section"]

# The entry the others are compared with at a point without truth: an exact method
# first (symbolic differentiates the same expression the truth would have used, where
# it traces), then reverse mode, then Richardson finite differences with their estimate.
REFERENCE_ORDER = ("symbolic", "reverse", "fd-richardson")
_SHOWN_COMPONENTS = 4


def no_truth_points(frame: pd.DataFrame) -> pd.DataFrame:
    """The noise-free rows of every (function, point, dtype) that has a ``no-truth`` row."""
    clean = frame[frame["noise"] == 0] if "noise" in frame.columns else frame
    marked = clean.loc[clean["status"] == NO_TRUTH, POINT_KEYS].drop_duplicates()
    return clean.merge(marked, on=POINT_KEYS)


def _reasons(rows: pd.DataFrame) -> pd.DataFrame:
    """Per function: where its truth came from, how many points and rows lack it, and why."""
    records = []
    for function, group in rows.groupby("function", sort=False):
        missing = group[group["status"] == NO_TRUTH]
        sources = group["truth_source"] if "truth_source" in group.columns else pd.Series(["-"])
        records.append(
            {
                "function": function,
                "truth_source": ", ".join(sorted(set(sources.astype(str)))),
                "points": missing["point"].nunique(),
                "rows": len(missing),
                "why": " | ".join(pd.unique(missing["message"].astype(str))),
            }
        )
    return pd.DataFrame.from_records(
        records, columns=["function", "truth_source", "points", "rows", "why"]
    )


def _shown(values: np.ndarray) -> str:
    head = ", ".join(f"{v:.10g}" for v in values[:_SHOWN_COMPONENTS])
    return head + (f", ... ({values.size} components)" if values.size > _SHOWN_COMPONENTS else "")


def _reference(names: list[str]) -> str:
    return next((name for name in REFERENCE_ORDER if name in names), names[0])


def _values(rows: pd.DataFrame) -> pd.DataFrame:
    """Per point and entry: its value and the digits it shares with the point's reference."""
    chosen, _ = entries(rows)
    records = []
    for (function, point, dtype), values in chosen.items():
        reference = _reference(list(values))
        for entry, value in values.items():
            same = entry == reference or value.shape != values[reference].shape
            records.append(
                {
                    "function": function,
                    "point": point,
                    "dtype": dtype,
                    "entry": entry,
                    "value": _shown(value),
                    "reference": reference,
                    "digits": np.nan if same else matching_digits(value, values[reference], dtype),
                }
            )
    return pd.DataFrame.from_records(
        records, columns=["function", "point", "dtype", "entry", "value", "reference", "digits"]
    )


def no_truth_section(frame: pd.DataFrame) -> Section | None:
    """Which functions have no exact reference, why, and how their backends agree instead."""
    rows = no_truth_points(frame)
    if rows.empty:
        return None
    reasons = _reasons(rows)
    values = _values(rows)
    names = ", ".join(str(f) for f in reasons["function"])
    return Section(
        key="no-truth",
        title="No exact reference",
        paragraphs=(
            f"No exact derivative at some or all points of: {names}. There no error can be"
            " measured, so their rows have status no-truth: they are in no V-curve and no error"
            " statistic, and never count as accurate. A plain callable gets its exact"
            " derivative from its traced expression; where the tracer refuses it (a Python"
            " branch on the input, a call outside the primitive table) or the exact derivative"
            " cannot be evaluated, the reason is given below.",
            "What stands in for the reference is agreement between backends: each backend's"
            " value and the significant digits it shares with the reference entry (symbolic,"
            " else reverse mode, else Richardson finite differences). Agreement shows that"
            " independent methods give the same number, not that it is right. Swept"
            " finite-difference rules are left out, having no exact error to pick their best"
            " step by; the Agreement section counts them as no-truth.",
        ),
        tables=(
            Table(
                "Why there is no exact derivative",
                reasons,
                formats={"points": "int", "rows": "int"},
                headers={"truth_source": "truth source", "why": "reason"},
            ),
            Table(
                "Values at those points, and digits shared with the reference",
                values,
                formats={"digits": "digits"},
                headers={"digits": "digits shared"},
            ),
        ),
    )
