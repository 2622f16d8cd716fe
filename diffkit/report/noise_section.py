"""Report section: V-curves under additive noise, the noise measured from f, and its step.

A pure function of the sweep's frame and the functions (ECnoise and the noise-optimal
step need f and its derivatives) returning a ``Section``, or None without noisy rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import truth
from ..function import Function
from ..noise import base_name, estimate_noise, noise_optimal_step, noise_scale, with_noise
from .figures import ERROR_FLOOR, error_limits, hidden_note, legend_with_notes, png_bytes
from .pages import slug
from .section_helpers import figure_with_panels, main_dtype, step_grid_rows
from .sections import Image, Section, Table
from .tables import error_curves, error_label, method_name, method_order, point_text

__all__ = ["noise_section"]

# The noise table covers at most this many (function, point) pairs.
NOISE_POINTS = 4
# The draw of noise ECnoise is run on: independent of the sweep's, at the same level.
NOISE_ESTIMATE_SEED = 0
# Values in ECnoise's table, minus one: 16 scatters less than the paper's 8 (measured on sin:
# within a factor 2 of the true level for 99% of seeds, against 93% with 8), still cheap.
NOISE_TABLE_M = 16
_NOISE_SCHEMES = {"forward": 2, "central": 3}  # the derivative each noise-optimal step needs


def _noise_points(
    noisy: pd.DataFrame, funcs: Mapping[str, Function]
) -> list[tuple[Function, str, float]]:
    """(function, point label, x) with noisy swept rows and a univariate expression, in frame order."""
    out: list[tuple[Function, str, float]] = []
    for (name, point), rows in noisy.groupby(["function", "point"], sort=False):
        f = funcs.get(base_name(str(name)))
        if f is None or f.ndim != 1 or f.expr is None or not np.isfinite(rows["x"].iloc[0]):
            continue
        out.append((f, str(point), float(rows["x"].iloc[0])))
        if len(out) == NOISE_POINTS:
            break
    return out


def _noise_rows(
    grid: pd.DataFrame, f: Function, point: str, x: float, level: float
) -> list[dict[str, Any]]:
    """Table rows of one (function, point, level): ECnoise's estimate, h predicted and observed."""
    scale = noise_scale(f, x)
    found = estimate_noise(
        with_noise(f, level, NOISE_ESTIMATE_SEED, scale=scale), x, m=NOISE_TABLE_M
    )
    sigma = found.noise if found.ok else level * scale
    rows = grid[
        (grid["function"].map(lambda n: base_name(str(n))) == f.name)
        & (grid["point"] == point)
        & (grid["noise"] == level)
    ]
    curves = error_curves(rows)
    records = []
    for method in method_order(curves["method"].unique()):
        if method not in _NOISE_SCHEMES:
            continue
        curve = curves[curves["method"] == method].sort_values("h")
        derivative = float(truth.derivative(f, x, _NOISE_SCHEMES[method]))
        step = noise_optimal_step(sigma, derivative, method)
        norm = float(curve["truth_norm"].iloc[0])
        h, err = curve["h"].to_numpy(dtype=float), curve["err"].to_numpy(dtype=float)
        best = int(np.argmin(err))
        near = int(np.argmin(np.abs(np.log(h / step.h)))) if np.isfinite(step.h) else -1
        records.append(
            {
                "function": f.name,
                "point": point,
                "method": method,
                "error_kind": "relative" if norm > 0 else "absolute",
                "level": level,
                "sigma": level * scale,
                "estimated": found.noise,
                "k": found.order if found.ok else np.nan,
                "h_noise": step.h,
                "predicted_err": step.error / (norm if norm > 0 else 1.0),
                "best_h": h[best],
                "best_err": err[best],
                "err_at_h_noise": err[near] if near >= 0 else np.nan,
            }
        )
    return records


