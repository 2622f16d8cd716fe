"""Running tasks: order kept, time limits, dead workers and memory caps become results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import diffkit as dk
from diffkit import catalog
from diffkit.executors import run_tasks
from diffkit.sweep import FD_METHODS, sweep

STEPS = (1e-10, 1e-6, 1e-3)


def _work(task):
    kind, arg = task
    if kind == "value":
        return ("ok", arg)
    if kind == "sleep":
        time.sleep(arg)
        return ("slept", arg)
    if kind == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if kind == "exit":
        os._exit(3)
    if kind == "allocate":
        try:
            blocks = [np.ones(10**7) for _ in range(arg)]  # 80 MB each
        except MemoryError as exc:
            return ("memory", str(exc))
        return ("allocated", len(blocks))
    raise AssertionError(kind)


def _failed(task, status, message):
    return (status, message)


@pytest.mark.parametrize("jobs", [1, 2])
def test_results_come_back_in_task_order(jobs):
    tasks = [("value", i) for i in range(20)]
    assert run_tasks(tasks, _work, _failed, jobs=jobs) == [("ok", i) for i in range(20)]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_task_past_its_time_limit_is_stopped_and_the_others_finish(jobs):
    tasks = [("value", 1), ("sleep", 30), ("value", 2), ("value", 3)]
    start = time.monotonic()
    results = run_tasks(tasks, _work, _failed, jobs=jobs, time_limit=0.5)
    assert time.monotonic() - start < 10
    assert results[0] == ("ok", 1)
    assert results[2:] == [("ok", 2), ("ok", 3)]
    status, message = results[1]
    assert status == "timeout"
    assert "0.5 s" in message


@pytest.mark.parametrize("kind", ["kill", "exit"])
def test_a_worker_that_dies_is_replaced_and_named(kind):
    tasks = [("value", 1), (kind, None), ("value", 2), ("value", 3), ("value", 4)]
    results = run_tasks(tasks, _work, _failed, jobs=2)
    assert [r for i, r in enumerate(results) if i != 1] == [("ok", i) for i in (1, 2, 3, 4)]
    status, message = results[1]
    assert status == "crashed"
    assert ("SIGKILL" if kind == "kill" else "code 3") in message


def test_a_memory_cap_turns_unbounded_allocation_into_memory_error():
    tasks = [("allocate", 1000), ("value", 1)]  # 80 GB asked, 200 MB allowed
    results = run_tasks(tasks, _work, _failed, jobs=2, memory_limit=200 * 2**20)
    assert results[0][0] == "memory"
    assert results[1] == ("ok", 1)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="jobs"):
        run_tasks([], _work, _failed, jobs=0)
    with pytest.raises(ValueError, match="time_limit"):
        run_tasks([], _work, _failed, time_limit=0)


# ---------------------------------------------------------------------- the sweep on top


def _sleepy(x):
    time.sleep(60)
    return x


def test_sweep_with_two_jobs_gives_the_serial_frame():
    functions = [catalog.get(name) for name in ("squire_trapp", "rosenbrock2", "abs_kink")]
    kwargs = dict(steps=STEPS, backends=["fd-richardson", "reverse", "symbolic"])
    serial = sweep(functions, **kwargs).drop(columns="seconds")
    parallel = sweep(functions, jobs=2, **kwargs).drop(columns="seconds")
    assert serial.equals(parallel)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_hanging_function_becomes_timeout_rows_and_the_rest_completes(jobs):
    hang = dk.Function.from_callable(_sleepy, name="hang", points=(1.0,))
    frame = sweep(
        [catalog.get("exp"), hang],
        steps=STEPS,
        methods=FD_METHODS[:2],
        jobs=jobs,
        time_limit=1.0,
    )
    hung = frame[frame.function == "hang"]
    assert set(hung.status) == {"timeout"}
    assert hung.message.str.contains("time limit").all()
    assert (frame[frame.function == "exp"].status == "ok").all()


def test_kink_points_are_marked():
    frame = sweep(
        [catalog.get("abs_kink"), catalog.get("exp")], steps=STEPS, methods=FD_METHODS[:1]
    )
    assert frame[frame.function == "abs_kink"].kink.all()
    assert not frame[frame.function == "exp"].kink.any()


def test_noise_levels_are_rows_of_their_own_and_reproducible():
    kwargs = dict(
        steps=STEPS,
        methods=FD_METHODS[1:2],
        backends=["fd-richardson", "reverse"],
        noise=(0, 1e-6),
        points=[1.0],
    )
    frame = sweep([catalog.get("exp")], **kwargs)
    assert sorted(set(frame.noise)) == [0.0, 1e-6]
    noisy = frame[frame.noise > 0]
    # Noise reaches finite differences only: reverse mode has no noisy rows.
    assert set(noisy.backend) == {"fd", "fd-richardson"}
    clean = frame[(frame.noise == 0) & (frame.backend == "fd")].set_index("h").rel_err
    dirty = noisy[noisy.backend == "fd"].set_index("h").rel_err
    assert dirty[1e-10] > 100 * clean[1e-10]  # noise/h dominates at a tiny step
    again = sweep([catalog.get("exp")], **kwargs)
    assert frame.drop(columns="seconds").equals(again.drop(columns="seconds"))
    other_seed = sweep([catalog.get("exp")], seed=1, **kwargs)
    assert not np.array_equal(other_seed.value, frame.value)


def test_negative_or_nan_noise_is_refused():
    for bad in (-1e-3, float("nan")):
        with pytest.raises(ValueError, match="noise"):
            sweep([catalog.get("exp")], steps=STEPS, noise=(bad,))


ORPHAN_SCRIPT = """
import os, sys, time
from diffkit.executors import run_tasks

