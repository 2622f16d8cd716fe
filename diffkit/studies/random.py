"""Random-expression studies: thousands of generated functions, swept chunk by chunk to disk.

The catalog shows what each method does on functions someone chose; a study of
``count`` random trees (``diffkit.randexpr``) shows the distribution. The functions
are swept ``chunk`` at a time through the sweep's own tasks and executors; each
chunk's tidy frame (tens of thousands of rows per hundred functions) is reduced at
once to one summary row per (function, point, dtype, entry) and written as
``chunk-00000.csv``, then dropped, so memory stays flat whatever ``count`` is.

An entry is what ``diffkit.agreement`` calls one: ``fd-<rule>`` for a rule swept over
steps (summarized at its best step, the ``h`` of least error, as the catalog's
V-curves do) and the backend's name for a backend that picks its own step. Errors
are normwise over gradient components (the largest relative error); ``digits_ref``
are the significant digits shared with the reference entry (symbolic, else reverse).

Files are CSV, not Parquet: no extra dependency (pyarrow is not installed here), a
chunk is small, floats round-trip exactly (Python's shortest repr), and the bytes
are the same on every run, so two studies can be compared with ``cmp``. Timings go
to the manifest only, never into a chunk.

``manifest.json`` (replaced atomically, like every chunk) holds the study's
parameters and the chunks that are complete, each with the SHA-256 of its file: a
chunk counts only once both its file and its entry are written, so a run stopped
anywhere resumes at the first missing or damaged chunk. Resuming with different
parameters raises ``StudyMismatchError``; ``count`` may grow or shrink.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..agreement import agreement
from ..executors import run_tasks, shared_scheduler
from ..function import Function
from ..randexpr import random_function
from ..sweep import DEFAULT_STEPS, FD_METHODS, sweep

__all__ = [
    "DEFAULT_BACKENDS",
    "DEFAULT_METHODS",
    "MANIFEST",
    "SUMMARY_COLUMNS",
    "StudyMismatchError",
    "chunk_frames",
    "histograms",
    "read_manifest",
    "run_study",
    "summarize",
    "summarize_chunk",
]

DEFAULT_BACKENDS = ("fd", "fd-richardson", "complex-step", "reverse", "symbolic")
DEFAULT_METHODS = tuple(method.label for method in FD_METHODS)
MANIFEST = "manifest.json"
FORMAT = 1
REFERENCES = ("symbolic", "reverse")
"""Agreement is measured against the first of these present (exact methods, not FD)."""

SUMMARY_COLUMNS = [
    "function",
    "point",
    "dtype",
    "entry",
    "backend",
    "method",
    "components",
    "kink",
    "truth_finite",
    "status",
    "rel_err",
    "abs_err",
    "h",
    "error_estimate",
    "ok_steps",
    "nfev",
    "digits_ref",
    "digits_min",
    "excluded",
    "expr",
]

ERROR_BINS = np.arange(-17.0, 2.01, 0.5)
"""Bins of log10(relative error); an exact result (error 0) is counted in the first."""
DIGIT_BINS = np.arange(0.0, 18.01, 1.0)


class StudyMismatchError(ValueError):
    """The folder holds a study with other parameters (or files that are not a study)."""


# ---------------------------------------------------------------------- parameters


def _parameters(
    seed: int,
    chunk: int,
    backends: Sequence[str],
    methods: Sequence[str],
    steps: Sequence[float],
    dtypes: Sequence[str],
    depth: tuple[int, int],
    variables: Sequence[int],
    ops: Sequence[str] | None,
    points: int,
) -> dict[str, Any]:
    """What decides a chunk's bytes, as plain JSON values (so a reloaded manifest compares equal)."""
    known = {m.label for m in FD_METHODS}
    unknown = sorted(set(methods) - known)
    if unknown:
        raise ValueError(f"unknown methods {unknown}; known: {sorted(known)}")
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    return {
        "format": FORMAT,
        "seed": int(seed),
        "chunk": int(chunk),
        "backends": [str(b) for b in backends],
        "methods": [str(m) for m in methods],
        "steps": [float(h) for h in steps],
        "dtypes": [str(d) for d in dtypes],
        "depth": [int(depth[0]), int(depth[1])],
        "variables": [int(v) for v in variables],
        "ops": None if ops is None else sorted(str(o) for o in ops),
        "points": int(points),
    }


