"""diffkit in a Jupyter notebook: figures as images, results as tables, ``dk.report`` shown inline.

The notebook test builds a notebook with nbformat and executes it in a real IPython
kernel with nbclient, as Jupyter would; it is skipped when nbclient, nbformat or
ipykernel are missing. The kernel is this interpreter (a kernelspec written for the
test, so a user's own ``python3`` kernelspec cannot swap in another Python), with
this checkout first on its path. The other tests need no kernel.
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import diffkit as dk
from diffkit import catalog
from diffkit.report.figures import vcurve_figure

ROOT = Path(__file__).resolve().parents[1]
STEPS = tuple(float(h) for h in np.logspace(-12, -1, 12))
PNG = b"\x89PNG\r\n\x1a\n"


def sum_squares(x: np.ndarray) -> Any:
    return np.sum(x**2)


def twice(x: np.ndarray) -> np.ndarray:
    return 2 * x


# ---------------------------------------------------------------------- the notebook

CELLS = {
    "setup": (
        "import numpy as np\n"
        "import diffkit as dk\n"
        "from diffkit.report.figures import vcurve_figure\n"
        "f = dk.catalog.get('exp')\n"
        "steps = np.logspace(-12, -1, 12)\n"
        "frame = dk.sweep([f], points=[1.0], backends=['fd-richardson'], steps=steps)"
    ),
    "figure": "vcurve_figure(frame, f, 1.0)",
    "check": ("dk.check_gradient(lambda x: np.sum(x**2), lambda x: 2 * x, np.arange(1.0, 31.0))"),
    "fdresult": "dk.FiniteDifference().estimate(np.sin, np.linspace(0.0, 1.0, 25))",
    "report": (
        "rep = dk.report('exp', points=[1.0], steps=steps, backends=['fd-richardson'])\nrep"
    ),
    "no_pyplot": "import sys\nassert 'matplotlib.pyplot' not in sys.modules",
}


def _kernel_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec for this interpreter, and Jupyter's and IPython's files under tmp_path."""
    name = "diffkit-notebook-test"
    spec = tmp_path / "jupyter" / "kernels" / name
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    kernel = {"argv": argv, "display_name": "diffkit test", "language": "python"}
    (spec / "kernel.json").write_text(json.dumps(kernel), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.delenv(
        "MPLBACKEND", raising=False
    )  # the kernel picks the inline backend, as in Jupyter
    path = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(path))
    return name


def _result(cell: Any) -> dict[str, Any]:
    """The data of the cell's execute_result (its last expression's display)."""
    results = [out for out in cell.outputs if out.output_type == "execute_result"]
    assert len(results) == 1, cell.outputs
    return dict(results[0].data)


def test_notebook_shows_figures_tables_and_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    kernel = _kernel_environment(tmp_path, monkeypatch)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS.values()]
    client = nbclient.NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=120,
        startup_timeout=90,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError on any cell's error
    cells = dict(zip(CELLS, nb.cells, strict=True))
    for name, cell in cells.items():
        kinds = [out.output_type for out in cell.outputs]
        assert "error" not in kinds, (name, cell.outputs)
        streams = [out for out in cell.outputs if out.output_type == "stream"]
        assert not [s for s in streams if s.name == "stderr"], (name, streams)

    figure = _result(cells["figure"])
    assert "image/png" in figure, figure.keys()
    assert base64.b64decode(figure["image/png"]).startswith(PNG)

    check = _result(cells["check"])
    assert "<table" in check["text/html"]
    assert "gradient check passed" in check["text/html"]
    assert len(check["text/plain"]) < 300, check["text/plain"]  # not the dataclass dump

    result = _result(cells["fdresult"])
    assert "<table" in result["text/html"]
    assert "5 more entries" in result["text/html"]

    report = _result(cells["report"])
    assert "<table" in report["text/html"]
    assert '<img src="data:image/png;base64,' in report["text/html"]
    assert cells["no_pyplot"].outputs == []


# ---------------------------------------------------------------------- without a kernel


def test_check_report_html_and_repr_are_short_tables() -> None:
    x = np.arange(1.0, 31.0)
    report = dk.check_gradient(sum_squares, twice, x)
    text = repr(report)
    assert text.startswith("<CheckReport gradient check passed")
    assert len(text) < 300
    page = report._repr_html_()
    assert page.count("<tr>") == 1 + 10  # the header and the worst MAX_ROWS entries
    assert "20 more entries" in page
    assert "Taylor test" in page


def test_check_report_html_escapes_its_entries() -> None:
    report = dk.check_gradient(
        sum_squares, twice, np.linspace(0.5, 2.0, 40), mode="directions", label="<mine>"
    )
    page = report._repr_html_()
    assert "&lt;g,d0&gt;" in page
    assert "&lt;mine&gt;" in page
    assert "<g,d0>" not in page
    assert "<mine>" not in page


