"""diffkit in Jupyter: figures shown as images, and ``dk.report(...)`` as an object shown inline.

Figures. IPython shows a ``matplotlib.figure.Figure`` as an image only through a
printer registered for that type in one of its display formatters (``image/png``,
``image/svg+xml``, ...). The only code that registers one is matplotlib's inline
support (``matplotlib_inline``, calling IPython's ``select_figure_formats``), and it
runs when ``pyplot`` loads its backend (at the first ``pyplot`` figure) or on
``%matplotlib``. The report never touches ``pyplot`` (``figures``), so in a fresh
kernel its figures fall through to their ``repr``: ``<Figure size 860x480 with 1
Axes>``. When this module is imported inside an IPython shell (``diffkit.report.figures``
imports it, so before any diffkit figure exists), ``register_figure_display`` adds
a PNG printer for ``Figure``, unless some formatter has one already.

Why a printer rather than a ``Figure`` subclass with ``_repr_png_``: it covers every
figure of the report, whichever module builds it (``section_helpers``,
``random_section``, ... create their own) and those still to come, with no change
to how a figure is made; it is IPython's one extension point for a type, with no
``pyplot`` or ``matplotlib_inline`` import and no plotting state; and it gives way
to matplotlib's own choice. ``%matplotlib inline`` or a first ``pyplot`` figure
replace it with the inline backend's printers (so ``%config
InlineBackend.figure_formats`` and its options keep working, also for diffkit's
figures), and a printer registered before is left alone. A subclass would be
shadowed by those printers as well (IPython looks a type up before ``_repr_png_``),
but would reach only the figures built from it, and would add an SVG or PNG beside
the inline backend's output whenever their formats differ. Outside IPython nothing
is registered.

Report. ``report(functions, points=..., **sweep_options)`` sweeps through
``diffkit.sweep`` and returns a ``Report``: ``.frame`` (the tidy frame), HTML for
the notebook (per function the summary table and the V-curves) and ``.write(folder)``,
the report folder of ``write_report`` with the sections the CLI's report computes
from the frame. ``diffkit.report`` is both this function and the report package:
the package's module is made callable here, so ``import diffkit.report`` and
``diffkit.report.write_report`` work as before and ``dk.report(...)`` calls
``report``.
"""

from __future__ import annotations

import base64
import html
import inspect
import io
import sys
import types
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..function import Function, as_function

if TYPE_CHECKING:  # pandas and matplotlib come with the report package itself
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["MAX_CHARTS", "Report", "figure_png", "register_figure_display", "report"]

# The notebook view of a report shows at most this many V-curves (the folder has them all).
MAX_CHARTS = 12
# An expression longer than this is cut in the notebook view (rosenbrock100 runs 30 lines).
MAX_EXPRESSION = 160

_SUMMARY = (
    ("point", "point", "text"),
    ("dtype", "dtype", "text"),
    ("method", "method", "text"),
    ("best_err", "best error", "sci"),
    ("error_kind", "error", "text"),  # relative or absolute, where the summary says which
    ("best_h", "at h", "sci"),
    ("digits", "digits shared", "fixed"),
    ("nfev", "nfev", "int"),
    ("not_ok", "rows not ok", "text"),
)


# ---------------------------------------------------------------------- figures


def figure_png(fig: Figure) -> bytes | None:
    """The figure as PNG bytes cut to its artists, as IPython shows it; None without axes."""
    if not fig.axes:
        return None
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def register_figure_display(display_formatter: Any = None) -> bool:
    """Show matplotlib figures as PNG in IPython; True when a printer was added.

    ``display_formatter`` defaults to the running shell's; without IPython, or when
    any of its formatters has a printer for ``Figure`` already (``pyplot``'s inline
    support registers the formats of ``%config InlineBackend.figure_formats``, SVG
    for instance), nothing changes and the result is False. The printer is
    registered by the type's name, so matplotlib is not imported for it.
    """
    if display_formatter is None:
        shell = _shell()
        if shell is None:
            return False
        display_formatter = shell.display_formatter
    formatters = display_formatter.formatters
    png = formatters.get("image/png")
    if png is None or any("matplotlib.figure.Figure" in f for f in formatters.values()):
        return False  # IPython's matplotlib support (or the user) chose the formats already
    png.for_type_by_name("matplotlib.figure", "Figure", figure_png)
    return True


def _shell() -> Any:
    """The running IPython shell, or None (IPython is never imported for this)."""
    ipython = sys.modules.get("IPython")
    get = getattr(ipython, "get_ipython", None)
    return get() if get is not None else None


