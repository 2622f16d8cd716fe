"""The verdict at the top of the report: which method, for what kind of function, at what cost.

Computed from the sweep's frame alone; nothing in it is written in advance. The unit
is the *estimate*: one derivative value, or one gradient (the rows of its components
together, its error normwise, max_i |g_i - t_i| / max_i |t_i|, as in the V-curves). A
rule swept over the step grid gives, per point, its estimate at the step where its
error is smallest (the best step of the grid: picking it needs the truth, so it is
a bound, marked as such); a backend that chooses its own step gives its one estimate.
The error is relative where the true derivative is non-zero and absolute where it is
0; the two are counted apart, never mixed in one median.

Each estimate is in one class: noisy values by noise level; noise-free rows of a
dtype other than the report's main one by dtype; the rest by the function's tags and
the point: at a kink (tag ``kink``, or a kinked point), near a singularity (tags in
``SINGULAR_TAGS``), several variables, else smooth. Per class and method the verdict
gives the median and worst error of the measured estimates, the median evaluations
of f (``nfev``) and seconds per estimate, and the estimates that are not a value of
the derivative (``not ok``); the recommendation follows from those numbers by the
fixed rules of ``_recommendation``. A frame without any truth gets a verdict that says
so, with the costs it can still report.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..function import Function
from ..rows import NO_TRUTH, USABLE  # statuses whose value estimates the derivative
from .sections import Image, html_table, image_size, image_tag, md_escape, top_link
from .tables import (
    method_name,
    method_order,
    normwise_error,
    on_step_grid,
    point_text,
    warm_up_calls,
)

__all__ = [
    "ROUNDING_LEVEL",
    "SINGULAR_TAGS",
    "ClassVerdict",
    "Verdict",
    "build_verdict",
    "estimate_table",
    "fmt_err",
    "fmt_seconds",
    "method_stats",
    "overview_stats",
    "pivot_table",
    "verdict_html",
    "verdict_markdown",
]

SINGULAR_TAGS = ("near-singularity", "infinite-derivative")
# A median error within this many machine epsilons is "at rounding level".
ROUNDING_LEVEL = 10.0
# A worst error above this says no method of the class is reliable on all its points.
UNRELIABLE = 1e-3

_ESTIMATE_KEYS = ["function", "point", "dtype", "noise", "backend", "method", "h"]
_CURVE_KEYS = ["function", "point", "dtype", "noise", "backend", "method"]

# (key, title) in the order shown; noise and dtype classes follow, one per level / dtype.
_STRUCTURE = (
    ("smooth", "Smooth, one variable"),
    ("multivariate", "Several variables (gradients)"),
    ("singular", "Near a singularity"),
    ("kinked", "At a kink"),
)


def fmt_err(value: float) -> str:
    """An error as the verdict prints it: ``0``, ``3e-13``; NaN is ``-``."""
    if not np.isfinite(value):
        return "-" if np.isnan(value) else "inf"
    return "0" if value == 0 else f"{value:.0e}"


def fmt_seconds(value: float) -> str:
    """Seconds in the unit that reads best: ``38 µs``, ``1.2 ms``, ``0.35 s``."""
    if not np.isfinite(value):
        return "-"
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1.0:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def _count(value: float) -> str:
    return "-" if not np.isfinite(value) else f"{value:.0f}"


# ---------------------------------------------------------------------- estimates


def _derivative_code(backend: pd.Series) -> np.ndarray:
    """Methods that differentiate f's code (reverse, symbolic, jax, torch): not finite differences."""
    name = backend.astype(str)
    return ~(name.str.startswith("fd") | name.str.contains("complex")).to_numpy(dtype=bool)


def _classes(est: pd.DataFrame, funcs: Mapping[str, Function], main: str) -> pd.Series:
    """The class key of each estimate (see the module's docstring)."""
    tags = {name: f.tags for name, f in funcs.items()}
    ndim = {name: f.ndim for name, f in funcs.items()}
    out = []
    for function, dtype, noise, kink, components in zip(
        est["function"], est["dtype"], est["noise"], est["kink"], est["components"], strict=True
    ):
        own = tags.get(str(function), frozenset())
        if noise > 0:
            out.append(f"noise-{noise:g}")
        elif str(dtype) != main:
            out.append(f"dtype-{dtype}")
        elif kink or "kink" in own:
            out.append("kinked")
        elif own & set(SINGULAR_TAGS):
            out.append("singular")
        elif components > 1 or ndim.get(str(function), 1) > 1:
            out.append("multivariate")
        else:
            out.append("smooth")
    return pd.Series(out, index=est.index, dtype=object)


