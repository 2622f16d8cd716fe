"""``diffkit check``: a user's gradient (or diffkit's reverse mode) against the reference.

Exit 0 on pass, 1 on mismatch (the table on stdout), 2 on a usage error, 3 when the
user's own code raises: importing MODULE, or calling the function or the gradient.
That is told apart from diffkit refusing the function (reverse mode cannot trace
``float(x)``, say: a usage error, as before) by the traceback: the exception passed
through the user's function and was raised outside diffkit's own package.

MODULE is imported the way ``python -m`` would find it, with the current folder on
``sys.path``, and the folder is taken off again once MODULE is imported: left at the
front of the path, a stray ``symengine.py`` next to the user would later run in place
of diffkit's optional dependency. Modules MODULE imported meanwhile (its siblings) stay
in ``sys.modules``, so naming them again later gives the same module. A sibling first
imported at call time (``import helper`` inside the function) is still found, in the
current folder first as at import time, by ``_UserImports``: a finder that, while the
check runs, serves the current folder to imports made by code that lives there (not
to diffkit's, nor to installed packages'). What it cannot keep out: a module the
user's own module-level code imports, or makes diffkit import, while MODULE is being
imported; that is the user's code running with the folder on the path, as under
``python -m``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import sysconfig
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType

import numpy as np

from .arguments import UsageError, finite_numbers

__all__ = ["EXIT_USER_CODE", "check_command"]

EXIT_USER_CODE = 3
"""Exit status when the user's module, function or gradient raises."""

_TARGET = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$")
_PACKAGE = Path(__file__).resolve().parents[1]  # diffkit/
_MESSAGE_CHARS = 300


class UserCodeError(Exception):
    """The user's module, function or gradient raised; the message is the one line to print."""


def _current_folder_is_on_path() -> bool:
    """Whether Python put the current folder on ``sys.path`` itself (``python -m diffkit``)."""
    return os.getcwd() in sys.path or "" in sys.path


@contextmanager
def _current_folder_on_path() -> Iterator[None]:
    """The current folder at the front of ``sys.path`` while the block runs, unless already there."""
    if _current_folder_is_on_path():
        yield
        return
    cwd = os.getcwd()
    sys.path.insert(0, cwd)
    try:
        yield
    finally:
        with suppress(ValueError):  # ValueError: the user's module took it off itself
            sys.path.remove(cwd)  # the first occurrence: the one inserted above


_IMPORTLIB = Path(importlib.__file__).resolve().parent
_INSTALLED = tuple(  # the standard library and where packages are installed
    {Path(p).resolve() for key, p in sysconfig.get_paths().items() if "lib" in key}
)


class _UserImports(importlib.abc.MetaPathFinder):
    """Top-level imports made by code in ``folder`` look there first, as when it was on the path.

    Code in ``folder`` is the user's: files under it, but not diffkit's own package, the
    standard library or installed packages (``sysconfig``'s paths, any ``site-packages``).
    Every other import, diffkit's lazy ``import symengine`` included, passes by: the
    finder returns None for it, and the usual finders (without the folder) take over.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if path is not None or not self._by_user_code():  # submodules: their package's path
            return None
        return importlib.machinery.PathFinder.find_spec(fullname, [str(self.folder)])

    def _by_user_code(self) -> bool:
        frame = sys._getframe(2)
        while frame is not None:  # up to the first frame outside the import machinery
            name = frame.f_code.co_filename
            if not name.startswith("<frozen importlib") and not Path(name).resolve().is_relative_to(
                _IMPORTLIB
            ):
                return self._is_user_file(Path(name))
            frame = frame.f_back  # type: ignore[assignment]
        return False

    def _is_user_file(self, file: Path) -> bool:
        real = file.resolve()
        if not real.is_relative_to(self.folder) or real.is_relative_to(_PACKAGE):
            return False
        if any(real.is_relative_to(place) for place in _INSTALLED):
            return False
        return not {"site-packages", "dist-packages"} & set(real.parts)


@contextmanager
def _user_imports() -> Iterator[None]:
    """While the check runs, call-time imports of the user's code find its sibling modules."""
    if _current_folder_is_on_path():  # Python's own path already does it
        yield
        return
    finder = _UserImports(Path.cwd())
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        with suppress(ValueError):
            sys.meta_path.remove(finder)


