"""Write a report folder from a sweep's frame: HTML, Markdown, PNG charts, CSVs and metadata.

Everything is a pure function of the frame and the functions, except ``metadata.json``
(which records the date and versions): writing the same frame twice gives the same
CSV, Markdown and PNG bytes. The HTML is self-contained (charts as base64 PNG,
an inline style block), so it can be mailed or archived as one file.

The output folder. A report replaces an existing folder only when that folder is
provably a report of this version of diffkit: its ``metadata.json`` carries a
``diffkit_report`` entry listing every file (and folder) the report wrote, and the
folder holds nothing else. Anything else is refused with ``OutputFolderError``
before a thing is written; ``check_output_folder`` runs the same checks, so a
command can refuse a bad path before it spends minutes computing. An output path
that is a symbolic link to a report folder keeps its link: the folder it points to
is what gets replaced. The report is built in a sibling ``.NAME-tmp-PID-XXXXXXXX``
folder and swapped in by two renames (the previous report passes through
``.NAME-old-PID-XXXXXXXX``); such folders left behind by a process that was killed
are removed by the next report written beside them. The folders of a report get
the permissions the umask gives (``mkdtemp`` alone would make them private).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import stat
import tempfile
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from .. import interrupts
from ..executors import run_tasks
from ..function import Function
from ..rows import NO_TRUTH
from .figures import png_bytes, vcurve_figure
from .no_truth_section import no_truth_section
from .pages import Chart, html_page, markdown_page, slug
from .sections import Section
from .tables import failure_table, summary_table

__all__ = [
    "OutputFolderError",
    "OutputFolderExistsError",
    "check_output_folder",
    "write_report",
]

_SWEEP_ORDER = ["function", "point", "dtype", "noise", "backend", "method", "h", "component"]
_TIMING_COLUMNS = ["seconds"]


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
        png = png_bytes(fig)
        fig.clear()  # free the artists now; the figure is never shown
        return png
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def _measured(rows: pd.DataFrame) -> bool:
    """Whether a point has an exact derivative to chart errors against (see the no-truth section)."""
    return bool((rows["status"] != NO_TRUTH).all() or rows["truth"].notna().any())


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
                if not _measured(selected):
                    continue  # an empty chart says less than the no-truth section does
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

    Files: ``index.html`` (self-contained), ``report.md``, ``figures/*.png`` (one
    V-curve per function, point and dtype that has an exact derivative; points without
    one are listed in a section of their own, first among the sections), ``sweep.csv``
    (the whole frame but its timings, which go to ``timings.csv``), ``summary.csv`` and
    ``metadata.json``. ``functions`` supply the expression, the
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
    real = _usable_output(final)  # raises OutputFolderError; a link's target for a link
    real.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(real)
    # Build in a sibling folder and swap it in at the end: an interrupted run never
    # leaves a half-written report over a good one.
    folder = Path(tempfile.mkdtemp(prefix=_tmp_prefix(real), dir=real.parent))
    try:
        _write_files(frame, functions, folder, title, metadata, sections, jobs)
        _apply_umask(folder)
        interrupts.check()  # a Ctrl-C swallowed on the way must not replace the old report
        # Files put into the old report while this one was computed are refused, not lost.
        _check_existing(real, final)
        _swap_into_place(folder, real)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return final / "index.html"


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
    _write_section_files(folder, sections)
    funcs = _function_map(functions)
    # Summary and V-curves show the functions as given; noisy rows have their own section.
    clean = frame[frame["noise"] == 0] if "noise" in frame.columns else frame
    summary = summary_table(clean, funcs)
    failures = failure_table(frame)
    charts = _charts(clean, funcs, folder, jobs)

    order = [c for c in _SWEEP_ORDER if c in frame.columns]
    ordered = frame.sort_values(order, kind="mergesort", na_position="last")
    # Timings differ from run to run; they get their own file, so that sweep.csv is
    # byte-identical between two runs of the same sweep.
    data = ordered.drop(columns=[c for c in _TIMING_COLUMNS if c in ordered.columns])
    (folder / "sweep.csv").write_bytes(
        data.to_csv(index=False, lineterminator="\n").encode("utf-8")
    )
    timing_keys = [c for c in _SWEEP_ORDER if c in ordered.columns]
    timings = ordered[timing_keys + [c for c in _TIMING_COLUMNS if c in ordered.columns]]
    (folder / "timings.csv").write_bytes(
        timings.to_csv(index=False, lineterminator="\n").encode("utf-8")
    )
    (folder / "summary.csv").write_bytes(
        summary.to_csv(index=False, lineterminator="\n").encode("utf-8")
    )
    no_truth_rows = int((frame["status"] == NO_TRUTH).sum())
    (folder / "report.md").write_bytes(
        markdown_page(
            title, funcs, summary, failures, charts, sections, no_truth_rows=no_truth_rows
        ).encode("utf-8")
    )
    (folder / "index.html").write_bytes(
        html_page(
            title, funcs, summary, failures, charts, sections, no_truth_rows=no_truth_rows
        ).encode("utf-8")
    )
    # Last, so that it lists every other file: the marker that lets a later report
    # replace this folder, and nothing a user put there.
    info = _metadata(frame, title, metadata)
    info[_MARKER] = _marker(folder)
    (folder / _METADATA).write_text(
        json.dumps(info, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8"
    )


def _write_section_files(folder: Path, sections: Sequence[Section]) -> None:
    """Save each section's images and files; a path leaving figures/ or data/ is refused."""
    for section in sections:
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

