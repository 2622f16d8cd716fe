"""Noisy functions: the noise added, Moré & Wild's estimate of it, and the step it allows."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from diffkit.backends import FiniteDifference
from diffkit.backends.finite import ComplexStepError
from diffkit.function import Function
from diffkit.noise import (
    NoiseError,
    base_name,
    difference_table_noise,
    estimate_noise,
    noise_optimal_step,
    noise_scale,
    with_noise,
)

SIN = Function.from_string("sin(x)", name="sin")
X = 1.0


def test_noise_has_the_requested_std_and_keeps_the_expression() -> None:
    noisy = with_noise(SIN, 1e-3, seed=0, scale=2.0)
    x = np.full(20_000, X)
    noise = noisy(x) - np.sin(x)
    assert np.std(noise) == pytest.approx(2e-3, rel=0.03)
    assert abs(np.mean(noise)) < 1e-4
    assert noisy.expr == SIN.expr
    assert noisy.name == "sin (noise 0.001)"
    assert base_name(noisy.name) == "sin"
    assert "noisy" in noisy.tags


def test_noise_is_deterministic_and_independent_per_value() -> None:
    x = np.linspace(0.0, 1.0, 5)
    a, b = with_noise(SIN, 1e-6, seed=7), with_noise(SIN, 1e-6, seed=7)
    assert np.array_equal(a(x), b(x))
    assert np.array_equal(a(x), a(x))  # a pure function of (seed, input): call order is irrelevant
    assert not np.array_equal(a(x), with_noise(SIN, 1e-6, seed=8)(x))
    repeated = a(np.full(4, X)) - np.sin(X)
    assert np.unique(repeated).size == 4


def test_noisy_function_is_picklable() -> None:
    fresh = Function.from_string("cos(x)", name="cos")
    noisy = with_noise(fresh, 1e-6, seed=3)
    back = pickle.loads(pickle.dumps(noisy))
    x = np.array([0.5, 1.5])
    assert np.array_equal(back(x), noisy(x))


def test_zero_level_is_the_function_itself() -> None:
    x = np.array([0.1, 0.2])
    assert np.array_equal(with_noise(SIN, 0.0, seed=0)(x), np.sin(x))


def test_complex_input_is_refused() -> None:
    noisy = with_noise(SIN, 1e-8, seed=0)
    with pytest.raises(NoiseError, match="complex step would ignore the noise"):
        noisy(np.array([1.0 + 1e-20j]))
    with pytest.raises(ComplexStepError, match="noisy function cannot take complex input"):
        FiniteDifference(scheme="complex").derivative(noisy, 1.0)


@pytest.mark.parametrize(("level", "scale"), [(-1.0, 1.0), (np.nan, 1.0), (1e-3, 0.0)])
def test_bad_level_or_scale_is_refused(level: float, scale: float) -> None:
    with pytest.raises(ValueError, match="noise"):
        with_noise(SIN, level, seed=0, scale=scale)


def test_noise_scale_is_max_of_abs_f_and_one() -> None:
    assert noise_scale(Function.from_string("10*x"), 2.0) == 20.0
    assert noise_scale(SIN, 0.1) == 1.0


@pytest.mark.parametrize("level", [1e-3, 1e-6, 1e-9, 1e-12])
def test_ecnoise_recovers_the_noise_level(level: float) -> None:
    """Within a factor 2 for most seeds; m = 16 (more differences to average) scatters less."""
    seeds = range(20)
    small = [estimate_noise(with_noise(SIN, level, s), X).noise / level for s in seeds]
    large = [estimate_noise(with_noise(SIN, level, s), X, m=16).noise / level for s in seeds]
    small_ok = [0.5 < r < 2 for r in small]
    assert sum(small_ok) >= 17, small
    assert 0.7 < np.median(small) < 1.4
    assert sum(0.5 < r < 2 for r in large) >= 19, large
    assert all(0.4 < r < 2.5 for r in large), large


def test_ecnoise_on_a_sampled_table_uses_gamma_k() -> None:
    """Pure white noise: the first order is accepted, with sigma_1 = sqrt(mean(diff^2) / 2)."""
    values = 1.0 + 1e-5 * np.random.default_rng(0).standard_normal(9)
    found = difference_table_noise(values, 0.1)
    assert found.ok
    assert found.order == 1
    assert found.noise == pytest.approx(np.sqrt(np.mean(np.diff(values) ** 2) / 2))
    assert found.levels[1] == pytest.approx(np.sqrt(np.mean(np.diff(values, 2) ** 2) / 6))


def test_ecnoise_reports_h_too_large_and_too_small() -> None:
    noisy = with_noise(SIN, 1e-10, seed=1)
    too_large = estimate_noise(noisy, X, h=0.5)
    assert too_large.status == "h too large"
    assert np.isnan(too_large.noise)
    flat = estimate_noise(Function.from_string("1 + 0*x"), X, h=1e-3)
    assert flat.status == "h too small"
    assert not flat.ok
    with pytest.raises(ValueError, match="at least 4 values"):
        difference_table_noise([1.0, 2.0, 3.0])


def test_ecnoise_along_a_direction_for_several_variables() -> None:
    f = Function.from_string("sin(x0) * cos(x1)", ["x0", "x1"])
    found = estimate_noise(with_noise(f, 1e-7, seed=4), (0.3, 0.2), m=16)
    assert found.ok
    assert 0.5 < found.noise / 1e-7 < 2


def test_noise_optimal_step_formulas() -> None:
    forward = noise_optimal_step(1e-8, 2.0, "forward")
    assert forward.h == pytest.approx(8**0.25 * np.sqrt(1e-8 / 2.0))
    assert forward.error == pytest.approx(
        np.sqrt((2.0 * forward.h / 2) ** 2 + 2e-16 / forward.h**2)
    )
    central = noise_optimal_step(1e-9, -3.0, "central")
    assert central.h == pytest.approx((1e-9) ** (1 / 3))
    assert central.error == pytest.approx(3.0 * central.h**2 / 6 + 1e-9 / central.h)
    assert np.isnan(noise_optimal_step(1e-8, 0.0).h)
    with pytest.raises(ValueError, match="scheme"):
        noise_optimal_step(1e-8, 1.0, "complex")


@pytest.mark.parametrize(
    ("scheme", "accuracy", "derivative"),
    [("forward", 1, -np.sin(X)), ("central", 2, -np.cos(X))],
)
@pytest.mark.parametrize("level", [1e-6, 1e-10])
def test_noise_optimal_step_sits_at_the_bottom_of_the_v_curve(
    scheme: str, accuracy: int, derivative: float, level: float
) -> None:
    """The RMS error over 20 seeds is least within a factor 4 of h, and at h within 1.5x of least."""
    steps = np.logspace(-8, 0, 33)
    rule = FiniteDifference(scheme=scheme, accuracy=accuracy, h=steps, fallback=False)
    errors = [
        rule.estimate(with_noise(SIN, level, s), np.full(steps.shape, X), with_error=False).value
        - np.cos(X)
        for s in range(20)
    ]
    rms = np.sqrt(np.mean(np.square(errors), axis=0))
    step = noise_optimal_step(level, derivative, scheme)
    nearest = int(np.argmin(np.abs(np.log(steps / step.h))))
    assert 0.25 < steps[int(np.argmin(rms))] / step.h < 4
    assert rms[nearest] < 1.5 * rms.min()
    assert 0.3 < rms[nearest] / step.error < 2
