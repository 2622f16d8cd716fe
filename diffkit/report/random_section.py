"""The report section of a random-expression study: error and agreement distributions.

The catalog's charts show one V-curve per function; over thousands of random
functions the same questions become distributions: how small does each method's
best error get (a histogram of log10 relative error per entry), and how many digits
does each agree with the exact reference (a histogram of shared digits). Both are
drawn from fixed-bin counts accumulated chunk by chunk (``studies.random.histograms``),
so the section costs as little memory as the study did.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..studies.random import histograms, read_manifest, summarize
from .figures import method_color, png_bytes
from .sections import Image, Section, Table

__all__ = ["histogram_figure", "study_section"]

_ERROR_COLUMNS = ["entry", "dtype", "scored", "err_q10", "err_q50", "err_q90", "err_q99", "err_max"]
_DIGIT_COLUMNS = ["entry", "dtype", "digits_q10", "digits_q50", "digits_min"]


def histogram_figure(counts: pd.DataFrame, kind: str, dtype: str) -> Figure:
    """Small multiples, one panel per entry, of the ``kind`` counts ("error" or "digits")."""
    rows = counts[(counts["kind"] == kind) & (counts["dtype"] == dtype)]
    entries = sorted(rows["entry"].unique())
    columns = 3
    panels = max(1, math.ceil(len(entries) / columns))
    fig = Figure(figsize=(9.0, 2.2 * panels), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(panels, columns, squeeze=False, sharex=True)
    for ax, entry in zip(axes.flat, entries, strict=False):
        part = rows[rows["entry"] == entry]
        ax.bar(
            part["lo"],
            part["count"],
            width=part["hi"] - part["lo"],
            align="edge",
            color=method_color(entry),
        )
        ax.set_title(entry, fontsize=9)
    for ax in list(axes.flat)[len(entries) :]:
        ax.set_visible(False)
    label = (
        "log10 relative error (best step)" if kind == "error" else "digits shared with reference"
    )
    fig.supxlabel(label, fontsize=9)
    fig.supylabel("points", fontsize=9)
    return fig


def _status_table(summary: pd.DataFrame) -> pd.DataFrame:
    shares = [c for c in summary.columns if c.startswith("share_")]
    return summary[["entry", "dtype", "rows", *shares]]


def study_section(out_dir: str | Path, *, key: str = "random-study") -> Section:
    """The section of the study in ``out_dir``: histograms, quantile tables, the summary as CSV."""
    manifest = read_manifest(out_dir)
    parameters = manifest["parameters"]
    summary = summarize(out_dir)
    counts = histograms(out_dir)
    complete = len(manifest["chunks"])
    paragraphs = (
        f"{manifest['count']} random expressions of seed {parameters['seed']} "
        f"(depth {parameters['depth'][0]} to {parameters['depth'][1]}, "
        f"{parameters['points']} points each, {complete} chunks of {parameters['chunk']} complete), "
        "each differentiated by every entry below. A swept finite-difference rule counts "
        "at its best step; errors cover ok rows off kinks with a finite exact derivative.",
        "Agreement is in significant digits shared with the exact reference (symbolic, else "
        "reverse mode); points on kinks and failed rows are left out of it.",
    )
    images = []
    for dtype in sorted(counts["dtype"].unique()) if not counts.empty else []:
        for kind, caption in (
            ("error", "Distribution of the best relative error"),
            ("digits", "Distribution of the digits shared with the reference"),
        ):
            fig = histogram_figure(counts, kind, str(dtype))
            images.append(
                Image(
                    f"{caption} ({dtype})",
                    f"figures/{key}-{kind}-{dtype}.png",
                    png_bytes(fig),
                )
            )
    formats = {c: "sci" for c in _ERROR_COLUMNS if c.startswith("err_")}
    shares = {c: "fixed" for c in summary.columns if c.startswith("share_")}
    tables = (
        Table(
            "Quantiles of the best relative error",
            summary.reindex(columns=_ERROR_COLUMNS),
            {**formats, "scored": "int"},
        ),
        Table(
            "Digits shared with the reference",
            summary.reindex(columns=_DIGIT_COLUMNS),
            {c: "digits" for c in _DIGIT_COLUMNS[2:]},
        ),
        Table("Share of rows by status", _status_table(summary), {**shares, "rows": "int"}),
    )
    files = {
        f"data/{key}-summary.csv": summary.to_csv(index=False, lineterminator="\n").encode(),
        f"data/{key}-histograms.csv": counts.to_csv(index=False, lineterminator="\n").encode(),
    }
    return Section(
        key,
        "Random expressions",
        paragraphs=paragraphs,
        tables=tables,
        images=tuple(images),
        files=files,
    )