# ---------------------------------------------------------------------- the report


def _html_table(
    records: Sequence[Mapping[Any, Any]], columns: Sequence[tuple[str, str, str]]
) -> str:
    from .sections import cell, html_table

    rows = ([cell(record[col], kind) for col, _, kind in columns] for record in records)
    headers = [header for _, header, _ in columns]
    return html_table(headers, rows, [kind != "text" for *_, kind in columns])


def _short(text: str, limit: int = MAX_EXPRESSION) -> str:
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"


def _has_truth(rows: pd.DataFrame) -> bool:
    """Whether a point has an exact derivative to chart against (as the report folder decides)."""
    from ..rows import NO_TRUTH

    return bool((rows["status"] != NO_TRUTH).all() or rows["truth"].notna().any())


@dataclass(frozen=True, eq=False)
class Report:
    """A sweep's frame and its functions, shown in a notebook and written as a report folder.

    ``frame`` is the tidy frame of ``diffkit.sweep``; ``functions`` supply names,
    expressions and the theory lines of the charts; ``options`` are the sweep's
    options, recorded in the folder's ``metadata.json``. In a notebook the report
    shows per function its summary rows (the best error each method reached, relative,
    or absolute where the true derivative is 0) and its V-curves, at most ``MAX_CHARTS``
    of them; ``write`` gives the whole report.
    """

    frame: pd.DataFrame
    functions: tuple[Function, ...]
    title: str = "diffkit report"
    options: Mapping[str, Any] = field(default_factory=dict)

    def _funcs(self) -> dict[str, Function]:
        return {f.name: f for f in self.functions}

    def _clean(self) -> pd.DataFrame:
        frame = self.frame
        return frame[frame["noise"] == 0] if "noise" in frame.columns else frame

    def summary(self) -> pd.DataFrame:
        """The summary table of the noise-free rows (``diffkit.report.summary_table``)."""
        from .tables import summary_table

        return summary_table(self._clean(), self._funcs())

    def charts(self) -> list[tuple[Function, str, str]]:
        """(function, point label, dtype) of every V-curve, in the report's order."""
        clean = self._clean()
        found = []
        for f in self.functions:
            rows = clean[clean["function"] == f.name]
            for point in rows["point"].unique():
                at = rows[rows["point"] == point]
                for dtype in at["dtype"].unique():
                    if _has_truth(at[at["dtype"] == dtype]):
                        found.append((f, str(point), str(dtype)))
        return found

    def figure(self, function: str | Function, point: Any, *, dtype: str = "float64") -> Figure:
        """The V-curve of ``function`` (a name or a Function of the report) at ``point``."""
        from .figures import vcurve_figure

        name = function.name if isinstance(function, Function) else function
        funcs = self._funcs()
        if name not in funcs:
            raise KeyError(f"no function {name!r} in this report; it has {', '.join(funcs)}")
        return vcurve_figure(self._clean(), funcs[name], point, dtype=dtype)

    def write(self, folder: str | Path, *, jobs: int = 1) -> Path:
        """Write the report folder (``write_report``) and return the path of its index.html.

        The sections are those ``diffkit report`` builds from a frame (order of
        accuracy, agreement, precision, noise); one that fails to build is a short
        section saying so, and a RuntimeWarning. The folder is checked before any of
        it is computed (``check_output_folder``).
        """
        from .assemble import frame_sections
        from .writer import check_output_folder, write_report

        check_output_folder(folder)
        built = frame_sections(self.frame, self._funcs())
        for title, message in built.failures:
            warnings.warn(
                f"section {title!r} could not be built: {message}", RuntimeWarning, stacklevel=2
            )
        options = {key: repr(value) for key, value in self.options.items()}
        return write_report(
            self.frame,
            self.functions,
            folder,
            title=self.title,
            metadata={"api": "diffkit.report", "sweep_options": options},
            sections=built.sections,
            jobs=jobs,
        )

    def __repr__(self) -> str:
        names = ", ".join(f.name for f in self.functions)
        points = len(self.frame[["function", "point"]].drop_duplicates())
        bad = int((self.frame["status"] != "ok").sum())
        return (
            f"<Report {self.title!r}: {_short(names, 80)}; {points} points, "
            f"{len(self.frame)} rows, {bad} not ok>"
        )

    def _repr_html_(self) -> str:
        from .figures import png_bytes, vcurve_figure

        esc = html.escape
        frame = self.frame
        points = len(frame[["function", "point"]].drop_duplicates())
        bad = int((frame["status"] != "ok").sum())
        parts = [
            f"<h3>{esc(self.title)}</h3>",
            f"<p>{len(self.functions)} function(s), {points} point(s), {len(frame)} rows, "
            f"{bad} not ok. Best error: relative, absolute where the true derivative is 0; "
            "digits shared with the symbolic (else reverse-mode) derivative. "
            "<code>.write(folder)</code> writes the whole report, <code>.frame</code> is "
            "the data.</p>",
        ]
        summary = self.summary()
        charts = self.charts()
        clean = self._clean()
        drawn = 0
        for f in self.functions:
            parts.append(f"<h4>{esc(f.name)}</h4>")
            if f.expr is not None:
                parts.append(f"<p><code>{esc(_short(str(f.expr)))}</code></p>")
            mine = summary[summary["function"] == f.name]
            if mine.empty:
                parts.append("<p>No rows.</p>")
            else:
                shown = [column for column in _SUMMARY if column[0] in mine.columns]
                parts.append(_html_table(mine.to_dict("records"), shown))
            for g, point, dtype in charts:
                if g is not f or drawn >= MAX_CHARTS:
                    continue
                fig = vcurve_figure(clean, f, point, dtype=dtype)
                data = base64.b64encode(png_bytes(fig)).decode("ascii")
                fig.clear()
                drawn += 1
                alt = f"V-curve of {f.name} at {point} ({dtype})"
                parts.append(
                    f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}" '
                    'style="max-width: 100%">'
                )
        if len(charts) > drawn:
            parts.append(
                f"<p>{len(charts) - drawn} more V-curve(s) in the folder that "
                "<code>.write(folder)</code> writes.</p>"
            )
        return "\n".join(parts)


