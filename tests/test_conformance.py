"""The conformance suite: every registered backend passes the same cases.

A backend joins diffkit by satisfying ``Differentiator``; these cases are what that
means in practice. Tolerances are the loosest any honest backend needs (a plain
central difference), so a failure here is a real bug, not a precision argument.
"""

from __future__ import annotations

import numpy as np
import pytest

import diffkit as dk
from diffkit import catalog, truth

BACKENDS = dk.available()


@pytest.fixture(params=BACKENDS)
def backend(request) -> dk.Differentiator:
    return dk.backend(request.param)


def test_backend_satisfies_the_protocol(backend):
    assert isinstance(backend, dk.Differentiator)
    assert isinstance(backend.name, str)
    assert backend.name


def test_derivative_is_elementwise_over_points(backend):
    xs = np.linspace(-2.0, 2.0, 9)
    got = backend.derivative(np.sin, xs)
    assert got.shape == xs.shape
    np.testing.assert_allclose(got, np.cos(xs), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("f", ["exp(x)/sqrt(sin(x)**3 + cos(x)**3)", catalog.get("squire_trapp")])
def test_derivative_accepts_strings_and_functions(backend, f):
    got = backend.derivative(f, 1.5)
    exact = truth.derivative(catalog.get("squire_trapp"), 1.5)
    assert float(got) == pytest.approx(float(exact), rel=1e-7)


def test_second_derivative(backend):
    if getattr(backend, "scheme", None) == "complex":
        with pytest.raises(ValueError, match="order 1 and 2"):
            backend.derivative(np.exp, 0.5, n=3)
    assert float(backend.derivative(np.exp, 0.5, n=2)) == pytest.approx(np.exp(0.5), rel=1e-5)


def test_gradient_of_rosenbrock(backend):
    f = catalog.get("rosenbrock2")
    x = np.array([-1.2, 1.0])
    np.testing.assert_allclose(backend.gradient(f, x), truth.gradient(f, x), rtol=1e-7)


def test_jacobian_shape_and_values(backend):
    def f(v):
        return np.stack([v[0] * v[1] * v[2], np.exp(v[0]) - v[2]])

    x = np.array([0.5, -1.0, 2.0])
    exact = np.array([[x[1] * x[2], x[0] * x[2], x[0] * x[1]], [np.exp(x[0]), 0.0, -1.0]])
    got = backend.jacobian(f, x)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, exact, rtol=1e-7, atol=1e-9)


def test_hessian_of_rosenbrock(backend):
    f = catalog.get("rosenbrock2")
    x = np.array([-1.2, 1.0])
    got = backend.hessian(f, x)
    assert got.shape == (2, 2)
    np.testing.assert_allclose(got, truth.hessian(f, x), rtol=1e-4)


def test_float32_in_float32_out(backend):
    xs = np.linspace(0.5, 1.5, 4, dtype=np.float32)
    assert backend.derivative(np.exp, xs).dtype == np.float32
    assert backend.gradient(catalog.get("rosenbrock2"), np.float32([0.5, 0.5])).dtype == np.float32


def test_registry_names_unknown_backends_and_lists_the_known_ones():
    with pytest.raises(dk.UnknownBackendError, match=r"available: .*fd"):
        dk.backend("no-such-backend")


def test_registry_passes_options_to_the_backend():
    fd = dk.backend("fd", scheme="forward", h=1e-4)
    assert fd.derivative(lambda x: 7 * x**2 + 6 * x + 3, 5.0) == 76.00069999995185


def test_register_adds_a_backend_and_refuses_silent_replacement():
    from diffkit.backends import registry

    try:
        dk.register("test-central4", lambda **o: dk.FiniteDifference(accuracy=4, **o))
        assert "test-central4" in dk.available()
        with pytest.raises(ValueError, match="exists already"):
            dk.register("test-central4", dk.FiniteDifference)
    finally:
        registry._REGISTERED.pop("test-central4", None)


def test_a_broken_plugin_is_a_warning_not_a_crash(monkeypatch):
    from diffkit.backends import registry

    class BrokenEntryPoint:
        name = "broken"
        value = "nowhere:Nothing"

        def load(self):
            raise ImportError("no module named nowhere")

    monkeypatch.setattr(registry, "entry_points", lambda group: [BrokenEntryPoint()])
    with pytest.warns(UserWarning, match="broken"):
        names = dk.available()
    assert "fd" in names
    assert "broken" not in names


def test_plugin_names_are_the_installed_peers_only():
    from diffkit.backends.registry import plugin_names

    names = plugin_names()
    assert set(names) <= set(dk.available())
    assert not set(names) & {"fd", "fd-richardson", "complex-step", "reverse", "symbolic"}
