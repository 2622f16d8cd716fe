"""The torch and jax backends (diffkit/plugins): exact derivatives, dtypes, and the missing-peer path.

Backends are built directly, not only through the registry, so these tests run
whether or not diffkit is pip-installed (entry points exist only after an install).
Each peer's tests skip when its library is not installed.
"""

from __future__ import annotations

import importlib.util
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pytest

import diffkit as dk
from diffkit import catalog, truth
from diffkit.backends import registry
from diffkit.plugins import PeerUnavailable, UntraceableFunctionError
from diffkit.plugins.jax_backend import JaxBackend
from diffkit.plugins.torch_backend import TorchBackend

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _native_sin(name: str):
    if name == "torch":
        return pytest.importorskip("torch").sin
    return pytest.importorskip("jax.numpy").sin


@pytest.fixture(params=["torch", "jax"])
def peer(request):
    pytest.importorskip(request.param)
    return TorchBackend() if request.param == "torch" else JaxBackend()


# ---------------------------------------------------------------- against the ground truth


@pytest.mark.parametrize("name", ["squire_trapp", "sigmoid", "softplus", "gauss_cos", "tanh"])
def test_derivative_matches_truth_on_catalog_functions(peer, name):
    f = catalog.get(name)
    xs = np.array([0.3, 0.7, 1.1])
    np.testing.assert_allclose(peer.derivative(f, xs), truth.derivative(f, xs), rtol=1e-12)


def test_second_and_third_derivatives_match_truth(peer):
    f = catalog.get("squire_trapp")
    for n in (2, 3):
        got = peer.derivative(f, 0.4, n=n)
        assert float(got) == pytest.approx(float(truth.derivative(f, 0.4, n=n)), rel=1e-10)


@pytest.mark.parametrize("name", ["rosenbrock10", "logsumexp", "mlp_tanh"])
def test_gradient_and_hessian_match_truth(peer, name):
    f = catalog.get(name)
    x = np.linspace(-0.8, 0.9, f.ndim)
    np.testing.assert_allclose(peer.gradient(f, x), truth.gradient(f, x), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(peer.hessian(f, x), truth.hessian(f, x), rtol=1e-10, atol=1e-10)


def test_jacobian_has_shape_outputs_by_inputs(peer):
    def f(v):
        return np.stack([v[0] * v[1], np.sin(v[2]), v[0] - v[2], np.exp(v[1])])

    x = np.array([0.5, -1.0, 2.0])
    got = peer.jacobian(f, x)
    assert got.shape == (4, 3)
    np.testing.assert_allclose(got[1], [0.0, 0.0, np.cos(2.0)], atol=1e-15)
    assert peer.jacobian(catalog.get("rosenbrock2"), np.array([1.0, 2.0])).shape == (1, 2)


def test_kinked_rows_and_constants_evaluate_on_the_peer(peer):
    text = "relu(x) + abs(x) + sign(x)*x + max(x, min(2*x, 3)) + log1p(x*x) + pi*exp(2)*x"
    xs = np.array([-1.0, 0.5, 2.0])  # away from the kinks, where conventions differ
    exact = truth.derivative(dk.Function.from_string(text), xs)
    np.testing.assert_allclose(peer.derivative(text, xs), exact, rtol=1e-13)


# ---------------------------------------------------------------- dtypes and shapes


def test_float32_in_float32_out(peer):
    xs = np.linspace(0.5, 1.5, 4, dtype=np.float32)
    f = catalog.get("rosenbrock2")
    x = np.float32([0.5, 0.5])
    assert peer.derivative(np.exp, xs).dtype == np.float32
    assert peer.gradient(f, x).dtype == np.float32
    assert peer.hessian(f, x).dtype == np.float32
    assert peer.jacobian(f, x).dtype == np.float32
    np.testing.assert_allclose(peer.derivative(np.exp, xs), np.exp(xs), rtol=1e-6)


def test_float64_is_computed_in_float64(peer):
    # 1e-12 apart is below float32's resolution: a float32 computation would return 0.
    x = np.array([1.0, 1.0 + 1e-12])
    assert peer.gradient(lambda v: v[0] * v[1], x)[0] == x[1]


def test_a_scalar_point_gives_a_scalar_and_integers_become_float64(peer):
    assert np.ndim(peer.derivative(np.sin, 0.5)) == 0
    assert peer.gradient(catalog.get("rosenbrock2"), [1, 1]).dtype == np.float64


def _scalar_f(v):
    return np.sum(np.sin(v) * v**2)


def _elementwise(v):
    return np.sin(v) * v


# The point's shape as ReverseMode sees it; 2-D points differ only in the Jacobian's and
# Hessian's shape (below).
SHAPES = {"scalar": (), "1-D": (3,), "2-D": (2, 3)}
CALLS = {
    "derivative": _elementwise,
    "gradient": _scalar_f,
    "jacobian": _elementwise,
    "hessian": _scalar_f,
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("where", sorted(SHAPES))
def test_shapes_dtypes_and_values_match_reverse_mode(peer, call, dtype, where):
    shape = SHAPES[where]
    x = np.linspace(0.3, 1.4, int(np.prod(shape)), dtype=dtype).reshape(shape)
    got = getattr(peer, call)(CALLS[call], x)
    want = getattr(dk.ReverseMode(), call)(CALLS[call], x)
    if len(shape) == 2 and call in ("jacobian", "hessian"):
        # The protocol's (m, n), as Symbolic and FiniteDifference return; ReverseMode
        # keeps (*f(x).shape, *x.shape) for points of 2 or more dimensions.
        want = want.reshape(-1, x.size)
    assert np.shape(got) == np.shape(want)
    assert np.asarray(got).dtype == np.asarray(want).dtype == dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("x", [0.5, np.float32(0.5), np.array(0.5)])
def test_a_0d_point_keeps_its_shape_even_when_f_keeps_the_points_shape(peer, x):
    # f(x) = sin(x) * x returns x's shape: seen as (1,), its gradient would not be a scalar's.
    assert np.shape(peer.derivative(_elementwise, x)) == ()
    for f in (_elementwise, _native_sin(peer.name), "sin(x) * x"):
        grad = peer.gradient(f, x)
        assert np.shape(grad) == np.shape(dk.ReverseMode().gradient(np.sin, x)) == ()
    np.testing.assert_allclose(peer.gradient(_elementwise, x), np.sin(0.5) + 0.5 * np.cos(0.5))
    assert peer.hessian(_elementwise, x).shape == (1, 1)
    assert peer.jacobian(lambda v: np.stack([v, v**2]), x).shape == (2, 1)


def test_reversed_and_empty_points(peer):
    x = np.linspace(0.1, 0.9, 5)[::-1]  # negative strides
    np.testing.assert_allclose(peer.gradient(_scalar_f, x), dk.ReverseMode().gradient(_scalar_f, x))
    for empty in (np.zeros(0), np.zeros((0, 3), dtype=np.float32)):
        got = peer.derivative(np.sin, empty)
        assert got.shape == empty.shape
        assert got.dtype == empty.dtype


def test_derivative_order_is_validated(peer):
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="integer >= 1"):
            peer.derivative(np.sin, 0.5, n=bad)


# ---------------------------------------------------------------- which functions run how


def test_functions_written_for_the_peer_run_natively(peer):
    xs = np.array([0.1, 0.2])
    np.testing.assert_allclose(peer.derivative(_native_sin(peer.name), xs), np.cos(xs), rtol=1e-14)


def test_numpy_code_is_traced_into_an_expression(peer):
    def f(v):
        return np.sum(np.tanh(v) ** 2) + np.prod(v)

    x = np.array([0.3, -0.4, 0.5])
    np.testing.assert_allclose(peer.gradient(f, x), dk.Symbolic().gradient(f, x), rtol=1e-13)


def test_numpy_code_that_cannot_be_traced_is_a_clear_type_error(peer):
    def branchy(x):
        return np.sin(x) if x > 0 else x

    with pytest.raises(UntraceableFunctionError, match=rf"{peer.name} backend cannot.*branchy"):
        peer.derivative(branchy, 0.5)
    assert issubclass(UntraceableFunctionError, TypeError)


# ---------------------------------------------------------------- a missing peer


@pytest.mark.parametrize(("backend", "module"), [(TorchBackend, "torch"), (JaxBackend, "jax")])
def test_a_missing_library_names_the_install_command(monkeypatch, backend, module):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a)
    )
    assert backend.available() is False
    with pytest.raises(PeerUnavailable, match=rf"pip install 'diffkit\[{module}\]'"):
        backend()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing optional peer is normal: no warning
        assert module not in dk.available()
    assert issubclass(PeerUnavailable, ImportError)


