"""Report sections of the error analysis: order of accuracy, agreement, precision and noise.

Each builder is a pure function of the sweep's frame (and of the functions, where
theory needs their derivatives) returning a ``Section``, or None when the frame holds
nothing for it. Orders, precision and agreement use noise-free rows off kinks only:
a kink or noise changes what the error means, and each has its own place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .. import analysis, truth
from ..agreement import agreement
from ..backends.steps import machine_epsilon
from ..function import Function
from ..noise import base_name, estimate_noise, noise_optimal_step, noise_scale, with_noise
from .figures import ERROR_FLOOR, method_color, png_bytes
from .sections import Image, Section, Table
from .tables import (
    ORDER_FIT_CAP,
    ORDER_FIT_MARGIN,
    error_curves,
    method_order,
    on_step_grid,
    predicted_optimum,
    relative_model,
    summary_table,
)

__all__ = ["agreement_section", "noise_section", "order_section", "precision_section"]

# At most this many functions get a precision chart (the table covers them all).
PRECISION_CHARTS = 3
# The noise table covers at most this many (function, point) pairs.
NOISE_POINTS = 4
# The draw of noise ECnoise is run on: independent of the sweep's, at the same level.
NOISE_ESTIMATE_SEED = 0
# Values in ECnoise's table, minus one: 16 scatters less than the paper's 8 (measured on sin:
# within a factor 2 of the true level for 99% of seeds, against 93% with 8), still cheap.
NOISE_TABLE_M = 16
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def _figure(size: tuple[float, float], panels: int = 1) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, panels, i + 1) for i in range(panels)]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "f"


def _clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Noise-free rows off kinks (frames without the ``noise``/``kink`` columns are all that)."""
    keep = np.ones(len(frame), dtype=bool)
    if "noise" in frame.columns:
        keep &= frame["noise"].fillna(0.0).to_numpy(dtype=float) == 0
    if "kink" in frame.columns:
        keep &= ~frame["kink"].fillna(False).to_numpy(dtype=bool)
    return frame[keep]


