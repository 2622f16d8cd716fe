"""The report's output folder: what may be replaced, what is refused, what is left behind."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import diffkit
from diffkit import catalog
from diffkit.function import Function
from diffkit.report import (
    OutputFolderError,
    OutputFolderExistsError,
    check_output_folder,
    write_report,
    writer,
)
from diffkit.sweep import COLUMNS, FD_METHODS, sweep

ROOT = Path(diffkit.__file__).resolve().parents[1]
EMPTY = pd.DataFrame(columns=COLUMNS)  # no rows: no charts to draw, the quickest report


@pytest.fixture(scope="module")
def small() -> tuple[pd.DataFrame, list[Function]]:
    """One function, one method, three steps: a report with a chart in figures/."""
    functions = [catalog.get("exp")]
    return sweep(functions, steps=(1e-8, 1e-5, 1e-2), methods=FD_METHODS[:1]), functions


def _report(out: Path, title: str = "t") -> Path:
    return write_report(EMPTY, [], out, title=title)


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if not p.is_dir()}


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def live_pid() -> Iterator[int]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child.pid
    child.kill()
    child.wait()


# --- which folders a report replaces -----------------------------------------------


def test_metadata_lists_every_file_the_report_wrote(
    small: tuple[pd.DataFrame, list[Function]], tmp_path: Path
) -> None:
    frame, functions = small
    index = write_report(frame, functions, tmp_path / "r", title="t")
    marker = json.loads((index.parent / "metadata.json").read_text())["diffkit_report"]
    assert marker["version"] == 1
    assert marker["files"] == sorted(_files(index.parent))
    assert "metadata.json" in marker["files"]
    assert any(name.startswith("figures/") for name in marker["files"])
    assert "figures" in marker["folders"]


def test_a_report_replaces_its_own_report_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    _report(tmp_path / "r", title="first")
    index = _report(tmp_path / "r", title="second")
    assert json.loads((index.parent / "metadata.json").read_text())["title"] == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    (tmp_path / "r").mkdir()
    assert _report(tmp_path / "r").is_file()


@pytest.mark.parametrize("mine", ["figures/mine.png", "data/notes.txt", "figures/deep/x.txt"])
def test_a_users_file_inside_the_reports_folders_is_never_deleted(
    small: tuple[pd.DataFrame, list[Function]], tmp_path: Path, mine: str
) -> None:
    frame, functions = small
    target = tmp_path / "r"
    write_report(frame, functions, target, title="t")
    (target / mine).parent.mkdir(parents=True, exist_ok=True)
    (target / mine).write_text("mine")
    with pytest.raises(OutputFolderError, match=mine):
        write_report(frame, functions, target, title="again")
    assert (target / mine).read_text() == "mine"
    assert str(target) in _message(target)


def test_a_folder_holding_only_a_users_index_html_is_not_taken_for_a_report(
    tmp_path: Path,
) -> None:
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "index.html").write_text("<p>my page</p>")
    with pytest.raises(OutputFolderError, match=r"index\.html"):
        _report(tmp_path / "r")
    assert (tmp_path / "r" / "index.html").read_text() == "<p>my page</p>"


def test_a_report_without_the_file_list_is_refused_as_written_by_another_version(
    tmp_path: Path,
) -> None:
    """A report of diffkit before the marker: the user must delete it, not lose files in it."""
    target = tmp_path / "r"
    _report(target)
    meta = target / "metadata.json"
    info = json.loads(meta.read_text())
    del info["diffkit_report"]
    meta.write_text(json.dumps(info))
    with pytest.raises(OutputFolderError, match="not written by this version of diffkit"):
        _report(target)
    assert meta.read_text() == json.dumps(info)


def test_the_error_names_the_folder_and_at_most_five_files(tmp_path: Path) -> None:
    target = tmp_path / "r"
    _report(target)
    for i in range(7):
        (target / f"user-{i}.txt").write_text("mine")
    message = _message(target)
    assert str(target) in message
    assert sum(f"user-{i}.txt" in message for i in range(7)) == 5
    assert "2 more" in message


def test_a_folder_in_the_way_raises_a_file_exists_error_too(tmp_path: Path) -> None:
    """The subclass keeps callers that caught FileExistsError from the writer working."""
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputFolderExistsError) as caught:
        check_output_folder(tmp_path)
    assert isinstance(caught.value, FileExistsError)
    assert isinstance(caught.value, OSError)
    assert issubclass(OutputFolderError, OSError)


def test_files_added_while_the_report_is_computed_are_not_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "r"
    before = _report(target, title="old").read_bytes()
    html_page = writer.html_page

    def meanwhile(*args: object, **kwargs: object) -> str:
        (target / "figures" / "dropped-in.png").write_bytes(b"mine")
        return html_page(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(writer, "html_page", meanwhile)
    with pytest.raises(OutputFolderError, match="dropped-in"):
        _report(target, title="new")
    assert (target / "figures" / "dropped-in.png").read_bytes() == b"mine"
    assert (target / "index.html").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


# --- check_output_folder: every unusable path, before anything is computed ----------


def _message(path: Path) -> str:
    with pytest.raises(OutputFolderError) as caught:
        check_output_folder(path)
    return str(caught.value)


def _unusable(tmp_path: Path, case: str) -> Path:
    if case == "a file":
        (tmp_path / "afile").write_text("x")
        return tmp_path / "afile"
    if case == "a dangling link":
        (tmp_path / "link").symlink_to(tmp_path / "nowhere")
        return tmp_path / "link"
    if case == "a parent that is a file":
        (tmp_path / "afile").write_text("x")
        return tmp_path / "afile" / "sub"
    if case == "a grandparent that is a file":
        (tmp_path / "afile").write_text("x")
        return tmp_path / "afile" / "sub" / "deeper"
    if case == "a parent that is a dangling link":
        (tmp_path / "link").symlink_to(tmp_path / "nowhere")
        return tmp_path / "link" / "sub"
    if case == "a parent that cannot be created":
        return Path("/proc/diffkit-report-test/sub")
    if case == "a parent that cannot be written in":
        return Path("/proc/diffkit-report-test")
    if case == "a folder of other files":
        (tmp_path / "notes.txt").write_text("mine")
        return tmp_path
    raise AssertionError(case)


CASES = [
    "a file",
    "a dangling link",
    "a parent that is a file",
    "a grandparent that is a file",
    "a parent that is a dangling link",
    "a parent that cannot be created",
    "a parent that cannot be written in",
    "a folder of other files",
]


@pytest.mark.parametrize("case", CASES)
def test_check_output_folder_refuses_every_unusable_path(tmp_path: Path, case: str) -> None:
    path = _unusable(tmp_path, case)
    before = sorted(p.name for p in tmp_path.iterdir())
    assert str(path) in _message(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing made, nothing left


@pytest.mark.parametrize("case", CASES)
def test_write_report_refuses_them_before_computing_anything(
    tmp_path: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _unusable(tmp_path, case)

    def computed(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report was computed before its folder was checked")

    monkeypatch.setattr(writer, "_write_files", computed)
    with pytest.raises(OutputFolderError):
        _report(path)


def test_an_unwritable_parent_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As root os.access says yes to everything; the refusal is what counts, so it says no."""
    parent = tmp_path / "locked"
    parent.mkdir()
    access = os.access

    def denied(path: object, mode: int, **kwargs: object) -> bool:
        if Path(str(path)) == parent and mode & os.W_OK:
            return False
        return access(path, mode, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", denied)
    assert "locked" in _message(parent / "r")
    assert not (parent / "r").exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes anywhere")
def test_a_folder_without_write_permission_is_refused(tmp_path: Path) -> None:
    parent = tmp_path / "locked"
    parent.mkdir()
    parent.chmod(0o500)
    try:
        assert "locked" in _message(parent / "r")
        assert "locked" in _message(parent / "sub" / "r")
    finally:
        parent.chmod(0o700)


def test_usable_paths_pass_and_the_check_leaves_nothing_behind(tmp_path: Path) -> None:
    check_output_folder(tmp_path / "new")
    check_output_folder(tmp_path / "a" / "b" / "c")  # parents are made to prove it, then removed
    (tmp_path / "empty").mkdir()
    check_output_folder(tmp_path / "empty")
    _report(tmp_path / "report")
    check_output_folder(tmp_path / "report")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "report"]


