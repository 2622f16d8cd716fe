"""The report's two pages, Markdown and HTML, as text built from its tables and charts.

Both pages show the same sections: what the report shows, the summary table, one
section per function (its ``why``, expression and V-curves), and the rows that are
not ok. Every piece of text that reaches the HTML goes through ``html.escape``.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ..function import Function
from .figures import ERROR_FLOOR
from .sections import Section, cell, html_section, markdown_section, md_escape

__all__ = ["INTRO", "Chart", "html_page", "markdown_page", "slug"]

INTRO = (
    "This report compares finite-difference derivatives with the exact ones (SymPy, "
    "evaluated with mpmath at 50 digits). For each function and point, a V-curve shows the "
    "relative error of each finite-difference rule against its step h: to the right, "
    "truncation error falls like h^p; to the left, rounding error grows like eps/h^n. "
    "Dashed lines are the theory of both arms, the thin line their sum, the open diamond "
    "the predicted optimal step h* and its error, the star the observed best; backends "
    "that choose their own step appear as single dots. Functions of several variables use "
    "the normwise relative error of the gradient. The summary table sets the observed "
    "optimum beside the predicted one and the order fitted on the truncation side beside "
    "the rule's order (the complex step has no optimal step: its error falls to a floor of "
    "about eps, shown as its predicted minimum). Rows whose status is not ok are counted "
    "in the last section, never dropped silently; rows without an exact derivative to "
    "measure against (status no-truth) are listed in their own section, with the agreement "
    "between backends that stands in for the missing reference."
)

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1150px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.7em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05em; margin-bottom: 0.3em; }
table { border-collapse: collapse; font-size: 0.82em; margin: 0.6em 0 1.2em; }
th, td { padding: 0.2em 0.6em; border-bottom: 1px solid #e4e4e4; text-align: left; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums;
         font-family: ui-monospace, monospace; }
tr:nth-child(even) td { background: #fafafa; }
code { background: #f4f4f4; padding: 0.1em 0.3em; border-radius: 3px; }
figure { margin: 0.5em 0 1.5em; } figure img { max-width: 100%; height: auto; }
figcaption, .muted { color: #666; font-size: 0.85em; }
nav ul { columns: 3; font-size: 0.9em; }
.bad { color: #a40000; }
"""

# Summary columns as shown: (column, header, format).
_SUMMARY_COLUMNS = (
    ("function", "function", "text"),
    ("point", "point", "text"),
    ("dtype", "dtype", "text"),
    ("method", "method", "text"),
    ("best_err", "best rel. error", "sci"),
    ("best_h", "at h", "sci"),
    ("digits", "digits shared with symbolic", "fixed"),
    ("seconds", "seconds per estimate", "sci"),
    ("predicted_h", "predicted h*", "sci"),
    ("predicted_err", "predicted min. error", "sci"),
    ("order", "fitted order", "fixed"),
    ("expected_order", "rule order", "int"),
    ("nfev", "nfev", "int"),
    ("not_ok", "rows not ok", "text"),
)
_FAILURE_COLUMNS = (
    ("function", "function", "text"),
    ("point", "point", "text"),
    ("dtype", "dtype", "text"),
    ("method", "method", "text"),
    ("status", "status", "text"),
    ("rows", "rows", "int"),
    ("message", "message", "text"),
)


@dataclass(frozen=True)
class Chart:
    """One rendered V-curve: which function, point and dtype, its PNG and relative path."""

    function: str
    point: str
    dtype: str
    path: str  # relative to the report folder
    png: bytes


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "f"


# ---------------------------------------------------------------------- Markdown