def work(i):
    with open(sys.argv[1], "a") as pids:
        pids.write(f"{os.getpid()}\\n")
    time.sleep(0.2)
    return i

run_tasks(list(range(1000)), work, lambda t, s, m: None, jobs=2)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead, only not yet reaped
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_workers_do_not_outlive_a_parent_killed_outright(tmp_path):
    pids = tmp_path / "pids"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    parent = subprocess.Popen([sys.executable, "-c", ORPHAN_SCRIPT, str(pids)], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(set(_read_pids(pids))) < 2:
        time.sleep(0.1)
    workers = set(_read_pids(pids))
    assert len(workers) == 2
    parent.kill()  # SIGKILL: no cleanup code runs in the parent
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    assert not [pid for pid in workers if _alive(pid)]


def _read_pids(path):
    return [int(line) for line in path.read_text().split()] if path.exists() else []


JAX_LOADED_SCRIPT = """
import sys, types, warnings
sys.modules["jax"] = types.ModuleType("jax")  # stands for a loaded multithreaded runtime
from diffkit.executors import ForkUnsafeWarning, run_tasks
import os
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    pids = run_tasks([1, 2, 3], lambda t: os.getpid(), lambda t, s, m: None, jobs=2)
assert os.getpid() not in pids, pids  # still forked: the warning says what to do
assert [w.category for w in caught] == [ForkUnsafeWarning], caught
print("ok")
"""


JAX_LOADED_PICKLABLE_SCRIPT = """
import sys, types, warnings
sys.modules["jax"] = types.ModuleType("jax")
from diffkit.executors import run_tasks
import math, os
with warnings.catch_warnings():
    warnings.simplefilter("error")  # no ForkUnsafeWarning: nothing is forked from here
    roots = run_tasks([1.0, 4.0, 9.0], math.sqrt, lambda t, s, m: None, jobs=2)
assert roots == [1.0, 2.0, 3.0], roots
print("ok")
"""


def test_picklable_work_with_jax_loaded_starts_from_a_forkserver():
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", JAX_LOADED_PICKLABLE_SCRIPT], env=env, capture_output=True, text=True
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_forking_a_process_with_jax_or_torch_loaded_warns():
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run(
        [sys.executable, "-c", JAX_LOADED_SCRIPT], env=env, capture_output=True, text=True
    )
    assert done.stdout.strip() == "ok", done.stderr
