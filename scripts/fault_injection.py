"""Try to break diffkit on purpose, the way issue 13 did, and print what happened.

Every case runs for real: the ``diffkit`` command in a fresh temporary folder (a
subprocess, as a user would type it), processes killed with real signals, files
that must survive checked byte for byte. The table has one row per case: what the
README and the issue promise, what was observed, and PASS or FAIL. Never asserts;
exits 1 when a case fails, so it can gate a release by hand.

Run from the repository root: ``PYTHONPATH=. python scripts/fault_injection.py``
(about a minute; ``--only WORD`` runs the cases whose name contains WORD).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--expr", "sin(x)", "--at", "1", "--steps", "3", "--backends", "", "--jobs", "1"]
SMALL += ["--studies", "none", "--no-progress"]


@dataclass
class Outcome:
    expected: str
    observed: str
    passed: bool


def diffkit(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "diffkit", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_line_exit(run: subprocess.CompletedProcess[str], code: int) -> Outcome:
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    shown = lines[-1][:90] if lines else "(nothing on stderr)"
    passed = run.returncode == code and len(lines) == 1 and "Traceback" not in run.stderr
    return Outcome(
        f"exit {code}, one line", f"exit {run.returncode}, {len(lines)} line(s): {shown}", passed
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):  # a zombie is dead for our purpose
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].split()[0]
        return state != "Z"
    return True


# ---------------------------------------------------------------------- data loss


def case_files_inside_an_old_report(tmp: Path) -> Outcome:
    (tmp / "o/custom/figures").mkdir(parents=True)
    (tmp / "o/custom/data").mkdir(parents=True)
    (tmp / "o/custom/figures/mine.png").write_text("x")
    (tmp / "o/custom/data/mine.csv").write_text("x")
    run = diffkit("report", *SMALL, "--out", "o", cwd=tmp)
    kept = (tmp / "o/custom/figures/mine.png").exists() and (
        tmp / "o/custom/data/mine.csv"
    ).exists()
    out = one_line_exit(run, 2)
    return Outcome(
        "exit 2, both user files kept", f"{out.observed}; kept: {kept}", out.passed and kept
    )


def case_a_folder_with_only_a_users_index(tmp: Path) -> Outcome:
    (tmp / "o/custom").mkdir(parents=True)
    (tmp / "o/custom/index.html").write_text("my page")
    run = diffkit("report", *SMALL, "--out", "o", cwd=tmp)
    kept = (tmp / "o/custom/index.html").read_text() == "my page"
    out = one_line_exit(run, 2)
    return Outcome("exit 2, index.html kept", f"{out.observed}; kept: {kept}", out.passed and kept)


def case_a_refused_folder_is_refused_before_computing(tmp: Path) -> Outcome:
    (tmp / "o/catalog").mkdir(parents=True)
    (tmp / "o/catalog/notes.txt").write_text("x")
    start = time.perf_counter()
    run = diffkit("report", "--jobs", "1", "--no-progress", "--out", "o", cwd=tmp)  # whole catalog
    seconds = time.perf_counter() - start
    out = one_line_exit(run, 2)
    return Outcome(
        "exit 2 in seconds (no sweep)",
        f"{out.observed}; {seconds:.1f} s",
        out.passed and seconds < 20,
    )


def case_a_report_replaces_its_own_report(tmp: Path) -> Outcome:
    first = diffkit("report", *SMALL, "--out", "o", cwd=tmp)
    second = diffkit("report", *SMALL, "--out", "o", cwd=tmp)
    names = sorted(p.name for p in (tmp / "o").iterdir())
    passed = first.returncode == second.returncode == 0 and names == ["custom"]
    return Outcome(
        "exit 0 twice, nothing left beside it",
        f"exit {second.returncode}, o/ holds {names}",
        passed,
    )


# ---------------------------------------------------------------------- processes

_RUNNER = """
import os, subprocess, sys, time
from diffkit.executors import run_tasks

folder = sys.argv[1]
children = int(sys.argv[2])
limit = float(sys.argv[3]) if sys.argv[3] != "none" else None