def _grid(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[on_step_grid(frame).to_numpy(dtype=bool)] if not frame.empty else frame


def _main_dtype(frame: pd.DataFrame) -> str:
    dtypes = sorted(set(frame["dtype"].astype(str)))
    return "float64" if "float64" in dtypes or not dtypes else dtypes[0]


# ---------------------------------------------------------------------- order of accuracy


def _rounding_slope(curve: pd.DataFrame, best_h: float) -> float:
    """Slope of log err against log h on the rounding side: steps well below the optimum."""
    err = curve["err"].to_numpy(dtype=float)
    side = curve[(curve["h"] < best_h / ORDER_FIT_MARGIN) & (err < ORDER_FIT_CAP)]
    return analysis.fitted_order(side["h"], side["err"])


def _orders(grid: pd.DataFrame) -> pd.DataFrame:
    """Per curve: the fitted truncation order (tables' fit), the rounding slope, their theory."""
    table = summary_table(grid)
    curves = {k: c for k, c in error_curves(grid).groupby(["function", "point", "dtype", "method"])}
    n_of = grid.groupby("method")["n"].first()
    slopes = []
    for key, best_h in zip(
        table[["function", "point", "dtype", "method"]].itertuples(index=False, name=None),
        table["best_h"].to_numpy(dtype=float),
        strict=True,
    ):
        curve = curves.get(key)
        if curve is None or not np.isfinite(best_h):
            slopes.append(np.nan)
            continue
        slopes.append(_rounding_slope(curve.sort_values("h"), best_h))
    expected_rounding = [0.0 if m == "complex" else -float(n_of[m]) for m in table["method"]]
    return table.assign(rounding=slopes, expected_rounding=expected_rounding)


def _order_table(orders: pd.DataFrame) -> pd.DataFrame:
    records = []
    for (method, dtype), group in orders.groupby(["method", "dtype"], sort=False):
        fitted = group["order"].dropna()
        records.append(
            {
                "method": method,
                "dtype": dtype,
                "expected_order": group["expected_order"].iloc[0],
                "curves": len(group),
                "fitted": len(fitted),
                "q25": fitted.quantile(0.25) if len(fitted) else np.nan,
                "median": fitted.median() if len(fitted) else np.nan,
                "q75": fitted.quantile(0.75) if len(fitted) else np.nan,
                "rounding": group["rounding"].median(),
                "expected_rounding": group["expected_rounding"].iloc[0],
            }
        )
    table = pd.DataFrame.from_records(records)
    rank = {m: i for i, m in enumerate(method_order(table["method"]))}
    return table.sort_values(
        ["dtype", "method"], key=lambda s: s.map(rank) if s.name == "method" else s
    )


def _order_figure(orders: pd.DataFrame, dtype: str) -> Figure:
    """Per function, the median fitted order of each rule (side by side) over the rules' orders."""
    rows = orders[(orders["dtype"] == dtype) & orders["order"].notna()]
    functions = list(pd.unique(rows["function"]))
    methods = method_order(rows["method"].unique())
    fig, (ax,) = _figure((8.6, 4.2))
    xs = {name: i for i, name in enumerate(functions)}
    width = 0.6 / max(len(methods), 1)
    for i, method in enumerate(methods):
        mine = rows[rows["method"] == method]
        per = mine.groupby("function", sort=False)["order"].median()
        color = method_color(method)
        ax.axhline(float(mine["expected_order"].iloc[0]), color=color, ls="--", lw=0.8)
        dodge = (i - (len(methods) - 1) / 2) * width
        ax.plot(
            [xs[f] + dodge for f in per.index],
            per.to_numpy(dtype=float),
            ls="none",
            marker=_MARKERS[i % len(_MARKERS)],
            color=color,
            label=method,
            ms=6,
        )
    ax.set_xticks(range(len(functions)), functions, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("observed order p (truncation side)")
    ax.set_title(f"Observed order of accuracy per function, {dtype} (dashed: the rule's p)")
    ax.title.set_fontsize(10)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def order_section(frame: pd.DataFrame) -> Section | None:
    """Observed against theoretical order of accuracy of every swept rule."""
    grid = _grid(_clean(frame))
    if grid.empty:
        return None
    orders = _orders(grid)
    if orders["order"].notna().sum() == 0:
        return None
    dtype = _main_dtype(grid)
    table = Table(
        "Fitted order per rule: quantiles over curves (functions x points) with a truncation side",
        _order_table(orders),
        formats={c: "fixed" for c in ("q25", "median", "q75", "rounding", "expected_rounding")}
        | {"expected_order": "int", "curves": "int", "fitted": "int"},
        headers={
            "expected_order": "rule order p",
            "median": "observed p (median)",
            "rounding": "rounding slope (median)",
            "expected_rounding": "theory slope",
        },
    )
    return Section(
        key="order",
        title="Order of accuracy: observed against theory",
        paragraphs=(
            "On the truncation side of each V-curve the error falls like h^p, p the rule's order;"
            f" p is fitted there (steps above {ORDER_FIT_MARGIN:g} x the observed optimum)."
            " On the rounding side it grows like eps/h^n: slope -n (0 for the complex step,"
            " which subtracts nothing). Kinks and noisy rows are left out.",
        ),
        tables=(table,),
        images=(
            Image(
                f"Observed order per function ({dtype})",
                "figures/order.png",
                png_bytes(_order_figure(orders, dtype)),
            ),
        ),
    )


# ---------------------------------------------------------------------- agreement


def _reference(labels: list[str]) -> str:
    """The entry others are compared with in the table: an exact backend when there is one."""
    for name in ("symbolic", "reverse"):
        if name in labels:
            return name
    return labels[-1]


def _agreement_table(by_function: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
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
            record[entry] = float(hit["digits"].iloc[0]) if not hit.empty else np.nan
        weakest = group.iloc[int(np.argmin(group["min_digits"].to_numpy(dtype=float)))]
        record["weakest"] = f"{weakest['a']} / {weakest['b']}"
        record["least"] = float(weakest["min_digits"])
        records.append(record)
    return pd.DataFrame.from_records(records)


def _heatmap(matrix: pd.DataFrame, cap: float, dtype: str) -> Figure:
    size = max(4.0, 0.62 * len(matrix) + 2.2)
    fig, (ax,) = _figure((size + 1.2, size))
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
    table = _agreement_table(result.by_function, all_labels)
    digit_columns = [c for c in table.columns if c not in ("function", "dtype", "weakest")]
    ref = _reference(all_labels)
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
                png_bytes(_heatmap(result.matrix, digit_cap(result.dtype), result.dtype)),
            ),
        ),
        files={
            "data/agreement.csv": result.pairs.to_csv(index=False, float_format="%.3f").encode()
        },
    )