def read_manifest(out_dir: str | Path) -> dict[str, Any]:
    """The study's manifest: ``parameters``, ``count`` and ``chunks`` (index -> entry)."""
    path = Path(out_dir) / MANIFEST
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise FileNotFoundError(f"{out_dir} holds no study ({MANIFEST} is missing)") from None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    The temporary file is created with the usual mode (0666 less the umask), unlike
    ``tempfile.mkstemp``'s 0600, so the study's files are as readable as any other.
    """
    temp = path.with_name(f".{path.name}-{os.getpid()}-{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _write_manifest(out_dir: Path, manifest: Mapping[str, Any]) -> None:
    text = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    _write_atomic(out_dir / MANIFEST, text.encode("utf-8"))


def _open_study(out_dir: Path, parameters: dict[str, Any], count: int) -> dict[str, Any]:
    """The manifest to continue from: the folder's own, or a fresh one for a new study."""
    if (out_dir / MANIFEST).exists():
        manifest = read_manifest(out_dir)
        stored = manifest.get("parameters", {})
        if stored != parameters:
            changed = sorted(
                k for k in {*stored, *parameters} if stored.get(k) != parameters.get(k)
            )
            raise StudyMismatchError(
                f"{out_dir} holds a study with other parameters ({', '.join(changed)} differ); "
                "rerun with the same parameters to resume it, or choose a new folder"
            )
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        strangers = sorted(p.name for p in out_dir.iterdir() if not _is_study_file(p.name))
        if strangers:
            raise StudyMismatchError(
                f"{out_dir} is not empty and holds no study ({', '.join(strangers[:3])}, ...); "
                "choose a new folder"
            )
        manifest = {"parameters": parameters, "chunks": {}}
    manifest["count"] = int(count)
    _write_manifest(out_dir, manifest)
    return manifest


def _is_study_file(name: str) -> bool:
    return name == MANIFEST or name.startswith(("chunk-", ".chunk-", f".{MANIFEST}-"))


def _chunk_name(index: int) -> str:
    return f"chunk-{index:05d}.csv"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _is_complete(out_dir: Path, manifest: Mapping[str, Any], index: int, span: range) -> bool:
    """Whether chunk ``index`` is on disk whole, for exactly the functions in ``span``."""
    entry = manifest["chunks"].get(str(index))
    if entry is None or entry.get("functions") != [span.start, span.stop]:
        return False
    path = out_dir / entry["file"]
    return path.is_file() and _digest(path.read_bytes()) == entry["sha256"]


# ---------------------------------------------------------------------- the runner