def work(i):
    pids = [os.getpid()]
    for _ in range(children):
        pids.append(subprocess.Popen(["sleep", "300"]).pid)
    with open(os.path.join(folder, f"pids-{i}-{os.getpid()}"), "w") as f:
        f.write(" ".join(map(str, pids)))
    time.sleep(120)
    return "done"

print(run_tasks(list(range(2)), work, lambda t, s, m: s, jobs=2, time_limit=limit))
"""


def _recorded_pids(folder: Path, wanted: int, within: float) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        files = list(folder.glob("pids-*"))
        if len(files) >= wanted and all(f.read_text().strip() for f in files):
            return [int(p) for f in files for p in f.read_text().split()]
        time.sleep(0.1)
    return []


def _gone_within(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.2)
    return [p for p in pids if alive(p)]


def _start_runner(tmp: Path, children: int, limit: str) -> subprocess.Popen[str]:
    script = tmp / "runner.py"
    script.write_text(textwrap.dedent(_RUNNER))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, str(script), str(tmp), str(children), limit],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def case_parent_killed_during_a_task(tmp: Path) -> Outcome:
    runner = _start_runner(tmp, 3, "none")
    pids = _recorded_pids(tmp, 2, 60)
    runner.kill()  # SIGKILL: no handler runs in the parent
    runner.wait()
    left = _gone_within(pids, 10)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    passed = bool(pids) and not left
    return Outcome(
        "workers and their children gone in 10 s",
        f"{len(pids)} processes recorded, {len(left)} still running",
        passed,
    )


def case_a_timed_out_task_takes_its_children(tmp: Path) -> Outcome:
    runner = _start_runner(tmp, 5, "3")
    pids = _recorded_pids(tmp, 2, 60)
    try:
        out, _ = runner.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        runner.kill()
        out = "(runner hung)"
    left = _gone_within(pids, 10)
    for pid in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    passed = "timeout" in out and bool(pids) and not left
    return Outcome(
        "results 'timeout', no child left",
        f"{out.strip()[:40]}; {len(pids)} recorded, {len(left)} still running",
        passed,
    )


_KILLED_WHILE_WRITING = """
import os
import diffkit as dk
from diffkit.report import writer