# --- what killed runs leave, and links ----------------------------------------------


def test_a_killed_reports_temporary_folder_records_its_pid_and_a_later_run_removes_it(
    tmp_path: Path,
) -> None:
    code = (
        "import os, pandas as pd\n"
        "from diffkit.report import writer\n"
        "from diffkit.sweep import COLUMNS\n"
        "writer.html_page = lambda *a, **k: os.kill(os.getpid(), 9)\n"
        f"writer.write_report(pd.DataFrame(columns=COLUMNS), [], {str(tmp_path / 'r')!r})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = subprocess.Popen([sys.executable, "-c", code], env=env)
    assert killed.wait(timeout=120) == -signal.SIGKILL
    (left,) = tmp_path.iterdir()
    assert left.name.startswith(f".r-tmp-{killed.pid}-")
    assert left.is_dir()
    _report(tmp_path / "r")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_leftovers_of_dead_runs_are_removed_and_nothing_else(tmp_path: Path, live_pid: int) -> None:
    dead = _dead_pid()
    removed = [
        f".r-tmp-{dead}-abcd_123",
        f".r-old-{dead}-abcd_123",  # died between the two renames, or while removing
        f".r-old-{dead}",  # named by diffkit before this version
    ]
    kept = [
        f".r-tmp-{live_pid}-abcd_123",  # another run, still writing
        f".r-old-{live_pid}-abcd_123",
        f".r-tmp-{os.getpid()}-abcd_123",  # this process's own
        f".r-tmp-{dead}",
        f".r-tmp-{dead}-abcd",
        f".r-tmp-{dead}-abcd_123-x",
        f".r-mine-{dead}",
        ".r-abcd_123",  # diffkit before this version: no pid, so nobody can tell
        f".rr-tmp-{dead}-abcd_123",  # another report's
        f"r-tmp-{dead}-abcd_123",
    ]
    for name in removed + kept:
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.png").write_bytes(b"x")
    (tmp_path / f".r-tmp-{dead}-file_123").write_text("a file, not a folder of ours")
    kept.append(f".r-tmp-{dead}-file_123")
    _report(tmp_path / "r")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["r", *kept])


