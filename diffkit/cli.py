"""The ``diffkit`` command: ``report``, ``sweep``, ``study``, ``check`` and ``list``.

``main(argv)`` returns the exit status instead of exiting, so tests and other
programs can call it. Exit statuses (also in the README):

- 0: done. Rows whose status is not ok (a function that raised, timed out, ...) are
  results, listed in the report, not failures of the command;
- 1: ``report`` wrote the report but a section could not be built (named on stderr
  and in the report); ``check``: the gradient does not match;
- 2: usage error (an unknown function or backend, an expression the safe parser
  rejects, a study manifest that is not one, an output path that cannot be written
  or a folder holding other files, the last two found before any sweeping), one line
  on stderr, no traceback;
- 3: ``check``: the user's function or gradient raised an exception (named on one
  line on stderr, with where it was raised; no traceback);
- 130: interrupted (Ctrl-C); a report being written is not left half-written.

This module builds the parser and dispatches; each command's handler lives in
``diffkit.commands``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from . import interrupts
from .commands import (
    check_command,
    list_command,
    report_command,
    study_random_command,
    sweep_command,
)

# DEFAULT_BACKENDS and UsageError stay importable from here, as before the commands moved.
from .commands.arguments import DEFAULT_BACKENDS as DEFAULT_BACKENDS
from .commands.arguments import UsageError as UsageError
from .executors import EXECUTORS
from .ground_truth import TRUTH_MEMORY_LIMIT, TRUTH_TIME_LIMIT

__all__ = ["main"]

DEFAULT_TIME_LIMIT = 120.0


# ---------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """argparse's own usage errors in one line too, as the README promises (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"diffkit: error: {message} (see `{self.prog} --help`)\n")


def _add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--functions",
        metavar="A,B,...",
        help="catalog functions (default: all; see `diffkit list`); a name given twice "
        "is swept once, in the place it first appears",
    )
    parser.add_argument(
        "--expr", metavar="TEXT", help='an expression such as "exp(x)/sqrt(x)" (safe parser)'
    )
    parser.add_argument(
        "--at",
        metavar="X[,X...]",
        help="points for --expr (finite numbers); several variables take numbers in groups",
    )
    parser.add_argument(
        "--dtype",
        default="float64",
        metavar="D[,D...]",
        help="float dtypes (default float64; a report's precision study adds float32 on a "
        "few functions unless --studies none or --dtype names two)",
    )
    parser.add_argument(
        "--backends",
        metavar="NAME,...",
        help="backends run once per point with their own step (default "
        + ", ".join(DEFAULT_BACKENDS)
        + " and installed plugins; '' for none)",
    )
    parser.add_argument(
        "--steps",
        type=int,
        metavar="N",
        help="steps in the grid, log-spaced from 1e-16 to 1 (default 65: 4 per decade)",
    )
    parser.add_argument(
        "--noise",
        metavar="L[,L...]",
        help="levels of additive noise (std relative to |f|) swept beside the exact function",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the noise, an integer >= 0 (default 0)"
    )
    parser.add_argument(
        "--truth-time-limit",
        type=float,
        default=TRUTH_TIME_LIMIT,
        metavar="SECONDS",
        help="time one point's exact derivative may take (tracing, SymPy, mpmath); past "
        f"it the point's rows say so (default {TRUTH_TIME_LIMIT:g})",
    )
    parser.add_argument(
        "--truth-memory-limit",
        default=f"{TRUTH_MEMORY_LIMIT // 2**30}G",
        metavar="SIZE",
        help="memory one point's exact derivative may take, e.g. 500M, 4G; past it the "
        f"point's rows say so (default {TRUTH_MEMORY_LIMIT // 2**30}G)",
    )
    _add_execution(parser)


def _add_execution(parser: argparse.ArgumentParser) -> None:
    """Where and how tasks run: shared by sweep, report and study."""
    parser.add_argument(
        "--jobs",
        type=int,
        default=0,
        metavar="N",
        help="worker processes (default 0: one per CPU this process may use; 1: no workers)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=DEFAULT_TIME_LIMIT,
        metavar="SECONDS",
        help=f"time limit per task; a task past it becomes rows with status timeout "
        f"(default {DEFAULT_TIME_LIMIT:g})",
    )
    parser.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="memory each worker process may add, e.g. 2G (default: no limit; with "
        "--jobs 1 there are no workers to limit)",
    )
    parser.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="processes",
        help="where tasks run: worker processes on this machine (default) or a Dask cluster "
        "(needs the dask extra)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --executor dask: a running Dask scheduler, e.g. tcp://10.0.0.5:8786 "
        "(default: a local cluster of --jobs workers for this run)",
    )
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="show a progress bar (default: only on a terminal)",
    )
    progress.add_argument(
        "--no-progress", dest="progress", action="store_false", help="never show a progress bar"
    )


