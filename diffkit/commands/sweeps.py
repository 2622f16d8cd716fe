"""``diffkit report`` and ``diffkit sweep``: sweep the chosen functions, then write a report or the frame."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..function import Function
from ..rows import NO_TRUTH
from ..sweep import DEFAULT_STEPS, run, tasks
from .arguments import (
    UsageError,
    backend_names,
    check_report_folder,
    check_writable_file,
    dtype_names,
    execution,
    noise_levels,
    one_line,
    seed,
    selected_functions,
)

__all__ = ["report_command", "sweep_command"]

# The report's precision and noise studies, when --dtype and --noise do not ask for them:
# functions chosen for clear V-curves (cancellation, saturation, a pole) and levels that
# move the optimal step by decades.
PRECISION_FUNCTIONS = ("squire_trapp", "exp", "tanh", "log")
NOISE_FUNCTIONS = ("exp", "sigmoid")
STUDY_NOISE = (1e-10, 1e-6)

# What ``sweep --csv`` moves to ``<stem>.timings.csv`` (as the report's timings.csv.gz), and
# the columns that identify a row there.
TIMING_COLUMNS = ("seconds",)
TIMING_KEYS = ("function", "point", "dtype", "noise", "backend", "method", "h", "component")


def _run(args: argparse.Namespace, *, extras: bool = False) -> tuple[list[Function], pd.DataFrame]:
    """Sweep the chosen functions over the step grid, with the chosen backends and dtypes.

    ``extras`` adds the report's precision and noise studies where the command line
    did not ask for them itself: a second dtype and noise levels on a few of the
    chosen functions (``_study_functions``), so that those sections have data.
    """
    functions = selected_functions(args)
    dtypes, backends = dtype_names(args.dtype), backend_names(args.backends)
    if args.steps is not None and args.steps < 2:
        raise UsageError(f"--steps must be at least 2, got {args.steps}")
    steps: Sequence[float] = DEFAULT_STEPS
    if args.steps is not None:
        steps = tuple(float(h) for h in np.logspace(-16, 0, args.steps))
    noise = noise_levels(args.noise)
    common: dict[str, Any] = {"steps": steps, "seed": seed(args.seed)}
    grid = tasks(functions, backends=backends, dtypes=dtypes, noise=noise, **common)
    if extras and len(dtypes) == 1:
        other = "float32" if dtypes[0] != "float32" else "float64"
        chosen = _study_functions(functions, PRECISION_FUNCTIONS, 4)
        grid += tasks(chosen, backends=backends, dtypes=[other], **common)
    if extras and len(noise) == 1:
        chosen = _study_functions(functions, NOISE_FUNCTIONS, 2)
        fd_backends = [b for b in backends if b.startswith("fd")]
        grid += tasks(chosen, backends=fd_backends, dtypes=dtypes[:1], noise=STUDY_NOISE, **common)
    return functions, run(grid, **execution(args))


def _study_functions(
    functions: Sequence[Function], preferred: Sequence[str], count: int
) -> list[Function]:
    """The preferred catalog functions among those chosen, else the first univariate ones."""
    by_name = {f.name: f for f in functions}
    picked = [by_name[name] for name in preferred if name in by_name]
    return picked or [f for f in functions if f.ndim == 1][:count]


def _summary_line(functions: Sequence[Function], frame: pd.DataFrame, seconds: float) -> str:
    """The last line every sweeping command prints: how much was swept, how much failed.

    Rows without an exact derivative are not ok, and are counted apart: they are
    estimates that nothing exact can check, not failures.
    """
    points = len(frame[["function", "point"]].drop_duplicates())
    bad = int((frame["status"] != "ok").sum())
    unmeasured = int((frame["status"] == NO_TRUTH).sum())
    of_them = f" ({unmeasured} without an exact derivative)" if unmeasured else ""
    return (
        f"{len(functions)} functions, {points} points, {len(frame)} rows, "
        f"{bad} rows not ok{of_them}, {seconds:.1f} s"
    )


def _report_name(args: argparse.Namespace) -> str:
    """``--name``: one folder name inside ``--out`` (no separators, not ``.`` or ``..``)."""
    if args.name is None:
        return "custom" if args.expr is not None and not args.functions else "catalog"
    name = args.name
    separators = {os.sep, "/"} | ({os.altsep} if os.altsep else set())
    if name in ("", ".", "..") or any(sep in name for sep in separators) or "\0" in name:
        raise UsageError(
            f"--name takes the name of one folder inside --out (no '/', not '.' or '..'), "
            f"got {name!r}"
        )
    return name


def report_command(args: argparse.Namespace) -> int:
    """Sweep, add the studies ``--studies`` asks for, and write the report into OUT/NAME."""
    # matplotlib only when a report is written
    from ..report import write_report
    from ..report.assemble import frame_sections, study_sections
    from ..report.writer import OutputFolderError

    start = time.perf_counter()
    name = _report_name(args)
    out = Path(args.out) / name
    check_report_folder(out)  # before the sweep: minutes of work must not end in "cannot write"
    catalog_report = args.expr is None and not args.functions
    functions, frame = _run(args, extras=args.studies != "none")
    _stage(args, "analysing the sweep (order, agreement, precision, noise)")
    built = frame_sections(frame, {f.name: f for f in functions})
    sections, failures = list(built.sections), list(built.failures)
    if args.studies == "all" or (args.studies == "auto" and catalog_report):
        _stage(args, "running the studies (gradient cost, expression swell, seed articles)")
        studies = study_sections()
        sections += studies.sections
        failures += studies.failures
    _stage(args, "writing the report (verdict, charts, pages)")
    try:
        index = write_report(
            frame,
            functions,
            out,
            title=f"diffkit report: {name}",
            metadata={
                "args": args.argv,
                "steps": args.steps,
                "backends": backend_names(args.backends),
                "seed": args.seed,
                "jobs": execution(args)["jobs"],
            },
            sections=sections,
            jobs=execution(args)["jobs"],
        )
    except (OutputFolderError, OSError) as exc:  # the folder changed meanwhile, a full disk
        raise UsageError(f"cannot write the report into {out}: {one_line(exc)}") from None
    for title, message in failures:
        print(f"diffkit: section {title!r} could not be built: {message}", file=sys.stderr)
    print(index)
    print(_summary_line(functions, frame, time.perf_counter() - start))
    return 1 if failures else 0


def _stage(args: argparse.Namespace, what: str) -> None:
    """Say which phase runs between the progress bars, where a bar would show."""
    shown = args.progress if args.progress is not None else sys.stderr.isatty()
    if shown:
        print(f"diffkit: {what} ...", file=sys.stderr, flush=True)


def timings_path(csv: Path) -> Path:
    """Where ``sweep --csv PATH`` puts the timings: ``<stem>.timings.csv`` beside PATH."""
    return csv.with_name(f"{csv.stem}.timings.csv")


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
    except OSError as exc:
        raise UsageError(f"--csv: cannot write {path}: {one_line(exc)}") from None


def sweep_command(args: argparse.Namespace) -> int:
    """Sweep and write the tidy frame to ``--csv``, or print the best error per method.

    The frame goes to PATH without its timings, so that two runs of the same sweep
    write the same bytes; the timings go to ``<stem>.timings.csv`` beside it, one row
    per row of PATH, with the columns that identify it (as the report's timings.csv.gz).
    """
    start = time.perf_counter()
    path = timings = None
    if args.csv is not None:  # checked before the sweep, not after minutes of it
        path = check_writable_file(args.csv, "--csv")
        timings = check_writable_file(timings_path(path), "--csv (its timings file)")
    functions, frame = _run(args)
    if path is not None and timings is not None:
        timing = [c for c in TIMING_COLUMNS if c in frame.columns]
        _write_csv(path, frame.drop(columns=timing))
        keys = [c for c in TIMING_KEYS if c in frame.columns]
        _write_csv(timings, frame[keys + timing])
        print(path)
        print(timings)
    else:
        from ..report.tables import summary_table

        columns = ["function", "point", "dtype", "method", "best_err", "best_h", "not_ok"]
        levels = sorted(set(frame["noise"]))
        for level in levels:
            if len(levels) > 1:
                print(f"noise {level:g}:" if level else "exact function:")
            table = summary_table(frame[frame["noise"] == level])[columns]
            with pd.option_context("display.max_rows", None, "display.width", 200):
                print(table.to_string(index=False, float_format=lambda v: f"{v:.1e}"))
    print(_summary_line(functions, frame, time.perf_counter() - start))
    return 0
