"""Every number the four seed articles print about derivatives, beside diffkit's own.

The articles (``shared/seeds``) teach derivatives with forward differences at a
stated h, then backpropagation on micrograd-style ``Value`` graphs; ``seed_code``
and ``seed_rows`` hold their examples written against diffkit. A printed number
matches when diffkit's value, rounded or cut to the printed number of decimals,
reads as the printed text. Values of f alone (``f(2) = 6``) are left out: they are arithmetic,
not derivatives. No article prints a number that depends on a random
initialization (seed 001's trained network is shown only as an animation).
"""

from __future__ import annotations

import subprocess
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import pandas as pd

from ..autodiff.graph import GraphvizUnavailableError, draw_graph, to_dot
from .seed_code import abcf_graph
from .seed_rows import ARTICLES, seed_rows

__all__ = ["SEED_COLUMNS", "matches_printed", "seed_examples", "seeds_graph"]

SEED_COLUMNS = (
    "article",
    "example",
    "quantity",
    "printed_text",
    "printed",
    "diffkit",
    "method",
    "abs_diff",
    "match",
    "note",
)


def matches_printed(value: float, printed_text: str) -> bool:
    """Whether ``value`` rounded or cut to the printed decimals reads as ``printed_text``.

    Python prints a float's shortest round-trip repr (so a long printed number matches
    only bit for bit), and the articles sometimes cut long outputs short.
    """
    printed = Decimal(printed_text)
    exponent = printed.as_tuple().exponent
    unit = Decimal(1).scaleb(exponent if isinstance(exponent, int) else 0)
    ours = Decimal(repr(float(value)))
    return any(
        ours.quantize(unit, rounding=mode) == printed for mode in (ROUND_HALF_EVEN, ROUND_DOWN)
    )


def seed_examples() -> pd.DataFrame:
    """One row per printed number: the printed value, diffkit's, their difference and ``match``."""
    records = []
    for row in seed_rows():
        value = float(row.compute())
        printed = float(row.printed_text)
        records.append(
            {
                "article": f"{row.article:03d} {ARTICLES[row.article]}",
                "example": row.example,
                "quantity": row.quantity,
                "printed_text": row.printed_text,
                "printed": printed,
                "diffkit": value,
                "method": row.method,
                "abs_diff": abs(value - printed),
                "match": matches_printed(value, row.printed_text),
                "note": row.note,
            }
        )
    return pd.DataFrame(records, columns=list(SEED_COLUMNS))


def seeds_graph() -> tuple[str, bytes | None]:
    """Seed 000's graph L = (a*b + c) * f after ``backward()``: DOT text, SVG when Graphviz runs."""
    root = abcf_graph()["L"]
    root.backward()
    dot = to_dot(root)
    try:
        svg = draw_graph(root, format="svg").pipe()
    except (GraphvizUnavailableError, RuntimeError, OSError, subprocess.SubprocessError):
        return dot, None
    return dot, svg if isinstance(svg, bytes) else None