def _class_title(key: str) -> str:
    for known, title in _STRUCTURE:
        if key == known:
            return title
    if key.startswith("noise-"):
        return f"Noisy values (noise {key[len('noise-') :]})"
    return f"{key[len('dtype-') :]}, noise-free"


def _class_rank(key: str) -> tuple[int, float, str]:
    keys = [k for k, _ in _STRUCTURE]
    if key in keys:
        return (keys.index(key), 0.0, key)
    if key.startswith("noise-"):
        return (len(keys) + 1, float(key[len("noise-") :]), key)
    return (len(keys), 0.0, key)


def main_dtype(frame: pd.DataFrame) -> str:
    """float64 when the frame has it (or is empty), else its first dtype by name."""
    dtypes = sorted(set(frame["dtype"].astype(str)))
    return "float64" if "float64" in dtypes or not dtypes else dtypes[0]


def estimate_table(
    frame: pd.DataFrame, functions: Mapping[str, Function] | None = None
) -> pd.DataFrame:
    """One row per estimate (see the module's docstring), with its class.

    Columns: ``_CURVE_KEYS``, ``grid`` (a rule of the step grid, at its best step),
    ``h``, ``state`` (``measured``, ``not ok``, ``no truth`` or ``infinite``), ``err``
    (NaN unless measured), ``kind`` (``relative`` or ``absolute``: the truth is 0),
    ``nfev``, ``seconds``, ``components``, ``kink``, ``decades`` (grid rules: how many
    decades of h come within ten times the best error), ``complex_step`` (f must take
    complex arguments), ``class``, ``code`` (derivative code rather than finite
    differences). A finite value of an infinite derivative is ``not ok``.
    """
    columns = [
        *_CURVE_KEYS,
        "grid",
        "h",
        "state",
        "err",
        "kind",
        "nfev",
        "seconds",
        "components",
        "kink",
        "decades",
        "complex_step",
        "class",
        "code",
    ]
    if frame.empty:
        return pd.DataFrame(columns=columns)
    funcs = dict(functions or {})
    truth = frame["truth"].to_numpy(dtype=float)
    value = frame["value"].to_numpy(dtype=float)
    status = frame["status"].astype(str)
    usable = status.isin(USABLE).to_numpy() & np.isfinite(value) & np.isfinite(truth)
    scheme = frame["scheme"].astype(str) if "scheme" in frame else pd.Series("", index=frame.index)
    work = pd.DataFrame(
        {
            **{key: frame[key] for key in _ESTIMATE_KEYS if key != "noise"},
            "noise": frame["noise"].fillna(0.0) if "noise" in frame else 0.0,
            "grid": on_step_grid(frame).to_numpy(dtype=bool),
            "abs_err": np.where(usable, frame["abs_err"].to_numpy(dtype=float), np.nan),
            "abs_truth": np.abs(truth),
            "usable": usable,
            "no_truth": (status == NO_TRUTH).to_numpy() | np.isnan(truth),
            "complex_step": (scheme == "complex").to_numpy()
            | frame["backend"].astype(str).str.contains("complex").to_numpy(),
            "infinite": (status == "infinite").to_numpy(),
            "nfev": frame["nfev"].to_numpy(dtype=float),
            "seconds": frame["seconds"].to_numpy(dtype=float)
            if "seconds" in frame
            else np.full(len(frame), np.nan),
            "kink": frame["kink"].fillna(False).to_numpy(dtype=bool) if "kink" in frame else False,
        }
    )
    agg = (
        work.groupby(_ESTIMATE_KEYS, sort=False, dropna=False)
        .agg(
            grid=("grid", "first"),
            complex_step=("complex_step", "any"),
            abs_err=("abs_err", "max"),
            truth_norm=("abs_truth", "max"),
            usable=("usable", "all"),
            no_truth=("no_truth", "any"),
            infinite=("infinite", "any"),
            nfev=("nfev", "max"),
            seconds=("seconds", "sum"),
            components=("abs_truth", "size"),
            kink=("kink", "any"),
        )
        .reset_index()
    )
    measured = agg["usable"].to_numpy(dtype=bool) & np.isfinite(agg["abs_err"].to_numpy(float))
    err, kind = normwise_error(agg["abs_err"], agg["truth_norm"])
    agg["err"] = np.where(measured, err, np.nan)
    agg["kind"] = kind
    agg["state"] = np.select(
        [measured, agg["infinite"].to_numpy(bool), agg["no_truth"].to_numpy(bool)],
        ["measured", "infinite", "no truth"],
        default="not ok",
    )
    agg["seconds"] = _without_warm_up(agg)
    agg = _best_steps(agg)
    agg["class"] = _classes(agg, funcs, main_dtype(frame))
    agg["code"] = _derivative_code(agg["backend"])
    return agg[columns].reset_index(drop=True)


