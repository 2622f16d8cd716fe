"""f as a line function: t (k points) -> values (k, *out), whatever way f was written.

The engines want one call of f for all stencil points. People write f in three
ways: elementwise NumPy (``np.exp``), vector-valued (``lambda t: [t, t**2]``, whose
vectorized call gives the outputs first) and scalar-only (``math.exp``, or code with
``if x > 0``). ``scalar_line`` finds out which on the first call and keeps to it,
refusing only what would be silently wrong: a reduction (``np.sum`` of the points),
which is a function of several variables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..function import as_callable

__all__ = ["scalar_line", "with_arguments"]


def with_arguments(f: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None) -> Any:
    """f with extra positional and keyword arguments bound (f itself if there are none)."""
    if not args and not kwargs:
        return f
    fn = as_callable(f)
    extra = dict(kwargs or {})
    return lambda t: fn(t, *args, **extra)


class scalar_line:
    """t -> f(t) stacked as (t.size, *out) for f: R -> R^m written any of three ways."""

    def __init__(self, f: Any) -> None:
        self.fn: Callable[..., Any] = as_callable(f)
        self.mode = ""  # "elementwise", "outputs-first", "outputs-last" or "loop"
        self.out_shape: tuple[int, ...] = ()

    def _loop(self, t: np.ndarray) -> np.ndarray:
        convert = complex if np.iscomplexobj(t) else float
        return np.stack([np.asarray(self.fn(convert(ti))) for ti in t.reshape(-1)])

    def __call__(self, t: np.ndarray) -> np.ndarray:
        if self.mode == "loop":
            return self._loop(t)
        if self.mode:
            out = np.asarray(self.fn(t))
            if self.mode == "outputs-first":
                out = np.moveaxis(out.reshape(-1, t.size), -1, 0)
            return out.reshape(t.size, *self.out_shape)
        try:
            out = np.asarray(self.fn(t))
        except (TypeError, ValueError):  # scalar-only code: math.exp, `if x > 0`
            self.mode = "loop"
            return self._loop(t)
        if out.shape == t.shape:
            self.mode, self.out_shape = "elementwise", ()
            return out.reshape(t.size)
        if out.ndim == 0 and t.size == 1:  # one point: f may reduce, as a scalar it cannot
            self.mode = "loop"
            return self._loop(t)
        single = np.asarray(self.fn(t.reshape(-1)[0]))
        self.out_shape = single.shape
        if out.size != t.size * single.size or out.ndim == 0:
            raise ValueError(
                f"derivative needs f: R -> R^m applied elementwise; f mapped {t.shape} to "
                f"{out.shape} (and one point to {single.shape}). Use gradient or jacobian "
                "for functions of several variables."
            )
        last = out.shape == t.shape + single.shape
        first = out.shape == single.shape + t.shape
        if last and first:
            # As many points as outputs: the shapes cannot tell, the first point's
            # values can (and where they cannot either, one call per point is safe).
            flat = single.reshape(-1)
            last = bool(np.array_equal(out.reshape(t.size, -1)[0], flat, equal_nan=True))
            first = bool(np.array_equal(out.reshape(-1, t.size)[:, 0], flat, equal_nan=True))
            if last == first:
                self.mode = "loop"
                return self._loop(t)
        if last:
            self.mode = "outputs-last"
        elif first:
            self.mode = "outputs-first"
            out = np.moveaxis(out.reshape(-1, t.size), -1, 0)
        else:
            self.mode = "loop"
            return self._loop(t)
        return out.reshape(t.size, *self.out_shape)
