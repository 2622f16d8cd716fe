"""The ``diffkit`` command: ``report``, ``sweep``, ``study``, ``check`` and ``list``.

``main(argv)`` returns the exit status instead of exiting, so tests and other
programs can call it. Exit statuses (also in the README):

- 0: done. Rows whose status is not ok (a function that raised, timed out, ...) are
  results, listed in the report, not failures of the command;
- 1: ``report`` wrote the report but a section could not be built (named on stderr
  and in the report); ``check``: the gradient does not match;
- 2: usage error (an unknown function or backend, an expression the safe parser
  rejects, an output folder holding other files), one line on stderr, no traceback;
- 130: interrupted (Ctrl-C); a report being written is not left half-written.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import catalog
from .backends import available
from .backends.registry import plugin_names
from .executors import EXECUTORS, default_jobs
from .function import Function, Point
from .parse import ParseError
from .sweep import COLUMNS, DEFAULT_STEPS, run, tasks

__all__ = ["main"]

DEFAULT_BACKENDS = ("fd-richardson", "reverse", "symbolic")
DEFAULT_TIME_LIMIT = 120.0
# The report's precision and noise studies, when --dtype and --noise do not ask for them:
# functions chosen for clear V-curves (cancellation, saturation, a pole) and levels that
# move the optimal step by decades.
PRECISION_FUNCTIONS = ("squire_trapp", "exp", "tanh", "log")
NOISE_FUNCTIONS = ("exp", "sigmoid")
STUDY_NOISE = (1e-10, 1e-6)


class UsageError(Exception):
    """A command line that names something that does not exist or cannot be parsed."""


# ---------------------------------------------------------------------- arguments


def _split(text: str | None) -> list[str]:
    return [item.strip() for item in (text or "").split(",") if item.strip()]


def _points(text: str, nvars: int) -> list[Point]:
    """``--at``: comma-separated numbers; several variables take them in groups (``;`` optional)."""
    try:
        values = [float(v) for v in text.replace(";", ",").split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"--at takes comma-separated numbers, got {text!r}") from None
    if not values:
        raise UsageError("--at needs at least one number")
    if nvars == 1:
        return list(values)
    if len(values) % nvars:
        raise UsageError(
            f"the expression has {nvars} variables, so --at needs a multiple of {nvars} numbers "
            f"(one group per point), got {len(values)}"
        )
    return [tuple(values[i : i + nvars]) for i in range(0, len(values), nvars)]


def _functions(args: argparse.Namespace) -> list[Function]:
    """The catalog functions of ``--functions`` (all by default) and the ``--expr`` function."""
    chosen: list[Function] = []
    names = _split(args.functions)
    if args.at is not None and args.expr is None:
        raise UsageError("--at gives the points of --expr; pass --expr too")
    for name in names:
        try:
            chosen.append(catalog.get(name))
        except catalog.UnknownFunctionError as exc:
            raise UsageError(str(exc)) from None
    if args.expr is not None:
        if args.at is None:
            raise UsageError("--expr needs --at with the point(s) to differentiate at")
        try:
            f = Function.from_string(args.expr, name=args.expr)
        except ParseError as exc:
            raise UsageError(f"cannot parse --expr {args.expr!r}: {exc}") from None
        except (ValueError, TypeError) as exc:
            raise UsageError(f"cannot use --expr {args.expr!r}: {exc}") from None
        chosen.append(
            Function.from_string(args.expr, name=args.expr, points=_points(args.at, f.ndim))
        )
    elif not names:
        chosen = [catalog.get(name) for name in catalog.names()]
    return chosen


def _dtypes(text: str) -> list[str]:
    dtypes = _split(text)
    for name in dtypes:
        try:
            ok = np.issubdtype(np.dtype(name), np.floating)
        except TypeError:
            ok = False
        if not ok:
            raise UsageError(
                f"--dtype takes real float types such as float64,float32; got {name!r}"
            )
    return dtypes or ["float64"]


def _backends(text: str | None) -> list[str]:
    # By default every method diffkit has, and installed peers (torch, jax) beside them.
    names = [*DEFAULT_BACKENDS, *plugin_names()] if text is None else _split(text)
    known = available()
    for name in names:
        if name not in known:
            raise UsageError(f"no backend named {name!r}; available: {', '.join(known)}")
    return names


def _run(args: argparse.Namespace, *, extras: bool = False) -> tuple[list[Function], pd.DataFrame]:
    """Sweep the chosen functions over the step grid, with the chosen backends and dtypes.

    ``extras`` adds the report's precision and noise studies where the command line
    did not ask for them itself: a second dtype and noise levels on a few of the
    chosen functions (``_study_functions``), so that those sections have data.
    """
    functions = _functions(args)
    dtypes, backends = _dtypes(args.dtype), _backends(args.backends)
    if args.steps is not None and args.steps < 2:
        raise UsageError(f"--steps must be at least 2, got {args.steps}")
    steps: Sequence[float] = DEFAULT_STEPS
    if args.steps is not None:
        steps = tuple(float(h) for h in np.logspace(-16, 0, args.steps))
    noise = _noise(args.noise)
    common = {"steps": steps, "seed": args.seed}
    grid = tasks(functions, backends=backends, dtypes=dtypes, noise=noise, **common)
    if extras and len(dtypes) == 1:
        other = "float32" if dtypes[0] != "float32" else "float64"
        chosen = _study_functions(functions, PRECISION_FUNCTIONS, 4)
        grid += tasks(chosen, backends=backends, dtypes=[other], **common)
    if extras and len(noise) == 1:
        chosen = _study_functions(functions, NOISE_FUNCTIONS, 2)
        fd_backends = [b for b in backends if b.startswith("fd")]
        grid += tasks(chosen, backends=fd_backends, dtypes=dtypes[:1], noise=STUDY_NOISE, **common)
    return functions, run(grid, **_execution(args))


def _study_functions(
    functions: Sequence[Function], preferred: Sequence[str], count: int
) -> list[Function]:
    """The preferred catalog functions among those chosen, else the first univariate ones."""
    by_name = {f.name: f for f in functions}
    picked = [by_name[name] for name in preferred if name in by_name]
    return picked or [f for f in functions if f.ndim == 1][:count]


def _noise(text: str | None) -> list[float]:
    """``--noise``: the exact function (level 0) always, then each level asked for."""
    levels = [0.0]
    for item in _split(text):
        try:
            level = float(item)
        except ValueError:
            level = float("nan")
        if not (np.isfinite(level) and level >= 0):
            raise UsageError(f"--noise takes levels >= 0 such as 1e-8,1e-4; got {item!r}")
        if level not in levels:
            levels.append(level)
    return levels


def _execution(args: argparse.Namespace) -> dict[str, Any]:
    """How the sweep runs: executor, workers, time limit per task, progress bar."""
    if args.jobs < 0:
        raise UsageError(f"--jobs takes a number >= 0 (0: one per CPU), got {args.jobs}")
    if not (np.isfinite(args.time_limit) and args.time_limit > 0):
        raise UsageError(f"--time-limit takes a positive number of seconds, got {args.time_limit}")
    if args.scheduler is not None and args.executor != "dask":
        raise UsageError("--scheduler is the address of a Dask scheduler: add --executor dask")
    if args.executor == "dask":
        from .executors_dask import DaskUnavailable, require_distributed

        try:
            require_distributed()
        except DaskUnavailable as exc:
            raise UsageError(f"--executor dask: {exc}") from None
    return {
        "jobs": args.jobs or default_jobs(),
        "time_limit": args.time_limit,
        "progress": args.progress,
        "executor": args.executor,
        "scheduler": args.scheduler,
    }


def _summary_line(functions: Sequence[Function], frame: pd.DataFrame, seconds: float) -> str:
    points = len(frame[["function", "point"]].drop_duplicates())
    bad = int((frame["status"] != "ok").sum())
    return (
        f"{len(functions)} functions, {points} points, {len(frame)} rows, "
        f"{bad} rows not ok, {seconds:.1f} s"
    )


# ---------------------------------------------------------------------- commands


def _cmd_report(args: argparse.Namespace) -> int:
    # matplotlib only when a report is written
    from .report import write_report
    from .report.assemble import frame_sections, study_sections

    start = time.perf_counter()
    catalog_report = args.expr is None and not args.functions
    functions, frame = _run(args, extras=args.studies != "none")
    built = frame_sections(frame, {f.name: f for f in functions})
    sections, failures = list(built.sections), list(built.failures)
    if args.studies == "all" or (args.studies == "auto" and catalog_report):
        studies = study_sections()
        sections += studies.sections
        failures += studies.failures
    name = args.name or ("custom" if args.expr is not None and not args.functions else "catalog")
    out = Path(args.out) / name
    try:
        index = write_report(
            frame,
            functions,
            out,
            title=f"diffkit report: {name}",
            metadata={
                "args": args.argv,
                "steps": args.steps,
                "backends": _backends(args.backends),
                "seed": args.seed,
                "jobs": _execution(args)["jobs"],
            },
            sections=sections,
            jobs=_execution(args)["jobs"],
        )
    except FileExistsError as exc:
        raise UsageError(str(exc)) from None
    for title, message in failures:
        print(f"diffkit: section {title!r} could not be built: {message}", file=sys.stderr)
    print(index)
    print(_summary_line(functions, frame, time.perf_counter() - start))
    return 1 if failures else 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    functions, frame = _run(args)
    if args.csv is not None:
        path = Path(args.csv)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))
        print(path)
    else:
        from .report.tables import summary_table

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


def _cmd_study_random(args: argparse.Namespace) -> int:
    from .studies.random import StudyMismatchError, run_study, summarize

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
            **_execution(args),
        )
    except (StudyMismatchError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    with pd.option_context("display.max_rows", None, "display.width", 200):
        print(summarize(out).to_string(index=False))
    if args.report:
        from .report import write_report
        from .report.random_section import study_section

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


_TARGET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")


def _target(text: str, option: str) -> object:
    """``module:attr`` imported by name (like pytest or uvicorn); never evaluated as code."""
    if not _TARGET.match(text):
        raise UsageError(f"{option} takes module:function (e.g. mymodule:loss), got {text!r}")
    module_name, attr = text.split(":")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: modules next to the user
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"{option}: cannot import module {module_name!r}: {exc}") from None
    try:
        target = getattr(module, attr)
    except AttributeError:
        raise UsageError(f"{option}: module {module_name!r} has no attribute {attr!r}") from None
    if not callable(target):
        raise UsageError(f"{option}: {text} is not callable")
    return target


def _cmd_check(args: argparse.Namespace) -> int:
    from .verify import GradientMismatch, check_backward, check_gradient

    f = _target(args.function, "FUNCTION")
    grad = _target(args.grad, "--grad") if args.grad is not None else None
    if args.at is None:
        raise UsageError("check needs --at with the point, e.g. --at 0.1,0.2,0.3")
    try:
        point = np.array([float(v) for v in args.at.split(",") if v.strip()])
    except ValueError:
        raise UsageError(f"--at takes comma-separated numbers, got {args.at!r}") from None
    if point.size == 0:
        raise UsageError("--at needs at least one number")
    if args.rtol is not None and not (np.isfinite(args.rtol) and args.rtol >= 0):
        raise UsageError(f"--rtol must be a number >= 0, got {args.rtol}")
    options = {"rtol": args.rtol, "mode": args.mode}
    try:
        if grad is None:
            report = check_backward(f, point, **options)
        else:
            report = check_gradient(f, grad, point, **options)
    except GradientMismatch as exc:
        print(exc.report)
        return 1
    except (TypeError, ValueError) as exc:
        raise UsageError(f"cannot check {args.function}: {exc}") from None
    print(report)
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    rows = [
        (name, ", ".join(sorted(catalog.get(name).tags)), catalog.get(name).why)
        for name in catalog.names()
    ]
    name_width = max(len(name) for name, _, _ in rows)
    tag_width = max(len(tags) for _, tags, _ in rows)
    print("functions:")
    for name, tags, why in rows:
        print(f"  {name:<{name_width}}  {tags:<{tag_width}}  {why}")
    print("backends:")
    for name in available():
        print(f"  {name}")
    return 0


# ---------------------------------------------------------------------- parser


def _add_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--functions",
        metavar="A,B,...",
        help="catalog functions (default: all; see `diffkit list`)",
    )
    parser.add_argument(
        "--expr", metavar="TEXT", help='an expression such as "exp(x)/sqrt(x)" (safe parser)'
    )
    parser.add_argument(
        "--at",
        metavar="X[,X...]",
        help="points for --expr; several variables take numbers in groups",
    )
    parser.add_argument(
        "--dtype", default="float64", metavar="D[,D...]", help="float dtypes (default float64)"
    )
    parser.add_argument(
        "--backends",
        metavar="NAME,...",
        help="backends run once per point with their own step (default fd-richardson; '' for none)",
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
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise (default 0)")
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


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``diffkit`` command."""
    parser = argparse.ArgumentParser(
        prog="diffkit",
        description="Compare finite differences, symbolic and reverse-mode differentiation.",
    )
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
    report.set_defaults(handler=_cmd_report)

    sweep_cmd = commands.add_parser(
        "sweep", help="sweep functions and write the tidy CSV", description=(
            "Sweep finite-difference rules over steps and write the tidy frame as CSV, or print "
            "the best error per method without --csv."
        )
    )  # fmt: skip
    _add_selection(sweep_cmd)
    sweep_cmd.add_argument("--csv", metavar="PATH", help="write the tidy frame here")
    sweep_cmd.set_defaults(handler=_cmd_sweep)

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
    random_study.add_argument("--count", type=int, required=True, metavar="N")
    random_study.add_argument("--seed", type=int, default=0, help="seed of the expressions")
    random_study.add_argument(
        "--out", metavar="DIR", help="study folder (default reports/study-random-SEED)"
    )
    random_study.add_argument(
        "--chunk", type=int, default=200, metavar="N", help="functions per chunk file"
    )
    random_study.add_argument(
        "--depth", type=int, nargs=2, default=(1, 4), metavar=("LO", "HI"), help="tree depth"
    )
    random_study.add_argument(
        "--variables", type=int, nargs="+", default=[1], metavar="K", help="variable counts"
    )
    random_study.add_argument(
        "--report", action="store_true", help="also write the study's report into the folder"
    )
    _add_execution(random_study)
    random_study.set_defaults(handler=_cmd_study_random)

    check = commands.add_parser(
        "check",
        help="check a gradient against the reference",
        description=(
            "Check --grad (or, without it, diffkit's own reverse mode) against the symbolic "
            "or Richardson reference at --at. Exit 0 on pass, 1 on mismatch, 2 on usage errors."
        ),
    )
    check.add_argument("function", metavar="MODULE:FUNC", help="the scalar function f(x)")
    check.add_argument("--grad", metavar="MODULE:FUNC", help="your gradient x -> g")
    check.add_argument("--at", metavar="X,Y,...", help="the point (comma-separated)")
    check.add_argument("--rtol", type=float, help="relative tolerance (default: from the dtype)")
    check.add_argument(
        "--mode", default="auto", choices=("auto", "components", "directions"), help="check mode"
    )
    check.set_defaults(handler=_cmd_check)

    list_cmd = commands.add_parser(
        "list",
        help="list catalog functions and backends",
        description="List catalog functions and backends.",
    )
    list_cmd.set_defaults(handler=_cmd_list)
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
        return int(args.handler(args))
    except UsageError as exc:
        print(f"diffkit: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print("diffkit: interrupted; nothing half-written was left behind", file=sys.stderr)
        return 130
