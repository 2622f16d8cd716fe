"""A report section as data (text, tables, images, files), and its Markdown and HTML.

The studies beyond the V-curves (order of accuracy, agreement, cost, precision,
noise, expression swell, the seeds) each build one ``Section``; the pages render
every section the same way, and the writer saves its images and files. A study
therefore knows nothing about HTML, and the pages nothing about the studies.
Images are linked by their paths (the writer saves each once, under ``figures/``),
never embedded. Every piece of text that reaches the HTML goes through ``html.escape``.
"""

from __future__ import annotations

import html
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Image",
    "Section",
    "Table",
    "cell",
    "html_section",
    "html_table",
    "image_size",
    "image_tag",
    "markdown_section",
    "md_escape",
    "top_link",
]


@dataclass(frozen=True)
class Table:
    """A captioned table; ``formats`` maps a column to ``text``, ``sci``, ``fixed`` or ``int``.

    Columns without a format are shown as text; ``headers`` renames columns for display.
    """

    caption: str
    frame: pd.DataFrame
    formats: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Image:
    """A chart saved at ``path`` (relative to the report folder) and linked from the HTML."""

    caption: str
    path: str
    data: bytes
    mime: str = "image/png"


@dataclass(frozen=True)
class Section:
    """One titled part of the report.

    ``paragraphs`` are plain text; ``code`` holds (caption, preformatted text) pairs,
    such as Graphviz DOT; ``files`` are extra files (CSV, SVG, DOT) written beside the
    report under their relative paths and linked from the section.
    """

    key: str
    title: str
    paragraphs: tuple[str, ...] = ()
    tables: tuple[Table, ...] = ()
    images: tuple[Image, ...] = ()
    code: tuple[tuple[str, str], ...] = ()
    files: Mapping[str, bytes] = field(default_factory=dict)


def cell(value: Any, kind: str) -> str:
    """One table cell as text: NaN is ``-``, numbers in the column's format."""
    if kind == "text":
        return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not np.isfinite(number):
        return "-" if np.isnan(number) else f"{number}"
    if kind == "sci":
        return f"{number:.1e}"
    if kind == "fixed":
        return f"{number:.2f}"
    if kind == "digits":
        return f"{number:.1f}"
    return f"{round(number)}"


def _columns(table: Table) -> list[tuple[str, str, str]]:
    return [
        (str(col), table.headers.get(str(col), str(col)), table.formats.get(str(col), "text"))
        for col in table.frame.columns
    ]


# ---------------------------------------------------------------------- Markdown


def md_escape(text: str) -> str:
    """Text safe inside a Markdown table cell or image caption."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(table: Table) -> list[str]:
    columns = _columns(table)
    lines = [
        "| " + " | ".join(md_escape(header) for _, header, _ in columns) + " |",
        "|" + "|".join("---:" if kind != "text" else "---" for _, _, kind in columns) + "|",
    ]
    for record in table.frame.to_dict("records"):
        cells = [md_escape(cell(record[col], kind)) for col, _, kind in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown_section(section: Section) -> list[str]:
    """The section as Markdown lines (images and files linked by their relative paths)."""
    out = [f"## {section.title}", ""]
    for paragraph in section.paragraphs:
        out += [paragraph, ""]
    for table in section.tables:
        if table.caption:
            out += [f"*{md_escape(table.caption)}*", ""]
        out += (_md_table(table) if not table.frame.empty else ["No rows."]) + [""]
    for image in section.images:
        out += [f"![{md_escape(image.caption)}]({image.path})", ""]
    for caption, text in section.code:
        out += [f"*{md_escape(caption)}*", "", "```", text.rstrip("\n"), "```", ""]
    if section.files:
        out += ["Files: " + ", ".join(f"[{p}]({p})" for p in sorted(section.files)), ""]
    return out


# ---------------------------------------------------------------------- HTML


def html_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    numeric: Sequence[bool],
    caption: str = "",
) -> str:
    """One HTML table of formatted cell texts (escaped here), numeric columns marked for
    right alignment: every table of the report and of the notebook view is this one."""
    esc = html.escape
    head = "".join(f"<th>{esc(header)}</th>" for header in headers)
    css = [' class="num"' if number else "" for number in numeric]
    body = [
        "<tr>"
        + "".join(f"<td{c}>{esc(text)}</td>" for c, text in zip(css, row, strict=True))
        + "</tr>"
        for row in rows
    ]
    top = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (
        f"<table>{top}<thead><tr>{head}</tr></thead><tbody>\n"
        + "\n".join(body)
        + "\n</tbody></table>"
    )


def _html_table(table: Table) -> str:
    columns = _columns(table)
    rows = (
        [cell(record[col], kind) for col, _, kind in columns]
        for record in table.frame.to_dict("records")
    )
    headers = [header for _, header, _ in columns]
    return html_table(headers, rows, [kind != "text" for *_, kind in columns], table.caption)


def top_link() -> str:
    """The link back to the top of the page that every section's heading carries."""
    return '<a class="top" href="#top" title="back to the top">&uarr; top</a>'


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of PNG bytes, from their IHDR chunk; None for anything else."""
    if len(data) >= 24 and data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


def image_tag(path: str, alt: str, size: tuple[int, int] | None = None) -> str:
    """An ``<img>`` linking the file at ``path``; ``size`` (pixels) reserves its box before it loads."""
    esc = html.escape
    box = f' width="{size[0]}" height="{size[1]}"' if size else ""
    return f'<img src="{esc(path)}" alt="{esc(alt)}"{box} decoding="async">'


def html_section(section: Section) -> str:
    """The section as HTML: images linked by their relative paths, a link back to the top."""
    esc = html.escape
    parts = [f'<h2 id="{esc(section.key)}">{esc(section.title)} {top_link()}</h2>']
    parts += [f"<p>{esc(p)}</p>" for p in section.paragraphs]
    for table in section.tables:
        parts.append(_html_table(table) if not table.frame.empty else "<p>No rows.</p>")
    for image in section.images:
        parts.append(
            f"<figure>{image_tag(image.path, image.caption, image_size(image.data))}"
            f"<figcaption>{esc(image.caption)}</figcaption></figure>"
        )
    for caption, text in section.code:
        parts.append(f"<details><summary>{esc(caption)}</summary><pre>{esc(text)}</pre></details>")
    if section.files:
        links = ", ".join(f'<a href="{esc(p)}">{esc(p)}</a>' for p in sorted(section.files))
        parts.append(f'<p class="muted">Files: {links}</p>')
    return "\n".join(parts)
