"""Every difference quotient printed in the seed articles, reproduced with diffkit.

Each case gives the function, the point, the step and the number the article prints.
diffkit's forward difference must equal the article's number bit for bit, because
with a given ``h`` it computes exactly ``(f(x + h) - f(x)) / h``.

Two printed numbers in the chain-rule article (seed 002) are not what its own code
computes in IEEE double precision; for those the test checks diffkit against the
article's code run in plain Python, and records the printed value beside it.
"""

from __future__ import annotations

import numpy as np
import pytest

import diffkit as dk


def forward(h: float) -> dk.FiniteDifference:
    return dk.FiniteDifference(scheme="forward", h=h)


UNIVARIATE = [
    # (article, f, x, h, printed)
    ("000 ex 1.1", lambda x: (7 * x**2) + (6 * x) + 3, 5, 0.0001, 76.00069999995185),
    ("002 f'(2)", lambda x: 2 * x**2 - 3 * x + 4, 2, 0.000001, 5.000002000876691),
    ("002 f'(6)", lambda x: 2 * x**2 - 3 * x + 4, 6, 0.000001, 21.000002000448603),
    ("002 f'(-2)", lambda x: 2 * x**2 - 3 * x + 4, -2, 0.000001, -10.999997996918864),
    ("002 f'(0.75)", lambda x: 2 * x**2 - 3 * x + 4, 0.75, 0.000000001, 0.0),
    ("003 x^2 at 3", lambda x: x**2, 3.0, 0.000001, 6.000001000927568),
    ("003 roc(3, 1)", lambda x: x**2, 3, 1, 7.0),
    ("003 roc(3, 0.5)", lambda x: x**2, 3, 0.5, 6.5),
    ("003 roc(1, 1)", lambda x: x**2, 1, 1, 3.0),
    ("003 roc(-2, 0.5)", lambda x: x**2, -2, 0.5, -3.5),
]


@pytest.mark.parametrize(
    ("article", "f", "x", "h", "printed"), UNIVARIATE, ids=[c[0] for c in UNIVARIATE]
)
def test_univariate_quotients_match_the_articles_bit_for_bit(article, f, x, h, printed):
    value = forward(h).derivative(f, x)
    assert float(value) == printed


PARTIALS = [
    # (article, f of a vector, point, h, printed partials)
    (
        "000 ex 1.2",
        lambda v: v[0] * v[1] + v[2],
        (2.0, -3.0, 10.0),
        0.0001,
        (-3.000000000010772, 2.0000000000042206, 0.9999999999976694),
    ),
    (
        "002 dL/de, dL/df",
        lambda v: v[0] * v[1],
        (2.0, -2.0),
        0.0001,
        (-2.0000000000042206, 1.9999999999997797),
    ),
    ("003 x+y", lambda v: v[0] + v[1], (2, 3), 0.000001, (1.000000000139778, 1.000000000139778)),
    ("003 x+y at -20,300", lambda v: v[0] + v[1], (-20, 300), 0.000001, (0.9999999974752427, None)),
    ("003 x+y at 2,75", lambda v: v[0] + v[1], (2, 75), 0.000001, (0.9999999974752427, None)),
    ("003 x+y at 3,10", lambda v: v[0] + v[1], (3, 10), 0.000001, (1.0000000010279564, None)),
    ("003 x*y", lambda v: v[0] * v[1], (2, 3), 1e-5, (3.000000000064062, None)),
    ("003 x*y at -20", lambda v: v[0] * v[1], (-20, 3), 1e-5, (2.999999999531155, None)),
    ("003 x*y at 3", lambda v: v[0] * v[1], (3, 3), 1e-5, (3.000000000064062, None)),
    ("003 x*y h=5", lambda v: v[0] * v[1], (10, 3), 5, (3.0, None)),
    ("003 xyz h=1", lambda v: v[0] ** 2 + v[1] ** 3 - v[2], (2, 3, 4), 1, (5.0, None, None)),
    (
        "003 xyz h=1e-5",
        lambda v: v[0] ** 2 + v[1] ** 3 - v[2],
        (2, 3, 4),
        0.00001,
        (4.000010000027032, None, None),
    ),
]


@pytest.mark.parametrize(
    ("article", "f", "point", "h", "printed"), PARTIALS, ids=[c[0] for c in PARTIALS]
)
def test_partial_quotients_match_the_articles_bit_for_bit(article, f, point, h, printed):
    grad = forward(h).gradient(f, np.array(point, dtype=float))
    for got, want in zip(grad, printed, strict=True):
        if want is not None:
            assert float(got) == want


def test_chain_rule_article_numbers_that_its_own_code_does_not_give():
    """Seed 002 prints -2.0000000000131024 for d(a*b+c)/da and -1.9999999999 for dL/dd.

    Run in IEEE doubles, the article's code gives -2.0000000000042206 for the first
    (the printed one is what h = 1e-5 gives, bit for bit) and -1.9999999999953388 for the
    second (printed cut after ten decimals); diffkit gives exactly what the code gives.
    """
    h, a, b, c, f_ = 0.0001, 3.0, -2.0, 8.0, -2.0
    by_hand_a = (((a + h) * b + c) - (a * b + c)) / h
    d = a * b
    by_hand_d = (((d + h) + c) * f_ - (d + c) * f_) / h
    grad = forward(h).gradient(lambda v: v[0] * v[1] + v[2], np.array([a, b, c]))
    assert grad.tolist() == [by_hand_a, 3.00000000000189, 0.9999999999976694]
    assert by_hand_a != -2.0000000000131024
    # The printed digits are, bit for bit, the same quotient with h = 1e-5.
    assert forward(1e-5).gradient(lambda v: v[0] * v[1] + v[2], np.array([a, b, c]))[0] == (
        -2.0000000000131024
    )
    grad_d = forward(h).gradient(lambda v: (v[0] + v[1]) * v[2], np.array([d, c, f_]))
    assert grad_d[0] == by_hand_d
    assert repr(float(grad_d[0])).startswith("-1.9999999999")


def test_seed_examples_have_exact_derivatives_in_the_catalog():
    """The catalog's seed functions differentiate to the articles' exact answers."""
    assert dk.truth.derivative(dk.catalog.get("seed_quadratic"), 5.0) == 76.0
    fd = dk.FiniteDifference(richardson=True)
    assert fd.derivative(dk.catalog.get("seed_quadratic"), 5.0) == pytest.approx(76.0, rel=1e-14)
    grad = dk.FiniteDifference(richardson=True).gradient(
        dk.catalog.get("seed_abcf"), [2.0, -3.0, 10.0, -2.0]
    )
    np.testing.assert_allclose(grad, [6.0, -4.0, -2.0, 4.0], rtol=1e-12)