def run_study(
    out_dir: str | Path,
    count: int,
    seed: int,
    *,
    chunk: int = 200,
    jobs: int = 1,
    backends: Sequence[str] = DEFAULT_BACKENDS,
    methods: Sequence[str] = DEFAULT_METHODS,
    steps: Sequence[float] = DEFAULT_STEPS,
    dtypes: Sequence[str] = ("float64",),
    depth: tuple[int, int] = (1, 4),
    variables: Sequence[int] = (1,),
    ops: Sequence[str] | None = None,
    points: int = 2,
    time_limit: float | None = None,
    memory_limit: int | None = None,
    progress: bool | None = False,
    executor: str = "processes",
    scheduler: str | None = None,
) -> Path:
    """Sweep ``count`` random functions of ``seed`` into ``out_dir``, one chunk file at a time.

    Complete chunks of an earlier run with the same parameters are kept, so an
    interrupted study resumes. ``jobs``, ``time_limit`` (seconds per task),
    ``memory_limit``, ``progress``, ``executor`` and ``scheduler`` go to
    ``executors.run_tasks`` and do not change the results (bar timeouts); with Dask
    and no address, one LocalCluster serves every chunk. Returns ``out_dir``.
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    out = Path(out_dir)
    parameters = _parameters(
        seed, chunk, backends, methods, steps, dtypes, depth, variables, ops, points
    )
    manifest = _open_study(out, parameters, count)
    execution: dict[str, Any] = dict(
        jobs=jobs,
        time_limit=time_limit,
        memory_limit=memory_limit,
        progress=progress,
        executor=executor,
    )
    with shared_scheduler(executor, scheduler, jobs) as address:
        _run_chunks(out, manifest, parameters, count, chunk, {**execution, "scheduler": address})
    return out


def _run_chunks(
    out: Path,
    manifest: dict[str, Any],
    parameters: Mapping[str, Any],
    count: int,
    chunk: int,
    execution: Mapping[str, Any],
) -> None:
    for index in range(math.ceil(count / chunk)):
        span = range(index * chunk, min(count, (index + 1) * chunk))
        if _is_complete(out, manifest, index, span):
            continue
        start = time.perf_counter()
        summary = _sweep_chunk(parameters, span, execution)
        data = summary.to_csv(index=False, lineterminator="\n").encode("utf-8")
        name = _chunk_name(index)
        _write_atomic(out / name, data)
        manifest["chunks"][str(index)] = {
            "file": name,
            "functions": [span.start, span.stop],
            "rows": len(summary),
            "sha256": _digest(data),
            "seconds": round(time.perf_counter() - start, 3),
            "jobs": execution["jobs"],
            "time_limit": execution["time_limit"],
        }
        _write_manifest(out, manifest)


def _sweep_chunk(
    parameters: Mapping[str, Any], span: range, execution: Mapping[str, Any]
) -> pd.DataFrame:
    """The summary of functions ``span``: generated, swept, reduced; the tidy rows are dropped.

    Drawing a deep tree and its good points is SymPy work that can take minutes, so
    each function is generated as a task under the same limits as the sweep; one
    that overruns is a summary row with entry "generation" and its status.
    """
    drawn = run_tasks(
        list(span),
        partial(_generate, parameters=dict(parameters)),
        _not_generated,
        label="expressions",
        **execution,
    )
    functions = [f for f in drawn if isinstance(f, Function)]
    stopped = [(i, why) for i, why in zip(span, drawn, strict=True) if isinstance(why, tuple)]
    by_label = {m.label: m for m in FD_METHODS}
    frame = sweep(
        functions,
        methods=[by_label[label] for label in parameters["methods"]],
        steps=parameters["steps"],
        backends=parameters["backends"],
        dtypes=parameters["dtypes"],
        seed=parameters["seed"],
        **execution,
    )
    expressions = {f.name: str(f.expr) for f in functions}
    summary = summarize_chunk(frame, expressions)
    if not stopped:
        return summary
    lost = pd.DataFrame(
        [
            {
                "function": f"rand-{parameters['seed']}-{index}",
                "point": "-",
                "dtype": "-",  # not NaN: summarize() groups by dtype and entry
                "entry": "generation",
                "status": status,
                "excluded": message,
            }
            for index, (status, message) in stopped
        ],
        columns=SUMMARY_COLUMNS,
    )
    return pd.concat([summary, lost], ignore_index=True)


def _generate(index: int, parameters: Mapping[str, Any]) -> Function:
    return random_function(
        parameters["seed"],
        index,
        depth=(parameters["depth"][0], parameters["depth"][1]),
        variables=parameters["variables"],
        ops=parameters["ops"],
        points=parameters["points"],
    )


def _not_generated(index: int, status: str, message: str) -> tuple[str, str]:
    return status, f"the expression was not generated: {message}"


# ---------------------------------------------------------------------- reduction

_KEYS = ["function", "point", "dtype", "entry"]


def _entries(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with ``entry`` (agreement's label), ``swept``, ``bad`` and a step error."""
    method = frame["method"].astype(str)
    swept = (frame["backend"] == "fd") & ~method.str.endswith("-auto")
    status = frame["status"].astype(str)
    rel = frame["rel_err"].to_numpy(dtype=float)
    truth = frame["truth"].to_numpy(dtype=float)
    return frame.assign(
        entry=np.where(swept, "fd-" + method, frame["backend"].astype(str)),
        swept=swept,
        bad=np.where(status == "ok", "", status),
        # a step that is not ok or has no finite error is never the best step
        step_err=np.where((status == "ok") & np.isfinite(rel), rel, np.inf),
        truth_finite=np.isfinite(truth),
    )


def _per_step(work: pd.DataFrame) -> pd.DataFrame:
    """One row per (function, point, dtype, entry, h): normwise over components."""
    grouped = work.groupby([*_KEYS, "h"], sort=True, dropna=False)
    return grouped.agg(
        backend=("backend", "first"),
        method=("method", "first"),
        components=("component", "size"),
        kink=("kink", "any"),
        truth_finite=("truth_finite", "all"),
        bad=("bad", "max"),
        rel_err=("rel_err", "max"),
        abs_err=("abs_err", "max"),
        step_err=("step_err", "max"),
        error_estimate=("error_estimate", "max"),
        nfev=("nfev", "first"),
    ).reset_index()


