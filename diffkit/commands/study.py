"""``diffkit study random``: differentiate many random expressions, streamed to disk in chunks."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from ..sweep import COLUMNS
from .arguments import (
    UsageError,
    check_report_folder,
    check_writable_folder,
    execution,
    one_line,
    seed,
)

__all__ = ["study_random_command"]


def _kind(value: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if isinstance(value, bool):
        return "a boolean"
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _check_manifest(out: Path, name: str) -> None:
    """Refuse, with one line naming the file, a study manifest the study cannot resume from.

    It must be UTF-8 JSON (a syntax error is given with its line and column) holding an
    object with a ``parameters`` object and a ``chunks`` object whose entries are objects
    naming a chunk file in the folder and its ``sha256``; a folder without a manifest is
    a new study. (Parameters that differ from the command line's are refused by
    ``run_study`` itself.)
    """
    path = out / name
    if not (path.exists() or path.is_symlink()):
        return
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a study manifest: it is not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"cannot read the study manifest {path}: {exc.strerror or exc}") from None
    try:
        manifest = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from None
    if not isinstance(manifest, dict):
        raise UsageError(
            f"{path} is not a study manifest: it holds {_kind(manifest)}, not an object"
        )
    for key in ("parameters", "chunks"):
        if key not in manifest:
            raise UsageError(f"{path} is not a study manifest: it has no {key!r}")
        if not isinstance(manifest[key], dict):
            raise UsageError(
                f"{path} is not a study manifest: its {key!r} is {_kind(manifest[key])}, "
                "not an object"
            )
    for index, entry in manifest["chunks"].items():
        file = entry.get("file") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(file, str) or Path(file).name != file or file in ("", ".", ".."):
            raise UsageError(
                f"{path} is not a study manifest: chunk {index!r} does not name a file "
                "in the study folder"
            )
        if not isinstance(digest, str):
            raise UsageError(f"{path} is not a study manifest: chunk {index!r} has no 'sha256'")


def study_random_command(args: argparse.Namespace) -> int:
    """Run (or resume) the study in ``--out``, print its summary, optionally its report."""
    from ..studies.random import MANIFEST, StudyMismatchError, run_study, summarize

    if args.count < 0 or args.chunk < 1:
        raise UsageError("--count must be >= 0 and --chunk >= 1")
    lo, hi = args.depth
    if not 0 <= lo <= hi:
        raise UsageError(f"--depth takes LO <= HI, both >= 0; got {lo} {hi}")
    seed(args.seed)
    out = check_writable_folder(args.out or f"reports/study-random-{args.seed}", "--out")
    _check_manifest(out, MANIFEST)
    if args.report:  # the report's folder too is refused before the study runs
        check_report_folder(out / "report")
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

        try:
            write_report(
                pd.DataFrame(columns=COLUMNS),
                [],
                out / "report",
                title=f"diffkit study: {args.count} random expressions, seed {args.seed}",
                metadata={"args": args.argv, "seed": args.seed},
                sections=[study_section(out)],
            )
        except OSError as exc:  # OutputFolderError included: the folder changed meanwhile
            raise UsageError(
                f"cannot write the report into {out / 'report'}: {one_line(exc)}"
            ) from None
        print(out / "report" / "index.html")
    print(f"{args.count} random functions in {out}, {time.perf_counter() - start:.1f} s")
    return 0