frame = dk.sweep(["sin(x)"], points=[1.0], methods=["central"], steps=[1e-3])
writer.html_page = lambda *args, **kwargs: os.kill(os.getpid(), 9)  # SIGKILL mid-write
writer.write_report(frame, [], "o/catalog")
"""


def case_a_killed_report_leaves_no_temp_folder(tmp: Path) -> Outcome:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = textwrap.dedent(_KILLED_WHILE_WRITING)
    killed = subprocess.run([sys.executable, "-c", code], cwd=tmp, env=env, capture_output=True)
    stray_before = sorted(p.name for p in (tmp / "o").glob(".*")) if (tmp / "o").exists() else []
    run = diffkit("report", *SMALL, "--out", "o", "--name", "catalog", cwd=tmp)
    stray_after = sorted(p.name for p in (tmp / "o").glob(".*"))
    passed = killed.returncode == -9 and bool(stray_before) and run.returncode == 0
    passed = passed and not stray_after
    return Outcome(
        "the next run removes the dead run's temp folder",
        f"killed: {killed.returncode}; before: {stray_before or 'none'}; after: {stray_after or 'none'}",
        passed,
    )


def case_replacing_a_symlinked_report(tmp: Path) -> Outcome:
    first = diffkit("report", *SMALL, "--out", "real", cwd=tmp)
    (tmp / "o").mkdir()
    (tmp / "o/custom").symlink_to(tmp / "real/custom")
    second = diffkit("report", *SMALL, "--out", "o", cwd=tmp)
    stray = sorted(p.name for p in (tmp / "o").iterdir() if p.name != "custom")
    passed = first.returncode == second.returncode == 0 and not stray
    return Outcome(
        "exit 0, no '-old-' entry left", f"exit {second.returncode}, strays {stray}", passed
    )


# ---------------------------------------------------------------------- ground truth


def case_a_runaway_truth_stays_bounded(tmp: Path) -> Outcome:
    start = time.perf_counter()
    run = diffkit(
        "report", "--expr", "x**x**x**x**x", "--at", "10", "--steps", "3", "--jobs", "1",
        "--studies", "auto", "--no-progress", "--out", "o", cwd=tmp,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # KiB -> GiB
    sweep = tmp / "o/custom/sweep.csv.gz"
    text = gzip.decompress(sweep.read_bytes()).decode() if sweep.exists() else ""
    named = "more memory than ground truth may take" in text
    passed = run.returncode == 0 and named and peak < 6 and "KeyError" not in run.stderr
    return Outcome(
        "exit 0, rows name the truth's limit, < 6 GiB",
        f"exit {run.returncode}, named: {named}, peak RSS {peak:.1f} GiB, {seconds:.0f} s",
        passed,
    )


def case_a_slow_truth_stops_at_its_time_limit(tmp: Path) -> Outcome:
    start = time.perf_counter()
    run = diffkit(
        "sweep", "--expr", "exp(exp(exp(exp(exp(x)))))", "--at", "3", "--steps", "3",
        "--backends", "", "--jobs", "1", "--no-progress", "--truth-time-limit", "5",
        "--csv", "s.csv", cwd=tmp,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    text = (tmp / "s.csv").read_text() if (tmp / "s.csv").exists() else ""
    named = "time limit of 5 s" in text or "computing it stopped" in text or "not finite" in text
    passed = run.returncode == 0 and seconds < 60 and named
    return Outcome(
        "exit 0 within a minute, rows say why", f"exit {run.returncode}, {seconds:.0f} s", passed
    )


def case_deep_random_expressions_obey_the_time_limit(tmp: Path) -> Outcome:
    start = time.perf_counter()
    run = diffkit(
        "study", "random", "--count", "2", "--depth", "20", "20", "--time-limit", "3",
        "--jobs", "1", "--no-progress", "--out", "study", cwd=tmp,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    passed = run.returncode == 0 and seconds < 90 and "generation" in run.stdout
    return Outcome(
        "exit 0 in bounded time, a 'generation' entry",
        f"exit {run.returncode}, {seconds:.0f} s",
        passed,
    )


# ---------------------------------------------------------------------- silent results


def _raises(call: Callable[[], object], kind: type[BaseException]) -> str:
    try:
        got = call()
    except kind as exc:
        return f"{type(exc).__name__}: {str(exc)[:50]}"
    except Exception as exc:  # another error is still not silent, but not what is promised
        return f"other {type(exc).__name__}: {str(exc)[:40]}"
    return f"returned {got!r}"


def case_silent_results(tmp: Path) -> Outcome:
    import diffkit as dk

    def rosen(x: np.ndarray) -> float:
        return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    found = {
        "None": _raises(lambda: dk.ReverseMode().derivative(lambda x: None, 0.5), TypeError),
        "str": _raises(lambda: dk.grad(lambda x: "s")(np.zeros(2)), TypeError),
        "complex f": _raises(
            lambda: dk.FiniteDifference(scheme="complex").estimate(lambda x: np.exp(x) * 1j, 1.0),
            dk.ComplexStepError,
        ),
    }
    x = np.array([[0.5, 1.0], [1.5, 2.0]])
    nd = np.allclose(dk.FiniteDifference().gradient(rosen, x), [[-251, -400], [250, 200]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inf = dk.FiniteDifference(scheme="complex").estimate(lambda t: np.exp(1000 * t), 1.0)
        shape = dk.sweep(
            [lambda t: np.array([t, t])], points=[0.5], methods=["central"], steps=[1e-3]
        )
    refused = all(v.startswith(("TypeError", "ComplexStepError")) for v in found.values())
    passed = refused and nd and str(inf.status) != "ok" and not (shape["status"] == "ok").any()
    observed = (
        f"{sum(v.startswith(('TypeError', 'ComplexStepError')) for v in found.values())}/3 "
        f"refused, N-D gradient right: {nd}, inf: {inf.status}, 2 outputs ok rows: "
        f"{int((shape['status'] == 'ok').sum())}"
    )
    return Outcome("refusals, right values, no ok", observed, passed)


def case_large_hessians_say_their_cost(tmp: Path) -> Outcome:
    import diffkit as dk

    said = []
    for backend in (dk.FiniteDifference(), dk.Symbolic()):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("error", dk.CostWarning)
            try:
                backend.hessian(lambda x: np.sum(x**2), np.zeros(5000))
            except dk.CostWarning:
                said.append(time.perf_counter() - start)
    passed = len(said) == 2 and max(said) < 5
    return Outcome(
        "a CostWarning at once, both", f"{len(said)}/2 warned, in {max(said or [0]):.2f} s", passed
    )


# ---------------------------------------------------------------------- errors


def case_out_a_dangling_symlink(tmp: Path) -> Outcome:
    (tmp / "o").mkdir()
    (tmp / "o/custom").symlink_to(tmp / "nowhere")
    return one_line_exit(diffkit("report", *SMALL, "--out", "o", cwd=tmp), 2)


def case_out_under_a_file(tmp: Path) -> Outcome:
    (tmp / "afile").write_text("x")
    return one_line_exit(diffkit("report", *SMALL, "--out", "afile/sub", cwd=tmp), 2)


def case_out_in_proc(tmp: Path) -> Outcome:
    return one_line_exit(diffkit("report", *SMALL, "--out", "/proc/x", cwd=tmp), 2)


def case_out_a_file(tmp: Path) -> Outcome:
    (tmp / "o").mkdir()
    (tmp / "o/custom").write_text("x")
    return one_line_exit(diffkit("report", *SMALL, "--out", "o", cwd=tmp), 2)


def case_name_escaping_out(tmp: Path) -> Outcome:
    run = diffkit("report", *SMALL, "--out", "o", "--name", "../escape", cwd=tmp)
    out = one_line_exit(run, 2)
    escaped = (tmp / "escape").exists()
    return Outcome(
        "exit 2, nothing outside --out",
        f"{out.observed}; escaped: {escaped}",
        out.passed and not escaped,
    )


def _sweep_small(*extra: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    args = [a for a in SMALL if a not in ("--studies", "none")]
    return diffkit("sweep", *args, *extra, cwd=cwd)


def case_csv_a_folder(tmp: Path) -> Outcome:
    (tmp / "somedir").mkdir()
    return one_line_exit(_sweep_small("--csv", "somedir", cwd=tmp), 2)


def case_csv_under_a_file(tmp: Path) -> Outcome:
    (tmp / "afile").write_text("x")
    return one_line_exit(_sweep_small("--csv", "afile/x.csv", cwd=tmp), 2)


def case_csv_is_byte_identical(tmp: Path) -> Outcome:
    first = _sweep_small("--csv", "a.csv", cwd=tmp)
    second = _sweep_small("--csv", "b.csv", cwd=tmp)
    same = (tmp / "a.csv").read_bytes() == (tmp / "b.csv").read_bytes()
    passed = first.returncode == second.returncode == 0 and same
    return Outcome("two runs, the same bytes", f"exit {second.returncode}, same: {same}", passed)


def _manifest_case(tmp: Path, text: str) -> Outcome:
    (tmp / "study").mkdir()
    (tmp / "study/manifest.json").write_text(text)
    run = diffkit("study", "random", "--count", "1", "--out", "study", "--jobs", "1", cwd=tmp)
    out = one_line_exit(run, 2)
    named = "manifest.json" in run.stderr
    return Outcome("exit 2, one line naming the file", f"{out.observed}", out.passed and named)


def case_manifest_a_list(tmp: Path) -> Outcome:
    return _manifest_case(tmp, "[]")


def case_manifest_without_chunks(tmp: Path) -> Outcome:
    return _manifest_case(tmp, json.dumps({"format": 1, "parameters": {}, "count": 1}))


def case_manifest_broken_json(tmp: Path) -> Outcome:
    return _manifest_case(tmp, '{"chunks": ')


_USER_MODULE = """
import numpy as np