_METADATA = "metadata.json"
_MARKER = "diffkit_report"  # the metadata.json entry that makes a folder a report
_MARKER_VERSION = 1
_SHOWN = 5  # files named in an error, at most

# Siblings of a report folder NAME that this module makes: ".NAME-tmp-PID-XXXXXXXX"
# (a report being built, or a probe), ".NAME-old-PID-XXXXXXXX" (the previous report,
# between the swap and its removal) and ".NAME-old-PID" (what versions before made).
# XXXXXXXX is mkdtemp's: 8 of [a-z0-9_].
_LEFTOVER = re.compile(r"(?:tmp|old)-([0-9]+)-[a-z0-9_]{8}|old-([0-9]+)")


class OutputFolderError(OSError):
    """An output path no report can be written to; the message names the path and the reason.

    An ``OSError`` rather than a ``ValueError``: every reason is a fact of the file
    system (a folder that is not a report, a file or dangling link where the folder
    should be, a parent that cannot be created or written), so code that already
    handles ``OSError`` from writing a report handles this too. When something is in
    the way (a file, a dangling link, a folder that is not a report) the error is the
    subclass ``OutputFolderExistsError``, also a ``FileExistsError`` as before.
    """


class OutputFolderExistsError(OutputFolderError, FileExistsError):
    """The output path (or a parent) is taken by a file, a link or a folder that is not a report."""


def check_output_folder(path: str | Path) -> None:
    """Raise ``OutputFolderError`` unless ``write_report`` can write its report at ``path``.

    Usable: a path that does not exist, whose nearest existing parent is a folder in
    which the missing parents and a temporary folder can be created; an empty folder;
    a folder that holds a report of this version of diffkit and nothing else (every
    file in it, at any depth, listed in the report's ``metadata.json``); a symbolic
    link to one of those folders (the folder it points to is replaced, the link kept).
    Refused: a folder holding anything else (the error names up to five of those
    files), a report of an older diffkit (it lists no files; delete it), a path that
    is a file or a dangling link, a parent that is a file, a parent that cannot be
    created or written. Nothing is left behind: the parents and the temporary folder
    made to prove it are removed again. Call it before computing a report, so that a
    bad path is refused at once; ``write_report`` calls it too.
    """
    _usable_output(Path(path))


def _usable_output(final: Path) -> Path:
    """Check ``final`` as ``check_output_folder`` does; return the folder to write.

    That is ``final`` itself, or the folder it links to when it is a symbolic link.
    """
    real = final
    if final.name in ("", ".", ".."):
        real = final.resolve()  # the folder under its own name, which can be renamed
    elif final.is_symlink():
        try:
            real = final.resolve(strict=True)
        except (OSError, RuntimeError):  # missing target, or a loop of links
            raise OutputFolderExistsError(
                f"{final} is a symbolic link to {_link(final)}, which does not exist; "
                "remove the link or choose another output folder"
            ) from None
    if not real.name:
        raise OutputFolderError(f"{final} cannot be a report folder; choose another output folder")
    if os.path.lexists(real):
        if not real.is_dir():
            raise OutputFolderExistsError(
                f"{final} exists and is not a folder; choose another output folder"
            )
        _check_existing(real, final)
        _check_writable(real.parent, real, final)
    else:
        _check_parent(real.parent, real, final)
    return real