def _function(item: Function | str | Any) -> Function:
    """A Function, a catalog name, an expression string, a SymPy expression or a callable."""
    from .. import catalog
    from ..parse import ParseError

    if not isinstance(item, str):
        return as_function(item)
    try:
        return catalog.get(item)
    except catalog.UnknownFunctionError as unknown:
        try:
            return as_function(item)
        except ParseError:
            if item.isidentifier():  # meant as a name: say which names there are
                raise unknown from None
            raise


def report(
    functions: Iterable[Function | str | Any] | Function | str | Any,
    *,
    points: Sequence[Any] | None = None,
    backends: Sequence[Any] | None = None,
    title: str = "diffkit report",
    **sweep_options: Any,
) -> Report:
    """Sweep ``functions`` and return the ``Report``: shown in a notebook, ``.write(folder)``.

    ``functions``: one or a list of catalog names, expression strings (``"x**2 + 1"``),
    SymPy expressions, callables or ``Function`` objects; ``points`` replaces their own
    points (a callable has none: pass them). ``backends`` defaults to those of
    ``diffkit report`` (``fd-richardson``, ``fd-contour``, ``reverse``, ``symbolic``);
    every other option (``methods``, ``steps``, ``dtypes``, ``noise``, ``jobs``, ...)
    goes to ``diffkit.sweep`` as it is.
    """
    from ..commands.arguments import DEFAULT_BACKENDS
    from ..grid import fitted
    from ..sweep import sweep

    items: list[Any] = (
        list(functions)
        if isinstance(functions, Iterable) and not isinstance(functions, Function | str)
        else [functions]
    )
    chosen = [_function(item) for item in items]
    used = tuple(DEFAULT_BACKENDS) if backends is None else tuple(backends)
    frame = sweep(chosen, points=points, backends=used, **sweep_options)
    # As the sweep saw them: a callable takes as many variables as its points have.
    shaped = tuple(
        fitted(f, list(points) if points is not None else list(f.points))[0] for f in chosen
    )
    options = {"points": points, "backends": used, **sweep_options}
    return Report(frame, shaped, title, options)


# ---------------------------------------------------------------------- dk.report


class _CallablePackage(types.ModuleType):
    """The ``diffkit.report`` package, which ``dk.report(...)`` also calls (``report``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Report:
        return report(*args, **kwargs)


def _make_package_callable() -> None:
    package = sys.modules.get(__name__.rpartition(".")[0])
    if package is not None and not isinstance(package, _CallablePackage):
        package.__class__ = _CallablePackage
        package.__signature__ = inspect.signature(report)  # type: ignore[attr-defined]


_make_package_callable()
register_figure_display()
