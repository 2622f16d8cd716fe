"""``diffkit study random``: differentiate many random expressions, streamed to disk in chunks."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from ..sweep import COLUMNS
from .arguments import UsageError, execution

__all__ = ["study_random_command"]


def study_random_command(args: argparse.Namespace) -> int:
    """Run (or resume) the study in ``--out``, print its summary, optionally its report."""
    from ..studies.random import StudyMismatchError, run_study, summarize

    if args.count < 0 or args.chunk < 1:
        raise UsageError("--count must be >= 0 and --chunk >= 1")
    lo, hi = args.depth
    if not 0 <= lo <= hi:
        raise UsageError(f"--depth takes LO <= HI, both >= 0; got {lo} {hi}")
    out = Path(args.out or f"reports/study-random-{args.seed}")
    start = time.perf_counter()
    try:
        run_study(
            out,
            args.count,
            args.seed,
            chunk=args.chunk,
            depth=(lo, hi),
            variables=tuple(args.variables),
            **execution(args),
        )
    except (StudyMismatchError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(summarize(out).to_string(index=False))
    if args.report:
        from ..report import write_report
        from ..report.random_section import study_section

        write_report(
            pd.DataFrame(columns=COLUMNS),
            [],
            out / "report",
            title=f"diffkit study: {args.count} random expressions, seed {args.seed}",
            metadata={"args": args.argv, "seed": args.seed},
            sections=[study_section(out)],
        )
        print(out / "report" / "index.html")
    print(f"{args.count} random functions in {out}, {time.perf_counter() - start:.1f} s")
    return 0
