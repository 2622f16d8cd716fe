"""``diffkit check``: a user's gradient (or diffkit's reverse mode) against the reference."""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

import numpy as np

from .arguments import UsageError

__all__ = ["check_command"]

_TARGET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")


def _target(text: str, option: str) -> object:
    """``module:attr`` imported by name (like pytest or uvicorn); never evaluated as code."""
    if not _TARGET.match(text):
        raise UsageError(f"{option} takes module:function (e.g. mymodule:loss), got {text!r}")
    module_name, attr = text.split(":")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: modules next to the user
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"{option}: cannot import module {module_name!r}: {exc}") from None
    try:
        target = getattr(module, attr)
    except AttributeError:
        raise UsageError(f"{option}: module {module_name!r} has no attribute {attr!r}") from None
    if not callable(target):
        raise UsageError(f"{option}: {text} is not callable")
    return target


def check_command(args: argparse.Namespace) -> int:
    """Exit 0 when the gradient matches the reference at ``--at``, 1 (and the report) when not."""
    from ..verify import GradientMismatch, check_backward, check_gradient

    f = _target(args.function, "FUNCTION")
    grad = _target(args.grad, "--grad") if args.grad is not None else None
    if args.at is None:
        raise UsageError("check needs --at with the point, e.g. --at 0.1,0.2,0.3")
    try:
        point = np.array([float(v) for v in args.at.split(",") if v.strip()])
    except ValueError:
        raise UsageError(f"--at takes comma-separated numbers, got {args.at!r}") from None
    if point.size == 0:
        raise UsageError("--at needs at least one number")
    if args.rtol is not None and not (np.isfinite(args.rtol) and args.rtol >= 0):
        raise UsageError(f"--rtol must be a number >= 0, got {args.rtol}")
    options = {"rtol": args.rtol, "mode": args.mode}
    try:
        if grad is None:
            report = check_backward(f, point, **options)
        else:
            report = check_gradient(f, grad, point, **options)
    except GradientMismatch as exc:
        print(exc.report)
        return 1
    except (TypeError, ValueError) as exc:
        raise UsageError(f"cannot check {args.function}: {exc}") from None
    print(report)
    return 0
