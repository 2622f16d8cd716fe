"""How much of real NumPy code does diffkit differentiate correctly?

Every case of ``scripts/numpy_cases.py`` (about 1,500 derivatives of NumPy code:
elementwise ufuncs, reductions, products, shape functions, indexing, array creation,
ndarray methods, comparisons used as numbers, ``np.linalg``, and code written the way
users write it) goes through diffkit's reverse mode (``dk.grad`` / ``dk.jacobian`` /
``dk.hessian`` of the function of the differentiated argument, the others fixed) and
through its symbolic backend (``dk.Symbolic().gradient`` / ``jacobian`` / ``hessian``).
Each result is compared with the truth, the consensus of the oracles:

- HIPS autograd and jax (float64: ``jax_enable_x64`` is switched on here), each used
  when importable, each running the case's own code with its own NumPy (``xp``);
- high-accuracy finite differences in float64: numdifftools (central differences with
  Richardson extrapolation) when installed, else ``dk.FiniteDifference(richardson=True)``
  along each coordinate; a Hessian is the finite-difference Jacobian of an exact
  oracle's gradient when one is available.

The truth is the largest group of oracles that agree pairwise (rtol 1e-6 between
exact oracles, 1e-5 when finite differences are involved); a lone oracle is used as
it is when it is the only one that ran; oracles that fail or return NaN/inf are left
out. At a tie or kink (cases marked ``kink=True``) there is no single truth: a result
passes when it is a valid generalized derivative, a convex combination of the
Jacobians of the smooth pieces that meet there (Clarke's generalized Jacobian). The
pieces are found by sampling 64 random points near the kink and differencing there
(Richardson-corrected for curved pieces); membership of their hull is a small
non-negative least-squares problem. So for ``np.maximum(x, x)`` only 1 passes, for
``np.max([3, 1, 3])`` any (t, 0, 1 - t), for ``np.clip`` at both bounds any diagonal
in [0, 1].

Outcome of each (case, backend):

- ``pass``: agrees with the truth to rtol 1e-6 of the truth's largest entry (1e-5
  when the truth rests on finite differences alone) plus the case's atol (1e-12; 0
  for the cases at scales 1e-14 and 1e8);
- ``clean-error``: diffkit refused with its own informative message: a ``TypeError``,
  ``ValueError`` or ``NotImplementedError`` (or subclass) raised by a ``raise`` in
  diffkit's code, or of a class diffkit defines, with a message of 30 characters or
  more (its length and first 120 characters are recorded);
- ``wrong``: a result that disagrees, has the wrong shape, or is NaN/inf where the
  truth is finite. The worst outcome: nothing tells the user;
- ``crash``: any other exception, including a ``TypeError``/``ValueError`` raised from
  inside NumPy or SymPy rather than by diffkit (SymPy's "Relational cannot be used
  in Add", NumPy's "no implementation found for ..."), or a child that died;
- ``timeout``: over the per-case wall limit (``--timeout``, default 30 s);
- ``no-oracle``: a result came back but there is nothing to judge it by (the oracles
  disagree, or none ran). Exceptions and timeouts are classified without a truth.

Isolation. Each (case, backend) runs in a forked child process, killed at the time
limit, so a hang, a crash or a memory blow-up costs one case, not the run. The
oracles run in forked children too, a few chunks of cases each, every oracle call
under a ``setitimer`` alarm of the same limit; they import autograd and jax there,
never in the parent, which keeps forking (forking a process that has started jax's
threads is unsafe). ``--jobs`` children run at once (default 2); the oracle chunks
are started first, as they are the longest.

The report: a header (versions, which oracles ran), the summary (counts and shares per
backend and outcome, and which oracles the truths rest on), failures per NumPy
function, the most common failure categories (one refusal worded for many functions
counts once), every ``wrong`` and ``crash`` with its text, and the cases without a
truth. ``--json`` writes every case's outcome, timing and error text.

Deterministic: the inputs come from fixed seeds, the sample points of the kink checks
from the case's name; the order of the report is the catalog's.

Run from the repository root::

    PYTHONPATH=. python scripts/bench_numpy_surface.py [--only SUBSTRING]
        [--backend reverse|symbolic|both] [--timeout S] [--jobs N] [--json PATH] [--list]

It needs only NumPy (and diffkit's own dependencies); autograd, jax and numdifftools
are used when installed, and the header says which were.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import itertools
import json
import os
import pickle
import platform
import re
import resource
import select
import signal
import sys
import time
import traceback
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# One BLAS thread: children run side by side, and threads forked mid-spin help no one.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
from numpy_cases import Case, all_cases, functions_covered

import diffkit as dk

OUTCOMES = ("pass", "clean-error", "wrong", "crash", "timeout", "no-oracle")
BACKENDS = ("reverse", "symbolic")
RTOL = 1e-6  # a result against an exact truth; also exact oracles against each other
RTOL_FD = 1e-5  # anything judged against finite differences
CLEAN_MESSAGE_MIN = 30  # shorter messages are not "informative"
CHILD_MEMORY_BYTES = 6 * 2**30  # a runaway SymPy expression fails its case, not the machine
DIFFKIT_DIR = Path(dk.__file__).resolve().parent


# ---------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class Shapes:
    """The shapes one case's derivative has, raw (per backend) and canonical (compared)."""

    x: tuple[int, ...]
    out: tuple[int, ...]

    @property
    def n(self) -> int:
        return int(np.prod(self.x, dtype=int))

    @property
    def m(self) -> int:
        return int(np.prod(self.out, dtype=int))

    def canonical(self, check: str) -> tuple[int, ...]:
        """Gradient (n,), Jacobian (m, n), Hessian (n, n): what every value is compared as."""
        return {"gradient": (self.n,), "jacobian": (self.m, self.n), "hessian": (self.n, self.n)}[
            check
        ]

    def expected(self, check: str, backend: str) -> tuple[int, ...]:
        """What each diffkit API documents: reverse mode ``out.shape + x.shape``; the symbolic
        backend's Jacobian and Hessian are flattened to (m, n) and (n, n)."""
        if check == "gradient":
            return self.x
        if backend == "reverse":
            return (self.out if check == "jacobian" else self.x) + self.x
        return self.canonical(check)


