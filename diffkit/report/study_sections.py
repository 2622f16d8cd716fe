"""Report sections for the studies: gradient cost, expression swell, the seed articles.

Each function takes a study's frame (``diffkit.studies``) and returns a ``Section``
with its paragraphs, tables, charts (PNG from the Agg canvas, no ``pyplot``) and the
study's data as CSV under ``data/``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .figures import legend_with_notes, method_color, png_bytes
from .section_helpers import blank_figure
from .sections import Image, Section, Table
from .tables import method_name

__all__ = ["cost_figure", "cost_section", "seeds_section", "swell_figure", "swell_section"]

_SWELL_SERIES = (
    ("raw", "SymPy derivative tree (raw)", "#d62728"),
    ("cse", "after sympy.cse", "#ff7f0e"),
    ("program", "diffkit derivative program", "#1f77b4"),
    ("tape", "reverse-mode tape nodes", "#2ca02c"),
)


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


# ---------------------------------------------------------------------- cost


def _backend_order(frame: pd.DataFrame) -> list[str]:
    """Backends in the order the study measured them (first appearance)."""
    return list(dict.fromkeys(frame["backend"]))


# What every time of the cost study is (studies.cost: medians after an untimed warm-up).
TIMED = "median of repeated runs, warm-up call excluded"


def _pivot(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` per n (rows) and backend (columns, under their ``method_name``)."""
    table = frame.pivot(index="n", columns="backend", values=column)
    table = table[_backend_order(frame)].reset_index()
    return table.rename(columns={b: method_name(b) for b in _backend_order(frame)})


