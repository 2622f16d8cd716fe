"""The Dask executor on a real LocalCluster: same frame as the serial run, failures become rows."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")
import dask  # noqa: E402  (after the skip: both come with the dask extra)

from diffkit import catalog  # noqa: E402
from diffkit.cli import main  # noqa: E402
from diffkit.executors import run_tasks, shared_scheduler  # noqa: E402
from diffkit.executors_dask import DaskUnavailable, require_distributed  # noqa: E402
from diffkit.function import Function  # noqa: E402
from diffkit.sweep import sweep  # noqa: E402

STEPS = (1e-10, 1e-6, 1e-3)
FUNCTIONS = ("exp", "log", "abs_kink", "rosenbrock2")
BACKENDS = ("fd-richardson", "reverse", "symbolic")


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes, shared by the module's tests.

    No retries for a task whose worker dies (allowed-failures 0), and one task per
    worker thread at a time (worker-saturation 1.0), so that a worker's death is
    blamed on the task that was running on it only.
    """
    config = {
        "distributed.scheduler.allowed-failures": 0,
        "distributed.scheduler.worker-saturation": 1.0,
    }
    with (
        dask.config.set(config),
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
    ):
        yield local


def _frame(**options):
    functions = [catalog.get(name) for name in FUNCTIONS]
    return sweep(functions, steps=STEPS, backends=BACKENDS, **options).drop(columns="seconds")


def test_a_catalog_sweep_on_dask_equals_the_serial_sweep(cluster):
    on_dask = _frame(executor="dask", scheduler=cluster.scheduler_address)
    pd.testing.assert_frame_equal(on_dask, _frame())


def _sleeps(x):
    time.sleep(60)
    return x


def _kills_its_process(x):
    os.kill(os.getpid(), signal.SIGKILL)


def _sweep_with(fault, cluster):
    faulty = Function.from_callable(fault, name="faulty", points=(0.5,))
    frame = sweep(
        [catalog.get("exp"), faulty, catalog.get("log")],
        steps=STEPS,
        backends=BACKENDS[:1],
        time_limit=2,
        executor="dask",
        scheduler=cluster.scheduler_address,
    ).drop(columns="seconds")
    clean = sweep([catalog.get("exp"), catalog.get("log")], steps=STEPS, backends=BACKENDS[:1])
    intact = frame[frame.function != "faulty"].reset_index(drop=True)
    pd.testing.assert_frame_equal(intact, clean.drop(columns="seconds"))
    return frame[frame.function == "faulty"]


def test_a_task_past_the_time_limit_becomes_timeout_rows_and_the_rest_is_intact(cluster):
    start = time.monotonic()
    rows = _sweep_with(_sleeps, cluster)
    assert time.monotonic() - start < 30
    assert set(rows.status) == {"timeout"}
    assert rows.message.str.contains("time limit of 2 s").all()


def test_a_task_that_kills_its_process_becomes_crashed_rows_and_the_rest_is_intact(cluster):
    rows = _sweep_with(_kills_its_process, cluster)
    assert set(rows.status) == {"crashed"}
    assert rows.message.str.contains("SIGKILL").all()


def _value_or_kill_worker(task):
    """Kill the Dask worker running this task (the parent of the task's process)."""
    kind, value, worker_pids = task
    if kind == "kill-worker" and os.getppid() in worker_pids:  # never the test's own parent
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(30)
    return ("ok", value)


def _failed(task, status, message):
    return (status, message)


def test_a_task_that_kills_its_dask_worker_becomes_crashed_and_the_rest_is_intact(cluster):
    with distributed.Client(cluster, set_as_default=False) as client:
        pids = frozenset(client.run(os.getpid).values())
    tasks = [("value", i, pids) for i in range(12)]
    tasks[5] = ("kill-worker", 5, pids)
    results = run_tasks(
        tasks, _value_or_kill_worker, _failed, executor="dask", scheduler=cluster.scheduler_address
    )
    assert results[:5] + results[6:] == [("ok", i) for i in range(12) if i != 5]
    status, message = results[5]
    assert status == "crashed"
    assert "allowed-failures" in message


def _children() -> set[int]:
    import psutil

    return {child.pid for child in psutil.Process().children(recursive=True)}


def test_cli_sweep_on_dask_writes_the_serial_csv_and_closes_its_cluster(cluster, tmp_path: Path):
    """Without --scheduler, run_tasks starts a LocalCluster and closes it; with one, uses it."""
    common = ["sweep", "--functions", "exp", "--steps", "5", "--backends", "fd-richardson,reverse"]
    common += ["--no-progress", "--csv"]  # no jax, torch: each process would import them
    assert main([*common, str(tmp_path / "serial.csv")]) == 0
    before = _children()
    on_dask = ["--executor", "dask", "--jobs", "2"]
    assert main([*common, str(tmp_path / "local.csv"), *on_dask]) == 0
    deadline = time.monotonic() + 10
    while _children() - before:
        assert time.monotonic() < deadline, "the cluster's worker processes outlived the run"
        time.sleep(0.1)
    address = ["--scheduler", cluster.scheduler_address]
    assert main([*common, str(tmp_path / "shared.csv"), *on_dask, *address]) == 0
    serial, *others = (
        (tmp_path / f"{name}.csv").read_bytes() for name in ("serial", "local", "shared")
    )
    for other in others:  # --csv holds no timings: the same bytes wherever it ran
        assert other == serial


def test_cli_scheduler_without_the_dask_executor_is_a_usage_error(capsys):
    assert main(["sweep", "--functions", "exp", "--scheduler", "tcp://127.0.0.1:8786"]) == 2
    assert "--executor dask" in capsys.readouterr().err


def test_without_distributed_the_error_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    with pytest.raises(DaskUnavailable, match=r"diffkit\[dask\]"):
        require_distributed()
    assert main(["sweep", "--functions", "exp", "--executor", "dask"]) == 2
    assert "pip install 'diffkit[dask]'" in capsys.readouterr().err


def test_a_shared_scheduler_serves_several_runs_and_passes_other_executors_through():
    with shared_scheduler("processes", None, 2) as address:
        assert address is None
    with shared_scheduler("dask", "tcp://10.0.0.5:8786", 2) as address:
        assert address == "tcp://10.0.0.5:8786"
    tasks = [("value", i, frozenset()) for i in range(4)]
    with shared_scheduler("dask", None, 2) as address:
        assert address is not None
        for _ in range(2):
            results = run_tasks(
                tasks, _value_or_kill_worker, _failed, executor="dask", scheduler=address
            )
            assert results == [("ok", i) for i in range(4)]
