"""Report section: matching significant digits between every pair of backends.

A pure function of the sweep's frame returning a ``Section``, or None when the frame
holds no pair to compare; no ground truth is needed. ``agreement`` names its entries
``fd-<rule>`` (a swept rule) or by backend; the section shows them under the
``method_name`` every other table and chart uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ..agreement import agreement
from .figures import png_bytes
from .section_helpers import figure_with_panels
from .sections import Image, Section, Table
from .tables import method_name, on_step_grid

__all__ = ["agreement_section"]


def entry_names(frame: pd.DataFrame) -> dict[str, str]:
    """``agreement``'s entry labels -> the methods' names (as in ``agreement._clean``)."""
    if frame.empty:
        return {}
    swept = on_step_grid(frame).to_numpy(dtype=bool)
    method = frame["method"].astype(str).to_numpy()
    backend = frame["backend"].astype(str).to_numpy()
    entry = np.where(swept, np.char.add("fd-", method.astype(str)), backend)
    pairs = pd.DataFrame({"entry": entry, "method": method}).drop_duplicates("entry")
    return {str(e): method_name(m) for e, m in zip(pairs["entry"], pairs["method"], strict=True)}


def _named(names: dict[str, str], entry: str) -> str:
    return names.get(entry, method_name(entry))


def _reference(labels: list[str]) -> str:
    """The entry others are compared with in the table: an exact backend when there is one."""
    for name in ("symbolic", "reverse"):
        if name in labels:
            return name
    return labels[-1]


def _agreement_table(
    by_function: pd.DataFrame, labels: list[str], names: dict[str, str]
) -> pd.DataFrame:
    """Per function and dtype: each entry's digits against the reference, and the weakest pair."""
    ref = _reference(labels)
    records = []
    for (function, dtype), group in by_function.groupby(["function", "dtype"], sort=False):
        record: dict[str, Any] = {"function": function, "dtype": dtype}
        for entry in labels:
            if entry == ref:
                continue
            hit = group[
                ((group["a"] == entry) & (group["b"] == ref))
                | ((group["a"] == ref) & (group["b"] == entry))
            ]
            record[_named(names, entry)] = float(hit["digits"].iloc[0]) if not hit.empty else np.nan
        weakest = group.iloc[int(np.argmin(group["min_digits"].to_numpy(dtype=float)))]
        record["weakest"] = (
            f"{_named(names, str(weakest['a']))} / {_named(names, str(weakest['b']))}"
        )
        record["least"] = float(weakest["min_digits"])
        records.append(record)
    return pd.DataFrame.from_records(records)


def _heatmap(matrix: pd.DataFrame, cap: float, dtype: str) -> Figure:
    size = max(4.0, 0.62 * len(matrix) + 2.2)
    fig, (ax,) = figure_with_panels((size + 1.2, size))
    values = matrix.to_numpy(dtype=float)
    image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", vmin=0.0, vmax=cap)
    labels = list(matrix.index)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    for (i, j), value in np.ndenumerate(values):
        if np.isfinite(value):
            color = "black" if value > 0.6 * cap else "white"
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=8, color=color)
    ax.set_title(f"Matching significant digits, median over functions ({dtype})", fontsize=10)
    fig.colorbar(image, ax=ax, label="digits", shrink=0.8)
    return fig


def _excluded_text(excluded: pd.DataFrame) -> str:
    if excluded.empty:
        return "No entry was left out."
    counts = excluded.groupby("reason", sort=True).agg(
        entries=("entry", "size"), rows=("rows", "sum")
    )
    parts = [f"{r.Index}: {r.entries} entries ({r.rows} rows)" for r in counts.itertuples()]
    points = excluded[["function", "point", "dtype"]].drop_duplicates()
    return (
        "Left out of the statistics, not counted as disagreement: "
        + "; ".join(parts)
        + f", at {len(points)} function points."
    )


def agreement_section(frame: pd.DataFrame) -> Section | None:
    """Matching significant digits between every pair of backends (no ground truth needed)."""
    result = agreement(frame)
    if result.pairs.empty:
        return None
    from ..agreement import digit_cap

    labels = list(result.matrix.index)
    all_labels = [*labels, *sorted(set(result.pairs["a"]) | set(result.pairs["b"]) - set(labels))]
    names = entry_names(frame)
    table = _agreement_table(result.by_function, all_labels, names)
    digit_columns = [c for c in table.columns if c not in ("function", "dtype", "weakest")]
    ref = _named(names, _reference(all_labels))
    matrix = result.matrix.rename(
        index=lambda e: _named(names, str(e)), columns=lambda e: _named(names, str(e))
    )
    return Section(
        key="agreement",
        title="Agreement between backends",
        paragraphs=(
            "Digits two backends share: -log10(max|a - b| / max(|a|, |b|)), normwise for"
            f" gradients, capped at {digit_cap('float64'):g} for float64 and"
            f" {digit_cap('float32'):g} for float32 (identical values). A swept finite-difference"
            " rule enters at its best step. Near a zero derivative few digits can match even"
            " when both values are tiny.",
            _excluded_text(result.excluded),
        ),
        tables=(
            Table(
                f"Digits against {ref} per function (median over points); the weakest pair at any point",
                table,
                formats={c: "digits" for c in digit_columns},
                headers={"least": "its digits"},
            ),
        ),
        images=(
            Image(
                f"Agreement matrix ({result.dtype})",
                "figures/agreement.png",
                png_bytes(_heatmap(matrix, digit_cap(result.dtype), result.dtype)),
            ),
        ),
        files={
            "data/agreement.csv": result.pairs.to_csv(index=False, float_format="%.3f").encode()
        },
    )