def shapes_of(case: Case) -> Shapes:
    """x's shape and f's output shape (f run once with NumPy)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        out = np.shape(case.bind(np)(case.args[case.argnum]))
    return Shapes(x=case.point.shape, out=tuple(out))


# ---------------------------------------------------------------------------- diffkit runs


def differentiate(case: Case, backend: str) -> Any:
    """diffkit's derivative of the case: what a user would call, on plain NumPy code."""
    f = case.bind(np)
    x = case.args[case.argnum]
    if backend == "reverse":
        api = {"gradient": dk.grad, "jacobian": dk.jacobian, "hessian": dk.hessian}[case.check]
        return api(f)(x)
    return getattr(dk.Symbolic(), case.check)(f, x)


def _raised_by_diffkit(exc: BaseException) -> tuple[bool, str]:
    """Whether diffkit raised ``exc`` on purpose (a ``raise`` in its code, or its own class),
    and where it was raised (file:line, for the report)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    if type(exc).__module__.split(".")[0] == "diffkit":
        return True, where
    if not frames:
        return False, where
    inner = frames[-1]
    inside = Path(inner.filename).resolve().is_relative_to(DIFFKIT_DIR)
    return inside and (inner.line or "").lstrip().startswith("raise"), where


def describe_exception(exc: BaseException) -> dict[str, Any]:
    """The facts that classify an exception, taken in the child where the object lives."""
    message = str(exc)
    by_diffkit, where = _raised_by_diffkit(exc)
    family = isinstance(exc, TypeError | ValueError | NotImplementedError)
    if not family:
        outcome, why = (
            "crash",
            f"{type(exc).__name__} is not a TypeError/ValueError/NotImplementedError",
        )
    elif not by_diffkit:
        outcome, why = "crash", f"raised inside {_short_path(where)}, not by diffkit"
    elif len(message.strip()) < CLEAN_MESSAGE_MIN:
        outcome, why = "crash", f"message of {len(message.strip())} characters is not informative"
    else:
        outcome, why = "clean-error", ""
    return {
        "outcome": outcome,
        "why": why,
        "type": f"{type(exc).__module__}.{type(exc).__qualname__}",
        "message": message,
        "where": _short_path(where),
    }


def _short_path(where: str) -> str:
    """site-packages/sympy/core/add.py:123 -> sympy/core/add.py:123; repo paths relative."""
    for marker in ("site-packages/", "dist-packages/"):
        if marker in where:
            return where.split(marker, 1)[1]
    root = str(DIFFKIT_DIR.parent) + os.sep
    return where.replace(root, "")


def child_work(case: Case, backend: str) -> dict[str, Any]:
    """Runs in the child: the derivative as a float array, or why there is none."""
    warnings.simplefilter("ignore")
    np.seterr(all="ignore")
    start = time.perf_counter()
    try:
        raw = differentiate(case, backend)
    except Exception as exc:  # every failure is data here
        return {"error": describe_exception(exc), "seconds": time.perf_counter() - start}
    seconds = time.perf_counter() - start
    try:
        value = np.array(raw, dtype=np.float64)
    except Exception as exc:
        return {
            "invalid": f"returned {type(raw).__name__}, not a float array ({exc})"[:300],
            "seconds": seconds,
        }
    return {"value": value, "seconds": seconds}


# ---------------------------------------------------------------------------- isolation


@dataclass(frozen=True)
class Task:
    """Work for one child process: ``work()`` returns a picklable dict."""

    key: tuple[str, str]
    work: Callable[[], dict[str, Any]]
    timeout: float
    limit_memory: bool  # diffkit runs only: jax reserves more address space than it uses


@dataclass
class Child:
    pid: int
    fd: int
    task: Task
    started: float
    chunks: list[bytes] = field(default_factory=list)

    @property
    def deadline(self) -> float:
        return self.started + self.task.timeout


def _spawn(task: Task) -> Child:
    """Fork a child that runs the task and pickles its result into a pipe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        _child_main(task, write_end)
    os.close(write_end)
    return Child(pid, read_end, task, time.monotonic())


def _child_main(task: Task, write_end: int) -> None:
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_WRONLY)  # keep the report free of library chatter
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        if task.limit_memory:
            resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY_BYTES, CHILD_MEMORY_BYTES))
        try:
            payload = pickle.dumps(task.work())
        except BaseException as exc:  # MemoryError, RecursionError, an unpicklable result
            payload = pickle.dumps({"error": describe_exception(exc), "seconds": 0.0})
        with os.fdopen(write_end, "wb") as out:
            out.write(payload)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _finish(child: Child, timed_out: bool) -> dict[str, Any]:
    """Reap the child and decode what it sent (or say how it ended)."""
    if timed_out:
        os.kill(child.pid, signal.SIGKILL)
    os.close(child.fd)
    _, status = os.waitpid(child.pid, 0)
    elapsed = time.monotonic() - child.started
    if timed_out:
        return {"timeout": True, "seconds": elapsed}
    data = b"".join(child.chunks)
    if not data:
        how = (
            f"signal {os.WTERMSIG(status)}"
            if os.WIFSIGNALED(status)
            else f"exit status {os.WEXITSTATUS(status)}"
        )
        return {"died": f"the child process died ({how}) without a result", "seconds": elapsed}
    return pickle.loads(data)