def _best_steps(steps: pd.DataFrame) -> pd.DataFrame:
    """Per entry, its step of least error (the first step when none is ok)."""
    best = steps.loc[steps.groupby(_KEYS, sort=True)["step_err"].idxmin()]
    ok_steps = steps.assign(ok=steps["bad"] == "").groupby(_KEYS, sort=True)["ok"].sum()
    return best.set_index(_KEYS).assign(ok_steps=ok_steps).reset_index()


def _agreement_columns(frame: pd.DataFrame, summary: pd.DataFrame) -> pd.DataFrame:
    """``digits_ref``, ``digits_min`` and ``excluded`` per entry, from ``diffkit.agreement``."""
    result = agreement(frame)
    pairs, excluded = result.pairs, result.excluded
    present = set(summary["entry"])
    reference = next((r for r in REFERENCES if r in present), None)
    both = pd.concat(
        [
            pairs.rename(columns={"a": "entry", "b": "other"}),
            pairs.rename(columns={"b": "entry", "a": "other"}),
        ],
        ignore_index=True,
    )
    keys = ["function", "point", "dtype", "entry"]
    least = both.groupby(keys, sort=True)["digits"].min().rename("digits_min")
    to_ref = both[both["other"] == reference].set_index(keys)["digits"].rename("digits_ref")
    reasons = excluded.set_index(keys)["reason"].rename("excluded")
    indexed = summary.set_index(keys)
    return (
        indexed.join(to_ref, how="left")
        .join(least, how="left")
        .join(reasons, how="left")
        .reset_index()
    )


def summarize_chunk(frame: pd.DataFrame, expressions: Mapping[str, str]) -> pd.DataFrame:
    """The sweep frame of a chunk as ``SUMMARY_COLUMNS``: one row per (function, point, dtype, entry).

    A swept rule is shown at its best step (least normwise relative error among ok
    steps) with ``ok_steps`` counting its ok steps; a backend at its one result.
    ``status`` is the worst status among the row's components ("ok" when all are).
    """
    work = _entries(frame)
    best = _best_steps(_per_step(work))
    best = best.assign(status=np.where(best["bad"] == "", "ok", best["bad"]))
    with_digits = _agreement_columns(frame, best)
    with_digits["expr"] = with_digits["function"].map(expressions)
    with_digits["excluded"] = with_digits["excluded"].fillna("")
    out = with_digits[SUMMARY_COLUMNS].sort_values(_KEYS, kind="mergesort")
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------- reading back

_DTYPES = {
    "function": str,
    "point": str,
    "dtype": str,
    "entry": str,
    "backend": str,
    "method": str,
    "status": str,
    "excluded": str,
    "expr": str,
}


def chunk_frames(
    out_dir: str | Path, columns: Sequence[str] | None = None
) -> Iterator[pd.DataFrame]:
    """The complete chunks of the study, one frame at a time, in order (``columns``: a subset)."""
    out = Path(out_dir)
    manifest = read_manifest(out)
    chunk, count = manifest["parameters"]["chunk"], manifest["count"]
    for index in range(math.ceil(count / chunk)):
        span = range(index * chunk, min(count, (index + 1) * chunk))
        if not _is_complete(out, manifest, index, span):
            continue
        path = out / manifest["chunks"][str(index)]["file"]
        usecols = list(columns) if columns is not None else None
        dtypes = {k: v for k, v in _DTYPES.items() if usecols is None or k in usecols}
        frame = pd.read_csv(path, usecols=usecols, dtype=dtypes, keep_default_na=False)
        for name in ("rel_err", "abs_err", "h", "error_estimate", "digits_ref", "digits_min"):
            if name in frame.columns:
                frame[name] = pd.to_numeric(frame[name], errors="coerce")
        yield frame


_QUANTILES = {"q10": 0.1, "q50": 0.5, "q90": 0.9, "q99": 0.99}
_READ = ["dtype", "entry", "function", "kink", "truth_finite", "status", "rel_err", "digits_ref"]


