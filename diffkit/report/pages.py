"""The report's two pages, Markdown and HTML, as text built from its tables and charts.

Both pages show the same parts, in this order: the title with the diffkit version,
the date and links to the data files; the verdict (``verdict_section``: which method
for what kind of function, with the overview chart); the sections that belong up
front (the calibration of error estimates); the summary, as a compact pivot and,
per function, its rows in a collapsible ``<details>``; how to read the charts; one
section per function (its ``why``, expression and V-curves); the other sections;
the rows that are not ok. Every part of the HTML has a link back to the top.

Images are linked by their relative paths (``figures/*.png``), never embedded: the
folder is the report (the HTML alone shows no charts), and each image is stored
once. Every piece of text that reaches the HTML goes through ``html.escape``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..function import Function
from .figures import ERROR_FLOOR
from .sections import (
    Section,
    cell,
    html_section,
    html_table,
    image_size,
    image_tag,
    markdown_section,
    md_escape,
    top_link,
)
from .tables import method_name, point_text, short_expression
from .verdict_section import Verdict, verdict_html, verdict_markdown

__all__ = ["INTRO", "Chart", "PageInfo", "html_page", "markdown_page", "slug"]

INTRO = (
    "This report compares finite-difference derivatives with the exact ones (SymPy, "
    "evaluated with mpmath at 50 digits). For each function and point, a V-curve shows the "
    "error of each finite-difference rule against its step h (relative, or absolute where "
    "the true derivative is 0, as the axis says): to the right, "
    "truncation error falls like h^p; to the left, rounding error grows like eps/h^n. "
    "Dashed lines are the theory of both arms, the thin line their sum, the open diamond "
    "the predicted optimal step h* and its error, the star the observed best; backends "
    "that choose their own step appear as single dots. Functions of several variables use "
    "the normwise relative error of the gradient. The summary sets the observed "
    "optimum beside the predicted one and the order fitted on the truncation side beside "
    "the rule's order (the complex step has no optimal step: its error falls to a floor of "
    "about eps, shown as its predicted minimum). Rows whose status is not ok are counted "
    "in the last section, never dropped silently; rows without an exact derivative to "
    "measure against (status no-truth) are listed in their own section, with the agreement "
    "between backends that stands in for the missing reference."
)

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.2em auto;
       max-width: 1150px; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; margin: 0.2em 0; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05em; margin-bottom: 0.3em; }
a.top { float: right; font-size: 0.55em; font-weight: normal; color: #666;
        text-decoration: none; margin-top: 0.6em; }
table { border-collapse: collapse; font-size: 0.82em; margin: 0.6em 0 1.2em; }
th, td { padding: 0.2em 0.6em; border-bottom: 1px solid #e4e4e4; text-align: left; }
th { background: #f3f3f3; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums;
         font-family: ui-monospace, monospace; }
tr:nth-child(even) td { background: #fafafa; }
code { background: #f4f4f4; padding: 0.1em 0.3em; border-radius: 3px; }
figure { margin: 0.5em 0 1.5em; } figure img { max-width: 100%; height: auto; }
figcaption, .muted { color: #666; font-size: 0.85em; }
.meta { color: #555; font-size: 0.85em; margin: 0 0 0.4em; }
nav { font-size: 0.9em; border-bottom: 1px solid #ddd; padding-bottom: 0.3em; }
nav ul.sections { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap;
                  gap: 0.2em 1.1em; align-items: baseline; }
nav details ul { columns: 4; margin: 0.3em 0; font-size: 0.95em; }
nav details[open] { flex-basis: 100%; }
nav summary { cursor: pointer; color: #0645ad; }
.verdict h2 { margin-top: 0.9em; }
.verdict-top { display: flex; gap: 1.2em; align-items: flex-start; }
.verdict-top > div { flex: 1 1 52%; min-width: 0; }
.verdict-top > figure { flex: 0 1 540px; margin: 0; }
ul.digest { padding-left: 1.1em; margin: 0.3em 0; font-size: 0.9em; }
ul.digest li { margin-bottom: 0.45em; } ul.digest .muted { font-size: 0.92em; }
p.lead { font-size: 0.9em; margin: 0.3em 0 0.5em; }
details > summary { cursor: pointer; }
details.rows { margin: 0.2em 0; } details.rows > summary { padding: 0.15em 0; }
.bad { color: #a40000; }
@media (max-width: 900px) { .verdict-top { display: block; } }
"""

