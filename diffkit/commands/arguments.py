"""Parsed command-line options turned into what the library takes, with ``UsageError`` when they can't be.

A usage error is one line on stderr and exit status 2 (``diffkit.cli.main``):
an unknown function or backend, an expression the safe parser rejects, a number
out of range, an output path nothing can be written to.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .. import catalog
from ..backends import available
from ..backends.registry import plugin_names, unknown_backend
from ..executors import default_jobs
from ..function import Function, Point
from ..parse import ParseError

__all__ = [
    "DEFAULT_BACKENDS",
    "UsageError",
    "backend_names",
    "check_report_folder",
    "check_writable_file",
    "check_writable_folder",
    "dtype_names",
    "execution",
    "finite_numbers",
    "noise_levels",
    "one_line",
    "seed",
    "selected_functions",
    "split",
]

DEFAULT_BACKENDS = ("fd-richardson", "fd-contour", "reverse", "symbolic")


class UsageError(Exception):
    """A command line that names something that does not exist or cannot be parsed."""


def split(text: str | None, option: str = "", *, empty: str = "") -> list[str]:
    """The items of a comma-separated option, stripped.

    With ``option``, an empty item (``float64,,float32``) is refused, and so is an empty
    list unless ``empty`` says what it means (``--backends ''``: none); without, empty
    items are dropped.
    """
    items = [item.strip() for item in (text or "").split(",")]
    if not option:
        return [item for item in items if item]
    if items == [""]:
        if empty:
            return []
        raise UsageError(f"{option} needs at least one item; leave it out for the default")
    if not all(items):
        raise UsageError(f"{option} has an empty item in {text!r}; separate items by commas")
    return items


def finite_numbers(text: str, option: str = "--at", *, separators: str = ",") -> list[float]:
    """Comma-separated finite numbers: an empty item (``1,,2``), NaN or inf is refused."""
    joined = text
    for separator in separators[1:]:
        joined = joined.replace(separator, separators[0])
    items = [item.strip() for item in joined.split(separators[0])]
    if items == [""]:
        raise UsageError(f"{option} needs at least one number")
    values = []
    for item in items:
        if not item:
            raise UsageError(
                f"{option} has an empty item in {text!r}; separate the numbers by single commas"
            )
        try:
            value = float(item)
        except ValueError:
            raise UsageError(f"{option} takes comma-separated numbers, got {text!r}") from None
        if not math.isfinite(value):
            raise UsageError(f"{option} takes finite numbers, got {item!r} in {text!r}")
        values.append(value)
    return values


def _points(text: str, nvars: int) -> list[Point]:
    """``--at``: comma-separated numbers; several variables take them in groups (``;`` optional)."""
    values = finite_numbers(text, "--at", separators=",;")
    if nvars == 1:
        return list(values)
    if len(values) % nvars:
        raise UsageError(
            f"the expression has {nvars} variables, so --at needs a multiple of {nvars} numbers "
            f"(one group per point), got {len(values)}"
        )
    return [tuple(values[i : i + nvars]) for i in range(0, len(values), nvars)]


def _function_names(text: str | None) -> list[str]:
    """``--functions``: catalog names in the order given, a name given twice kept once."""
    if text is None:
        return []
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        raise UsageError(
            "--functions needs at least one name (see `diffkit list`); "
            "leave it out for the whole catalog"
        )
    if not all(items):
        raise UsageError(f"--functions has an empty item in {text!r}; separate names by commas")
    return list(dict.fromkeys(items))


def seed(value: int, option: str = "--seed") -> int:
    """A seed for NumPy's ``SeedSequence``, which takes integers >= 0 only."""
    if value < 0:
        raise UsageError(
            f"{option} takes an integer >= 0 (NumPy's SeedSequence refuses negative seeds), "
            f"got {value}"
        )
    return value


def selected_functions(args: argparse.Namespace) -> list[Function]:
    """The catalog functions of ``--functions`` (all by default) and the ``--expr`` function."""
    chosen: list[Function] = []
    names = _function_names(args.functions)
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
    """``--dtype``: real float dtypes (float64 when the option is left out)."""
    names = split(text, "--dtype")
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
    if text is None:
        names = [*DEFAULT_BACKENDS, *plugin_names()]
    else:
        names = split(text, "--backends", empty="none")
    known = available()
    for name in names:
        if name not in known:
            raise UsageError(unknown_backend(name, known))
    return names