def _cost_axes(ax: Axes, rows: pd.DataFrame, column: str, ylabel: str) -> None:
    """One line per backend with a positive value (what is not drawn gets no legend entry)."""
    for name in _backend_order(rows):
        part = rows[rows["backend"] == name].sort_values("n")
        values = part[column].to_numpy(dtype=float)
        positive = values > 0
        if not positive.any():
            continue
        n = part["n"].to_numpy(dtype=float)
        color = method_color(name)
        label = method_name(name)
        label = (
            f"{label} (evaluation)" if name == "symbolic" and column != "evals_gradient" else label
        )
        ax.plot(n[positive], values[positive], "-o", ms=4, color=color, label=label)
        if name == "symbolic" and column == "seconds_gradient":
            setup = part["seconds_setup"].to_numpy(dtype=float)
            ax.plot(n, setup, "--s", ms=4, color=color, label="symbolic setup (once)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("number of variables n")
    ax.set_ylabel(ylabel)
    ax.grid(True, which="major", alpha=0.3)


def cost_figure(frame: pd.DataFrame, function: str) -> Figure:
    """Two log-log panels against n: seconds per gradient, and evaluations of f per gradient."""
    rows = frame[frame["function"] == function]
    fig = blank_figure((10.0, 4.2))
    left, right = fig.subplots(1, 2)
    _cost_axes(left, rows, "seconds_gradient", "seconds per gradient\n(median, warm-up excluded)")
    f_seconds = rows.drop_duplicates("n").sort_values("n")
    left.plot(f_seconds["n"], f_seconds["seconds_f"], ":", color="0.4", label="one call of f")
    left.legend(fontsize=8, frameon=False)
    _cost_axes(right, rows, "evals_gradient", "evaluations of f per gradient")
    symbolic = rows[rows["backend"] == "symbolic"]["evals_gradient"].to_numpy(dtype=float)
    drawn = bool(np.any(symbolic > 0))
    note = "" if drawn or symbolic.size == 0 else "symbolic: no call of f after its setup"
    handles, _ = right.get_legend_handles_labels()
    legend_with_notes(right, handles, [note], inside=True)
    fig.suptitle(f"{function}: gradient cost as the dimension grows", fontsize=11)
    return fig


def _cost_paragraphs(frame: pd.DataFrame) -> tuple[str, ...]:
    top = frame[frame["n"] == frame["n"].max()]
    evals = dict(zip(top["backend"], top["evals_gradient"], strict=False))
    n = int(frame["n"].max())
    counts = ", ".join(f"{method_name(name)} {int(count)}" for name, count in evals.items())
    worst = frame.groupby("backend", sort=False)["rel_error"].max()
    errors = ", ".join(f"{method_name(name)} {value:.1e}" for name, value in worst.items())
    return (
        "A finite-difference gradient walks f along one axis at a time, so its cost grows "
        "as O(n): a central difference calls f twice per variable and Richardson "
        "extrapolation about ten times. Reverse mode records f once and runs one backward "
        "pass, a small constant multiple of the cost of f whatever n is. The symbolic "
        "backend pays once to trace, differentiate and compile f (a setup that grows with n, "
        "dashed) and then evaluates a straight-line program that never calls f.",
        f"Evaluations of f per gradient at n = {n}: {counts} (counted, not timed; the "
        "symbolic backend calls f once, on symbols, during its setup). Times are medians of "
        "repeated runs on this machine after an untimed warm-up call (the first call pays for "
        "caches and imports; the symbolic setup, timed once, is that cost); the ratio divides "
        "the time of a gradient by the time of one call of f. The largest normwise relative "
        "error against the gradient written by "
        f"hand, over all n: {errors} (data/cost.csv has every value).",
    )


def cost_section(cost_frame: pd.DataFrame) -> Section:
    """The cost study: evaluations, time and error per gradient against the dimension n."""
    tables: list[Table] = []
    images: list[Image] = []
    for function in sorted(cost_frame["function"].unique()):
        rows = cost_frame[cost_frame["function"] == function]
        backends = [method_name(b) for b in _backend_order(rows)]
        setup = _pivot(rows, "seconds_setup").get(method_name("symbolic"))
        n_header = {"n": "variables n"}
        tables += [
            Table(
                f"{function}: evaluations of f per gradient",
                _pivot(rows, "evals_gradient"),
                formats={"n": "int", **{b: "int" for b in backends}},
                headers=n_header,
            ),
            Table(
                f"{function}: seconds per gradient ({TIMED}); symbolic setup separately (once)",
                _pivot(rows, "seconds_gradient").assign(**{"symbolic setup": setup}),
                formats={"n": "int", "symbolic setup": "sci", **{b: "sci" for b in backends}},
                headers=n_header,
            ),
            Table(
                f"{function}: time of a gradient / time of f (both {TIMED})",
                _pivot(rows, "time_ratio"),
                formats={"n": "int", **{b: "fixed" for b in backends}},
                headers=n_header,
            ),
        ]
        images.append(
            Image(
                f"{function}: seconds and evaluations of f per gradient against n (log-log)",
                f"figures/cost-{_slug(function)}.png",
                png_bytes(cost_figure(cost_frame, function)),
            )
        )
    return Section(
        key="cost",
        title="Cost: a gradient as the dimension grows",
        paragraphs=_cost_paragraphs(cost_frame),
        tables=tuple(tables),
        images=tuple(images),
        files={"data/cost.csv": _csv(cost_frame)},
    )


# ---------------------------------------------------------------------- swell


def swell_figure(frame: pd.DataFrame) -> Figure:
    """Operation counts of the logistic map's derivative against k, log y axis."""
    fig = blank_figure((8.0, 4.6))
    ax = fig.add_subplot()
    k = frame["k"].to_numpy(dtype=float)
    for column, label, color in _SWELL_SERIES:
        values = frame[column].to_numpy(dtype=float, na_value=np.nan)
        shown = np.isfinite(values) & (values > 0)
        if shown.any():
            ax.plot(k[shown], values[shown], "-o", ms=4, color=color, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("iterations k of x -> 4 x (1 - x)")
    ax.set_ylabel("operations in d/dx")
    ax.set_xticks(k)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("Expression swell: the logistic map's derivative", fontsize=11)
    return fig


def _growth(frame: pd.DataFrame, column: str) -> str:
    values = frame[column].dropna().to_numpy(dtype=float)
    if values.size < 2:
        return "not enough values"
    if column in ("raw", "cse") and values[-2] > 0:
        return f"x{values[-1] / values[-2]:.1f} per iteration at the end"
    return f"+{values[-1] - values[-2]:.0f} per iteration"


def _swell_paragraphs(frame: pd.DataFrame) -> tuple[str, ...]:
    computed = frame.dropna(subset=["raw"])
    last_raw = int(computed["k"].max()) if not computed.empty else 0
    return (
        "Iterating the logistic map x -> 4 x (1 - x) k times gives an expression whose tree "
        "doubles with every iteration, and differentiating the tree (the product rule at every "
        "level) makes it swell further. Common-subexpression elimination recovers the sharing; "
        "diffkit's derivative program and the reverse-mode tape keep every intermediate value "
        "once, so they grow by a constant per iteration.",
        f"Growth: raw {_growth(frame, 'raw')}, CSE {_growth(frame, 'cse')}, program "
        f"{_growth(frame, 'program')}, tape {_growth(frame, 'tape')}. SymPy's tree derivative "
        f"is computed up to k = {last_raw} only; beyond it the raw and CSE counts are left out "
        "(shown as -) rather than waited for.",
    )


def swell_section(swell_frame: pd.DataFrame) -> Section:
    """The expression-swell study: derivative size against k, four ways of building it."""
    shown = swell_frame.astype(
        {c: float for c in ("raw", "cse", "program", "tape") if c in swell_frame}
    )
    table = Table(
        "Operations in the first derivative of the k-fold logistic map",
        shown,
        formats={c: "int" for c in shown.columns},
        headers={
            "raw": "SymPy raw",
            "cse": "after CSE",
            "program": "diffkit program",
            "tape": "tape nodes",
        },
    )
    image = Image(
        "Operation counts of the derivative against k (log scale)",
        "figures/swell-logistic.png",
        png_bytes(swell_figure(swell_frame)),
    )
    return Section(
        key="swell",
        title="Expression swell: the logistic map",
        paragraphs=_swell_paragraphs(swell_frame),
        tables=(table,),
        images=(image,),
        files={"data/swell.csv": _csv(swell_frame)},
    )


# ---------------------------------------------------------------------- seeds


def _seed_table(rows: pd.DataFrame, article: str) -> Table:
    shown = pd.DataFrame(
        {
            "example": rows["example"],
            "quantity": rows["quantity"],
            "printed": rows["printed_text"],
            "diffkit": [repr(float(v)) for v in rows["diffkit"]],
            "method": rows["method"],
            "abs_diff": rows["abs_diff"],
            "match": np.where(rows["match"].astype(bool), "yes", "no"),
            "note": rows["note"],
        }
    )
    return Table(
        article,
        shown,
        formats={"abs_diff": "sci"},
        headers={
            "printed": "printed in the article",
            "method": "recomputed with",
            "abs_diff": "|difference|",
        },
    )


def _seed_paragraphs(frame: pd.DataFrame, has_svg: bool) -> tuple[str, ...]:
    matched = int(frame["match"].astype(bool).sum())
    misses = frame[~frame["match"].astype(bool)]
    miss_text = "".join(
        f" The exception, {row.quantity} in {row.article}: {row.note}."
        for row in misses.itertuples()
    )
    graph = (
        "The graph below is seed 000's L = (a*b + c) * f with a = 2, b = -3, c = 10, f = -2 "
        "after backward(), drawn by Graphviz from diffkit.to_dot."
        if has_svg
        else "The graph of seed 000's L = (a*b + c) * f (a = 2, b = -3, c = 10, f = -2, after "
        "backward()) is given as Graphviz DOT text (install Graphviz to get a picture)."
    )
    return (
        "diffkit grew from four articles that teach derivatives with forward differences "
        "at a stated h and then backpropagation on micrograd-style Value graphs. Every number "
        "they print about a derivative is recomputed here: FiniteDifference with the article's "
        "scheme and h (which computes exactly (f(x + h) - f(x)) / h, so the printed digits "
        "come back bit for bit), Value.backward for the graphs, ReverseMode or Symbolic where "
        "the text states the exact value. A number matches when diffkit's value, rounded or "
        "cut to the printed decimals, reads as printed. Values of f alone are left out, and no "
        "article prints a number from a random initialization.",
        f"{matched} of {len(frame)} printed numbers match.{miss_text}",
        graph,
    )


def seeds_section(seed_frame: pd.DataFrame, dot: str, svg: bytes | None) -> Section:
    """The seed articles' numbers beside diffkit's, and the backprop example's graph."""
    tables = tuple(
        _seed_table(seed_frame[seed_frame["article"] == article], article)
        for article in dict.fromkeys(seed_frame["article"])
    )
    images: Sequence[Image] = ()
    code: tuple[tuple[str, str], ...] = ()
    if svg is not None:
        images = (
            Image(
                "Seed 000's graph L = (a*b + c) * f after backward(): data and grad per node",
                "figures/seed-graph.svg",
                svg,
                mime="image/svg+xml",
            ),
        )
    else:
        code = (("Graphviz DOT of L = (a*b + c) * f after backward()", dot),)
    return Section(
        key="seeds",
        title="The seeds: the articles' numbers, recomputed",
        paragraphs=_seed_paragraphs(seed_frame, svg is not None),
        tables=tables,
        images=tuple(images),
        code=code,
        files={"data/seeds.csv": _csv(seed_frame), "data/seed-graph.dot": dot.encode("utf-8")},
    )
