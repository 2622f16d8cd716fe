"""Scale: random-expression studies of 1,000 and 10,000 functions, time and peak memory.

    PYTHONPATH=. python scripts/bench_scale.py                  # 1,000 and 10,000, jobs 2 and Dask
    PYTHONPATH=. python scripts/bench_scale.py --counts 200,1000 --executors processes

Each configuration runs `diffkit study random` in a fresh child process (so one
run's caches cannot help the next) into a fresh folder, and reports wall time,
functions per second, and peak resident memory of the study process and of its
workers (ru_maxrss of the process and of its waited-for children, in MiB). Flat
memory means the study process's peak does not grow with N: results stream to disk
chunk by chunk and nothing of an earlier chunk is kept.

The Dask rows use a 2-worker LocalCluster started for the run (`--executor dask`);
the processes rows use diffkit's own worker processes (`--jobs 2`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from diffkit.cli import main
start = time.perf_counter()
code = main(sys.argv[1:])
seconds = time.perf_counter() - start
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"code": code, "seconds": seconds, "own_mib": own, "workers_mib": workers}))
"""


def run(count: int, executor: str, jobs: int, seed: int, chunk: int, folder: Path) -> dict:
    argv = [
        "study",
        "random",
        "--count",
        str(count),
        "--seed",
        str(seed),
        "--chunk",
        str(chunk),
        "--jobs",
        str(jobs),
        "--executor",
        executor,
        "--no-progress",
        "--out",
        str(folder),
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *argv], env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"study failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    chunks = sorted(folder.glob("chunk-*.csv"))
    result.update(
        wall=wall, chunks=len(chunks), disk_kib=sum(p.stat().st_size for p in chunks) / 1024
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1000,10000")
    parser.add_argument("--executors", default="processes,dask")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=200)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    executors = [e for e in args.executors.split(",") if e]
    if "dask" in executors:
        try:
            import distributed  # noqa: F401
        except ImportError:
            print("dask.distributed not installed (pip install 'diffkit[dask]'): Dask rows skipped")
            executors.remove("dask")

    print(f"random-expression study, seed {args.seed}, chunks of {args.chunk}, jobs {args.jobs}")
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    header = (
        f"{'N':>7} {'executor':>10} {'wall s':>8} {'fn/s':>7} "
        f"{'study MiB':>10} {'workers MiB':>12} {'chunks':>7} {'disk KiB':>9}"
    )
    print(header)
    print("-" * len(header))
    for executor in executors:
        for count in counts:
            folder = Path(tempfile.mkdtemp(prefix="diffkit-scale-"))
            try:
                r = run(count, executor, args.jobs, args.seed, args.chunk, folder / "study")
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            print(
                f"{count:>7} {executor:>10} {r['wall']:>8.1f} {count / r['wall']:>7.1f} "
                f"{r['own_mib']:>10.0f} {r['workers_mib']:>12.0f} {r['chunks']:>7} "
                f"{r['disk_kib']:>9.0f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