# Summary columns as shown: (column, header, format). Columns the summary does not
# have are left out, so that a table of an older or newer summary still renders.
_SUMMARY_COLUMNS = (
    ("function", "function", "text"),
    ("point", "point", "text"),
    ("dtype", "dtype", "text"),
    ("method", "method", "text"),
    ("best_err", "best error (relative; abs. where f' = 0)", "sci"),
    ("best_h", "at h", "sci"),
    ("digits", "digits shared with symbolic", "fixed"),
    ("seconds", "seconds per estimate (median, warm-up left out)", "sci"),
    ("predicted_h", "predicted h*", "sci"),
    ("predicted_err", "predicted min. error", "sci"),
    ("order", "fitted order", "fixed"),
    ("expected_order", "rule order", "int"),
    ("nfev", "evaluations", "int"),
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


@dataclass(frozen=True)
class PageInfo:
    """What the top of the page says: version, date, size, and the data files beside it.

    ``files`` are (relative path, what it holds) pairs, linked in that order.
    """

    version: str = ""
    date: str = ""
    rows: int = 0
    files: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40] or "f"


def _shown_date(date: str) -> str:
    """``2026-12-04T18:51:07+00:00`` as ``2026-12-04 18:51 UTC``; anything else as given."""
    found = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d)?(\+00:00|Z)", date)
    return f"{found.group(1)} {found.group(2)} UTC" if found else date


def _meta_text(info: PageInfo) -> str:
    parts = []
    if info.version:
        parts.append(f"diffkit {info.version}")
    if info.date:
        parts.append(_shown_date(info.date))
    if info.rows:
        parts.append(f"{info.rows:,} rows")
    return " · ".join(parts)


def _anchors(funcs: Mapping[str, Function], summary: pd.DataFrame) -> dict[str, str]:
    """The id of each function's section: the functions given, then any only in the summary."""
    names = list(funcs)
    names += (
        [str(n) for n in pd.unique(summary["function"]) if str(n) not in funcs]
        if not summary.empty
        else []
    )
    return {name: f"f-{i}-{slug(name)}" for i, name in enumerate(names)}


def _summary_anchor(anchor: str) -> str:
    return "summary-" + anchor[2:]


def _shown_functions(
    funcs: Mapping[str, Function], summary: pd.DataFrame, charts: Sequence[Chart]
) -> list[str]:
    """Functions with a section: those with rows in the summary or a chart, in the given order."""
    present = set(summary["function"].astype(str)) if not summary.empty else set()
    present |= {c.function for c in charts}
    return [name for name in funcs if name in present] + sorted(present - set(funcs))


