"""Fault injection on processes: whatever ends a run, no worker and no process a task started lives on.

A task may start processes of its own and then hang; the run may end normally, by a
time limit, by an exception, by Ctrl-C, or by its own process being killed outright
(SIGKILL, the OOM killer). Each case runs real worker processes whose tasks record
their pids, ends the run that way, and checks that every recorded process is gone
within seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from diffkit.executors import run_tasks

CHILDREN = 5
ROOT = Path(__file__).resolve().parents[1]

# The work of the process killed or interrupted, a module so that a forkserver child can
# import it: each task records its worker's pid and those of the processes it starts.
TASKS_MODULE = """
import os, subprocess, sys, time

def note(record, kind, pid):
    with open(record, "a") as out:
        out.write(f"{kind} {pid}\\n")

def work(task):
    record, children = task
    note(record, "worker", os.getpid())
    for _ in range(children):
        note(record, "child", subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL,
                                               stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL).pid)
    time.sleep(60)
"""

# The process killed or interrupted: it runs two such tasks in two workers.
PARENT_SCRIPT = """
import sys, types
if sys.argv[3] == "forkserver":  # as with jax loaded: workers start from a forkserver
    sys.modules["jax"] = types.ModuleType("jax")
from diffkit import interrupts
from diffkit.executors import _safe_context, run_tasks
import pidtasks

tasks = [(sys.argv[1], int(sys.argv[2]))] * 2
assert _safe_context(tasks, pidtasks.work).get_start_method() == sys.argv[3]
with interrupts.handling():
    try:
        run_tasks(tasks, pidtasks.work, lambda t, s, m: None, jobs=2)
    except KeyboardInterrupt:
        sys.exit(130)
"""


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead, only not yet reaped
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _recorded(path: Path, kind: str | None = None) -> set[int]:
    """The pids in ``path`` (of ``kind``, "worker" or "child"); a line still being written is skipped."""
    if not path.exists():
        return set()
    pids = set()
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and kind in (None, parts[0]):
            pids.add(int(parts[1]))
    return pids


def _wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def _survivors(pids: set[int], seconds: float = 8.0) -> list[int]:
    """The pids still alive after ``seconds`` of grace (each one gone stops the wait sooner)."""
    _wait_until(lambda: not any(_alive(pid) for pid in pids), seconds)
    return sorted(pid for pid in pids if _alive(pid))


@pytest.fixture
def record(tmp_path) -> Iterator[Path]:
    """A file the tasks write their pids to; whatever it names is killed after the test."""
    path = tmp_path / "pids"
    yield path
    for pid in _recorded(path):
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _start_parent(record: Path, children: int, start: str = "fork") -> subprocess.Popen:
    """A run of two 60 s tasks, its workers started by ``start``, in a session of its own (so
    that a test can signal its group as a terminal does), once both tasks have started
    ``children`` processes each."""
    (record.parent / "pidtasks.py").write_text(TASKS_MODULE)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_SCRIPT, str(record), str(children), start],
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(record.parent)])},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_interruptible,  # as from a terminal, not a background job ignoring Ctrl-C
    )
    started = _wait_until(
        lambda: (
            len(_recorded(record, "worker")) == 2
            and len(_recorded(record, "child")) == 2 * children
        ),
        30,
    )
    if not started:
        os.killpg(parent.pid, signal.SIGKILL)
        code = parent.wait()
        pytest.fail(f"the tasks did not start within 30 s (exit code {code}): {_recorded(record)}")
    return parent


@pytest.mark.parametrize("start", ["fork", "forkserver"])
@pytest.mark.parametrize("children", [0, 3])
def test_a_parent_killed_outright_mid_task_takes_its_workers_and_their_children(
    record, children, start
):
    parent = _start_parent(record, children, start)
    parent.kill()  # SIGKILL: no cleanup code runs in the parent
    parent.wait()
    pids = _recorded(record)
    assert len(pids) == 2 + 2 * children
    assert not _survivors(pids)


def test_ctrl_c_stops_the_workers_and_the_processes_their_tasks_started(record):
    parent = _start_parent(record, 3)
    os.killpg(parent.pid, signal.SIGINT)  # as a terminal does: to the foreground process group
    assert parent.wait(timeout=20) == 130
    assert not _survivors(_recorded(record))


# ---------------------------------------------------------------------- in this process


def _spawn(record: Path, count: int) -> None:
    for _ in range(count):
        child = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL)
        with open(record, "a") as out:
            out.write(f"child {child.pid}\n")


def _work(task):
    kind, record = task
    if kind == "spawn and hang":
        _spawn(record, CHILDREN)
        time.sleep(60)
    if kind == "spawn and return":
        _spawn(record, CHILDREN)
        return "returned"
    if kind == "crash once the children run":
        _wait_until(lambda: len(_recorded(record, "child")) == CHILDREN, 30)
        os._exit(3)
    return "done"


def _failed(task, status, message):
    return (status, message)


def _refuse(task, status, message):
    raise RuntimeError(f"giving up: {status}")


def test_a_task_past_its_time_limit_is_stopped_with_the_processes_it_started(record):
    start = time.monotonic()
    results = run_tasks(
        [("spawn and hang", record), ("value", record)], _work, _failed, jobs=2, time_limit=2.0
    )
    assert time.monotonic() - start < 15
    assert results[0][0] == "timeout", results
    assert "time limit of 2 s" in results[0][1]
    assert results[1] == "done"
    children = _recorded(record, "child")
    assert children  # all CHILDREN unless the machine is too loaded to start them in 2 s
    assert not _survivors(children, seconds=3.0)


def test_processes_a_task_left_running_end_with_the_run(record):
    results = run_tasks([("spawn and return", record)] * 2, _work, _failed, jobs=2)
    assert results == ["returned", "returned"]
    children = _recorded(record, "child")
    assert len(children) == 2 * CHILDREN
    assert not _survivors(children, seconds=3.0)


def test_a_run_ended_by_an_exception_leaves_no_process_behind(record):
    tasks = [("spawn and hang", record), ("crash once the children run", record)]
    with pytest.raises(RuntimeError, match="giving up: crashed"):
        run_tasks(tasks, _work, _refuse, jobs=2, time_limit=30.0)
    children = _recorded(record, "child")
    assert len(children) == CHILDREN
    assert not _survivors(children, seconds=3.0)


def test_a_worker_whose_parent_died_before_it_looked_ends_at_once():
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: its pid names no process
    code = (
        f"from diffkit.executors import _bind_to_owner; _bind_to_owner({gone.pid}); print('lived')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        start_new_session=True,  # it kills its own group: not pytest's
        timeout=30,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert "lived" not in done.stdout
