"""Every derivative-related number the four seed articles print, and how diffkit recomputes it.

Each ``SeedExample`` names where a number is printed, the text as printed, and a
function that recomputes it the way the article computes it:
``FiniteDifference(scheme="forward", h=...)`` for the difference quotients (it
computes exactly ``(f(x + h) - f(x)) / h``), ``Value.backward`` for the graphs,
``ReverseMode`` or ``Symbolic`` where the text states an exact derivative.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from ..backends.symbolic import Symbolic
from .seed_code import (
    Thunk,
    abcf_graph,
    backprop,
    car_over_human,
    epoch_loss,
    exact_partial,
    f_abc,
    f_add,
    f_identity,
    f_mul,
    f_quadratic_000,
    f_quadratic_002,
    f_square,
    f_sum_times,
    f_xyz,
    forward_quotient,
    micrograd_graph,
    micrograd_loss,
    neuron_grad,
    nudged_loss,
    on_value_graph,
    one_step,
    partial_quotient,
    product,
    shifted_loss,
)

__all__ = ["ARTICLES", "SeedExample", "seed_rows"]

ARTICLES = {
    0: "Derivative and Backpropagation (Ji Kim)",
    1: "Backpropagation - re-writing Micrograd (Will Beckman)",
    2: "Backpropagation from the ground up",
    3: "From derivatives to backpropagation (micrograd notebook)",
}


@dataclass(frozen=True)
class SeedExample:
    """One printed number: where it is, the text as printed, and how diffkit recomputes it."""

    article: int
    example: str
    quantity: str
    printed_text: str
    method: str
    compute: Thunk
    note: str = ""


# ------------------------------------------------------------------ the printed numbers

_BACKPROP = "Value.backward"
_FORWARD_PASS = "Value (forward pass)"
_REVERSE = "ReverseMode (exact)"
_OTHER_STEP = (
    "the code shown sets h = 0.0001, which gives -2.0000000000042206 (diffkit too); the "
    "printed digits are, bit for bit, what h = 0.00001 gives, so the article ran that step"
)
_CUT = "printed cut after ten decimals"
_LECTURE = "x2, w1, w2 are only in the article's figure: the micrograd lecture's values"
_ROUNDED = "printed rounded to 2 decimals"

# (quantity, printed text, how diffkit computes it[, note])
Entry = tuple[str, str, Thunk] | tuple[str, str, Thunk, str]


def _fd(h: float) -> str:
    return f"forward difference, h={h:g}"


def _rows(article: int, example: str, method: str, entries: Iterable[Entry]) -> list[SeedExample]:
    rows = []
    for quantity, text, compute, *note in entries:
        rows.append(SeedExample(article, example, quantity, text, method, compute, *note))
    return rows


def _article_000() -> list[SeedExample]:
    quad, abc, point = "ex 1.1: y = 7x^2 + 6x + 3", "ex 1.2: y = a*b + c", (2.0, -3.0, 10.0)
    graph = "manual backprop: L = (a*b + c) * f"
    grads = [("a", "6.0"), ("b", "-4.0"), ("c", "-2.0"), ("e", "-2.0"), ("d", "-2.0")]
    grads += [("f", "4.0"), ("L", "1.0")]
    fd5 = forward_quotient(f_quadratic_000, 5.0, 1e-4)
    return [
        *_rows(0, quad, _fd(1e-4), [("dy/dx at x=5", "76.00069999995185", fd5)]),
        *_rows(
            0,
            quad,
            _fd(1e-4) + " times h",
            [("dy/dx * h", "0.007600069999995185", lambda: fd5() * 1e-4)],
        ),
        *_rows(
            0,
            quad,
            "Symbolic (exact)",
            [
                (
                    "y' = 14x + 6 at x=5",
                    "76",
                    lambda: float(Symbolic().derivative(f_quadratic_000, 5.0)),
                )
            ],
        ),
        *_rows(
            0,
            abc,
            _fd(1e-4),
            [
                ("dy/da", "-3.000000000010772", partial_quotient(f_abc, point, 1e-4, 0)),
                ("dy/db", "2.0000000000042206", partial_quotient(f_abc, point, 1e-4, 1)),
                ("dy/dc", "0.9999999999976694", partial_quotient(f_abc, point, 1e-4, 2)),
            ],
        ),
        *_rows(
            0,
            abc,
            _REVERSE,
            [
                (f"dy/d{v} (code comment)", text, exact_partial(f_abc, point, i))
                for i, (v, text) in enumerate((("a", "-3.0"), ("b", "2.0"), ("c", "1.0")))
            ],
        ),
        *_rows(
            0,
            graph,
            _BACKPROP,
            [(f"{v}.grad", text, backprop(abcf_graph, v)) for v, text in grads],
        ),
        *_rows(
            0,
            "nudge each leaf by 0.01 * grad",
            _BACKPROP + ", then forward",
            [("L", "-7.286496", nudged_loss)],
        ),
    ]


def _article_001() -> list[SeedExample]:
    trivial, neuron = "trivial case: c = a * b, a=1, b=2", "two levels: h1 = w1 x1 + w2 x2"
    return [
        *_rows(1, trivial, _FORWARD_PASS, [("c", "2", partial(product, "c"))]),
        *_rows(
            1,
            trivial,
            _BACKPROP,
            [
                ("dc/da = b", "2.0", partial(product, "a")),
                ("dc/db = a", "1.0", partial(product, "b")),
            ],
        ),
        *_rows(
            1,
            neuron,
            _BACKPROP,
            [
                ("dh1/do1", "1.0", partial(neuron_grad, "o1"), _LECTURE),
                ("dh1/do2", "1.0", partial(neuron_grad, "o2"), _LECTURE),
                ("dh1/dw1 = x1", "2.0", partial(neuron_grad, "w1"), _LECTURE),
            ],
        ),
        *_rows(
            1,
            "chain rule: bicycle b = 2h, car c = 4b",
            _BACKPROP,
            [("dc/dh", "8", car_over_human)],
        ),
    ]


def _article_002() -> list[SeedExample]:
    quad, abc, graph = "f(x) = 2x^2 - 3x + 4", "d = a*b + c, a=3, b=-2, c=8", "L = (a*b + c) * f"
    point = (3.0, -2.0, 8.0)
    # The article's d = a*b and e = d + c are abcf_graph's e and d.
    nodes = partial(abcf_graph, 3.0, -2.0, 8.0, -2.0)
    return [
        *_rows(
            2,
            quad,
            _fd(1e-6),
            [
                (f"f'({x:g})", text, forward_quotient(f_quadratic_002, x, 1e-6))
                for x, text in (
                    (2.0, "5.000002000876691"),
                    (6.0, "21.000002000448603"),
                    (-2.0, "-10.999997996918864"),
                )
            ],
        ),
        *_rows(
            2, quad, _fd(1e-9), [("f'(0.75)", "0.0", forward_quotient(f_quadratic_002, 0.75, 1e-9))]
        ),
        *_rows(
            2,
            abc,
            _fd(1e-5),
            [
                (
                    "dd/da",
                    "-2.0000000000131024",
                    partial_quotient(f_abc, point, 1e-5, 0),
                    _OTHER_STEP,
                )
            ],
        ),
        *_rows(
            2,
            abc,
            _fd(1e-4),
            [
                ("dd/db", "3.00000000000189", partial_quotient(f_abc, point, 1e-4, 1)),
                ("dd/dc", "0.9999999999976694", partial_quotient(f_abc, point, 1e-4, 2)),
            ],
        ),
        *_rows(
            2,
            abc,
            _REVERSE,
            [
                ("dd/da (exact slope)", "-2.0", exact_partial(f_abc, point, 0)),
                ("dd/db (exact slope)", "3.0", exact_partial(f_abc, point, 1)),
            ],
        ),
        *_rows(
            2,
            graph,
            _fd(1e-4),
            [
                ("dL/dL", "1.0000000000021103", forward_quotient(f_identity, -4.0, 1e-4)),
                ("dL/de", "-2.0000000000042206", partial_quotient(f_mul, (2.0, -2.0), 1e-4, 0)),
                ("dL/df", "1.9999999999997797", partial_quotient(f_mul, (2.0, -2.0), 1e-4, 1)),
                (
                    "dL/dd",
                    "-1.9999999999",
                    partial_quotient(f_sum_times, (-6.0, 8.0, -2.0), 1e-4, 0),
                    _CUT,
                ),
            ],
        ),
        *_rows(
            2,
            graph,
            _BACKPROP,
            [
                ("dL/dd by the chain rule", "-2", backprop(nodes, "e")),
                ("a.grad (PyTorch cell)", "4.0", backprop(nodes, "a")),
            ],
        ),
    ]


def _article_003() -> list[SeedExample]:
    square, add, mul = "f(x) = x^2", "f(x, y) = x + y", "f(x, y) = x * y"
    roc = ((3.0, 1.0, "7.0"), (3.0, 0.5, "6.5"), (1.0, 1.0, "3.0"), (-2.0, 0.5, "-3.5"))
    adds = [((-20.0, 300.0), "0.9999999974752427"), ((2.0, 75.0), "0.9999999974752427")]
    adds += [((3.0, 10.0), "1.0000000010279564")]
    muls = ((2.0, "3.000000000064062"), (-20.0, "2.999999999531155"), (3.0, "3.000000000064062"))
    return [
        *[
            row
            for x, h, text in roc
            for row in _rows(
                3,
                square,
                _fd(h),
                [(f"rate of change at x={x:g}", text, forward_quotient(f_square, x, h))],
            )
        ],
        *_rows(
            3,
            square,
            _fd(1e-6),
            [("f'(3)", "6.000001000927568", forward_quotient(f_square, 3.0, 1e-6))],
        ),
        *_rows(
            3,
            add,
            _fd(1e-6),
            [
                (
                    "df/dx at (2, 3)",
                    "1.000000000139778",
                    partial_quotient(f_add, (2.0, 3.0), 1e-6, 0),
                ),
                (
                    "df/dy at (2, 3)",
                    "1.000000000139778",
                    partial_quotient(f_add, (2.0, 3.0), 1e-6, 1),
                ),
                *[
                    (f"df/dx at ({p[0]:g}, {p[1]:g})", text, partial_quotient(f_add, p, 1e-6, 0))
                    for p, text in adds
                ],
            ],
        ),
        *_rows(
            3,
            mul,
            _fd(1e-5),
            [
                (f"df/dx at ({x:g}, 3)", text, partial_quotient(f_mul, (x, 3.0), 1e-5, 0))
                for x, text in muls
            ],
        ),
        *_rows(
            3,
            mul,
            _fd(5),
            [("df/dx at (10, 3)", "3.0", partial_quotient(f_mul, (10.0, 3.0), 5.0, 0))],
        ),
        *_rows(
            3,
            "f(x, y, z) = x^2 + y^3 - z",
            _fd(1),
            [("df/dx at (2, 3, 4)", "5.0", partial_quotient(f_xyz, (2.0, 3.0, 4.0), 1.0, 0))],
        ),
        *_rows(
            3,
            "f(x, y, z) = x^2 + y^3 - z",
            _fd(1e-5),
            [
                (
                    "df/dx at (2, 3, 4)",
                    "4.000010000027032",
                    partial_quotient(f_xyz, (2.0, 3.0, 4.0), 1e-5, 0),
                )
            ],
        ),
        *_article_003_graph(),
    ]


def _article_003_graph() -> list[SeedExample]:
    graph = "L = (a + b) * d, a=5, b=3, d=10"
    quotients = [("d", "7.999999999697137"), ("c", "10.000000000331966")]
    quotients += [("a", "10.000000000331966"), ("b", "10.000000000331966")]
    grads = (("a", "10.0"), ("b", "10.0"), ("c", "10.0"), ("d", "8.0"))
    shifted = (("a", "90"), ("b", "90"), ("c", "90"), ("d", "88"))
    losses = ("55.87", "45.77", "36.68", "28.42", "20.81", "13.69", "6.91", "0.34")
    return [
        *_rows(3, graph, _FORWARD_PASS, [("L", "80", micrograd_loss)]),
        *_rows(
            3,
            graph,
            _fd(1e-5) + " of the Value graph",
            [(f"dL/d{v}", text, on_value_graph(v, 1e-5)) for v, text in quotients],
        ),
        *_rows(
            3,
            graph,
            _BACKPROP,
            [(f"{v}.grad", text, backprop(micrograd_graph, v)) for v, text in grads],
        ),
        *_rows(
            3,
            graph,
            _FORWARD_PASS,
            [
                (f"L with {v} shifted by 1", text, partial(shifted_loss, v, 1.0))
                for v, text in shifted
            ],
        ),
        *_rows(
            3,
            "one descent step",
            _BACKPROP + ", then forward",
            [
                ("L after a step with lr=0.01", "77.376", partial(one_step, 0.01)),
                ("L after a step with lr=0.05", "67.2", partial(epoch_loss, 0.05, 0)),
            ],
        ),
        *_rows(
            3,
            "training loop, lr=0.05",
            _BACKPROP + " loop",
            [
                (f"loss after step {i + 2}", text, partial(epoch_loss, 0.05, i + 1), _ROUNDED)
                for i, text in enumerate(losses)
            ],
        ),
    ]


def seed_rows() -> list[SeedExample]:
    """Every derivative-related number the four articles print, in reading order."""
    return [*_article_000(), *_article_001(), *_article_002(), *_article_003()]