def _gist(exc: BaseException) -> str:
    """``Type: message`` on one line, bounded in length."""
    text = " ".join(str(exc).split())
    line = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return line if len(line) <= _MESSAGE_CHARS else line[: _MESSAGE_CHARS - 3].rstrip() + "..."


def _target(text: str, option: str) -> tuple[object, str | None]:
    """``module:attr`` imported by name (like pytest or uvicorn); never evaluated as code.

    Returns the callable and the file of its module (None for a built-in module).
    """
    if not _TARGET.match(text):
        raise UsageError(f"{option} takes module:function (e.g. mymodule:loss), got {text!r}")
    module_name, attr = text.split(":")
    try:
        with _current_folder_on_path():
            module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"{option}: cannot import module {module_name!r}: {exc}") from None
    except Exception as exc:  # the module's own code raised (SyntaxError included)
        raise UserCodeError(
            f"{option} {text}: importing module {module_name!r} raised {_gist(exc)}"
        ) from None
    try:
        target = getattr(module, attr)
    except AttributeError:
        raise UsageError(f"{option}: module {module_name!r} has no attribute {attr!r}") from None
    if not callable(target):
        raise UsageError(f"{option}: {text} is not callable")
    file = getattr(module, "__file__", None)
    return target, (str(Path(file).resolve()) if file else None)


def _code_of(target: object) -> object:
    """The code object a call of ``target`` runs first (a function's, or ``__call__``'s)."""
    code = getattr(target, "__code__", None)
    if code is None:  # an instance of a class with __call__
        code = getattr(vars(type(target)).get("__call__"), "__code__", None)
    return code


def _blame(exc: BaseException, users: list[tuple[str, object, str | None]]) -> str | None:
    """The line for an exception the user's code raised, or None when diffkit raised it.

    ``users``: (label, code object of the callable, file of its module). The user's
    code raised it when the traceback runs through one of those callables (or, for a
    callable without Python code of its own, its module's file) and the innermost
    frame is not in diffkit's package.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    codes = []
    tb = exc.__traceback__
    while tb is not None:
        codes.append(tb.tb_frame.f_code)
        tb = tb.tb_next
    if not frames or Path(frames[-1].filename).resolve().is_relative_to(_PACKAGE):
        return None
    label = next(  # the outermost user frame says whose call it was
        (
            name
            for frame, code in zip(frames, codes, strict=True)
            for name, user_code, module_file in users
            if code is user_code
            or (user_code is None and str(Path(frame.filename).resolve()) == module_file)
        ),
        None,
    )
    if label is None:
        return None
    last = frames[-1]
    return f"{label} raised {_gist(exc)} ({Path(last.filename).name}, line {last.lineno}, in {last.name})"


def _point(text: str | None) -> np.ndarray:
    if text is None:
        raise UsageError("check needs --at with the point, e.g. --at 0.1,0.2,0.3")
    return np.array(finite_numbers(text, "--at"))


def check_command(args: argparse.Namespace) -> int:
    """Exit 0 when the gradient matches at ``--at``, 1 (and the report) when not, 3 when it raises."""
    try:
        with _user_imports():
            return _check(args)
    except UserCodeError as exc:
        print(f"diffkit: error: {exc}", file=sys.stderr)
        return EXIT_USER_CODE


def _check(args: argparse.Namespace) -> int:
    from ..verify import GradientMismatch, check_backward, check_gradient

    f, f_file = _target(args.function, "FUNCTION")
    users = [(f"FUNCTION {args.function}", _code_of(f), f_file)]
    grad = None
    if args.grad is not None:
        grad, grad_file = _target(args.grad, "--grad")
        users.insert(0, (f"--grad {args.grad}", _code_of(grad), grad_file))
    point = _point(args.at)
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
    except Exception as exc:
        blamed = _blame(exc, users)
        if blamed is not None:
            raise UserCodeError(blamed) from None
        if isinstance(exc, TypeError | ValueError):
            raise UsageError(f"cannot check {args.function}: {exc}") from None
        raise
    print(report)
    return 0