def test_registry_skips_missing_peers_silently_and_warns_for_broken_ones(monkeypatch):
    class EntryPoint:
        def __init__(self, name, target):
            self.name, self.value, self._target = name, f"tests:{name}", target

        def load(self):
            return self._target

    class Missing:
        @staticmethod
        def available():
            return False

    class Broken:
        @staticmethod
        def available():
            raise RuntimeError("half-installed")

    points = [EntryPoint("missing", Missing), EntryPoint("broken", Broken)]
    monkeypatch.setattr(registry, "entry_points", lambda group: points)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        names = dk.available()
    assert "missing" not in names
    assert "broken" not in names
    assert [str(w.message) for w in caught] == [
        "diffkit backend plugin 'broken' (tests:broken) failed to load: half-installed"
    ]


def test_listing_backends_does_not_import_the_peers():
    code = "import sys, diffkit as dk; dk.available(); print('torch' in sys.modules, 'jax' in sys.modules)"
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- packaging


def test_pyproject_declares_the_extras_and_entry_points():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    assert project["optional-dependencies"]["torch"] == ["torch==2.13.0"]
    assert project["optional-dependencies"]["jax"] == ["jax>=0.4"]
    assert project["entry-points"]["diffkit.backends"] == {
        "jax": "diffkit.plugins.jax_backend:JaxBackend",
        "torch": "diffkit.plugins.torch_backend:TorchBackend",
    }


@pytest.mark.parametrize("name", ["torch", "jax"])
def test_installed_peers_are_listed_once_diffkit_is_installed(name):
    pytest.importorskip(name)
    from importlib.metadata import entry_points

    if name not in {ep.name for ep in entry_points(group=registry.ENTRY_POINT_GROUP)}:
        pytest.skip("diffkit is not pip-installed here, so its entry points do not exist")
    assert name in dk.available()
    assert dk.backend(name).name == name