def loss(x):
    return np.sum(x ** 2)

def bad_grad(x):
    raise RuntimeError("my bug")
"""


def case_check_an_exception_in_user_code(tmp: Path) -> Outcome:
    (tmp / "mymod.py").write_text(_USER_MODULE)
    run = diffkit("check", "mymod:loss", "--grad", "mymod:bad_grad", "--at", "0.1,0.2", cwd=tmp)
    return one_line_exit(run, 3)


def case_check_at_nan(tmp: Path) -> Outcome:
    (tmp / "mymod.py").write_text(_USER_MODULE)
    return one_line_exit(diffkit("check", "mymod:loss", "--at", "0.1,nan", cwd=tmp), 2)


def case_check_does_not_run_a_stray_module(tmp: Path) -> Outcome:
    (tmp / "mymod.py").write_text(_USER_MODULE)
    (tmp / "symengine.py").write_text("open('RAN', 'w').write('x')\nraise ImportError('stray')\n")
    run = diffkit("check", "mymod:loss", "--at", "0.1,0.2", cwd=tmp)
    ran = (tmp / "RAN").exists()
    return Outcome(
        "exit 0, the stray module never runs",
        f"exit {run.returncode}, ran: {ran}",
        run.returncode == 0 and not ran,
    )


def case_report_folder_follows_the_umask(tmp: Path) -> Outcome:
    old = os.umask(0o022)
    try:
        run = diffkit("report", *SMALL, "--out", "o", cwd=tmp)
    finally:
        os.umask(old)
    mode = (tmp / "o/custom").stat().st_mode & 0o777 if (tmp / "o/custom").exists() else 0
    return Outcome(
        "mode 755 under umask 022",
        f"exit {run.returncode}, mode {mode:o}",
        run.returncode == 0 and mode == 0o755,
    )


def case_functions_given_twice(tmp: Path) -> Outcome:
    args = ["--functions", "exp,exp", "--steps", "3", "--backends", "", "--jobs", "1"]
    run = diffkit("sweep", *args, "--no-progress", "--csv", "s.csv", cwd=tmp)
    import pandas as pd

    frame = pd.read_csv(tmp / "s.csv") if (tmp / "s.csv").exists() else pd.DataFrame()
    keys = ["function", "point", "method", "h", "dtype", "component"]
    duplicated = (
        int(frame.duplicated([k for k in keys if k in frame.columns]).sum()) if len(frame) else -1
    )
    return Outcome(
        "no duplicated row",
        f"exit {run.returncode}, {duplicated} duplicated",
        run.returncode == 0 and duplicated == 0,
    )


def case_seed_below_zero(tmp: Path) -> Outcome:
    run = diffkit("report", *SMALL, "--seed", "-1", "--out", "o", cwd=tmp)
    out = one_line_exit(run, 2)
    return Outcome("exit 2, names --seed", out.observed, out.passed and "--seed" in run.stderr)


def case_functions_empty(tmp: Path) -> Outcome:
    return one_line_exit(diffkit("sweep", "--functions", "", "--jobs", "1", cwd=tmp), 2)


def case_at_with_an_empty_item(tmp: Path) -> Outcome:
    return one_line_exit(diffkit("sweep", "--expr", "sin(x)", "--at", "1,,2", cwd=tmp), 2)


CASES = {name[5:]: f for name, f in sorted(globals().items()) if name.startswith("case_")}


@contextlib.contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="diffkit-faults-") as name:
        yield Path(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    args = parser.parse_args()
    rows = []
    for name, case in CASES.items():
        if args.only not in name:
            continue
        start = time.perf_counter()
        with folder() as tmp:
            try:
                outcome = case(tmp)
            except Exception as exc:  # the script itself must go on to the next case
                outcome = Outcome("-", f"the case raised {type(exc).__name__}: {exc}", False)
        rows.append((name, outcome, time.perf_counter() - start))
        print(f"{'PASS' if outcome.passed else 'FAIL'}  {name}", file=sys.stderr, flush=True)
    width = max(len(name) for name, _, _ in rows)
    print(f"{'case':{width}}  {'expected':42}  {'observed':70}  result")
    for name, outcome, seconds in rows:
        result = "PASS" if outcome.passed else "FAIL"
        print(
            f"{name:{width}}  {outcome.expected[:42]:42}  {outcome.observed[:70]:70}  {result} ({seconds:.1f} s)"
        )
    failed = sum(not o.passed for _, o, _ in rows)
    print(f"\n{len(rows) - failed} of {len(rows)} cases pass")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
