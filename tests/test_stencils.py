"""Stencils: exact Fornberg weights, measured accuracy, error constants, honest refusals."""

from __future__ import annotations

from fractions import Fraction
from math import factorial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diffkit.backends.stencils import StencilError, custom_stencil, stencil

KNOWN = [
    # scheme, n, accuracy, offsets, weights, error constant
    ("forward", 1, 1, (0, 1), ("-1", "1"), "1/2"),
    ("backward", 1, 1, (0, -1), ("1", "-1"), "-1/2"),
    ("central", 1, 2, (-1, 0, 1), ("-1/2", "0", "1/2"), "1/6"),
    ("central", 1, 4, (-2, -1, 0, 1, 2), ("1/12", "-2/3", "0", "2/3", "-1/12"), "-1/30"),
    ("central", 2, 2, (-1, 0, 1), ("1", "-2", "1"), "1/12"),
    ("central", 4, 2, (-2, -1, 0, 1, 2), ("1", "-4", "6", "-4", "1"), "1/6"),
]


@pytest.mark.parametrize(("scheme", "n", "accuracy", "offsets", "weights", "constant"), KNOWN)
def test_standard_rules_have_textbook_weights_and_error_constants(
    scheme, n, accuracy, offsets, weights, constant
):
    rule = stencil(scheme, n, accuracy)
    assert rule.offsets == offsets
    assert rule.weights == tuple(Fraction(w) for w in weights)
    assert rule.accuracy == accuracy
    assert rule.error_constant == Fraction(constant)


@pytest.mark.parametrize("scheme", ["forward", "backward", "central"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("accuracy", [1, 2, 3, 4, 6])
def test_every_rule_reaches_the_accuracy_asked_or_refuses(scheme, n, accuracy):
    if scheme == "central" and accuracy % 2:
        with pytest.raises(StencilError, match="even accuracy"):
            stencil(scheme, n, accuracy)
        return
    rule = stencil(scheme, n, accuracy)
    assert rule.accuracy >= accuracy
    assert rule.n == n


@settings(max_examples=60, deadline=None)
@given(
    offsets=st.lists(st.integers(-6, 6), min_size=2, max_size=7, unique=True),
    n=st.integers(1, 4),
)
def test_moments_of_any_stencil_vanish_below_its_measured_order(offsets, n):
    """sum w_i s_i^k = n! [k == n] for k < n + p, and the next moment gives C (n+p)!."""
    if len(offsets) < n + 1:
        with pytest.raises(StencilError):
            custom_stencil(tuple(offsets), n)
        return
    rule = custom_stencil(tuple(offsets), n)
    p = rule.accuracy
    for k in range(n + p):
        moment = sum(w * Fraction(s) ** k for w, s in zip(rule.weights, rule.offsets, strict=True))
        assert moment == (factorial(n) if k == n else 0)
    top = sum(w * Fraction(s) ** (n + p) for w, s in zip(rule.weights, rule.offsets, strict=True))
    assert top == rule.error_constant * factorial(n + p)


def test_symmetric_stencils_gain_an_order_and_say_so():
    rule = custom_stencil((-2, -1, 1, 2), 1)
    assert rule.symmetric
    assert rule.accuracy == 4
    assert not custom_stencil((0, 1, 2, 3), 1).symmetric
    assert custom_stencil((0, 1, 2, 3), 1).accuracy == 3


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: stencil("sideways", 1, 1), "scheme must be one of"),
        (lambda: stencil("central", 0, 2), "derivative order n"),
        (lambda: stencil("forward", 1, 0), "accuracy must be"),
        (lambda: stencil("central", 1, 3), "even accuracy"),
        (lambda: custom_stencil((0, 0, 1), 1), "distinct"),
        (lambda: custom_stencil((0, 1), 2), "at least 3 points"),
        (lambda: custom_stencil((0, 0.5), 1), "integers"),
    ],
)
def test_impossible_rules_raise_a_clear_stencil_error(call, message):
    with pytest.raises(StencilError, match=message):
        call()


def test_stencil_error_is_a_value_error():
    assert issubclass(StencilError, ValueError)