# ---------------------------------------------------------------------- precision

_PRECISION_DTYPES = ("float32", "float64")


def _eps_shift(rows: pd.DataFrame) -> float:
    """Theory's h*(float32) / h*(float64) = (eps32 / eps64)^(1/(n+p)) for a rule of order p."""
    p, n = float(rows["expected_order"].iloc[0]), float(rows["n"].iloc[0])
    ratio = machine_epsilon("float32") / machine_epsilon("float64")
    return float(ratio ** (1.0 / (n + p)))


def _precision_pairs(summary: pd.DataFrame, n: pd.Series) -> pd.DataFrame:
    """One row per (function, point, method) swept in both dtypes, side by side."""
    keys = ["function", "point", "method"]
    wide = summary.pivot_table(
        index=keys, columns="dtype", values=["best_h", "best_err"], aggfunc="first", sort=False
    )
    wide.columns = [f"{pair[0]}_{pair[1]}" for pair in wide.columns.to_flat_index()]
    wide = wide.dropna(subset=[f"best_h_{d}" for d in _PRECISION_DTYPES]).reset_index()
    orders = summary.groupby("method")["expected_order"].first()
    return wide.assign(expected_order=wide["method"].map(orders), n=wide["method"].map(n))


def _shift_table(pairs: pd.DataFrame) -> pd.DataFrame:
    records = []
    for method, rows in pairs.groupby("method", sort=False):
        observed = rows["best_h_float32"] / rows["best_h_float64"]
        records.append(
            {
                "method": method,
                "pairs": len(rows),
                "predicted_shift": _eps_shift(rows) if method != "complex" else np.nan,
                "observed_shift": float(np.median(observed)),
                "err_float64": float(rows["best_err_float64"].median()),
                "err_float32": float(rows["best_err_float32"].median()),
            }
        )
    table = pd.DataFrame.from_records(records)
    rank = {m: i for i, m in enumerate(method_order(table["method"]))}
    return table.sort_values("method", key=lambda s: s.map(rank)).reset_index(drop=True)