def _md_table(table: pd.DataFrame, columns: tuple[tuple[str, str, str], ...]) -> list[str]:
    lines = [
        "| " + " | ".join(header for _, header, _ in columns) + " |",
        "|" + "|".join("---:" if kind != "text" else "---" for _, _, kind in columns) + "|",
    ]
    for record in table.to_dict("records"):
        cells = [md_escape(cell(record[col], kind)) for col, _, kind in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _not_ok_lead(failures: pd.DataFrame, no_truth_rows: int) -> str:
    """The first line of the rows not ok: how many, and where the no-truth rows are instead."""
    apart = (
        f" {no_truth_rows} rows without an exact derivative (status no-truth) are listed"
        " under No exact reference instead."
        if no_truth_rows
        else ""
    )
    if failures.empty:
        return (
            "None: every other row has status ok."
            if no_truth_rows
            else "None: every row has status ok."
        ) + apart
    return f"{int(failures['rows'].sum())} rows in {len(failures)} groups." + apart


def markdown_page(
    title: str,
    funcs: Mapping[str, Function],
    summary: pd.DataFrame,
    failures: pd.DataFrame,
    charts: list[Chart],
    sections: Sequence[Section] = (),
    *,
    no_truth_rows: int = 0,
) -> str:
    out = [f"# {title}", "", INTRO, "", "## Summary", ""]
    out += _md_table(summary, _SUMMARY_COLUMNS) if not summary.empty else ["No rows."]
    for name, f in funcs.items():
        mine = [c for c in charts if c.function == name]
        if not mine:
            continue
        out += ["", f"## {name}", ""]
        if f.why:
            out += [f.why, ""]
        if f.expr is not None:
            out += [f"Expression: `{f.expr}`", ""]
        for chart in mine:
            alt = f"{name} at {chart.point} ({chart.dtype})"
            out += [f"![{md_escape(alt)}]({chart.path})", ""]
    for section in sections:
        out += ["", *markdown_section(section)]
    out += ["", "## Rows not ok", ""]
    out.append(_not_ok_lead(failures, no_truth_rows))
    if not failures.empty:
        out += ["", *_md_table(failures, _FAILURE_COLUMNS)]
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------------- HTML


def _html_table(table: pd.DataFrame, columns: tuple[tuple[str, str, str], ...]) -> str:
    head = "".join(f"<th>{html.escape(header)}</th>" for _, header, _ in columns)
    body = []
    for record in table.to_dict("records"):
        cells = []
        for col, _, kind in columns:
            css = ' class="num"' if kind != "text" else ""
            cells.append(f"<td{css}>{html.escape(cell(record[col], kind))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table><thead><tr>{head}</tr></thead><tbody>\n" + "\n".join(body) + "\n</tbody></table>"
    )


def html_page(
    title: str,
    funcs: Mapping[str, Function],
    summary: pd.DataFrame,
    failures: pd.DataFrame,
    charts: list[Chart],
    sections: Sequence[Section] = (),
    *,
    no_truth_rows: int = 0,
) -> str:
    esc = html.escape
    shown = [name for name in funcs if any(c.function == name for c in charts)]
    anchors = {name: f"f-{i}-{slug(name)}" for i, name in enumerate(shown)}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{esc(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        f"<p>{esc(INTRO)}</p>",
        "<nav><ul>",
        *(f'<li><a href="#{anchors[n]}">{esc(n)}</a></li>' for n in shown),
        *(f'<li><a href="#{esc(s.key)}">{esc(s.title)}</a></li>' for s in sections),
        '<li><a href="#not-ok">rows not ok</a></li></ul></nav>',
        "<h2>Summary</h2>",
        _html_table(summary, _SUMMARY_COLUMNS) if not summary.empty else "<p>No rows.</p>",
    ]
    for name in shown:
        f = funcs[name]
        parts.append(f'<h2 id="{anchors[name]}">{esc(name)}</h2>')
        if f.why:
            parts.append(f"<p>{esc(f.why)}</p>")
        if f.expr is not None:
            parts.append(f"<p>Expression: <code>{esc(str(f.expr))}</code></p>")
        if f.tags:
            parts.append(f'<p class="muted">tags: {esc(", ".join(sorted(f.tags)))}</p>')
        for chart in (c for c in charts if c.function == name):
            data = base64.b64encode(chart.png).decode("ascii")
            alt = f"V-curve of {name} at {chart.point} ({chart.dtype})"
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}">'
                f"<figcaption>{esc(alt)}. Errors of 0 are drawn at {ERROR_FLOOR:.0e}."
                "</figcaption></figure>"
            )
        mine = summary[summary["function"] == name]
        if not mine.empty:
            parts.append(_html_table(mine, _SUMMARY_COLUMNS[1:]))
    parts += [html_section(section) for section in sections]
    parts.append('<h2 id="not-ok">Rows not ok</h2>')
    lead = esc(_not_ok_lead(failures, no_truth_rows))
    if failures.empty:
        parts.append(f"<p>{lead}</p>")
    else:
        parts.append(f'<p class="bad">{lead}</p>')
        parts.append(_html_table(failures, _FAILURE_COLUMNS))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