def run_isolated(tasks: Sequence[Task], jobs: int) -> dict[tuple[str, str], dict[str, Any]]:
    """Every task in a child of its own, ``jobs`` at a time, each killed at its time limit."""
    pending = list(reversed(tasks))
    running: dict[int, Child] = {}
    results: dict[tuple[str, str], dict[str, Any]] = {}
    started = time.monotonic()
    try:
        while pending or running:
            while pending and len(running) < jobs:
                child = _spawn(pending.pop())
                running[child.fd] = child
            wait = max(0.0, min(c.deadline for c in running.values()) - time.monotonic())
            ready, _, _ = select.select(list(running), [], [], wait)
            for fd in ready:
                chunk = os.read(fd, 1 << 16)
                if chunk:
                    running[fd].chunks.append(chunk)
                else:
                    child = running.pop(fd)
                    results[child.task.key] = _finish(child, timed_out=False)
                    _progress(len(results), len(tasks), started)
            now = time.monotonic()
            for fd, child in list(running.items()):
                if now >= child.deadline:
                    del running[fd]
                    results[child.task.key] = _finish(child, timed_out=True)
                    _progress(len(results), len(tasks), started)
    finally:
        for child in running.values():  # interrupted: take our children down with us
            os.kill(child.pid, signal.SIGKILL)
            os.waitpid(child.pid, 0)
    return results


def _progress(done: int, total: int, started: float) -> None:
    if done % 200 == 0 or done == total:
        print(
            f"  {done}/{total} child runs done, {time.monotonic() - started:.0f} s",
            file=sys.stderr,
            flush=True,
        )


# ---------------------------------------------------------------------------- oracles


class OracleTimeout(BaseException):
    """Raised by the alarm; a BaseException so that library ``except Exception`` lets it by."""


def _alarm(signum: int, frame: Any) -> None:
    raise OracleTimeout


