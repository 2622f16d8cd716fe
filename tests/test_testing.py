"""diffkit.testing assertions and the `diffkit check` command."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from diffkit.cli import main
from diffkit.testing import (
    assert_backward_close,
    assert_gradient_close,
    assert_hessian_close,
    assert_jacobian_close,
)
from diffkit.verify import GradientMismatch

X = np.array([0.1, 0.2, 0.3])


def f(x):
    return np.sum(np.sin(x) * x**2)


def g(x):
    return np.cos(x) * x**2 + 2 * x * np.sin(x)


def test_assert_gradient_close_passes_and_fails_as_assertion_error():
    assert_gradient_close(f, g, X)
    with pytest.raises(AssertionError, match="yours"):
        assert_gradient_close(f, lambda x: g(x) * 1.001, X)


def test_assert_jacobian_hessian_backward():
    assert_jacobian_close(lambda x: np.sin(x), np.diag(np.cos(X)), X)
    assert_hessian_close(f, np.diag(2 * np.sin(X) + 4 * X * np.cos(X) - X**2 * np.sin(X)), X)
    assert_backward_close(f, X)
    with pytest.raises(GradientMismatch):
        assert_jacobian_close(lambda x: np.sin(x), np.diag(np.cos(X)) * 1.01, X)


MODULE = textwrap.dedent(
    """
    import numpy as np
    def loss(x):
        return np.sum(np.sin(x) * x**2)
    def loss_grad(x):
        return np.cos(x) * x**2 + 2 * x * np.sin(x)
    def bad_grad(x):
        return loss_grad(x) * (1 + 1e-6)
    """
)


@pytest.fixture
def module(tmp_path, monkeypatch):
    (tmp_path / "dk_user_mod.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return "dk_user_mod"


def test_cli_check_passes(module, capsys):
    assert (
        main(["check", f"{module}:loss", "--grad", f"{module}:loss_grad", "--at", "0.1,0.2,0.3"])
        == 0
    )
    out = capsys.readouterr().out
    assert "passed" in out
    assert "reference: symbolic (exact derivative of the traced function)" in out


def test_cli_check_mismatch_exits_1_with_table(module, capsys):
    code = main(["check", f"{module}:loss", "--grad", f"{module}:bad_grad", "--at", "0.1,0.2,0.3"])
    assert code == 1
    out = capsys.readouterr().out
    assert "FAILED" in out
    assert "symbolic" in out


def test_cli_check_without_grad_checks_reverse_mode(module, capsys):
    assert main(["check", f"{module}:loss", "--at", "0.5,1.5"]) == 0
    assert "reverse" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "os.system('x')", "--at", "1"], "module:function"),
        (["check", "dk_user_mod", "--at", "1"], "module:function"),
        (["check", "dk_user_mod:nope", "--at", "1"], "no attribute"),
        (["check", "no_such_module_xyz:f", "--at", "1"], "cannot import"),
        (["check", "dk_user_mod:loss", "--at", "a,b"], "comma-separated"),
        (["check", "dk_user_mod:loss"], "--at"),
    ],
)
def test_cli_check_usage_errors_exit_2(module, capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err