def _scored(frame: pd.DataFrame) -> pd.Series:
    """Rows whose error says something: ok, finite truth, off any kink."""
    kink = frame["kink"].astype(str) == "True"
    finite = frame["truth_finite"].astype(str) == "True"
    return (frame["status"] == "ok") & finite & ~kink & np.isfinite(frame["rel_err"])


def summarize(out_dir: str | Path) -> pd.DataFrame:
    """Per (dtype, entry): rows, quantiles of best relative error, agreement digits, status shares.

    Error quantiles (``err_q10`` ... ``err_max``) cover rows that are ok, off kinks and
    with a finite truth; ``share_<status>`` columns give the share of all rows with
    each status; ``digits_*`` are the digits shared with the reference entry.
    """
    parts = [frame for frame in chunk_frames(out_dir, _READ)]
    if not parts:
        return pd.DataFrame(columns=["dtype", "entry", "rows"])
    rows = pd.concat(parts, ignore_index=True)
    rows = rows.assign(scored=_scored(rows))
    records = []
    for (dtype, entry), group in rows.groupby(["dtype", "entry"], sort=True):
        errors = group.loc[group["scored"], "rel_err"].to_numpy(dtype=float)
        digits = group["digits_ref"].to_numpy(dtype=float)
        digits = digits[np.isfinite(digits)]
        record: dict[str, Any] = {
            "dtype": dtype,
            "entry": entry,
            "functions": group["function"].nunique(),
            "rows": len(group),
            "scored": errors.size,
        }
        for name, q in _QUANTILES.items():
            record[f"err_{name}"] = float(np.quantile(errors, q)) if errors.size else math.nan
        record["err_max"] = float(errors.max()) if errors.size else math.nan
        record["digits_q10"] = float(np.quantile(digits, 0.1)) if digits.size else math.nan
        record["digits_q50"] = float(np.median(digits)) if digits.size else math.nan
        record["digits_min"] = float(digits.min()) if digits.size else math.nan
        shares = group["status"].value_counts(normalize=True)
        record.update({f"share_{status}": float(v) for status, v in shares.items()})
        records.append(record)
    out = pd.DataFrame.from_records(records)
    share_columns = sorted(c for c in out.columns if c.startswith("share_"))
    out[share_columns] = out[share_columns].fillna(0.0)
    fixed = [c for c in out.columns if not c.startswith("share_")]
    return out[fixed + share_columns]


def histograms(out_dir: str | Path) -> pd.DataFrame:
    """Counts of log10(best relative error) and of agreement digits per (dtype, entry).

    Accumulated chunk by chunk over fixed bins (``ERROR_BINS``, ``DIGIT_BINS``), so
    the whole study is never in memory. Columns: dtype, entry, kind ("error" or
    "digits"), lo, hi, count.
    """
    counts: dict[tuple[str, str, str], np.ndarray] = {}
    for frame in chunk_frames(out_dir, _READ):
        scored = frame[_scored(frame)]
        for (dtype, entry), group in scored.groupby(["dtype", "entry"], sort=True):
            errors = np.log10(np.maximum(group["rel_err"].to_numpy(dtype=float), 1e-300))
            clipped = np.clip(errors, ERROR_BINS[0], ERROR_BINS[-1] - 1e-9)
            key = (str(dtype), str(entry), "error")
            hist = np.histogram(clipped, bins=ERROR_BINS)[0]
            counts[key] = counts.get(key, 0) + hist
        for (dtype, entry), group in frame.groupby(["dtype", "entry"], sort=True):
            digits = group["digits_ref"].to_numpy(dtype=float)
            digits = np.clip(digits[np.isfinite(digits)], DIGIT_BINS[0], DIGIT_BINS[-1] - 1e-9)
            key = (str(dtype), str(entry), "digits")
            counts[key] = counts.get(key, 0) + np.histogram(digits, bins=DIGIT_BINS)[0]
    records = []
    for (dtype, entry, kind), hist in sorted(counts.items()):
        bins = ERROR_BINS if kind == "error" else DIGIT_BINS
        for lo, hi, n in zip(bins[:-1], bins[1:], hist, strict=True):
            records.append((dtype, entry, kind, float(lo), float(hi), int(n)))
    return pd.DataFrame(records, columns=["dtype", "entry", "kind", "lo", "hi", "count"])