def with_time_limit(fn: Callable[[], Any], seconds: float) -> Any:
    """fn() under a wall-clock alarm: ``OracleTimeout`` past ``seconds``."""
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class OracleSet:
    """The oracles importable here (imported in the oracle children only, see ``oracle_chunk``)."""

    autograd: Any = None
    anp: Any = None
    jax: Any = None
    jnp: Any = None
    numdifftools: Any = None
    versions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls) -> OracleSet:
        found = cls()
        found.autograd, found.anp = _optional("autograd"), _optional("autograd.numpy")
        found.jax = _optional("jax")
        if found.jax is not None:
            found.jax.config.update("jax_enable_x64", True)
            found.jnp = importlib.import_module("jax.numpy")
        found.numdifftools = _optional("numdifftools")
        for name in ("autograd", "jax", "numdifftools"):
            if getattr(found, name) is not None:
                found.versions[name] = _version(name)
        return found

    def names(self) -> list[str]:
        exact = [n for n in ("autograd", "jax") if getattr(self, n) is not None]
        return [*exact, "fd"]

    def describe(self) -> str:
        parts = [f"{n} {v}" for n, v in self.versions.items() if n != "numdifftools"]
        if self.numdifftools is not None:
            parts.append(f"fd: numdifftools {self.versions['numdifftools']} (central, Richardson)")
        else:
            parts.append("fd: dk.FiniteDifference(richardson=True) (numdifftools not installed)")
        missing = [n for n in ("autograd", "jax") if getattr(self, n) is None]
        return "; ".join(parts) + (f"; not installed: {', '.join(missing)}" if missing else "")


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _optional(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _exact_api(oracles: OracleSet, name: str) -> tuple[Any, dict[str, Callable[..., Any]]]:
    """(namespace, check -> transform) of an exact oracle."""
    if name == "autograd":
        ag = oracles.autograd
        return oracles.anp, {"gradient": ag.grad, "jacobian": ag.jacobian, "hessian": ag.hessian}
    jax = oracles.jax
    return oracles.jnp, {"gradient": jax.grad, "jacobian": jax.jacrev, "hessian": jax.hessian}


def _oracle_point(case: Case, name: str, oracles: OracleSet) -> Any:
    x = case.args[case.argnum]
    if name == "jax":
        return oracles.jnp.asarray(x, dtype=oracles.jnp.float64)
    return float(x) if np.ndim(x) == 0 else np.asarray(x, dtype=np.float64)


def _derivative_function(case: Case, name: str, oracles: OracleSet, check: str) -> Any:
    """The oracle's derivative of the case as a function of x. jax's is jitted when the case
    traces under jit (4 times faster than op-by-op dispatch, same numbers); code that
    branches on values or calls float() runs eagerly."""
    xp, api = _exact_api(oracles, name)
    derivative = api[check](case.bind(xp))
    if name != "jax":
        return derivative
    jitted = oracles.jax.jit(derivative)
    try:
        jitted(_oracle_point(case, name, oracles))
    except Exception:
        return derivative
    return jitted


def exact_oracle(case: Case, name: str, oracles: OracleSet) -> np.ndarray:
    """autograd's or jax's derivative of the case, running the case on its own NumPy."""
    derivative = _derivative_function(case, name, oracles, case.check)
    return np.asarray(derivative(_oracle_point(case, name, oracles)), dtype=float)


def _flat_function(case: Case, shapes: Shapes) -> Callable[[np.ndarray], np.ndarray]:
    """f of a flat float vector, returning a flat float vector: what finite differences walk."""
    f = case.bind(np)

    def flat(v: np.ndarray) -> np.ndarray:
        return np.asarray(f(np.asarray(v, dtype=float).reshape(shapes.x)), dtype=float).ravel()

    return flat


def fd_oracle(
    case: Case,
    shapes: Shapes,
    oracles: OracleSet,
    exact_gradient: Callable[[np.ndarray], np.ndarray] | None,
) -> np.ndarray:
    """Central differences with Richardson extrapolation, in float64, in canonical shape.
    A Hessian differentiates an exact gradient when one is at hand (one level of
    differencing, not two)."""
    flat = _flat_function(case, shapes)
    x = case.point.ravel()
    nd = oracles.numdifftools
    if case.check == "hessian" and exact_gradient is not None:
        return _fd_jacobian(nd, exact_gradient, x)
    if case.check == "hessian":
        if nd is not None:
            return np.asarray(nd.Hessian(lambda v: flat(v)[0])(x), dtype=float)
        return dk.FiniteDifference(richardson=True).hessian(lambda v: flat(v)[0], x)
    jac = _fd_jacobian(nd, flat, x)
    return jac.reshape(shapes.canonical(case.check))


def _fd_jacobian(nd: Any, fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray) -> np.ndarray:
    """The (m, n) finite-difference Jacobian of a flat function at flat x."""
    m = fn(x).size
    if nd is not None:
        return np.asarray(nd.Jacobian(fn)(x), dtype=float).reshape(m, x.size)
    return np.asarray(dk.FiniteDifference(richardson=True).jacobian(fn, x)).reshape(m, x.size)


def _gradient_for_fd(
    case: Case, shapes: Shapes, oracles: OracleSet, names: Iterable[str]
) -> Callable[[np.ndarray], np.ndarray] | None:
    """An exact oracle's gradient as a flat function, for the finite-difference Hessian: the
    first that runs and is finite at x (autograd's prod gradient at a zero factor is NaN)."""
    for name in names:
        try:
            grad = _derivative_function(case, name, oracles, "gradient")
            at_x = np.asarray(grad(_oracle_point(case, name, oracles)), dtype=float)
        except Exception:
            continue
        if not np.all(np.isfinite(at_x)):
            continue

        def flat(v: np.ndarray, grad: Any = grad, name: str = name) -> np.ndarray:
            point = np.asarray(v, dtype=float).reshape(shapes.x)
            if name == "jax":
                point = oracles.jnp.asarray(point)
            return np.asarray(grad(point), dtype=float).ravel()

        return flat
    return None


@dataclass
class OracleRun:
    """Every oracle's answer for one case: a canonical array, or why there is none."""

    values: dict[str, np.ndarray] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def run_oracles(case: Case, shapes: Shapes, oracles: OracleSet, timeout: float) -> OracleRun:
    """Every oracle on one case, each under the time limit; failures are recorded, not raised."""
    run = OracleRun()
    exact = [n for n in oracles.names() if n != "fd"]

    def fd() -> np.ndarray:
        grad = _gradient_for_fd(case, shapes, oracles, exact) if case.check == "hessian" else None
        return fd_oracle(case, shapes, oracles, grad)

    for name in exact:
        _record(
            run, name, lambda name=name: exact_oracle(case, name, oracles), shapes, case, timeout
        )
    _record(run, "fd", fd, shapes, case, timeout)
    return run


def _record(
    run: OracleRun,
    name: str,
    fn: Callable[[], np.ndarray],
    shapes: Shapes,
    case: Case,
    timeout: float,
) -> None:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            value = np.asarray(with_time_limit(fn, timeout), dtype=float)
        except OracleTimeout:
            run.failures[name] = f"timeout after {timeout:g} s"
            return
        except Exception as exc:
            run.failures[name] = f"{type(exc).__name__}: {exc}"[:200]
            return
    want = shapes.canonical(case.check)
    if value.size != int(np.prod(want)):
        run.failures[name] = f"shape {value.shape}, expected {want}"
    elif not np.all(np.isfinite(value)):
        run.failures[name] = "non-finite values"
    else:
        run.values[name] = value.reshape(want)


# ---------------------------------------------------------------------------- truth


@dataclass
class Truth:
    """What a result is judged by: a value (smooth cases) or the pieces meeting at a kink."""

    value: np.ndarray | None = None
    pieces: Pieces | None = None
    exact: bool = False  # an exact oracle is part of the consensus
    agreed: tuple[str, ...] = ()
    note: str = ""

    @property
    def available(self) -> bool:
        return self.value is not None or self.pieces is not None


def max_error(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(max |a - b|, the scale it is relative to: the larger max-abs of the two)."""
    diff = float(np.max(np.abs(a - b))) if a.size else 0.0
    scale = max(
        float(np.max(np.abs(a))) if a.size else 0.0, float(np.max(np.abs(b))) if b.size else 0.0
    )
    return diff, scale


def oracles_agree(a: np.ndarray, b: np.ndarray, rtol: float, atol: float) -> bool:
    diff, scale = max_error(a, b)
    return diff <= rtol * scale + atol


def consensus(run: OracleRun, atol: float) -> Truth:
    """The largest group of oracles that agree pairwise; its most exact member's value."""
    if not run.values:
        failures = "; ".join(f"{k}: {v}" for k, v in run.failures.items())
        return Truth(note=f"no oracle ran ({failures})")
    group = _largest_agreeing_group(run, atol)
    if len(group) == 1 and len(run.values) > 1:
        return Truth(note="oracles disagree: " + _disagreement(run))
    best = next(n for n in ("autograd", "jax", "fd") if n in group)
    return Truth(
        value=run.values[best], exact=best != "fd", agreed=group, note=_left_out(run, group)
    )


def _largest_agreeing_group(run: OracleRun, atol: float) -> tuple[str, ...]:
    """The first largest set of oracles whose values agree pairwise (a lone one always does)."""

    def agree(a: str, b: str) -> bool:
        rtol = RTOL_FD if "fd" in (a, b) else RTOL
        return oracles_agree(run.values[a], run.values[b], rtol, atol)

    names = list(run.values)
    for size in range(len(names), 0, -1):
        for group in itertools.combinations(names, size):
            if all(agree(a, b) for a, b in itertools.combinations(group, 2)):
                return group
    return ()


def _disagreement(run: OracleRun) -> str:
    parts = []
    for a, b in itertools.combinations(run.values, 2):
        diff, scale = max_error(run.values[a], run.values[b])
        parts.append(f"{a}~{b} max diff {diff:.2e} (scale {scale:.2e})")
    return "; ".join(parts)


def _left_out(run: OracleRun, group: Sequence[str]) -> str:
    others = [f"{n}: disagrees" for n in run.values if n not in group]
    others += [f"{n}: {why}" for n, why in run.failures.items()]
    return "; ".join(others)


# ---------------------------------------------------------------------------- kinks

PIECE_SAMPLES = 64  # random directions around a kink; each finds the piece it lands in
PIECE_RADIUS = 1e-4  # how far from the kink the pieces are sampled (relative to |x|)
PIECE_GAP = 0.01  # sample directions u keep |u_i|, |u_i - u_j|, |u_i + u_j| above this


@dataclass
class Pieces:
    """The Jacobians of the smooth pieces that meet at a kink, one per row (flattened).

    A valid answer at the kink is any convex combination of them: the Clarke generalized
    Jacobian, e.g. the segment between e0 and e2 for max([3, 1, 3]), every diagonal matrix
    with entries in [0, 1] for clip at both bounds, 1 for maximum(x, x).
    """

    jacobians: np.ndarray  # (k, m * n)

    def distance(self, value: np.ndarray) -> float:
        """How far ``value`` is from the pieces' convex hull: the max-abs residual of the
        convex combination closest to it (in the least-squares sense)."""
        target = value.ravel()
        weights = simplex_least_squares(self.jacobians.T, target)
        return float(np.max(np.abs(self.jacobians.T @ weights - target))) if target.size else 0.0

    def scale(self) -> float:
        return float(np.max(np.abs(self.jacobians))) if self.jacobians.size else 0.0


def nnls(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """argmin ||a x - b|| over x >= 0 (Lawson and Hanson's active-set method; NumPy only,
    the harness must run without SciPy)."""
    n = a.shape[1]
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    tol = 1e-12 * max(1.0, float(np.max(np.abs(a))) * float(np.max(np.abs(b), initial=1.0)))
    for _ in range(4 * n + 10):
        gradient = a.T @ (b - a @ x)
        free = np.where(passive, -np.inf, gradient)
        if not np.any(free > tol):
            break
        passive[int(np.argmax(free))] = True
        while True:  # drop coordinates the unconstrained solution would make negative
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if np.all(z[passive] > 0):
                x = z
                break
            blocked = passive & (z <= 0)
            step = float(np.min(x[blocked] / (x[blocked] - z[blocked])))
            x = x + step * (z - x)
            passive &= x > 1e-15
    return x


def simplex_least_squares(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """argmin ||a w - b|| over the simplex (w >= 0, sum w = 1): NNLS with the sum as one
    more, heavily weighted, equation."""
    weight = 1e4 * max(1.0, float(np.max(np.abs(a), initial=0.0)))
    augmented = np.vstack([a, np.full((1, a.shape[1]), weight)])
    return nnls(augmented, np.append(b, weight))


def _central_jacobian(
    flat: Callable[[np.ndarray], np.ndarray], y: np.ndarray, h: float
) -> np.ndarray:
    """(m, n) central differences at a smooth point y (exact for linear pieces)."""
    columns = []
    for i in range(y.size):
        step = np.zeros(y.size)
        step[i] = h
        columns.append((flat(y + step) - flat(y - step)) / (2 * h))
    return np.stack(columns, axis=1)


def _directions(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Random directions that keep sample points off the kinks our cases have: coordinates
    at a value (abs, clip), equal (ties) or opposite (|x_i| = |x_j|)."""
    if n == 1:
        return [np.array([1.0]), np.array([-1.0])]
    found: list[np.ndarray] = []
    for _ in range(100 * PIECE_SAMPLES):
        u = rng.standard_normal(n)
        diffs = np.abs(u[:, None] - u[None, :])[np.triu_indices(n, 1)]
        sums = np.abs(u[:, None] + u[None, :])[np.triu_indices(n, 1)]
        if min(np.min(np.abs(u)), np.min(diffs), np.min(sums)) > PIECE_GAP:
            found.append(u / np.linalg.norm(u))
        if len(found) == PIECE_SAMPLES:
            break
    return found


def kink_pieces(case: Case, shapes: Shapes) -> Pieces:
    """The pieces' Jacobians at x, from points x + r u near the kink: J(x + r u / 2) doubled
    minus J(x + r u) cancels the O(r) drift of curved pieces."""
    flat = _flat_function(case, shapes)
    x = case.point.ravel()
    scale = max(1.0, float(np.max(np.abs(x))) if x.size else 1.0)
    # The sample points are at least radius * gap / 2 from a kink; h stays well inside that.
    radius = PIECE_RADIUS * scale
    h = 0.05 * radius * PIECE_GAP
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    found: list[np.ndarray] = []
    with np.errstate(all="ignore"):
        for u in _directions(rng, x.size):
            near = _central_jacobian(flat, x + radius * u, h)
            nearer = _central_jacobian(flat, x + 0.5 * radius * u, h)
            piece = (2.0 * nearer - near).ravel()
            if not any(
                np.max(np.abs(piece - p)) <= 1e-6 * max(1.0, np.max(np.abs(p))) for p in found
            ):
                found.append(piece)
    return Pieces(np.array(found))


def kink_truth(case: Case, shapes: Shapes, run: OracleRun) -> Truth:
    try:
        pieces = kink_pieces(case, shapes)
    except Exception as exc:
        return Truth(note=f"sampling the pieces failed: {type(exc).__name__}: {exc}")
    if not pieces.jacobians.size or not np.all(np.isfinite(pieces.jacobians)):
        return Truth(note="the pieces' Jacobians are not finite")
    agreed = tuple(n for n, v in run.values.items() if within_hull(v, pieces, case.atol)[0])
    outside = [n for n in run.values if n not in agreed]
    note = f"any point of the hull of {len(pieces.jacobians)} pieces passes"
    note += f"; outside it: {', '.join(outside)}" if outside else ""
    return Truth(pieces=pieces, agreed=("pieces", *agreed), exact=True, note=note)


def within_hull(value: np.ndarray, pieces: Pieces, atol: float) -> tuple[bool, float]:
    """(a valid generalized derivative?, its distance to the hull of the pieces)."""
    distance = pieces.distance(value)
    return distance <= RTOL_FD * pieces.scale() + max(atol, 1e-9), distance


# ---------------------------------------------------------------------------- classification


@dataclass
class Verdict:
    outcome: str
    detail: str = ""
    seconds: float = 0.0
    error_type: str = ""
    message_length: int = 0
    message_head: str = ""


def judge(case: Case, shapes: Shapes, backend: str, run: dict[str, Any], truth: Truth) -> Verdict:
    """The outcome of one backend's run on one case."""
    seconds = float(run.get("seconds", 0.0))
    if run.get("timeout"):
        return Verdict("timeout", f"no result within {seconds:.0f} s", seconds)
    if "died" in run:
        return Verdict("crash", run["died"], seconds, error_type="process died")
    if "error" in run:
        err = run["error"]
        detail = f"{err['type']}: {err['message']}"[:400]
        if err["why"]:
            detail += f"  [{err['why']}]"
        message = err["message"].strip()
        return Verdict(err["outcome"], detail, seconds, err["type"], len(message), message[:120])
    if "invalid" in run:
        return Verdict("wrong", run["invalid"], seconds)
    return _judge_value(case, shapes, backend, run["value"], truth, seconds)


def _judge_value(
    case: Case, shapes: Shapes, backend: str, value: np.ndarray, truth: Truth, seconds: float
) -> Verdict:
    expected = shapes.expected(case.check, backend)
    if value.shape != expected:
        return Verdict("wrong", f"shape {value.shape}, expected {expected}", seconds)
    if not truth.available:
        return Verdict("no-oracle", truth.note, seconds)
    canonical = value.reshape(shapes.canonical(case.check))
    if truth.pieces is not None:
        if not np.all(np.isfinite(canonical)):
            return Verdict("wrong", "NaN/inf at a kink whose pieces are finite", seconds)
        ok, distance = within_hull(canonical, truth.pieces, case.atol)
        if ok:
            return Verdict("pass", "a valid generalized derivative", seconds)
        return Verdict(
            "wrong",
            f"not a convex combination of the {len(truth.pieces.jacobians)} "
            f"pieces (distance {distance:.3g}); got {_show(canonical)}",
            seconds,
        )
    assert truth.value is not None
    if not np.all(np.isfinite(canonical)):
        return Verdict(
            "wrong",
            f"NaN/inf where the truth is finite; got {_show(canonical)}, "
            f"truth {_show(truth.value)}",
            seconds,
        )
    diff = float(np.max(np.abs(canonical - truth.value))) if canonical.size else 0.0
    scale = float(np.max(np.abs(truth.value))) if truth.value.size else 0.0
    rtol = RTOL if truth.exact else RTOL_FD
    if diff <= rtol * scale + case.atol:
        return Verdict("pass", "", seconds)
    return Verdict(
        "wrong",
        f"max |error| {diff:.3g} (truth max-abs {scale:.3g}; from "
        f"{'+'.join(truth.agreed)}); got {_show(canonical)}, truth {_show(truth.value)}",
        seconds,
    )


def _show(value: np.ndarray, limit: int = 6) -> str:
    flat = value.ravel()
    shown = ", ".join(f"{v:.4g}" for v in flat[:limit])
    return f"[{shown}{', ...' if flat.size > limit else ''}]"


# ---------------------------------------------------------------------------- the run


@dataclass
class CaseResult:
    case: Case
    shapes: Shapes
    truth: Truth
    oracle_failures: dict[str, str]
    verdicts: dict[str, Verdict]


def select_cases(only: str | None) -> list[Case]:
    cases = list(all_cases())
    if only:
        cases = [c for c in cases if only in c.name or any(only in f for f in c.functions)]
    return cases


ORACLE_CHUNKS_PER_JOB = 4  # oracle work is split so that the children balance


def oracle_chunk(cases: Sequence[Case], timeout: float) -> dict[str, Any]:
    """Runs in a child: imports the oracles (never in the parent, which keeps forking) and
    returns each case's truth and the oracles that failed on it."""
    warnings.simplefilter("ignore")
    oracles = OracleSet.load()
    truths = {}
    for case in cases:
        shapes = shapes_of(case)
        run = run_oracles(case, shapes, oracles, timeout)
        truth = kink_truth(case, shapes, run) if case.kink else consensus(run, case.atol)
        truths[case.name] = (truth, run.failures)
    return {"truths": truths, "versions": oracles.versions, "oracles": oracles.describe()}


def build_tasks(
    cases: Sequence[Case], backends: Sequence[str], timeout: float, jobs: int
) -> list[Task]:
    """Oracle chunks first (the longest tasks), then every (case, backend) of diffkit."""
    size = max(1, -(-len(cases) // (ORACLE_CHUNKS_PER_JOB * jobs)))
    tasks = []
    for k in range(0, len(cases), size):
        chunk = tuple(cases[k : k + size])
        limit = 60.0 + 4 * timeout * len(chunk)  # generous: each oracle has its own alarm
        tasks.append(
            Task(
                ("oracles", str(k)),
                lambda chunk=chunk: oracle_chunk(chunk, timeout),
                limit,
                limit_memory=False,
            )
        )
    for case in cases:
        for backend in backends:
            tasks.append(
                Task(
                    (case.name, backend),
                    lambda case=case, backend=backend: child_work(case, backend),
                    timeout,
                    limit_memory=True,
                )
            )
    return tasks


def _collect_truths(
    runs: dict[tuple[str, str], dict[str, Any]], cases: Sequence[Case]
) -> tuple[dict[str, Any], str]:
    """Every case's (truth, oracle failures), and the oracles' description for the header."""
    truths: dict[str, Any] = {}
    described = ""
    for key, payload in runs.items():
        if key[0] != "oracles":
            continue
        if "truths" in payload:
            truths.update(payload["truths"])
            described = payload["oracles"]
            continue
        why = "an oracle worker " + (
            "timed out"
            if payload.get("timeout")
            else f"failed: {payload.get('died') or payload.get('error')}"
        )
        start = int(key[1])
        for case in cases[start:]:
            truths.setdefault(case.name, (Truth(note=why), {}))
    return truths, described


def evaluate(
    cases: Sequence[Case], backends: Sequence[str], timeout: float, jobs: int
) -> tuple[list[CaseResult], str]:
    """diffkit's runs and the oracles, all in forked children, then the verdicts."""
    runs = run_isolated(build_tasks(cases, backends, timeout, jobs), jobs)
    truths, described = _collect_truths(runs, cases)
    results = []
    for case in cases:
        shapes = shapes_of(case)
        truth, failures = truths[case.name]
        verdicts = {b: judge(case, shapes, b, runs[(case.name, b)], truth) for b in backends}
        results.append(CaseResult(case, shapes, truth, failures, verdicts))
    return results, described


# ---------------------------------------------------------------------------- the report


def print_header(
    cases: Sequence[Case], backends: Sequence[str], oracles: str, args: argparse.Namespace
) -> None:
    print("# diffkit on the NumPy surface")
    print(
        f"diffkit {dk.__version__} ({DIFFKIT_DIR}), numpy {np.__version__}, "
        f"python {platform.python_version()}"
    )
    print(f"oracles: {oracles or 'none ran'}")
    kinds = Counter(c.check for c in cases)
    print(
        f"{len(cases)} cases ({', '.join(f'{v} {k}' for k, v in kinds.items())}; "
        f"{sum(c.kink for c in cases)} at kinks), {len(functions_covered(cases))} NumPy "
        f"functions; backends: {', '.join(backends)}; timeout {args.timeout:g} s per case, "
        f"{args.jobs} job(s)"
    )
    print(
        f"pass: rtol {RTOL:g} of the truth's max-abs (+ the case's atol, default 1e-12); "
        f"{RTOL_FD:g} when the truth is finite differences alone"
    )


def print_summary(results: Sequence[CaseResult], backends: Sequence[str]) -> None:
    print("\n## Summary")
    print(f"{'backend':<10}" + "".join(f"{o:>17}" for o in OUTCOMES) + f"{'total':>7}")
    for backend in backends:
        counts = Counter(r.verdicts[backend].outcome for r in results)
        total = len(results)
        cells = "".join(
            f"{counts[o]:>8} ({100 * counts[o] / max(total, 1):5.1f}%)" for o in OUTCOMES
        )
        print(f"{backend:<10}{cells}{total:>7}")
    _print_truth_sources(results)


def _print_truth_sources(results: Sequence[CaseResult]) -> None:
    sources = Counter("+".join(r.truth.agreed) if r.truth.available else "none" for r in results)
    print(
        "\ntruth from (oracles in the consensus): "
        + ", ".join(f"{k}: {v}" for k, v in sources.most_common())
    )


def print_function_table(results: Sequence[CaseResult], backends: Sequence[str]) -> None:
    """Per NumPy function: how its cases fail, per backend (functions without failures omitted)."""
    rows: dict[str, dict[str, Counter[str]]] = {}
    totals: Counter[str] = Counter()
    for r in results:
        for func in r.case.functions:
            totals[func] += 1
            per = rows.setdefault(func, {b: Counter() for b in backends})
            for b in backends:
                per[b][r.verdicts[b].outcome] += 1
    failing = [f for f in rows if any(rows[f][b]["pass"] < totals[f] for b in backends)]
    failing.sort(key=lambda f: (-sum(totals[f] - rows[f][b]["pass"] for b in backends), f))
    short = {
        "pass": "ok",
        "clean-error": "clean",
        "wrong": "WRONG",
        "crash": "CRASH",
        "timeout": "t/o",
        "no-oracle": "n/o",
    }
    print(f"\n## Failures per NumPy function ({len(failing)} of {len(rows)} functions have some)")
    print("cells: ok/clean/WRONG/CRASH/t-o/n-o")
    print(f"{'function':<28}{'cases':>6}  " + "".join(f"{b:<26}" for b in backends))
    for func in failing:
        cells = "".join(f"{'/'.join(str(rows[func][b][o]) for o in short):<26}" for b in backends)
        print(f"{func:<28}{totals[func]:>6}  {cells}")


def _category(verdict: Verdict) -> str:
    """A failure's category: error type plus the message's first clause, function names
    and numbers blanked, so one refusal worded for many functions counts once."""
    if verdict.outcome in ("wrong", "no-oracle", "timeout"):
        head = verdict.detail.split(";")[0]
        return f"{verdict.outcome}: {re.sub(r'[-+]?[0-9][0-9.e+-]*', '#', head)[:70]}"
    text = verdict.message_head or verdict.detail
    text = re.sub(r"np\.[\w.]+", "np.<f>", text)
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"[0-9]+", "#", text)
    clause = re.split(r"[;:(]", text, maxsplit=1)[0].strip()
    return f"{verdict.outcome}: {verdict.error_type.rsplit('.', 1)[-1]}: {clause[:80]}"


def print_categories(results: Sequence[CaseResult], backends: Sequence[str], top: int = 25) -> None:
    print(f"\n## Top failure categories (of {top} at most per backend)")
    for backend in backends:
        counts = Counter(
            _category(r.verdicts[backend]) for r in results if r.verdicts[backend].outcome != "pass"
        )
        print(f"\n{backend}:")
        for text, count in counts.most_common(top):
            print(f"  {count:>5}  {text}")


def print_wrong_and_crash(results: Sequence[CaseResult], backends: Sequence[str]) -> None:
    print("\n## Every wrong and crash")
    for outcome in ("wrong", "crash"):
        for backend in backends:
            hits = [r for r in results if r.verdicts[backend].outcome == outcome]
            print(f"\n### {outcome} ({backend}): {len(hits)}")
            for r in hits:
                print(
                    f"- {r.case.name} [{r.case.check}; {', '.join(r.case.functions)}]: "
                    f"{r.verdicts[backend].detail}"
                )


def print_oracle_notes(results: Sequence[CaseResult]) -> None:
    """Cases whose oracles disagreed or did not run, and which oracle was left out where."""
    missing = [r for r in results if not r.truth.available]
    print(f"\n## Cases without a truth: {len(missing)}")
    for r in missing:
        print(f"- {r.case.name}: {r.truth.note[:300]}")
    left_out: Counter[str] = Counter()
    for r in results:
        for name, why in r.oracle_failures.items():
            left_out[f"{name}: {why.split(':')[0][:60]}"] += 1
        for name in ("autograd", "jax", "fd"):
            if f"{name}: disagrees" in r.truth.note:
                left_out[f"{name}: outvoted"] += 1
    print(
        "\noracles left out (reason: cases): "
        + ", ".join(f"{k}: {v}" for k, v in left_out.most_common(20))
    )


def to_json(
    results: Sequence[CaseResult],
    backends: Sequence[str],
    oracles: str,
    seconds: float,
    args: argparse.Namespace,
) -> dict[str, Any]:
    def verdict(v: Verdict) -> dict[str, Any]:
        return {
            "outcome": v.outcome,
            "detail": v.detail,
            "seconds": round(v.seconds, 4),
            "error_type": v.error_type,
            "message_length": v.message_length,
            "message_head": v.message_head,
        }

    return {
        "diffkit": dk.__version__,
        "numpy": np.__version__,
        "oracles": oracles,
        "settings": {
            "timeout": args.timeout,
            "jobs": args.jobs,
            "only": args.only,
            "rtol": RTOL,
            "rtol_fd": RTOL_FD,
        },
        "seconds": round(seconds, 1),
        "summary": {b: dict(Counter(r.verdicts[b].outcome for r in results)) for b in backends},
        "cases": [
            {
                "name": r.case.name,
                "functions": list(r.case.functions),
                "check": r.case.check,
                "kink": r.case.kink,
                "x_shape": list(r.shapes.x),
                "out_shape": list(r.shapes.out),
                "truth_from": list(r.truth.agreed),
                "truth_note": r.truth.note,
                "oracle_failures": r.oracle_failures,
                "results": {b: verdict(r.verdicts[b]) for b in backends},
            }
            for r in results
        ],
    }


def _print_time(
    results: Sequence[CaseResult], backends: Sequence[str], seconds: float, jobs: int
) -> None:
    per_backend = ", ".join(
        f"{b} {sum(r.verdicts[b].seconds for r in results):.0f} s" for b in backends
    )
    print(f"\ntime: {seconds:.0f} s wall with {jobs} job(s); inside the children: {per_backend}")


def list_cases(cases: Sequence[Case]) -> None:
    for case in cases:
        x = case.point.shape
        mark = " (kink)" if case.kink else ""
        print(f"{case.name:<60} {case.check:<9} x{list(x)} {', '.join(case.functions)}{mark}")
    print(f"{len(cases)} cases, {len(functions_covered(cases))} NumPy functions")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="run the cases whose name or NumPy function contains this")
    parser.add_argument("--backend", choices=("reverse", "symbolic", "both"), default="both")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per case (30)")
    parser.add_argument(
        "--jobs",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="child processes at once (default: 2, or 1 on one CPU)",
    )
    parser.add_argument("--json", type=Path, help="write machine-readable results here")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    cases = select_cases(args.only)
    if args.list:
        list_cases(cases)
        return 0
    if not cases:
        print(f"no case matches {args.only!r}", file=sys.stderr)
        return 2
    backends = BACKENDS if args.backend == "both" else (args.backend,)
    wall = time.perf_counter()
    results, oracles = evaluate(cases, backends, args.timeout, max(1, args.jobs))
    seconds = time.perf_counter() - wall
    print_header(cases, backends, oracles, args)
    print_summary(results, backends)
    print_function_table(results, backends)
    print_categories(results, backends)
    print_wrong_and_crash(results, backends)
    print_oracle_notes(results)
    _print_time(results, backends, seconds, args.jobs)
    if args.json:
        payload = to_json(results, backends, oracles, seconds, args)
        args.json.write_text(json.dumps(payload, indent=1))
        print(f"results: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