def _link(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return "?"


def _check_parent(parent: Path, real: Path, shown: Path) -> None:
    """Refuse a parent that is a file or cannot be created or written (made and removed)."""
    missing: list[Path] = []  # the parents to create, deepest first
    here = parent
    while not os.path.lexists(here) and here != here.parent:
        missing.append(here)
        here = here.parent
    if here.is_symlink() and not here.exists():
        raise OutputFolderExistsError(
            f"cannot write a report in {shown}: {here} is a symbolic link to {_link(here)}, "
            "which does not exist; choose another output folder"
        )
    if not here.is_dir():
        raise OutputFolderExistsError(
            f"cannot write a report in {shown}: {here} is not a folder; "
            "choose another output folder"
        )
    try:
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputFolderError(
                f"cannot write a report in {shown}: cannot create {parent} "
                f"({exc.strerror or exc}); choose another output folder"
            ) from exc
        _check_writable(parent, real, shown)
    finally:
        for made in missing:
            try:
                made.rmdir()
            except FileNotFoundError:  # never made: the mkdir failed above it
                continue
            except OSError:  # not empty: someone else has put something there meanwhile
                break


def _check_writable(parent: Path, real: Path, shown: Path) -> None:
    """Refuse a parent in which the temporary folder (and the swap) cannot be made."""
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputFolderError(
            f"cannot write a report in {shown}: {parent} is not writable; "
            "choose another output folder"
        )
    try:
        probe = tempfile.mkdtemp(prefix=_tmp_prefix(real), dir=parent)
    except OSError as exc:
        raise OutputFolderError(
            f"cannot write a report in {shown}: cannot create a folder in {parent} "
            f"({exc.strerror or exc}); choose another output folder"
        ) from exc
    os.rmdir(probe)


def _check_existing(real: Path, shown: Path) -> None:
    """Refuse a folder unless it is empty or a report of this diffkit holding nothing else."""
    if not os.path.lexists(real):
        return
    if real.is_symlink() or not real.is_dir():
        raise OutputFolderExistsError(
            f"{shown} exists and is not a folder; choose another output folder"
        )
    files, folders = _contents(real, shown)
    if not files and not folders:
        return  # an empty folder holds nothing to lose
    listing = _listing(real)
    if listing is None:
        found = sorted([*files, *(f"{d}/" for d in folders)])
        if _foreign_report(real):
            raise OutputFolderExistsError(
                f"{shown} holds a report not written by this version of diffkit: it does not "
                "list its files, so they cannot be told from yours (it holds "
                f"{_some(found)}); delete it or choose another output folder"
            )
        raise OutputFolderExistsError(
            f"{shown} is not empty and not a diffkit report written by this version of diffkit "
            f"(it holds {_some(found)}); choose an empty or new output folder"
        )
    listed_files, listed_folders = listing
    holding = {str(parent) for f in listed_files for parent in PurePosixPath(f).parents}
    strangers = [f for f, regular in files.items() if not regular or f not in listed_files]
    strangers += [f"{d}/" for d in folders if d not in listed_folders and d not in holding]
    if strangers:
        raise OutputFolderExistsError(
            f"{shown} holds files that are not part of the diffkit report written there "
            f"({_some(sorted(strangers))}); move them away or choose another output folder"
        )


def _some(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown if len(names) <= _SHOWN else f"{shown} and {len(names) - _SHOWN} more"


def _contents(real: Path, shown: Path) -> tuple[dict[str, bool], list[str]]:
    """Every entry under ``real``: files (path to "is a regular file"; links count as files) and folders."""
    files: dict[str, bool] = {}
    folders: list[str] = []

    def refuse(exc: OSError) -> None:
        raise OutputFolderError(
            f"cannot replace {shown}: cannot read {exc.filename} ({exc.strerror or exc}); "
            "choose another output folder"
        ) from exc

    for root, dirnames, filenames in os.walk(real, onerror=refuse):
        here = Path(root)
        rel = here.relative_to(real)
        if (dirnames or filenames) and not os.access(here, os.W_OK | os.X_OK):
            raise OutputFolderError(
                f"cannot replace {shown}: the files in {here} cannot be removed "
                "(permission denied); choose another output folder"
            )
        for name in list(dirnames):
            if (here / name).is_symlink():  # never followed; a link is not the report's
                dirnames.remove(name)
                files[(rel / name).as_posix()] = False
            else:
                folders.append((rel / name).as_posix())
        for name in filenames:
            try:
                regular = stat.S_ISREG(os.lstat(here / name).st_mode)
            except OSError:  # gone meanwhile
                continue
            files[(rel / name).as_posix()] = regular
    return files, folders


def _read_metadata(real: Path) -> Any:
    """The parsed metadata.json of ``real``, or None when it is missing, not a file or not JSON."""
    path = real / _METADATA
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None


def _listing(real: Path) -> tuple[set[str], set[str]] | None:
    """The files and folders the report in ``real`` says it wrote; None if it is no such report."""
    info = _read_metadata(real)
    marker = info.get(_MARKER) if isinstance(info, dict) else None
    if not isinstance(marker, dict) or marker.get("version") != _MARKER_VERSION:
        return None
    files, folders = marker.get("files"), marker.get("folders", [])
    if not isinstance(files, list) or not isinstance(folders, list):
        return None
    if not all(isinstance(name, str) for name in [*files, *folders]) or _METADATA not in files:
        return None
    return set(files), set(folders)


def _foreign_report(real: Path) -> bool:
    """Whether ``real`` holds a report of another diffkit (one that lists no files, or differently)."""
    info = _read_metadata(real)
    if not isinstance(info, dict):
        return False
    versions = info.get("versions")
    return _MARKER in info or (isinstance(versions, dict) and "diffkit" in versions)


def _marker(folder: Path) -> dict[str, Any]:
    """The metadata.json entry listing every file and folder in ``folder``, metadata.json too."""
    files, folders = {_METADATA}, []
    for root, dirnames, filenames in os.walk(folder):
        rel = Path(root).relative_to(folder)
        folders += [(rel / name).as_posix() for name in dirnames]
        files |= {(rel / name).as_posix() for name in filenames}
    return {"version": _MARKER_VERSION, "files": sorted(files), "folders": sorted(folders)}


def _tmp_prefix(real: Path) -> str:
    return f".{real.name}-tmp-{os.getpid()}-"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` may still be running (anything but "no such process" says yes)."""
    if pid <= 0 or pid == os.getpid():  # 0 and below name process groups; ours may be in use
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):  # PermissionError: alive, another user's
        return True
    return True


def _remove_leftovers(real: Path) -> None:
    """Remove what killed runs left beside ``real``: their temporary and old folders.

    Only entries named as this module names them, owned by this user, whose process
    is gone; nothing else is touched.
    """
    prefix = f".{real.name}-"
    uid = os.getuid() if hasattr(os, "getuid") else None
    try:
        entries = [e for e in os.scandir(real.parent) if e.name.startswith(prefix)]
    except OSError:
        return
    for entry in entries:
        found = _LEFTOVER.fullmatch(entry.name[len(prefix) :])
        if found is None:
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        pid = int(found.group(1) or found.group(2))
        if (uid is not None and info.st_uid != uid) or _alive(pid):
            continue
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(entry.path, ignore_errors=True)
        elif stat.S_ISLNK(info.st_mode) and found.group(2) is not None:
            # The ".NAME-old-PID" link an older diffkit left when replacing a linked report.
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _umask() -> int:
    """The process's umask, read without changing it where Linux allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # Elsewhere set and restore it at once; the value in between (0o077) would make a
    # file another thread creates meanwhile private, never more open than asked.
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _apply_umask(folder: Path) -> None:
    """Give the folders of a built report the mode the umask says (mkdtemp made the top one 0700).

    Files need nothing: ``write_bytes`` and ``write_text`` create them as the umask says.
    """
    mode = 0o777 & ~_umask()
    for root, dirnames, _ in os.walk(folder):
        for name in dirnames:
            os.chmod(os.path.join(root, name), mode)
    os.chmod(folder, mode)


def _swap_into_place(built: Path, final: Path) -> None:
    """Replace ``final`` by ``built``: two renames, the old report removed only afterwards.

    ``final`` is a real folder here (a symbolic link was resolved before), so the link
    a user made stays and keeps pointing at the new report.
    """
    old = None
    if os.path.lexists(final):
        # Renamed onto an empty placeholder: a name no other run, nor a leftover, holds.
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}-old-{os.getpid()}-", dir=final.parent))
        try:
            final.rename(old)
        except BaseException:
            old.rmdir()
            raise
    try:
        built.rename(final)
    except BaseException:
        if old is not None:
            old.rename(final)  # the previous report goes back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
        if os.path.lexists(old):
            warnings.warn(
                f"the previous report could not be removed entirely: {old}",
                RuntimeWarning,
                stacklevel=3,
            )
