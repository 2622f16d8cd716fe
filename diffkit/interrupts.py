"""Ctrl-C that is never lost: remembered when it arrives, and checked where it matters.

Python raises KeyboardInterrupt wherever the main thread happens to be when SIGINT
arrives; if that is inside a weakref callback or a ``__del__`` (garbage collection
runs them at any moment), the exception is printed as "ignored" and the program
goes on, so a long report could finish and replace the old one after the user
pressed Ctrl-C. ``handling()`` installs a handler that records the request as well
as raising, and ``check()`` raises again at the points where going on would be
wrong: between tasks, and before a report is moved into place.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["check", "handling"]

_REQUESTED = threading.Event()


def _on_sigint(signum: int, frame: Any) -> None:
    _REQUESTED.set()
    raise KeyboardInterrupt


@contextlib.contextmanager
def handling() -> Iterator[None]:
    """Within the block, a Ctrl-C is remembered until ``check()`` or the block's end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        yield  # started with Ctrl-C ignored (a background job): keep it so
        return
    _REQUESTED.clear()
    previous = signal.signal(signal.SIGINT, _on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        _REQUESTED.clear()


def check() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed, even if its first raise was swallowed."""
    if _REQUESTED.is_set():
        raise KeyboardInterrupt
