"""A report's output folder: what it may replace, how it is swapped in, what is cleaned.

A report replaces an existing folder only when that folder is
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
import json
import os
import re
import shutil
import stat
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = [
    "MARKER",
    "METADATA",
    "OutputFolderError",
    "OutputFolderExistsError",
    "apply_umask",
    "check_existing",
    "check_output_folder",
    "marker",
    "remove_leftovers",
    "swap_into_place",
    "tmp_prefix",
    "usable_output",
]

METADATA = "metadata.json"
MARKER = "diffkit_report"  # the metadata.json entry that makes a folder a report
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
    usable_output(Path(path))


def usable_output(final: Path) -> Path:
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
        check_existing(real, final)
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
        probe = tempfile.mkdtemp(prefix=tmp_prefix(real), dir=parent)
    except OSError as exc:
        raise OutputFolderError(
            f"cannot write a report in {shown}: cannot create a folder in {parent} "
            f"({exc.strerror or exc}); choose another output folder"
        ) from exc
    os.rmdir(probe)


def check_existing(real: Path, shown: Path) -> None:
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
    path = real / METADATA
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None


def _listing(real: Path) -> tuple[set[str], set[str]] | None:
    """The files and folders the report in ``real`` says it wrote; None if it is no such report."""
    info = _read_metadata(real)
    marker = info.get(MARKER) if isinstance(info, dict) else None
    if not isinstance(marker, dict) or marker.get("version") != _MARKER_VERSION:
        return None
    files, folders = marker.get("files"), marker.get("folders", [])
    if not isinstance(files, list) or not isinstance(folders, list):
        return None
    if not all(isinstance(name, str) for name in [*files, *folders]) or METADATA not in files:
        return None
    return set(files), set(folders)


def _foreign_report(real: Path) -> bool:
    """Whether ``real`` holds a report of another diffkit (one that lists no files, or differently)."""
    info = _read_metadata(real)
    if not isinstance(info, dict):
        return False
    versions = info.get("versions")
    return MARKER in info or (isinstance(versions, dict) and "diffkit" in versions)


def marker(folder: Path) -> dict[str, Any]:
    """The metadata.json entry listing every file and folder in ``folder``, metadata.json too."""
    files, folders = {METADATA}, []
    for root, dirnames, filenames in os.walk(folder):
        rel = Path(root).relative_to(folder)
        folders += [(rel / name).as_posix() for name in dirnames]
        files |= {(rel / name).as_posix() for name in filenames}
    return {"version": _MARKER_VERSION, "files": sorted(files), "folders": sorted(folders)}


def tmp_prefix(real: Path) -> str:
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


def remove_leftovers(real: Path) -> None:
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


def apply_umask(folder: Path) -> None:
    """Give the folders of a built report the mode the umask says (mkdtemp made the top one 0700).

    Files need nothing: ``write_bytes`` and ``write_text`` create them as the umask says.
    """
    mode = 0o777 & ~_umask()
    for root, dirnames, _ in os.walk(folder):
        for name in dirnames:
            os.chmod(os.path.join(root, name), mode)
    os.chmod(folder, mode)


def swap_into_place(built: Path, final: Path) -> None:
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