def _precision_figure(grid: pd.DataFrame, f: Function, point: str, methods: list[str]) -> Figure:
    fig, (ax,) = _figure((8.6, 4.6))
    rows = grid[(grid["function"] == f.name) & (grid["point"] == point)]
    curves = error_curves(rows[rows["method"].isin(methods)])
    for (method, dtype), curve in curves.groupby(["method", "dtype"], sort=True):
        curve = curve.sort_values("h")
        # float64 wide and pale, float32 dashed on top: on the truncation side they coincide.
        wide = dtype == "float64"
        color = method_color(str(method))
        err = np.maximum(curve["err"].to_numpy(dtype=float), ERROR_FLOOR)
        ax.plot(
            curve["h"],
            err,
            "-" if wide else "--",
            color=color,
            lw=3.0 if wide else 1.3,
            alpha=0.45 if wide else 1.0,
            label=f"{method}, {dtype}",
        )
        found = relative_model(f, curve.iloc[0], str(dtype))
        if found is not None:
            h_star, e_star = predicted_optimum(found[0])
            if np.isfinite(h_star) and np.isfinite(e_star):
                marker = "D" if dtype == "float64" else "s"
                ax.plot(
                    [h_star],
                    [e_star / found[1]],
                    marker,
                    mfc="white",
                    mec=color,
                    mew=1.5,
                    ms=7,
                    label="_h*",
                )
    ax.plot([], [], "kD", mfc="white", label="predicted h*, float64")
    ax.plot([], [], "ks", mfc="white", label="predicted h*, float32")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step h")
    ax.set_ylabel("relative error")
    ax.set_title(f"{f.name} at x = {point}: float32 (dashed) against float64 (wide)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def _charted(pairs: pd.DataFrame, funcs: Mapping[str, Function]) -> list[tuple[Function, str]]:
    """The first few univariate functions with an expression, at their first point."""
    out: list[tuple[Function, str]] = []
    for function, rows in pairs.groupby("function", sort=False):
        f = funcs.get(str(function))
        if f is not None and f.ndim == 1 and f.expr is not None:
            out.append((f, str(rows["point"].iloc[0])))
        if len(out) == PRECISION_CHARTS:
            break
    return out


def precision_section(frame: pd.DataFrame, funcs: Mapping[str, Function]) -> Section | None:
    """float32 against float64: the optimal step moves with eps as theory says."""
    grid = _grid(_clean(frame))
    if grid.empty or not set(_PRECISION_DTYPES) <= set(grid["dtype"].astype(str)):
        return None
    summary = summary_table(grid)  # observed optima only: theory is needed for the charted few
    pairs = _precision_pairs(summary, grid.groupby("method")["n"].first())
    if pairs.empty:
        return None
    charted = _charted(pairs, funcs)
    methods = [m for m in ("forward", "central") if m in set(pairs["method"])]
    methods = methods or method_order(pairs["method"].unique())[:2]
    shown = grid["function"].isin([f.name for f, _ in charted]) & grid["method"].isin(methods)
    detail = summary_table(grid[shown], funcs)
    detail = detail[
        [
            "function",
            "point",
            "method",
            "dtype",
            "predicted_h",
            "best_h",
            "predicted_err",
            "best_err",
        ]
    ]
    images = tuple(
        Image(
            f"{f.name}: float32 against float64",
            f"figures/precision-{i:02d}-{_slug(f.name)}.png",
            png_bytes(_precision_figure(grid, f, point, methods)),
        )
        for i, (f, point) in enumerate(charted)
    )
    sci = {c: "sci" for c in ("predicted_h", "best_h", "predicted_err", "best_err")}
    return Section(
        key="precision",
        title="Precision: float32 against float64",
        paragraphs=(
            "The optimal step balances truncation C h^p against rounding eps/h^n, so"
            " h* ~ eps^(1/(n+p)): eps^(1/2) for forward, eps^(1/3) for central differences."
            " float32's eps is 2^29 times float64's, so h* grows about 23000-fold (forward)"
            " and 800-fold (central), and the best error grows like eps^(p/(n+p)).",
        ),
        tables=(
            Table(
                "h*(float32) / h*(float64) over all functions swept in both dtypes (medians)",
                _shift_table(pairs),
                formats={
                    "pairs": "int",
                    "predicted_shift": "sci",
                    "observed_shift": "sci",
                    "err_float64": "sci",
                    "err_float32": "sci",
                },
                headers={
                    "predicted_shift": "theory shift",
                    "observed_shift": "observed shift",
                    "err_float64": "best err float64",
                    "err_float32": "best err float32",
                },
            ),
            Table(
                "Predicted and observed optimum of the charted functions",
                detail.reset_index(drop=True),
                formats=sci,
            ),
        ),
        images=images,
    )


# ---------------------------------------------------------------------- noise

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
    fig, axes = _figure((9.6, 4.2), panels=len(methods))
    rows = grid[
        (grid["function"].map(lambda n: base_name(str(n))) == f.name) & (grid["point"] == point)
    ]
    levels = sorted(set(rows["noise"].astype(float)))
    colors = {lvl: f"C{i}" for i, lvl in enumerate(levels)}
    for ax, method in zip(axes, methods, strict=True):
        for level in levels:
            curve = error_curves(rows[(rows["noise"] == level) & (rows["method"] == method)])
            curve = curve.sort_values("h")
            err = np.maximum(curve["err"].to_numpy(dtype=float), ERROR_FLOOR)
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
        ax.plot([], [], "kD", mfc="white", label="noise-optimal h (ECnoise)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step h")
        ax.set_title(f"{method}", fontsize=10)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("relative error")
    axes[-1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    fig.suptitle(
        f"{f.name} at x = {point} with additive noise (std relative to max(|f|, 1))", fontsize=10
    )
    return fig


def noise_section(frame: pd.DataFrame, funcs: Mapping[str, Function]) -> Section | None:
    """V-curves under additive noise, the noise measured from f, and the step it allows."""
    if "noise" not in frame.columns:
        return None
    noise = frame["noise"].fillna(0.0).to_numpy(dtype=float)
    if not np.any(noise > 0):
        return None
    dtype = _main_dtype(frame[noise > 0])
    grid = _grid(frame[frame["dtype"] == dtype])
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
                table,
                formats={c: "sci" for c in sci} | {"k": "int"},
                headers={
                    "sigma": "sigma (abs)",
                    "estimated": "ECnoise sigma",
                    "h_noise": "noise-optimal h",
                    "err_at_h_noise": "err at that h",
                },
            ),
        ),
        images=(
            Image(
                f"{f.name}: V-curves per noise level",
                f"figures/noise-{_slug(f.name)}.png",
                png_bytes(_noise_figure(grid, table, f, point)),
            ),
        ),
    )