def _version() -> str:
    from . import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``diffkit`` command."""
    parser = _Parser(
        prog="diffkit",
        description="Compare finite differences, symbolic and reverse-mode differentiation.",
    )
    parser.add_argument("--version", action="version", version=f"diffkit {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    report = commands.add_parser(
        "report", help="sweep functions and write an HTML/Markdown report", description=(
            "Sweep finite-difference rules over steps for catalog functions (or --expr) and "
            "write index.html, report.md, charts and CSVs into OUT/NAME."
        )
    )  # fmt: skip
    _add_selection(report)
    report.add_argument(
        "--out", default="reports", metavar="DIR", help="output folder (default reports)"
    )
    report.add_argument(
        "--name", metavar="NAME", help='report name (default "catalog", "custom" with --expr)'
    )
    report.add_argument(
        "--studies",
        choices=("auto", "all", "none"),
        default="auto",
        help="auto (default): precision and noise studies on a few of the chosen functions, "
        "and for the catalog report also gradient cost, expression swell and the seeds; "
        "all: every study; none: only what the options ask for",
    )
    report.set_defaults(handler=report_command)

    sweep_cmd = commands.add_parser(
        "sweep", help="sweep functions and write the tidy CSV", description=(
            "Sweep finite-difference rules over steps and write the tidy frame as CSV, or print "
            "the best error per method without --csv."
        )
    )  # fmt: skip
    _add_selection(sweep_cmd)
    sweep_cmd.add_argument(
        "--csv",
        metavar="PATH",
        help="write the tidy frame here, without its timings (so two runs of the same sweep "
        "write the same bytes); the timings go beside it to STEM.timings.csv",
    )
    sweep_cmd.set_defaults(handler=sweep_command)

    study = commands.add_parser(
        "study",
        help="studies larger than the catalog (random expressions)",
        description="Studies larger than the catalog; results stream to disk in chunks.",
    )
    kinds = study.add_subparsers(dest="study", metavar="KIND", required=True)
    random_study = kinds.add_parser(
        "random",
        help="differentiate N random expressions with every backend",
        description=(
            "Generate --count random expressions from the primitive table (seeded), sweep "
            "each with every backend, and write the per-function summary to --out in "
            "chunks. Run the same command again to resume an interrupted study."
        ),
    )
    random_study.add_argument(
        "--count",
        type=int,
        required=True,
        metavar="N",
        help="how many expressions (functions 0..N-1 of --seed; a larger N resumes and adds)",
    )
    random_study.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the expressions, an integer >= 0 (default 0): function i of a seed is "
        "the same expression on every machine",
    )
    random_study.add_argument(
        "--out", metavar="DIR", help="study folder (default reports/study-random-SEED)"
    )
    random_study.add_argument(
        "--chunk",
        type=int,
        default=200,
        metavar="N",
        help="functions per chunk file (default 200): an interrupted study resumes at the "
        "first incomplete chunk",
    )
    random_study.add_argument(
        "--depth",
        type=int,
        nargs=2,
        default=(1, 4),
        metavar=("LO", "HI"),
        help="range of expression-tree depths, drawn per function (default 1 4); deep trees "
        "are slow to draw, and each is drawn under --time-limit",
    )
    random_study.add_argument(
        "--variables",
        type=int,
        nargs="+",
        default=[1],
        metavar="K",
        help="numbers of variables to draw from, per function (default 1; e.g. 1 2 3)",
    )
    random_study.add_argument(
        "--report", action="store_true", help="also write the study's report into the folder"
    )
    _add_execution(random_study)
    random_study.set_defaults(handler=study_random_command)

    check = commands.add_parser(
        "check",
        help="check a gradient against the reference",
        description=(
            "Check --grad (or, without it, diffkit's own reverse mode) against the symbolic "
            "or Richardson reference at --at. Exit 0 on pass, 1 on mismatch, 2 on usage "
            "errors, 3 when your function or gradient raises (one line names the exception). "
            "MODULE is imported with the current folder on sys.path, which is taken off "
            "again once it is imported, so that files there cannot stand in for diffkit's "
            "own optional dependencies; imports your own code makes later, inside your "
            "functions, still find the modules of the current folder first."
        ),
    )
    check.add_argument("function", metavar="MODULE:FUNC", help="the scalar function f(x)")
    check.add_argument("--grad", metavar="MODULE:FUNC", help="your gradient x -> g")
    check.add_argument("--at", metavar="X,Y,...", help="the point (comma-separated finite numbers)")
    check.add_argument("--rtol", type=float, help="relative tolerance (default: from the dtype)")
    check.add_argument(
        "--mode", default="auto", choices=("auto", "components", "directions"), help="check mode"
    )
    check.set_defaults(handler=check_command)

    list_cmd = commands.add_parser(
        "list",
        help="list catalog functions and backends",
        description="List catalog functions and backends.",
    )
    list_cmd.set_defaults(handler=list_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # --help, or argparse's own usage errors
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 2
    args.argv = arguments
    try:
        with interrupts.handling():
            return int(args.handler(args))
    except UsageError as exc:
        print(f"diffkit: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        if type(exc).__name__ != "SchedulerUnreachable":  # executors_dask, loaded on demand
            raise
        print(f"diffkit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("diffkit: interrupted; nothing half-written was left behind", file=sys.stderr)
        return 130
