"""The README's "Your own code" example, with its printed numbers: a user's loss with
np.linalg.norm and np.einsum through check_gradient, reverse mode, a sweep with exact
(traced) truth, and a report."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import diffkit as dk
from diffkit.report import write_report

README = Path(__file__).resolve().parents[1] / "README.md"
A = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]])
X = np.array([0.3, -0.2, 0.5])


def energy(x):
    r = A @ x - 1.0
    return np.linalg.norm(r) ** 2 + 0.1 * np.einsum("i,ij,j->", x, A, x)


def energy_grad(x):
    return 2 * A.T @ (A @ x - 1.0) + 0.2 * A @ x


def test_the_readme_holds_this_example() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Your own code") : text.index("## Layout")]
    for line in (
        'return np.linalg.norm(r) ** 2 + 0.1 * np.einsum("i,ij,j->", x, A, x)',
        "return 2 * A.T @ (A @ x - 1.0) + 0.2 * A @ x",
        "x = np.array([0.3, -0.2, 0.5])",
    ):
        assert line in section, line


def test_check_gradient_passes_and_says_its_reference() -> None:
    report = dk.check_gradient(energy, energy_grad, X)
    assert report.notes == ("reference: symbolic (exact derivative of the traced function)",)


def test_a_wrong_component_is_named_with_its_error() -> None:
    with pytest.raises(dk.GradientMismatch) as caught:
        dk.check_gradient(energy, lambda x: energy_grad(x) * [1, 1, 1.001], X)
    message = str(caught.value)
    assert re.search(r"x\[2\]\s+5\.16516\s+5\.16\s+5\.16e-03\s+1\.00e-03", message), message
    assert "remainder slope 1.00" in message


def test_reverse_mode_gives_the_printed_gradient_and_hessian() -> None:
    np.testing.assert_allclose(dk.grad(energy)(X), [-3.92, -4.36, 5.16], rtol=1e-14)
    expected = [[10.4, 10.2, 2.0], [10.2, 22.6, 14.2], [2.0, 14.2, 34.8]]
    np.testing.assert_allclose(dk.hessian(energy)(X), expected, rtol=1e-14)
    np.testing.assert_allclose(2 * A.T @ A + 0.2 * A, expected, rtol=1e-14)  # the exact one


def test_the_sweep_has_traced_truth_and_the_report_is_written(tmp_path: Path) -> None:
    frame = dk.sweep([energy], points=[X], backends=["reverse", "symbolic", "fd-richardson"])
    assert list(frame.truth_source.unique()) == ["traced"]
    exact = frame[frame.backend.isin(["reverse", "symbolic"])]
    assert (exact.status == "ok").all()
    assert exact.rel_err.max() < 1e-15
    not_ok = frame[frame.status != "ok"]
    assert set(not_ok.method) == {"complex"}  # the norm is not analytic: the complex step says so
    assert not_ok.message.str.contains("analytic").all()
    index = write_report(frame, [dk.as_function(energy)], tmp_path / "energy-report")
    assert index.exists()
    assert list((index.parent / "figures").glob("*.png"))