def noise_levels(text: str | None) -> list[float]:
    """``--noise``: the exact function (level 0) always, then each level asked for."""
    levels = [0.0]
    for item in split(text, "--noise") if text is not None else []:
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
    options: dict[str, Any] = {
        "jobs": args.jobs or default_jobs(),
        "time_limit": args.time_limit,
        "memory_limit": size_in_bytes(args.memory_limit, "--memory-limit"),
        "progress": args.progress,
        "executor": args.executor,
        "scheduler": args.scheduler,
    }
    if hasattr(args, "truth_time_limit"):  # sweep and report; a study's sweeps use defaults
        if not (np.isfinite(args.truth_time_limit) and args.truth_time_limit > 0):
            raise UsageError(
                f"--truth-time-limit takes a positive number of seconds, got {args.truth_time_limit}"
            )
        options["truth_time_limit"] = args.truth_time_limit
        options["truth_memory_limit"] = size_in_bytes(
            args.truth_memory_limit, "--truth-memory-limit"
        )
    return options


_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def size_in_bytes(text: str | None, option: str) -> int | None:
    """``500M``, ``4G``, ``1.5G`` or a number of bytes, as bytes (None stays None)."""
    if text is None:
        return None
    cleaned = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = cleaned[-1:] if cleaned[-1:] in _UNITS else ""
    try:
        value = float(cleaned[: len(cleaned) - len(unit)])
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{option} takes a size such as 500M or 4G, got {text!r}")
    return int(value * _UNITS[unit])


def _why_not_writable(folder: Path) -> str | None:
    """Why nothing can be created inside ``folder`` (which need not exist yet), or None.

    Walks up to the nearest ancestor that exists: it must be a folder (not a file, not
    a broken symbolic link) in which a file can actually be created; creating one and
    removing it at once is the only test that holds for root and read-only mounts alike.
    """
    ancestor = folder
    while not os.path.lexists(ancestor):
        if ancestor.parent == ancestor:
            break
        ancestor = ancestor.parent
    if ancestor.is_symlink() and not ancestor.exists():
        return f"{ancestor} is a broken symbolic link"
    if ancestor.exists() and not ancestor.is_dir():
        return f"{ancestor} is a file, not a folder"
    try:
        fd, probe = tempfile.mkstemp(prefix=".diffkit-probe-", dir=ancestor)
    except OSError as exc:
        return f"cannot create files in {ancestor} ({exc.strerror or exc})"
    os.close(fd)
    os.unlink(probe)
    return None


def check_writable_folder(path: str | Path, option: str) -> Path:
    """Refuse, before any work, a folder that cannot be created or written into."""
    folder = Path(path)
    if folder.is_symlink() and not folder.exists():
        raise UsageError(f"{option} {folder}: a broken symbolic link; choose another folder")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{option} {folder}: exists and is not a folder; choose another folder")
    why = _why_not_writable(folder if folder.exists() else folder.parent)
    if why is not None:
        raise UsageError(f"{option} {folder}: cannot write there: {why}")
    return folder


def check_writable_file(path: str | Path, option: str) -> Path:
    """Refuse, before any work, a file path that cannot be written (a folder, a file's child, ...)."""
    target = Path(path)
    if target.is_symlink() and not target.exists():
        raise UsageError(f"{option} {target}: a broken symbolic link; choose another path")
    if target.is_dir():
        raise UsageError(f"{option} {target}: is a folder; give the path of a file")
    if target.exists():
        try:
            os.close(os.open(target, os.O_WRONLY | os.O_APPEND))  # writable, left unchanged
        except OSError as exc:
            raise UsageError(
                f"{option} {target}: cannot write it ({exc.strerror or exc})"
            ) from None
        return target
    why = _why_not_writable(target.parent)
    if why is not None:
        raise UsageError(f"{option} {target}: cannot write there: {why}")
    return target


def check_report_folder(final: Path) -> None:
    """Refuse, before any sweeping, a report folder that ``write_report`` would refuse.

    ``check_output_folder`` (the writer's own test: a file or a dangling link there, a
    parent that is a file or cannot be written, a folder holding other files) raises
    ``OutputFolderError``, an OSError; any other OSError on the way is refused alike.
    """
    from ..report.writer import OutputFolderError, check_output_folder

    try:
        check_output_folder(final)
    except (OutputFolderError, OSError) as exc:
        raise UsageError(one_line(exc)) from None


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (an OSError's without its ``[Errno n]``)."""
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())
