"""Parsed command-line options turned into what the library takes, with ``UsageError`` when they can't be.

A usage error is one line on stderr and exit status 2 (``diffkit.cli.main``):
an unknown function or backend, an expression the safe parser rejects, a number
out of range.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from .. import catalog
from ..backends import available
from ..backends.registry import plugin_names
from ..executors import default_jobs
from ..function import Function, Point
from ..parse import ParseError

__all__ = [
    "DEFAULT_BACKENDS",
    "UsageError",
    "backend_names",
    "dtype_names",
    "execution",
    "noise_levels",
    "selected_functions",
    "split",
]

DEFAULT_BACKENDS = ("fd-richardson", "fd-contour", "reverse", "symbolic")


class UsageError(Exception):
    """A command line that names something that does not exist or cannot be parsed."""


def split(text: str | None) -> list[str]:
    """The items of a comma-separated option, stripped, empty ones dropped."""
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


def selected_functions(args: argparse.Namespace) -> list[Function]:
    """The catalog functions of ``--functions`` (all by default) and the ``--expr`` function."""
    chosen: list[Function] = []
    names = split(args.functions)
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


def dtype_names(text: str) -> list[str]:
    """``--dtype``: real float dtypes (float64 when none is named)."""
    names = split(text)
    for name in names:
        try:
            ok = np.issubdtype(np.dtype(name), np.floating)
        except TypeError:
            ok = False
        if not ok:
            raise UsageError(
                f"--dtype takes real float types such as float64,float32; got {name!r}"
            )
    return names or ["float64"]


def backend_names(text: str | None) -> list[str]:
    """``--backends``: by default every method diffkit has, and installed peers (torch, jax)."""
    names = [*DEFAULT_BACKENDS, *plugin_names()] if text is None else split(text)
    known = available()
    for name in names:
        if name not in known:
            raise UsageError(f"no backend named {name!r}; available: {', '.join(known)}")
    return names


def noise_levels(text: str | None) -> list[float]:
    """``--noise``: the exact function (level 0) always, then each level asked for."""
    levels = [0.0]
    for item in split(text):
        try:
            level = float(item)
        except ValueError:
            level = float("nan")
        if not (np.isfinite(level) and level >= 0):
            raise UsageError(f"--noise takes levels >= 0 such as 1e-8,1e-4; got {item!r}")
        if level not in levels:
            levels.append(level)
    return levels


def execution(args: argparse.Namespace) -> dict[str, Any]:
    """How the sweep runs: executor, workers, time limit per task, progress bar."""
    if args.jobs < 0:
        raise UsageError(f"--jobs takes a number >= 0 (0: one per CPU), got {args.jobs}")
    if not (np.isfinite(args.time_limit) and args.time_limit > 0):
        raise UsageError(f"--time-limit takes a positive number of seconds, got {args.time_limit}")
    if args.scheduler is not None and args.executor != "dask":
        raise UsageError("--scheduler is the address of a Dask scheduler: add --executor dask")
    if args.executor == "dask":
        from ..executors_dask import DaskUnavailable, require_distributed

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
