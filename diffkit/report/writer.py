"""Write a report folder from a sweep's frame: HTML, Markdown, PNG charts, CSVs and metadata.

Everything is a pure function of the frame and the functions, except the date that
``metadata.json`` records and the two pages show at the top: writing the same frame
twice gives the same CSV and PNG bytes, and pages that differ in that date only. The
HTML links its charts (``figures/*.png``) instead of embedding them, so each image is
stored once and the page stays small: the report is the folder, not the HTML alone
(mail or archive the folder). The big data files are gzip-compressed
(``sweep.csv.gz``, ``timings.csv.gz``; ``pandas.read_csv`` reads them as they are),
written without a timestamp, so that they too are byte-identical between runs.

Where the report goes, and what it may replace, is ``folder``'s business.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import platform
import shutil
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pandas as pd

from .. import interrupts
from ..executors import run_tasks
from ..function import Function
from ..rows import NO_TRUTH
from .figures import chartable, vcurve_figure
from .folder import (
    MARKER,
    METADATA,
    OutputFolderError,
    OutputFolderExistsError,
    apply_umask,
    check_existing,
    check_output_folder,
    marker,
    remove_leftovers,
    swap_into_place,
    tmp_prefix,
    usable_output,
)
from .no_truth_section import no_truth_section
from .overview_figures import calibration_section, page_png, pareto_figure
from .pages import Chart, PageInfo, html_page, markdown_page, slug
from .sections import Image, Section
from .tables import expressions_table, failure_table, summary_table
from .verdict_section import Verdict, build_verdict

__all__ = [
    "OutputFolderError",
    "OutputFolderExistsError",
    "check_output_folder",
    "write_report",
]

_SWEEP_ORDER = ["function", "point", "dtype", "noise", "backend", "method", "h", "component"]
_TIMING_COLUMNS = ["seconds"]
SWEEP_FILE = "sweep.csv.gz"
TIMINGS_FILE = "timings.csv.gz"
PARETO_PATH = "figures/verdict-pareto.png"


def _function_map(functions: Iterable[Function] | Mapping[str, Function]) -> dict[str, Function]:
    items = functions.values() if isinstance(functions, Mapping) else functions
    return {f.name: f for f in items}


@dataclass(frozen=True)
class _ChartJob:
    """One V-curve to draw: the rows it needs travel with it, not the whole frame."""

    rows: pd.DataFrame
    function: Function
    point: str
    dtype: str
    path: str


def _draw(job: _ChartJob) -> bytes | str:
    """The chart's PNG bytes, or the error's text (one chart that fails loses nothing else)."""
    try:
        fig = vcurve_figure(job.rows, job.function, job.point, dtype=job.dtype)
        png = page_png(fig)
        fig.clear()  # free the artists now; the figure is never shown
        return png
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _chart_jobs(frame: pd.DataFrame, funcs: Mapping[str, Function]) -> list[_ChartJob]:
    jobs = []
    listed = frame[["function", "point", "dtype"]].drop_duplicates()
    for index, (name, f) in enumerate(funcs.items()):
        mine = listed[listed["function"] == name]
        rows = frame[frame["function"] == name]
        for p_index, point in enumerate(pd.unique(mine["point"])):
            for dtype in pd.unique(mine[mine["point"] == point]["dtype"]):
                path = f"figures/{index:02d}-{slug(name)}-p{p_index}-{dtype}.png"
                selected = rows[(rows["point"] == point) & (rows["dtype"] == dtype)]
                if not chartable(selected):
                    continue  # an empty frame says less than the page's note and the tables
                jobs.append(_ChartJob(selected, f, str(point), str(dtype), path))
    return jobs


def _charts(
    frame: pd.DataFrame, funcs: Mapping[str, Function], folder: Path, jobs: int
) -> list[Chart]:
    """Render one V-curve per (function, point, dtype) of the frame, ``jobs`` at a time."""
    todo = _chart_jobs(frame, funcs)
    drawn = run_tasks(todo, _draw, lambda job, status, message: message, jobs=jobs, label="charts")
    charts = []
    for job, png in zip(todo, drawn, strict=True):
        if isinstance(png, str):
            warnings.warn(f"V-curve {job.path} not drawn: {png}", RuntimeWarning, stacklevel=2)
            continue
        (folder / job.path).write_bytes(png)
        charts.append(Chart(job.function.name, job.point, job.dtype, job.path, png))
    return charts


def _versions() -> dict[str, str]:
    from .. import __version__

    found = {"python": platform.python_version(), "diffkit": __version__}
    for package in ("numpy", "sympy", "mpmath", "pandas", "matplotlib"):
        try:
            found[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def _metadata(frame: pd.DataFrame, title: str, extra: Mapping[str, Any] | None) -> dict[str, Any]:
    info: dict[str, Any] = {
        "title": title,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
        "dtypes": sorted(str(d) for d in frame["dtype"].unique()),
        "functions": [str(f) for f in pd.unique(frame["function"])],
        "rows": len(frame),
        "rows_not_ok": int((frame["status"] != "ok").sum()),
        "rows_no_truth": int((frame["status"] == NO_TRUTH).sum()),
        "args": None,
        "seed": None,
    }
    info.update(extra or {})
    return info


# ---------------------------------------------------------------------- entry point


def write_report(
    frame: pd.DataFrame,
    functions: Iterable[Function] | Mapping[str, Function],
    out_dir: str | Path,
    *,
    title: str = "diffkit report",
    metadata: Mapping[str, Any] | None = None,
    sections: Sequence[Section] = (),
    jobs: int = 1,
) -> Path:
    """Write the report of ``frame`` into ``out_dir`` and return the path of its ``index.html``.

    Files: ``index.html`` and ``report.md`` (both linking the charts: open them in the
    folder), ``figures/*.png`` (one V-curve per function, point and dtype with a finite
    error to draw; points without an exact derivative are listed in a section of their
    own, first among the sections; the verdict's overview chart and the calibration
    chart), ``sweep.csv.gz`` (the whole frame but its timings, which go to
    ``timings.csv.gz``; both gzip), ``summary.csv``, ``expressions.csv`` (each
    function's expression in full) and ``metadata.json``. The pages open with the
    verdict (``verdict_section``) and the calibration of error estimates
    (``overview_figures``). ``functions`` supply the expression, the
    ``why`` line and the theory for the charts; functions of the frame that are not
    among them still appear in the tables. ``metadata`` entries (such as ``args``)
    are added to ``metadata.json``. ``sections`` (studies built beside the sweep) follow
    the per-function sections; their images and files are saved under their paths,
    which must lie inside ``figures/`` or ``data/``. ``jobs`` processes draw the charts.

    ``out_dir`` must pass ``check_output_folder`` (else ``OutputFolderError``, before
    anything is computed): new, empty, or a report of this version of diffkit that
    holds nothing but its own files, which ``metadata.json`` lists under
    ``diffkit_report``. It is checked again just before the new report is swapped in.
    """
    final = Path(out_dir)
    real = usable_output(final)  # raises OutputFolderError; a link's target for a link
    real.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(real)
    # Build in a sibling folder and swap it in at the end: an interrupted run never
    # leaves a half-written report over a good one.
    folder = Path(tempfile.mkdtemp(prefix=tmp_prefix(real), dir=real.parent))
    try:
        _write_files(frame, functions, folder, title, metadata, sections, jobs)
        apply_umask(folder)
        interrupts.check()  # a Ctrl-C swallowed on the way must not replace the old report
        # Files put into the old report while this one was computed are refused, not lost.
        check_existing(real, final)
        swap_into_place(folder, real)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return final / "index.html"


def _gzip_csv(frame: pd.DataFrame) -> bytes:
    """The frame as gzip-compressed CSV without a timestamp: equal frames, equal bytes."""
    data = frame.to_csv(index=False, lineterminator="\n").encode("utf-8")
    return gzip.compress(data, compresslevel=6, mtime=0)


def _verdict(
    frame: pd.DataFrame, funcs: Mapping[str, Function]
) -> tuple[Verdict | None, list[Section]]:
    """The verdict with its overview chart, and the calibration section.

    Either that fails becomes a short section saying so: the report is written anyway.
    """
    front: list[Section] = []
    verdict: Verdict | None = None
    try:
        verdict = build_verdict(frame, funcs)
        if (verdict.overview["rel_count"] > 0).any():
            fig = pareto_figure(verdict.overview, verdict.dtype)
            png = page_png(fig)
            fig.clear()
            caption = (
                f"Accuracy against cost per method ({verdict.dtype}, noise-free): median "
                "relative error against evaluations of f (top) and seconds (bottom) per "
                "estimate; dashed: the Pareto front; open squares: grid rules at their best step"
            )
            verdict = replace(verdict, images=(Image(caption, PARETO_PATH, png),))
    except Exception as exc:  # the verdict's bug must not cost the whole report
        front.append(_not_built("verdict", "Verdict", exc))
    try:
        front.append(calibration_section(frame))
    except Exception as exc:
        front.append(_not_built("calibration", "Error estimates against actual errors", exc))
    return verdict, front


def _not_built(key: str, title: str, exc: Exception) -> Section:
    """A section that failed, said in a warning and in its place on the page."""
    warnings.warn(f"{title!r} could not be built: {exc!r}", RuntimeWarning, stacklevel=4)
    text = f"This section could not be built: {type(exc).__name__}: {exc}"
    return Section(key=key, title=f"{title} (not built)", paragraphs=(text,))


def _write_files(
    frame: pd.DataFrame,
    functions: Iterable[Function] | Mapping[str, Function],
    folder: Path,
    title: str,
    metadata: Mapping[str, Any] | None,
    sections: Sequence[Section] = (),
    jobs: int = 1,
) -> None:
    (folder / "figures").mkdir(parents=True, exist_ok=True)
    missing = no_truth_section(frame)
    sections = [missing, *sections] if missing is not None else list(sections)
    funcs = _function_map(functions)
    verdict, front = _verdict(frame, funcs)
    images = list(verdict.images) if verdict is not None else []
    _write_section_files(folder, [*front, *sections], images)
    # Summary and V-curves show the functions as given; noisy rows have their own section.
    clean = frame[frame["noise"] == 0] if "noise" in frame.columns else frame
    summary = summary_table(clean, funcs)
    failures = failure_table(frame)
    charts = _charts(clean, funcs, folder, jobs)

    order = [c for c in _SWEEP_ORDER if c in frame.columns]
    ordered = frame.sort_values(order, kind="mergesort", na_position="last")
    # Timings differ from run to run; they get their own file, so that the sweep's file
    # is byte-identical between two runs of the same sweep.
    data = ordered.drop(columns=[c for c in _TIMING_COLUMNS if c in ordered.columns])
    (folder / SWEEP_FILE).write_bytes(_gzip_csv(data))
    timing_keys = [c for c in _SWEEP_ORDER if c in ordered.columns]
    timings = ordered[timing_keys + [c for c in _TIMING_COLUMNS if c in ordered.columns]]
    (folder / TIMINGS_FILE).write_bytes(_gzip_csv(timings))
    (folder / "summary.csv").write_bytes(
        summary.to_csv(index=False, lineterminator="\n").encode("utf-8")
    )
    (folder / "expressions.csv").write_bytes(
        expressions_table(funcs).to_csv(index=False, lineterminator="\n").encode("utf-8")
    )
    no_truth_rows = int((frame["status"] == NO_TRUTH).sum())
    info = _metadata(frame, title, metadata)
    page = PageInfo(
        version=str(info["versions"].get("diffkit", "")),
        date=str(info["date"]),
        rows=len(frame),
        files=(
            (SWEEP_FILE, "every estimate, gzip CSV"),
            ("summary.csv", "the summary"),
            (TIMINGS_FILE, "seconds per row, gzip CSV"),
            ("expressions.csv", "expressions"),
            (METADATA, "versions and arguments"),
        ),
    )
    options: dict[str, Any] = dict(
        no_truth_rows=no_truth_rows, verdict=verdict, front=front, info=page
    )
    (folder / "report.md").write_bytes(
        markdown_page(title, funcs, summary, failures, charts, sections, **options).encode("utf-8")
    )
    (folder / "index.html").write_bytes(
        html_page(title, funcs, summary, failures, charts, sections, **options).encode("utf-8")
    )
    # Last, so that it lists every other file: the marker that lets a later report
    # replace this folder, and nothing a user put there.
    info[MARKER] = marker(folder)
    (folder / METADATA).write_text(
        json.dumps(info, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )


def _write_section_files(
    folder: Path, sections: Sequence[Section], images: Sequence[Image] = ()
) -> None:
    """Save each section's images and files (and ``images``); a path leaving figures/ or data/ is refused."""
    for section in [*sections, Section(key="images", title="", images=tuple(images))]:
        items = [(image.path, image.data) for image in section.images]
        for path, data in [*items, *section.files.items()]:
            parts = Path(path).parts
            if len(parts) < 2 or parts[0] not in ("figures", "data") or ".." in parts:
                raise ValueError(
                    f"section {section.key!r}: file path {path!r} must lie in figures/ or data/"
                )
            target = folder / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


# ---------------------------------------------------------------------- the output folder
