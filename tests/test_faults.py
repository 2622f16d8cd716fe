"""Fault injection: whatever one function does, the other rows survive and the failure is named.

Each case runs a small sweep or report with one faulty function beside a good one
and checks three things: the good rows are intact, the faulty rows carry a status
and a message that name the problem (and reach the report), and no half-written
output is left.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import diffkit as dk
from diffkit import catalog
from diffkit.report import write_report
from diffkit.sweep import FD_METHODS, sweep

STEPS = (1e-8, 1e-5, 1e-2)
GOOD = "exp"


def _raises(x):
    raise ZeroDivisionError("deliberate failure inside f")


def _nan(x):
    return x * np.nan


def _inf(x):
    return np.exp(x) * np.inf


def _wrong_shape(x):
    return np.ones((3, 7))


def _sleeps(x):
    time.sleep(60)
    return x


def _allocates(x):
    hoard = []
    while True:  # unbounded: only the memory cap stops it
        hoard.append(np.ones(10**7))


def _kills_its_worker(x):
    os.kill(os.getpid(), signal.SIGKILL)


FAULTS = {
    "raises": (_raises, {"error"}, "ZeroDivisionError: deliberate failure"),
    "nan": (_nan, {"nonfinite"}, "f returns nan there"),
    "inf": (_inf, {"nonfinite"}, "f returns inf there"),
    "wrong-shape": (_wrong_shape, {"error"}, "returns 21 values (an array of shape (3, 7))"),
    "sleeps": (_sleeps, {"timeout"}, "time limit of 2 s"),
    "allocates": (_allocates, {"error"}, "MemoryError"),
    "kills-worker": (_kills_its_worker, {"crashed"}, "SIGKILL"),
}


def _faulty(name: str) -> dk.Function:
    return dk.Function.from_callable(FAULTS[name][0], name=f"faulty-{name}", points=(0.5,))


@pytest.fixture(scope="module")
def clean_rows() -> pd.DataFrame:
    return sweep([catalog.get(GOOD)], steps=STEPS, methods=FD_METHODS[:3], backends=["reverse"])


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_one_faulty_function_loses_nothing_else(fault, clean_rows, tmp_path):
    f = _faulty(fault)
    frame = sweep(
        [catalog.get(GOOD), f],
        steps=STEPS,
        methods=FD_METHODS[:3],
        backends=["reverse"],
        jobs=2,  # worker processes: a hang, a memory hog or a kill cannot take the sweep down
        time_limit=2.0,
        memory_limit=150 * 2**20,
    )
    good = frame[frame.function == GOOD].drop(columns="seconds").reset_index(drop=True)
    pd.testing.assert_frame_equal(good, clean_rows.drop(columns="seconds"))

    statuses, words = FAULTS[fault][1], FAULTS[fault][2]
    bad = frame[frame.function == f.name]
    fd_rows = bad[bad.backend == "fd"]
    assert set(fd_rows.status) <= statuses, fd_rows[["method", "status", "message"]]
    assert fd_rows.message.str.contains(words, regex=False).all(), set(fd_rows.message)
    # One row per (rule, step) for the faulty function's one point, as for each good point.
    assert len(bad) == len(good) // len(catalog.get(GOOD).points)

    index = write_report(frame, [catalog.get(GOOD), f], tmp_path / "report", title="faults")
    page = index.read_text(encoding="utf-8")
    assert f.name in page
    assert next(iter(statuses)) in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]  # no temporary folder left


def test_a_serial_sweep_also_stops_a_hanging_python_function():
    frame = sweep(
        [_faulty("sleeps"), catalog.get(GOOD)],
        steps=STEPS,
        methods=FD_METHODS[:1],
        time_limit=1.0,
    )
    assert set(frame[frame.function == "faulty-sleeps"].status) == {"timeout"}
    assert (frame[frame.function == GOOD].status == "ok").all()


# ---------------------------------------------------------------------- Ctrl-C


def _report_command(out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "diffkit",
        "report",
        "--out",
        str(out),
        "--jobs",
        "2",
        "--no-progress",
    ]


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_work(process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)


@pytest.mark.parametrize("after", [3.0, 9.0])
def test_sigint_during_report_leaves_the_previous_report_whole(tmp_path, after):
    """Ctrl-C while sweeping or while writing: exit 130, old report intact, no temp folders."""
    out = tmp_path / "reports"
    previous = write_report(
        sweep([catalog.get(GOOD)], steps=STEPS), [catalog.get(GOOD)], out / "catalog", title="old"
    )
    before = {p.name: p.read_bytes() for p in previous.parent.iterdir() if p.is_file()}

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    process = subprocess.Popen(
        _report_command(out),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As a terminal would: a shell's background job (CI under nohup, `cmd &`) starts
        # with SIGINT ignored, and Python then never installs its KeyboardInterrupt.
        preexec_fn=_interruptible,
    )
    _wait_for_work(process, after)
    if process.poll() is not None:
        pytest.skip("the report finished before the interrupt; nothing to test at this delay")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)

    assert process.returncode == 130, err
    assert "interrupted" in err
    assert "Traceback" not in err
    after_files = {p.name: p.read_bytes() for p in (out / "catalog").iterdir() if p.is_file()}
    assert after_files == before
    assert sorted(p.name for p in out.iterdir()) == ["catalog"]
