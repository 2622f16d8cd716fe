"""What the report's sections share: a blank Agg figure, and the rows they draw on.

Orders, precision and agreement use noise-free rows off kinks only: a kink or noise
changes what the error means, and each has its own place.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .tables import on_step_grid

__all__ = [
    "blank_figure",
    "figure_with_panels",
    "main_dtype",
    "noise_free_off_kinks",
    "step_grid_rows",
]


def blank_figure(size: tuple[float, float]) -> Figure:
    """A constrained-layout figure on the Agg canvas: no ``pyplot``, no global state."""
    fig = Figure(figsize=size, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_with_panels(size: tuple[float, float], panels: int = 1) -> tuple[Figure, list[Axes]]:
    """A blank figure with ``panels`` axes side by side."""
    fig = blank_figure(size)
    return fig, [fig.add_subplot(1, panels, i + 1) for i in range(panels)]


def noise_free_off_kinks(frame: pd.DataFrame) -> pd.DataFrame:
    """Noise-free rows off kinks (frames without the ``noise``/``kink`` columns are all that)."""
    keep = np.ones(len(frame), dtype=bool)
    if "noise" in frame.columns:
        keep &= frame["noise"].fillna(0.0).to_numpy(dtype=float) == 0
    if "kink" in frame.columns:
        keep &= ~frame["kink"].fillna(False).to_numpy(dtype=bool)
    return frame[keep]


def step_grid_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of rules swept over the step grid (``tables.on_step_grid``)."""
    return frame[on_step_grid(frame).to_numpy(dtype=bool)] if not frame.empty else frame


def main_dtype(frame: pd.DataFrame) -> str:
    """float64 when the frame has it (or is empty), else its first dtype by name."""
    dtypes = sorted(set(frame["dtype"].astype(str)))
    return "float64" if "float64" in dtypes or not dtypes else dtypes[0]