def test_a_stray_old_link_of_a_dead_run_is_removed_but_not_what_it_points_to(
    tmp_path: Path,
) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "keep.txt").write_text("mine")
    (tmp_path / f".r-old-{_dead_pid()}").symlink_to(tmp_path / "target")
    _report(tmp_path / "r")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r", "target"]
    assert (tmp_path / "target" / "keep.txt").read_text() == "mine"


def test_a_link_to_a_report_keeps_its_link_and_leaves_no_old_entry(tmp_path: Path) -> None:
    """The folder the link points to is replaced; the link stays as the user made it."""
    _report(tmp_path / "target", title="old")
    (tmp_path / "link").symlink_to("target")
    index = _report(tmp_path / "link", title="new")
    assert index == tmp_path / "link" / "index.html"
    assert (tmp_path / "link").is_symlink()
    assert os.readlink(tmp_path / "link") == "target"
    assert json.loads((tmp_path / "target" / "metadata.json").read_text())["title"] == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"]


def test_a_link_to_a_folder_of_other_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "notes.txt").write_text("mine")
    (tmp_path / "link").symlink_to("target")
    assert "notes.txt" in _message(tmp_path / "link")
    assert (tmp_path / "target" / "notes.txt").read_text() == "mine"


def test_a_link_inside_a_report_is_refused_and_not_followed(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "keep.txt").write_text("mine")
    _report(tmp_path / "r")
    (tmp_path / "r" / "figures" / "link").symlink_to(tmp_path / "elsewhere")
    assert "figures/link" in _message(tmp_path / "r")
    assert (tmp_path / "elsewhere" / "keep.txt").read_text() == "mine"


# --- permissions ------------------------------------------------------------------


@pytest.fixture(params=[0o022, 0o027, 0o077])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def test_report_folders_and_files_follow_the_umask(
    small: tuple[pd.DataFrame, list[Function]], tmp_path: Path, umask: int
) -> None:
    frame, functions = small
    index = write_report(frame, functions, tmp_path / "r", title="t")
    folder = index.parent
    for path in [folder, *folder.rglob("*")]:
        wanted = (0o777 if path.is_dir() else 0o666) & ~umask
        assert stat.S_IMODE(path.stat().st_mode) == wanted, path