def test_failed_check_html_says_so() -> None:
    report = dk.check_gradient(
        sum_squares, lambda x: 2 * x + 1e-3, np.ones(3), raise_on_failure=False
    )
    page = report._repr_html_()
    assert "FAILED" in page
    assert "3 of 3 entries outside tolerance" in page


@pytest.mark.parametrize(
    ("make", "rows", "more", "total"),
    [
        (lambda fd: fd.estimate(np.sin, 1.0), 1, "", False),
        (lambda fd: fd.estimate(np.sin, np.linspace(0, 1, 25)), 20, "5 more entries", False),
        (lambda fd: fd.estimate_gradient(sum_squares, np.ones(3)), 3, "", True),
        (lambda fd: fd.estimate_jacobian(lambda x: x[:2] ** 2, np.ones(3)), 6, "", True),
        (lambda fd: fd.estimate_hessian(lambda x: np.sum(x**3), np.ones(2)), 4, "", True),
        (
            lambda fd: fd.estimate(lambda t: np.stack([np.sin(t), np.cos(t)], -1), np.ones(3)),
            6,
            "",
            False,
        ),
    ],
)
def test_fdresult_html_has_one_bounded_row_per_entry(
    make: Any, rows: int, more: str, total: bool
) -> None:
    result = make(dk.FiniteDifference())
    page = result._repr_html_()
    assert page.count("<tr>") == 1 + rows
    assert ("more entries" in page) == bool(more)
    assert more in page
    for header in ("index", "value", "error", "status", "h"):
        assert f"<th>{header}</th>" in page
    # nfev per point beside its entries; the multivariate estimates' one total above the table
    assert ("<th>nfev</th>" in page) != total
    assert ("nfev: " in page) == total
    assert "<td>nan</td>" not in page


def test_fdresult_html_names_points_that_are_not_ok() -> None:
    with pytest.warns(dk.FDAccuracyWarning):
        dk.FiniteDifference().derivative(np.sqrt, np.array([-1.0, 4.0]))
    result = dk.FiniteDifference().estimate(np.sqrt, np.array([-1.0, 4.0]))
    page = result._repr_html_()
    assert "nonfinite" in page
    assert "1 of 2 ok" in page


def test_figures_get_a_png_formatter_in_ipython() -> None:
    pytest.importorskip("IPython")
    from IPython.core.formatters import DisplayFormatter

    from diffkit.report.notebook import register_figure_display

    frame = dk.sweep([catalog.get("exp")], points=[1.0], steps=STEPS)
    fig = vcurve_figure(frame, catalog.get("exp"), 1.0)
    formatter = DisplayFormatter()
    assert "image/png" not in formatter.format(fig)[0]  # what a notebook shows today
    assert register_figure_display(formatter)
    data, _ = formatter.format(fig)
    assert data["image/png"].startswith(PNG)
    assert not register_figure_display(formatter)  # a printer already there is left alone


def test_report_holds_the_frame_shows_itself_and_writes_the_folder(tmp_path: Path) -> None:
    rep = dk.report("exp", points=[1.0], steps=STEPS)
    assert isinstance(rep, dk.Report)
    assert isinstance(rep.frame, pd.DataFrame)
    assert set(rep.frame["function"]) == {"exp"}
    assert {"symbolic", "reverse"} <= set(rep.frame["backend"])  # the CLI's default backends
    page = rep._repr_html_()
    assert "<table" in page
    assert page.count('<img src="data:image/png;base64,') == 1
    assert "exp" in repr(rep)
    assert len(repr(rep)) < 200
    index = rep.write(tmp_path / "out")
    assert index == tmp_path / "out" / "index.html"
    assert index.is_file()
    metadata = json.loads((tmp_path / "out" / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["api"] == "diffkit.report"
    assert "exp" in index.read_text(encoding="utf-8")
    figures = tmp_path / "out" / "figures"
    assert len(list(figures.glob("*exp*"))) == 1  # the V-curve
    assert len(list(figures.iterdir())) > 1  # and the charts of the sections the CLI's report has


def test_report_takes_callables_and_several_functions() -> None:
    rep = dk.report(
        [np.sin, "x**2 + 1", catalog.get("exp")], points=[0.5], steps=STEPS, backends=()
    )
    assert list(pd.unique(rep.frame["function"])) == ["sin", "x**2 + 1", "exp"]
    page = rep._repr_html_()
    assert page.count("<h4>") == 3


def test_report_package_stays_a_package() -> None:
    import diffkit.report

    assert dk.report is diffkit.report
    assert callable(dk.report)
    assert diffkit.report.write_report is not None
    from diffkit.report import vcurve_figure as again

    assert again is vcurve_figure