def _without_warm_up(agg: pd.DataFrame) -> np.ndarray:
    """Seconds per estimate, NaN for each method's warm-up call (``tables.warm_up_calls``)."""
    calls = agg[_CURVE_KEYS].drop_duplicates()
    first = calls[warm_up_calls(calls)]
    marked = agg[_CURVE_KEYS].merge(first.assign(_first=True), how="left", on=_CURVE_KEYS)
    warm_up = marked["_first"].eq(True).to_numpy()
    return np.where(warm_up, np.nan, agg["seconds"].to_numpy(dtype=float))


def _best_steps(agg: pd.DataFrame) -> pd.DataFrame:
    """Grid rules: per point, the estimate at the step of smallest error (else one that says why).

    ``decades`` is how wide the good steps spread: log10(max h / min h) over the steps
    whose error is within ten times the best (or within ``ROUNDING_LEVEL`` eps): 0 for a
    rule that needs its one step, many for one that tolerates any small step.
    """
    agg = agg.assign(decades=np.nan)
    is_grid = agg["grid"].to_numpy(dtype=bool)
    grid = agg[is_grid]
    if grid.empty:
        return agg
    groups = grid.groupby(_CURVE_KEYS, sort=False, dropna=False)
    best_err = groups["err"].transform("min").to_numpy(dtype=float)
    eps = np.array([_eps(str(d)) for d in grid["dtype"]])
    good = grid["err"].to_numpy(dtype=float) <= np.maximum(10 * best_err, ROUNDING_LEVEL * eps)
    h = grid["h"].where(good)
    spread = h.groupby([grid[k] for k in _CURVE_KEYS], sort=False, dropna=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = spread.transform("max").to_numpy(dtype=float) / spread.transform("min").to_numpy(
            dtype=float
        )
        decades = np.log10(ratio)
    rank = np.select(
        [grid["state"] == "measured", grid["state"] == "infinite", grid["state"] == "not ok"],
        [0, 1, 2],
        default=3,
    )
    ordered = grid.assign(decades=decades, _rank=rank, _err=grid["err"].fillna(np.inf)).sort_values(
        ["_rank", "_err", "h"], kind="mergesort"
    )
    best = ordered.groupby(_CURVE_KEYS, sort=False, dropna=False).head(1)
    # Keep the frame's order of points: the first appearance of each curve.
    merged = pd.concat([best.drop(columns=["_rank", "_err"]), agg[~is_grid]])
    return merged.sort_index(kind="mergesort")


# ---------------------------------------------------------------------- statistics


_STATS = [
    "method",
    "backend",
    "grid",
    "code",
    "estimates",
    "measured",
    "not_ok",
    "no_truth",
    "infinite",
    "rel_count",
    "rel_median",
    "rel_worst",
    "worst_function",
    "worst_point",
    "abs_count",
    "abs_median",
    "abs_worst",
    "abs_worst_function",
    "abs_worst_point",
    "nfev",
    "seconds",
    "decades",
    "complex_step",
]


def method_stats(est: pd.DataFrame) -> pd.DataFrame:
    """Per method of ``est``: counts, median and worst errors (relative, absolute), costs.

    Columns: ``method``, ``backend``, ``grid``, ``code``; counts ``estimates``,
    ``measured``, ``not_ok``, ``no_truth``, ``infinite``; ``rel_count``, ``rel_median``,
    ``rel_worst`` and where it is (``worst_function``, ``worst_point``); the same
    for absolute errors (``abs_``); ``nfev``, ``seconds`` and ``decades``: medians over
    the estimates measured (else over all). Rows in ``method_order``.
    """
    records = []
    for method in method_order(est["method"].unique()):
        rows = est[est["method"] == method]
        measured = rows[rows["state"] == "measured"]
        costs = measured if not measured.empty else rows
        record: dict[str, object] = {
            "method": method,
            "backend": str(rows["backend"].iloc[0]),
            "grid": bool(rows["grid"].any()),
            "code": bool(rows["code"].all()),
            "estimates": len(rows),
            "measured": len(measured),
            "not_ok": int((rows["state"] == "not ok").sum()),
            "no_truth": int((rows["state"] == "no truth").sum()),
            "infinite": int((rows["state"] == "infinite").sum()),
            "nfev": float(costs["nfev"].median()),
            "seconds": float(costs["seconds"].median()),
            "decades": float(costs["decades"].median())
            if costs["decades"].notna().any()
            else np.nan,
            "complex_step": bool(rows["complex_step"].any()),
        }
        for kind, prefix, where in (("relative", "rel", ""), ("absolute", "abs", "abs_")):
            mine = measured[measured["kind"] == kind]
            worst = (
                mine.iloc[int(np.argmax(mine["err"].to_numpy(dtype=float)))]
                if not mine.empty
                else None
            )
            record[f"{prefix}_count"] = len(mine)
            record[f"{prefix}_median"] = (
                float(mine["err"].median()) if worst is not None else np.nan
            )
            record[f"{prefix}_worst"] = float(mine["err"].max()) if worst is not None else np.nan
            record[f"{where}worst_function"] = "" if worst is None else str(worst["function"])
            record[f"{where}worst_point"] = "" if worst is None else str(worst["point"])
        records.append(record)
    return pd.DataFrame.from_records(records, columns=_STATS)


def overview_stats(est: pd.DataFrame, dtype: str) -> pd.DataFrame:
    """``method_stats`` of the noise-free estimates of ``dtype``: what the overview chart shows."""
    chosen = est[(est["noise"] == 0) & (est["dtype"].astype(str) == dtype)]
    return method_stats(chosen)


def _cell(rows: pd.DataFrame) -> str:
    """One pivot cell: the median error (relative, else absolute and said so), or the state."""
    measured = rows[rows["state"] == "measured"]
    rel = measured[measured["kind"] == "relative"]["err"]
    if not rel.empty:
        return fmt_err(float(rel.median()))
    absolute = measured["err"]
    if not absolute.empty:
        return f"{fmt_err(float(absolute.median()))} abs."
    states = sorted(set(rows["state"]))
    return ", ".join(states) if states else ""


def pivot_table(est: pd.DataFrame, dtype: str) -> pd.DataFrame:
    """Per function (rows) and method (columns): the median error over its noise-free points.

    Relative errors where any truth of the function is non-zero, else absolute ones,
    marked ``abs.``; a grid rule at its best step. A cell without a measured estimate
    names the states instead (``not ok``, ``no truth``, ``infinite``).
    """
    chosen = est[(est["noise"] == 0) & (est["dtype"].astype(str) == dtype)]
    methods = method_order(chosen["method"].unique())
    records = []
    for function in pd.unique(chosen["function"]):
        mine = chosen[chosen["function"] == function]
        record = {"function": str(function), "points": int(mine["point"].nunique())}
        for method in methods:
            rows = mine[mine["method"] == method]
            record[str(method)] = _cell(rows) if not rows.empty else ""
        records.append(record)
    return pd.DataFrame.from_records(records, columns=["function", "points", *map(str, methods)])


# ---------------------------------------------------------------------- the verdict


# A piece of text: plain, or a link to a function's section (text, function name).
Piece = str | tuple[str, str]


@dataclass(frozen=True)
class ClassVerdict:
    """One class of estimates: what each method reached there, and what that implies."""

    key: str
    title: str
    dtype: str
    functions: tuple[str, ...]
    points: int
    stats: pd.DataFrame
    findings: tuple[tuple[Piece, ...], ...]
    recommendation: str
    metric: str = "rel"  # "abs" where every measured truth of the class is 0


@dataclass(frozen=True)
class Verdict:
    """The report's digest: a lead, one ``ClassVerdict`` per class present, its charts."""

    lead: str
    classes: tuple[ClassVerdict, ...]
    absent: tuple[str, ...]
    overview: pd.DataFrame
    dtype: str
    pivot: pd.DataFrame = field(default_factory=pd.DataFrame)
    grid_methods: tuple[str, ...] = ()
    images: tuple[Image, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def _best(stats: pd.DataFrame, metric: str) -> pd.Series | None:
    """The method of smallest median error (then worst error, evaluations, seconds)."""
    ranked = stats[stats[f"{metric}_count"] > 0]
    if ranked.empty:
        return None
    order = ranked.sort_values(
        [f"{metric}_median", f"{metric}_worst", "nfev", "seconds"],
        kind="mergesort",
        na_position="last",
    )
    return order.iloc[0]


def _names(stats: pd.DataFrame) -> str:
    """Method names joined by " / " (a name may hold a comma: "central, order 4")."""
    return " / ".join(method_name(m) for m in stats["method"])


def _evaluations(nfev: float) -> str:
    return f"{_count(nfev)} evaluation{'' if nfev == 1 else 's'}"


def _where(row: pd.Series, metric: str) -> tuple[str, str]:
    prefix = "" if metric == "rel" else "abs_"
    function = str(row[f"{prefix}worst_function"])
    return (f"{function} at {_short_point(row[f'{prefix}worst_point'])}", function)


def _short_point(label: object) -> str:
    """A point as a sentence names it: a long vector by its first value and its size."""
    text = point_text(label)
    if len(text) <= 24:
        return text
    size = re.search(r"\((\d+) values\)", text)
    first = text.split(",", 1)[0]
    return f"({first}, ... {size.group(1)} values)" if size else text[:21] + "..."


def _decades(value: float) -> str:
    return "less than a decade" if value < 1 else f"{value:.0f} decade{'s' if value >= 1.5 else ''}"


def _method_finding(row: pd.Series, metric: str) -> tuple[Piece, ...]:
    """``central at its best grid step: median 4e-11, worst 2e-09 (tanh at 3), 2 evaluations, 12 µs``."""
    label = method_name(row["method"])
    if row["grid"]:
        label += " at its best h"
        if np.isfinite(row["decades"]):
            label += f" (within 10x over {_decades(row['decades'])} of h)"
    median, worst = row[f"{metric}_median"], row[f"{metric}_worst"]
    pieces: list[Piece] = [f"{label}: median {fmt_err(median)}, worst {fmt_err(worst)}"]
    if worst > median:
        pieces += [" (", _where(row, metric), ")"]
    pieces.append(f", {_evaluations(row['nfev'])}, {fmt_seconds(row['seconds'])}")
    return tuple(pieces)


# A rule of the grid is recommended when it is good over at least this many decades of h.
WIDE_DECADES = 3.0


def _recommendation(
    stats: pd.DataFrame, eps: float
) -> tuple[str, str, tuple[tuple[Piece, ...], ...]]:
    """The recommendation of one class, its metric, and the findings it rests on.

    From the numbers alone: the metric is the relative error, or the absolute one where
    every measured truth of the class is 0. Methods differentiating f's code that reach
    rounding level (median within ``ROUNDING_LEVEL`` eps) come first. Of the finite
    differences, the method choosing its own step with the smallest median; a rule of
    the grid instead when it is at least as accurate and as cheap and good over
    ``WIDE_DECADES`` decades of h (any small step does), else named beside it when it
    is ten times better at its best step (which takes the truth to find). When every
    method's worst error is above ``UNRELIABLE``, that is said.
    """
    metric = "rel" if (stats["rel_count"] > 0).any() else "abs"
    measured = stats[stats[f"{metric}_count"] > 0]
    findings: list[tuple[Piece, ...]] = []
    parts: list[str] = []
    if measured.empty:
        return "", metric, ()
    kind = "" if metric == "rel" else " (absolute errors: the true derivatives are 0)"
    rounding = ROUNDING_LEVEL * eps
    code = measured[measured["code"].astype(bool)]
    fd = measured[~measured["code"].astype(bool)]
    exact = code[code[f"{metric}_median"] <= rounding]
    if not exact.empty:
        findings.append(
            (
                f"{_names(exact)}: at rounding level{kind}, median "
                + ("" if exact[f"{metric}_median"].max() == 0 else "<= ")
                + f"{fmt_err(float(exact[f'{metric}_median'].max()))}, worst "
                f"{fmt_err(float(exact[f'{metric}_worst'].max()))}",
            )
        )
        parts.append(f"derivative code ({_names(exact)}) where f is code it can read")
    else:
        best_code = _best(code, metric)
        if best_code is not None:
            findings.append(_method_finding(best_code, metric))
    auto = _best(fd[~fd["grid"].astype(bool)], metric)
    grid = _best(fd[fd["grid"].astype(bool)], metric)
    for row in (auto, grid):
        if row is not None:
            findings.append(_method_finding(row, metric))
    pick = auto
    if grid is not None and (
        auto is None
        or (
            grid[f"{metric}_median"] <= auto[f"{metric}_median"]
            and grid["nfev"] <= auto["nfev"]
            and grid["decades"] >= WIDE_DECADES
        )
    ):
        pick = grid
    if pick is not None and pick[f"{metric}_worst"] > UNRELIABLE:
        steady = _best(fd[fd[f"{metric}_worst"] <= UNRELIABLE], metric)
        errs = f"{method_name(pick['method'])} errs by up to {fmt_err(pick[f'{metric}_worst'])}"
        if steady is None:
            parts.append(f"no finite difference is reliable here: {errs}")
        else:
            where = " at a well-chosen step" if steady["grid"] else ""
            parts.append(
                ("otherwise " if parts else "")
                + f"{method_name(steady['method'])}{where} (worst {fmt_err(steady[f'{metric}_worst'])}); "
                + errs
            )
    elif pick is not None:
        clause = method_name(pick["method"])
        notes = []
        if pick["complex_step"]:
            notes.append("f must take complex arguments")
        if pick["grid"]:
            notes.append(
                f"any step over {pick['decades']:.0f} decades of h"
                if pick["decades"] >= WIDE_DECADES
                else "at a well-chosen step"
            )
        clause += f" ({'; '.join(notes)})" if notes else ""
        parts.append(("otherwise " if parts else "") + clause)
        if (
            pick is auto
            and grid is not None
            and grid[f"{metric}_median"] * 10 < auto[f"{metric}_median"]
            and auto[f"{metric}_median"] > rounding
        ):
            parts.append(
                f"{method_name(grid['method'])} is ten times better at its best step, "
                "which takes the truth to find"
            )
    if not parts:
        best_code = _best(code, metric)
        if best_code is not None:
            parts.append(method_name(best_code["method"]))
    if metric == "rel":
        absolute = stats[stats["abs_count"] > 0]
        if not absolute.empty:
            worst = absolute.sort_values("abs_worst", kind="mergesort").iloc[-1]
            exact = absolute[absolute["abs_worst"] <= rounding]
            findings.append(
                (
                    "where f' = 0 (",
                    _where(worst, "abs"),
                    f"; absolute errors): up to {fmt_err(worst['abs_worst'])} "
                    f"({method_name(worst['method'])}), {len(exact)} of {len(absolute)} methods "
                    "at rounding level",
                )
            )
    failing = stats[stats["not_ok"] > 0]
    if not failing.empty:
        groups = failing.groupby(["not_ok", "estimates"], sort=False)["method"]
        text = ", ".join(
            f"{count} of {total} for {' / '.join(method_name(m) for m in methods)}"
            for (count, total), methods in groups
        )
        findings.append((f"not ok (no value of the derivative): {text}",))
    infinite = stats[stats["infinite"] > 0]
    if not infinite.empty:
        findings.append((f"an infinite derivative found infinite by {_names(infinite)}",))
    return "; ".join(parts), metric, tuple(findings)


def _eps(dtype: str) -> float:
    try:
        return float(np.finfo(np.dtype(dtype)).eps)
    except TypeError:
        return float(np.finfo(float).eps)


def _class_verdict(key: str, est: pd.DataFrame) -> ClassVerdict:
    dtypes = sorted(set(est["dtype"].astype(str)))
    dtype = dtypes[0] if len(dtypes) == 1 else ", ".join(dtypes)
    stats = method_stats(est)
    recommendation, metric, findings = _recommendation(stats, max(_eps(d) for d in dtypes))
    if key == "kinked":
        findings += (
            (
                "the derivative at a kink is a convention: the truth takes one (the "
                "subgradient), and a method matches it only where it follows the same",
            ),
        )
    return ClassVerdict(
        key=key,
        title=_class_title(key),
        dtype=dtype,
        functions=tuple(str(f) for f in pd.unique(est["function"])),
        points=len(est[["function", "point"]].drop_duplicates()),
        stats=stats,
        findings=findings,
        recommendation=recommendation,
        metric=metric,
    )


def build_verdict(
    frame: pd.DataFrame,
    functions: Mapping[str, Function] | None = None,
    *,
    images: Sequence[Image] = (),
) -> Verdict:
    """The verdict of ``frame`` (see the module's docstring); ``images`` are its charts."""
    est = estimate_table(frame, functions)
    dtype = main_dtype(frame)
    present = sorted(set(est["class"]), key=_class_rank) if not est.empty else []
    classes = tuple(_class_verdict(key, est[est["class"] == key]) for key in present)
    absent = tuple(title for key, title in _STRUCTURE if key not in present)
    measured = int((est["state"] == "measured").sum()) if not est.empty else 0
    notes: list[str] = []
    if est.empty:
        lead = "The frame has no rows: there is nothing to judge."
    elif measured == 0:
        lead = (
            f"No estimate among the {len(est)} of this report has an exact derivative to be "
            "measured against, so no accuracy can be stated here: the section No exact "
            "reference shows how far the methods agree with each other instead. Costs "
            "(evaluations of f and seconds per estimate) are below."
        )
    else:
        points = len(frame[["function", "point"]].drop_duplicates())
        lead = (
            f"From {len(frame):,} rows: {len(est):,} estimates ({frame['function'].nunique()} "
            f"functions, {points} points; a gradient is one estimate). Errors are relative, "
            "absolute where the true derivative is 0 (said so); a rule of the step grid counts "
            "at its best step (a bound: finding that step takes the truth); costs are medians "
            "per estimate."
        )
        unmeasured = int((est["state"] == "no truth").sum())
        if unmeasured:
            notes.append(
                f"{unmeasured} estimates without an exact derivative are left out of the "
                "errors (see No exact reference)."
            )
    return Verdict(
        lead=lead,
        classes=classes,
        absent=absent,
        overview=overview_stats(est, dtype) if not est.empty else method_stats(est),
        dtype=dtype,
        pivot=pivot_table(est, dtype),
        grid_methods=tuple(str(m) for m in pd.unique(est.loc[est["grid"].astype(bool), "method"])),
        images=tuple(images),
        notes=tuple(notes),
    )


# ---------------------------------------------------------------------- rendering

# The per-class table: (column, header, formatter).
_TABLE: tuple[tuple[str, str, Callable[[pd.Series], str]], ...] = (
    ("method", "method", lambda r: method_name(r["method"]) + (" (best h)" if r["grid"] else "")),
    ("measured", "measured", lambda r: f"{r['measured']} of {r['estimates']}"),
    ("rel_median", "median rel. error", lambda r: fmt_err(r["rel_median"])),
    ("rel_worst", "worst rel. error", lambda r: fmt_err(r["rel_worst"])),
    ("abs_median", "median abs. error where f' = 0", lambda r: fmt_err(r["abs_median"])),
    ("nfev", "evaluations", lambda r: _count(r["nfev"])),
    ("seconds", "seconds", lambda r: fmt_seconds(r["seconds"])),
    ("not_ok", "not ok", lambda r: str(r["not_ok"])),
)


def _columns(stats: pd.DataFrame) -> list[tuple[str, str, Callable[[pd.Series], str]]]:
    """The table's columns, leaving out the absolute one where no truth is 0."""
    has_abs = bool((stats["abs_count"] > 0).any()) if not stats.empty else False
    return [c for c in _TABLE if c[0] != "abs_median" or has_abs]


def _class_anchor(key: str) -> str:
    return "verdict-" + "".join(ch if ch.isalnum() else "-" for ch in key)


def _html_pieces(pieces: Sequence[Piece], anchors: Mapping[str, str]) -> str:
    out = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(html.escape(piece))
        else:
            text, function = piece
            anchor = anchors.get(function)
            out.append(
                f'<a href="#{html.escape(anchor)}">{html.escape(text)}</a>'
                if anchor
                else html.escape(text)
            )
    return "".join(out)


def _md_pieces(pieces: Sequence[Piece], anchors: Mapping[str, str]) -> str:
    out = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append(md_escape(piece))
        else:
            text, function = piece
            anchor = anchors.get(function)
            out.append(f"[{md_escape(text)}](#{anchor})" if anchor else md_escape(text))
    return "".join(out)


def _class_head(item: ClassVerdict) -> str:
    functions, points = len(item.functions), item.points
    return (
        f"{item.dtype}; {functions} function{'s' if functions != 1 else ''}, "
        f"{points} point{'s' if points != 1 else ''}"
    )


def _html_table(stats: pd.DataFrame) -> str:
    columns = _columns(stats)
    rows = ([show(row) for *_, show in columns] for _, row in stats.iterrows())
    headers = [header for _, header, _ in columns]
    return html_table(headers, rows, [col != "method" for col, *_ in columns])


def verdict_html(verdict: Verdict, anchors: Mapping[str, str]) -> str:
    """The verdict as HTML: the lead, one paragraph per class beside the overview chart, the tables.

    ``anchors`` map a function's name to the id of its section.
    """
    esc = html.escape
    parts = ['<section id="verdict" class="verdict">', f"<h2>Verdict {top_link()}</h2>"]
    parts.append(f'<p class="lead">{esc(verdict.lead)}</p>')
    items = []
    for item in verdict.classes:
        anchor = _class_anchor(item.key)
        text = (
            f'<strong><a href="#{anchor}">{esc(item.title)}</a></strong> ({esc(_class_head(item))})'
        )
        if item.recommendation:
            text += f": <strong>{esc(item.recommendation)}</strong>."
        else:
            text += ": nothing measured."
        finding = "; ".join(_html_pieces(f, anchors) for f in item.findings)
        if finding:
            text += f' <span class="muted">{finding}.</span>'
        items.append(f"<li>{text}</li>")
    digest = f'<ul class="digest">{"".join(items)}</ul>' if items else ""
    figures = "".join(
        f"<figure>{image_tag(image.path, image.caption, image_size(image.data))}"
        f"<figcaption>{esc(image.caption)}</figcaption></figure>"
        for image in verdict.images[:1]
    )
    parts.append(f'<div class="verdict-top"><div>{digest}</div>{figures}</div>')
    notes = list(verdict.notes)
    if verdict.absent:
        notes.append("Not in this report: " + ", ".join(verdict.absent).lower() + ".")
    parts += [f'<p class="muted">{esc(note)}</p>' for note in notes]
    if verdict.classes:
        parts.append("<details><summary>The numbers behind the verdict, per class</summary>")
        for item in verdict.classes:
            links = ", ".join(
                f'<a href="#{esc(anchors[f])}">{esc(f)}</a>' if f in anchors else esc(f)
                for f in item.functions
            )
            parts.append(
                f'<h3 id="{_class_anchor(item.key)}">{esc(item.title)} ({esc(_class_head(item))})</h3>'
            )
            parts.append(f'<p class="muted">Functions: {links}</p>')
            parts.append(_html_table(item.stats))
        for image in verdict.images[1:]:
            parts.append(
                f"<figure>{image_tag(image.path, image.caption, image_size(image.data))}"
                f"<figcaption>{esc(image.caption)}</figcaption></figure>"
            )
        parts.append("</details>")
    parts.append("</section>")
    return "\n".join(parts)


def verdict_markdown(verdict: Verdict, anchors: Mapping[str, str]) -> list[str]:
    """The verdict as Markdown lines; ``anchors`` map a function's name to its heading's anchor."""
    out = ["## Verdict", "", verdict.lead, ""]
    for item in verdict.classes:
        line = f"- **{md_escape(item.title)}** ({md_escape(_class_head(item))})"
        line += (
            f": **{md_escape(item.recommendation)}**."
            if item.recommendation
            else ": nothing measured."
        )
        finding = "; ".join(_md_pieces(f, anchors) for f in item.findings)
        out.append(line + (f" {finding}." if finding else ""))
    if verdict.classes:
        out.append("")
    for image in verdict.images[:1]:
        out += [f"![{md_escape(image.caption)}]({image.path})", ""]
    notes = list(verdict.notes)
    if verdict.absent:
        notes.append("Not in this report: " + ", ".join(verdict.absent).lower() + ".")
    out += [line for note in notes for line in (note, "")]
    for item in verdict.classes:
        out += [f"### {md_escape(item.title)} ({md_escape(_class_head(item))})", ""]
        out += ["Functions: " + ", ".join(item.functions), ""]
        columns = _columns(item.stats)
        out.append("| " + " | ".join(h for _, h, _ in columns) + " |")
        out.append("|" + "|".join("---" if c == "method" else "---:" for c, _, _ in columns) + "|")
        for _, row in item.stats.iterrows():
            out.append("| " + " | ".join(md_escape(show(row)) for _, _, show in columns) + " |")
        out.append("")
    for image in verdict.images[1:]:
        out += [f"![{md_escape(image.caption)}]({image.path})", ""]
    return out