def _noise_figure(grid: pd.DataFrame, table: pd.DataFrame, f: Function, point: str) -> Figure:
    methods = [m for m in _NOISE_SCHEMES if m in set(table["method"])]
    fig, axes = figure_with_panels((9.6, 4.2), panels=len(methods))
    rows = grid[
        (grid["function"].map(lambda n: base_name(str(n))) == f.name) & (grid["point"] == point)
    ]
    levels = sorted(set(rows["noise"].astype(float)))
    colors = {lvl: f"C{i}" for i, lvl in enumerate(levels)}
    kinds: set[str] = set()
    for ax, method in zip(axes, methods, strict=True):
        marked = False
        errors = []
        for level in levels:
            curve = error_curves(rows[(rows["noise"] == level) & (rows["method"] == method)])
            if curve.empty:  # nothing to draw: no legend entry either
                continue
            curve = curve.sort_values("h")
            kinds |= set(curve["kind"])
            err = np.maximum(curve["err"].to_numpy(dtype=float), ERROR_FLOOR)
            errors.append(err)
            ax.plot(curve["h"], err, "-", color=colors[level], lw=1.2, label=f"noise {level:g}")
            mark = table[
                (table["method"] == method)
                & (table["level"] == level)
                & (table["point"] == point)
                & (table["function"] == f.name)
            ]
            if not mark.empty and np.isfinite(mark["h_noise"].iloc[0]):
                ax.plot(
                    mark["h_noise"],
                    mark["predicted_err"],
                    "D",
                    mfc="white",
                    mec=colors[level],
                    mew=1.5,
                    ms=8,
                    label="_h noise",
                )
                marked = True
        if marked:  # a legend entry only for markers that are drawn
            ax.plot(
                [],
                [],
                ls="none",
                marker="D",
                color="0.35",
                mfc="white",
                label="noise-optimal h (ECnoise)",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step h")
        ax.grid(True, alpha=0.3)
        low, top, hidden = error_limits(np.concatenate(errors) if errors else [])
        ax.set_ylim(low, top)
        note = hidden_note(hidden, top)  # the panel's own: in its title
        ax.set_title(method_name(method) + (f"\n({note})" if note else ""), fontsize=10)
    legend_with_notes(axes[-1], None)
    axes[0].set_ylabel(error_label(kinds))
    fig.suptitle(
        f"{f.name} at x = {point_text(point)} with additive noise (std relative to max(|f|, 1))",
        fontsize=10,
    )
    return fig


def noise_section(frame: pd.DataFrame, funcs: Mapping[str, Function]) -> Section | None:
    """V-curves under additive noise, the noise measured from f, and the step it allows."""
    if "noise" not in frame.columns:
        return None
    noise = frame["noise"].fillna(0.0).to_numpy(dtype=float)
    if not np.any(noise > 0):
        return None
    dtype = main_dtype(frame[noise > 0])
    grid = step_grid_rows(frame[frame["dtype"] == dtype])
    if "kink" in grid.columns:
        grid = grid[~grid["kink"].fillna(False).to_numpy(dtype=bool)]
    noisy = grid[grid["noise"].fillna(0.0) > 0]
    points = _noise_points(noisy, funcs)
    records = [
        record
        for f, point, x in points
        for level in sorted(set(noisy.loc[noisy["point"] == point, "noise"].astype(float)))
        for record in _noise_rows(grid, f, point, x, level)
    ]
    if not records:
        return None
    table = pd.DataFrame.from_records(records)
    shown = table.assign(method=table["method"].map(method_name))
    f, point, _ = points[0]
    sci = [
        "level",
        "sigma",
        "estimated",
        "h_noise",
        "predicted_err",
        "best_h",
        "best_err",
        "err_at_h_noise",
    ]
    return Section(
        key="noise",
        title="Noise: V-curves under additive noise and the noise-aware step",
        paragraphs=(
            "With noise of std sigma on f the rounding arm of the V rises like sigma/h^n instead"
            " of eps/h^n, so the best step grows: h = 8^(1/4) sqrt(sigma/|f''|) forward,"
            " (3 sigma/|f'''|)^(1/3) central. sigma is measured from f alone with Moré & Wild's"
            f" difference table (ECnoise, {NOISE_TABLE_M + 1} values of an independent draw at the same"
            " level);"
            f" k is the difference order it settled on. Rows in {dtype}.",
        ),
        tables=(
            Table(
                "Noise level set, estimated by ECnoise, and the step it predicts against the sweep's best",
                shown,
                formats={c: "sci" for c in sci} | {"k": "int"},
                headers={
                    "error_kind": "error",
                    "level": "noise level",
                    "sigma": "sigma (abs)",
                    "estimated": "ECnoise sigma",
                    "k": "difference order k",
                    "h_noise": "noise-optimal h",
                    "predicted_err": "predicted error",
                    "best_h": "observed best h",
                    "best_err": "observed best error",
                    "err_at_h_noise": "error at that h",
                },
            ),
        ),
        images=(
            Image(
                f"{f.name}: V-curves per noise level",
                f"figures/noise-{slug(f.name)}.png",
                png_bytes(_noise_figure(grid, table, f, point)),
            ),
        ),
    )