def _summary_display(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary as shown: method names, absolute errors marked, the order's note where no order."""
    shown = summary.copy()
    if "method" in shown:
        shown["method"] = shown["method"].map(method_name)
    if "point" in shown:
        shown["point"] = shown["point"].map(point_text)
    return shown


def _summary_cell(record: Mapping[Any, Any], col: str, kind: str) -> str:
    text = cell(record.get(col), kind)
    if col == "best_err" and record.get("error_kind") == "absolute" and text != "-":
        return f"{text} abs."
    if col == "order" and text == "-" and record.get("order_note"):
        return str(record["order_note"])
    if col == "seconds" and text == "-" and record.get("timed_calls") == 0:
        return "warm-up only"
    return text


def _columns(
    table: pd.DataFrame, columns: tuple[tuple[str, str, str], ...]
) -> tuple[tuple[str, str, str], ...]:
    return tuple(c for c in columns if c[0] in table.columns)


# ---------------------------------------------------------------------- Markdown


def _md_table(table: pd.DataFrame, columns: tuple[tuple[str, str, str], ...]) -> list[str]:
    columns = _columns(table, columns)
    lines = [
        "| " + " | ".join(header for _, header, _ in columns) + " |",
        "|" + "|".join("---:" if kind != "text" else "---" for _, _, kind in columns) + "|",
    ]
    for record in table.to_dict("records"):
        cells = [md_escape(_summary_cell(record, col, kind)) for col, _, kind in columns]
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


def _pivot_md(verdict: Verdict) -> list[str]:
    pivot = verdict.pivot
    if pivot.empty:
        return []
    methods = [c for c in pivot.columns if c not in ("function", "points")]
    head = ["function", "points", *(_pivot_header(m, verdict) for m in methods)]
    lines = [
        f"*Median error per function and method ({verdict.dtype}, noise-free; relative, "
        "abs. where the derivative is 0; grid rules at their best step)*",
        "",
        "| " + " | ".join(md_escape(h) for h in head) + " |",
        "|---|---:|" + "|".join("---:" for _ in methods) + "|",
    ]
    for record in pivot.to_dict("records"):
        cells = [str(record["function"]), str(record["points"])]
        cells += [str(record[m]) for m in methods]
        lines.append("| " + " | ".join(md_escape(c) for c in cells) + " |")
    return [*lines, ""]


def _pivot_header(method: str, verdict: Verdict) -> str:
    return method_name(method) + (" (best h)" if method in verdict.grid_methods else "")


def markdown_page(
    title: str,
    funcs: Mapping[str, Function],
    summary: pd.DataFrame,
    failures: pd.DataFrame,
    charts: list[Chart],
    sections: Sequence[Section] = (),
    *,
    no_truth_rows: int = 0,
    verdict: Verdict | None = None,
    front: Sequence[Section] = (),
    info: PageInfo | None = None,
) -> str:
    info = info or PageInfo()
    shown = _shown_functions(funcs, summary, charts)
    md_anchors = {name: name.lower() for name in shown}  # "## name" headings
    out = ['<a id="top"></a>', "", f"# {title}", ""]
    meta = _meta_text(info)
    if meta:
        out += [meta, ""]
    if info.files:
        out += ["Data: " + ", ".join(f"[{p}]({p}) ({what})" for p, what in info.files), ""]
    if verdict is not None:
        out += verdict_markdown(verdict, md_anchors)
    for section in front:
        out += ["", *markdown_section(section)]
    out += ["", "## Summary", ""]
    if verdict is not None:
        out += _pivot_md(verdict)
    if summary.empty:
        out.append("No rows.")
    display = _summary_display(summary)
    for name in shown:
        mine = display[display["function"] == name] if not display.empty else display
        if mine.empty:
            continue
        out += [
            f"<details><summary>{html.escape(name)}: {len(mine)} rows</summary>",
            "",
            *_md_table(mine, _SUMMARY_COLUMNS[1:]),
            "",
            "</details>",
            "",
        ]
    out += ["", "## How to read the charts", "", INTRO, ""]
    for name in shown:
        f = funcs.get(name)
        drawn = [c for c in charts if c.function == name]
        out += ["", f"## {name}", ""]
        if f is not None and f.why:
            out += [f.why, ""]
        if f is not None and f.expr is not None:
            out += [f"Expression: `{short_expression(f.expr)}`", ""]
        for chart in drawn:
            alt = f"{name} at {point_text(chart.point)} ({chart.dtype})"
            out += [f"![{md_escape(alt)}]({chart.path})", ""]
        if not drawn:
            out += [_no_chart_text(name, summary), ""]
    for section in sections:
        out += ["", *markdown_section(section)]
    out += ["", "## Rows not ok", ""]
    out.append(_not_ok_lead(failures, no_truth_rows))
    if not failures.empty:
        shown_failures = failures.assign(method=failures["method"].map(method_name))
        out += ["", *_md_table(shown_failures, _FAILURE_COLUMNS)]
    out += ["", "[back to top](#top)"]
    return "\n".join(out).rstrip("\n") + "\n"


def _no_chart_text(name: str, summary: pd.DataFrame) -> str:
    mine = summary[summary["function"] == name] if not summary.empty else summary
    if not mine.empty and mine["not_ok"].astype(str).str.contains("no-truth").any():
        return "No chart: no exact derivative to measure against (see No exact reference)."
    return (
        "No chart: no estimate here has a finite error to draw (every one failed, or the "
        "derivative is infinite); see the summary and the rows not ok."
    )


# ---------------------------------------------------------------------- HTML


def _html_table(table: pd.DataFrame, columns: tuple[tuple[str, str, str], ...]) -> str:
    columns = _columns(table, columns)
    rows = (
        [_summary_cell(record, col, kind) for col, _, kind in columns]
        for record in table.to_dict("records")
    )
    headers = [header for _, header, _ in columns]
    return html_table(headers, rows, [kind != "text" for *_, kind in columns])


def _pivot_html(verdict: Verdict, anchors: Mapping[str, str]) -> str:
    esc = html.escape
    pivot = verdict.pivot
    if pivot.empty:
        return ""
    methods = [c for c in pivot.columns if c not in ("function", "points")]
    head = "".join(
        f"<th>{esc(h)}</th>"
        for h in ["function", "points", *(_pivot_header(m, verdict) for m in methods)]
    )
    body = []
    for record in pivot.to_dict("records"):
        name = str(record["function"])
        link = f'<a href="#{esc(anchors[name])}">{esc(name)}</a>' if name in anchors else esc(name)
        cells = [f"<td>{link}</td>", f'<td class="num">{esc(str(record["points"]))}</td>']
        cells += [f'<td class="num">{esc(str(record[m]))}</td>' for m in methods]
        body.append("<tr>" + "".join(cells) + "</tr>")
    caption = (
        f"Median error per function and method ({verdict.dtype}, noise-free; relative, "
        "abs. where the derivative is 0; grid rules at their best step)"
    )
    return (
        f"<table><caption>{esc(caption)}</caption><thead><tr>{head}</tr></thead><tbody>\n"
        + "\n".join(body)
        + "\n</tbody></table>"
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
    verdict: Verdict | None = None,
    front: Sequence[Section] = (),
    info: PageInfo | None = None,
) -> str:
    esc = html.escape
    info = info or PageInfo()
    shown = _shown_functions(funcs, summary, charts)
    anchors = {name: anchor for name, anchor in _anchors(funcs, summary).items() if name in shown}
    nav = ['<li><a href="#verdict">Verdict</a></li>'] if verdict is not None else []
    nav += [f'<li><a href="#{esc(s.key)}">{esc(s.title)}</a></li>' for s in front]
    nav += [
        '<li><a href="#summary">Summary</a></li>',
        '<li><a href="#reading">Reading the charts</a></li>',
    ]
    if shown:
        nav.append(
            f"<li><details><summary>Functions ({len(shown)})</summary><ul>"
            + "".join(f'<li><a href="#{anchors[n]}">{esc(n)}</a></li>' for n in shown)
            + "</ul></details></li>"
        )
    nav += [f'<li><a href="#{esc(s.key)}">{esc(s.title)}</a></li>' for s in sections]
    nav.append('<li><a href="#not-ok">Rows not ok</a></li>')
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        '<header id="top">',
        f"<h1>{esc(title)}</h1>",
    ]
    meta = esc(_meta_text(info))
    if info.files:
        links = ", ".join(
            f'<a href="{esc(p)}">{esc(p)}</a> ({esc(what)})' for p, what in info.files
        )
        meta += (" · " if meta else "") + f"data: {links}"
    if meta:
        parts.append(f'<p class="meta">{meta}</p>')
    parts += ['<nav><ul class="sections">', *nav, "</ul></nav>", "</header>"]
    if verdict is not None:
        parts.append(verdict_html(verdict, anchors))
    parts += [html_section(section) for section in front]
    parts.append(f'<h2 id="summary">Summary {top_link()}</h2>')
    if verdict is not None:
        parts.append(_pivot_html(verdict, anchors))
    if summary.empty:
        parts.append("<p>No rows.</p>")
    else:
        parts.append(
            '<p class="muted">Per function, its rows: best error per point, dtype and method '
            'against the theory (also in <a href="summary.csv">summary.csv</a>).</p>'
        )
    display = _summary_display(summary)
    for name in shown:
        mine = display[display["function"] == name] if not display.empty else display
        if mine.empty:
            continue
        points = mine["point"].nunique()
        dtypes = ", ".join(sorted(set(mine["dtype"].astype(str))))
        parts.append(
            f'<details class="rows" id="{_summary_anchor(anchors[name])}"><summary>'
            f'<a href="#{anchors[name]}">{esc(name)}</a>: {points} point'
            f"{'s' if points != 1 else ''}, {esc(dtypes)}, {len(mine)} rows</summary>"
            + _html_table(mine, _SUMMARY_COLUMNS[1:])
            + "</details>"
        )
    parts.append(f'<h2 id="reading">How to read the charts {top_link()}</h2>')
    parts.append(f"<p>{esc(INTRO)}</p>")
    for name in shown:
        f = funcs.get(name)
        anchor = anchors[name]
        parts.append(f'<h2 id="{anchor}">{esc(name)} {top_link()}</h2>')
        if f is not None and f.why:
            parts.append(f"<p>{esc(f.why)}</p>")
        if f is not None and f.expr is not None:
            parts.append(f"<p>Expression: <code>{esc(short_expression(f.expr))}</code></p>")
        if f is not None and f.tags:
            parts.append(f'<p class="muted">tags: {esc(", ".join(sorted(f.tags)))}</p>')
        mine_charts = [c for c in charts if c.function == name]
        for chart in mine_charts:
            alt = f"V-curve of {name} at {point_text(chart.point)} ({chart.dtype})"
            caption = f"{alt}. Errors of 0 are drawn at {ERROR_FLOOR:.0e}."
            parts.append(
                f"<figure>{image_tag(chart.path, alt, image_size(chart.png))}"
                f"<figcaption>{esc(caption)}</figcaption></figure>"
            )
        if not mine_charts:
            parts.append(f'<p class="muted">{esc(_no_chart_text(name, summary))}</p>')
        if not summary.empty and (summary["function"] == name).any():
            parts.append(
                f'<p class="muted">Its numbers: <a href="#{_summary_anchor(anchor)}">'
                f"{esc(name)} in the summary</a>.</p>"
            )
    parts += [html_section(section) for section in sections]
    parts.append(f'<h2 id="not-ok">Rows not ok {top_link()}</h2>')
    lead = esc(_not_ok_lead(failures, no_truth_rows))
    if failures.empty:
        parts.append(f"<p>{lead}</p>")
    else:
        parts.append(f'<p class="bad">{lead}</p>')
        shown_failures = failures.assign(method=failures["method"].map(method_name))
        parts.append(_html_table(shown_failures, _FAILURE_COLUMNS))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
