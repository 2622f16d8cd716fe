"""What a derivative check found, as data and as a table a person can act on.

A check compares *entries*: gradient components, Jacobian or Hessian entries, or
directional derivatives ``<g, d>``. Each entry has the user's value, the reference
value, and a tolerance; the report lists the worst entries by ``|yours - ref| / tol``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

__all__ = ["CheckReport", "GradientMismatch", "Kink", "TaylorResult"]

MAX_ROWS = 10


@dataclass(frozen=True)
class TaylorResult:
    """The step-free Taylor test: how r(t) = ||F(x+td) - F(x) - t J d|| shrinks with t.

    J is a gradient, a Jacobian, or a Hessian (then F is the gradient); r(t) ~ t^2 for a
    correct one and ~ t for a wrong one; ``slope`` is the fitted log-log slope over the smallest t still above rounding noise (NaN when too few are).
    """

    slope: float
    t: np.ndarray
    remainder: np.ndarray

    def __repr__(self) -> str:
        return f"TaylorResult(slope={self.slope:.3g}, {self.t.size} steps)"

    def describe(self) -> str:
        if not np.isfinite(self.slope):
            return "Taylor test: inconclusive (remainder at rounding level for every t)"
        return (
            f"Taylor test: remainder slope {self.slope:.2f} "
            "(expected 2 for a correct derivative, 1 for a wrong one)"
        )


@dataclass(frozen=True)
class Kink:
    """A point where the one-sided derivatives along a coordinate differ."""

    index: str
    left: float
    right: float
    yours: float
    accepted: bool

    def describe(self) -> str:
        verdict = "lies between them (a valid subgradient)" if self.accepted else "does not"
        return (
            f"kink at {self.index}: one-sided derivatives {self.left:.6g} (backward) and "
            f"{self.right:.6g} (forward); yours {self.yours:.6g} {verdict}"
        )


@dataclass(frozen=True)
class CheckReport:
    """The outcome of one check: per entry values, errors and tolerances, plus notes."""

    kind: str
    method: str
    mode: str
    index: list[str]
    yours: np.ndarray
    reference: np.ndarray
    tolerance: np.ndarray
    passed: bool
    label: str = "yours"
    kinks: tuple[Kink, ...] = ()
    taylor: TaylorResult | None = None
    notes: tuple[str, ...] = ()
    nfev: int = 0
    seconds: float = 0.0
    accepted: tuple[str, ...] = ()

    @property
    def abs_error(self) -> np.ndarray:
        return np.abs(self.yours - self.reference)

    @property
    def rel_error(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.abs_error / np.abs(self.reference)

    @property
    def failed(self) -> np.ndarray:
        """Positions of entries outside tolerance (NaN counts), accepted kinks excepted."""
        outside = ~(self.abs_error <= self.tolerance)
        outside &= ~np.isin(np.asarray(self.index), np.asarray(self.accepted, dtype=str))
        return np.flatnonzero(outside)

    def _worst(self, max_rows: int) -> list[list[str]]:
        """The header and the worst entries (by error over tolerance) as text cells."""
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(self.tolerance > 0, self.abs_error / self.tolerance, np.inf)
        ratio = np.where(np.isnan(ratio), np.inf, ratio)
        order = np.argsort(-ratio, kind="stable")[:max_rows]
        rows = [["index", self.label, self.method, "abs err", "rel err", "tol"]]
        for i in order:
            rows.append(
                [
                    self.index[i],
                    f"{self.yours[i]:.15g}",
                    f"{self.reference[i]:.15g}",
                    f"{self.abs_error[i]:.2e}",
                    f"{self.rel_error[i]:.2e}",
                    f"{self.tolerance[i]:.2e}",
                ]
            )
        return rows

    def _more(self, max_rows: int) -> str:
        extra = len(self.index) - max_rows
        return f"... {extra} more entries" if extra > 0 else ""

    def table(self, max_rows: int = MAX_ROWS) -> str:
        """The worst entries (by error over tolerance) as an aligned text table."""
        rows = self._worst(max_rows)
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines = ["  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
        if self._more(max_rows):
            lines.append(self._more(max_rows))
        return "\n".join(lines)

    def _head(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return (
            f"{self.kind} check {verdict}: {self.failed.size} of {len(self.index)} entries "
            f"outside tolerance (reference: {self.method}, mode: {self.mode}, {self.nfev} "
            f"evaluations of f, {self.seconds * 1e3:.1f} ms)"
        )

    def _lines(self) -> list[str]:
        """What follows the table: kinks, the Taylor test, the notes."""
        lines = [k.describe() for k in self.kinks]
        if self.taylor is not None:
            lines.append(self.taylor.describe())
        lines.extend(self.notes)
        return lines

    def __repr__(self) -> str:
        """One line: the verdict (``str()`` has the table, ``_repr_html_`` shows it in Jupyter)."""
        return f"<CheckReport {self._head()}>"

    def _repr_html_(self) -> str:
        """The ``str()`` of the report as HTML: the verdict, the worst entries, the notes."""
        esc = html.escape
        header, *body = self._worst(MAX_ROWS)
        color = "inherit" if self.passed else "#a40000"
        parts = [
            f'<p style="color: {color}"><strong>{esc(self._head())}</strong></p>',
            "<table><thead><tr>"
            + "".join(f"<th>{esc(c)}</th>" for c in header)
            + "</tr></thead><tbody>",
            *("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in body),
            "</tbody></table>",
        ]
        if self._more(MAX_ROWS):
            parts.append(f"<p>{esc(self._more(MAX_ROWS))}</p>")
        lines = self._lines()
        if lines:
            parts.append("<ul>" + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>")
        return "\n".join(parts)

    def __str__(self) -> str:
        return "\n".join([self._head(), self.table(), *self._lines()])


class GradientMismatch(AssertionError):
    """A derivative disagrees with the reference beyond what the reference can vouch for.

    An ``AssertionError``, so pytest shows the table; the full result is ``.report``.
    """

    def __init__(self, report: CheckReport) -> None:
        super().__init__(str(report))
        self.report = report
