"""Every backpropagation number printed in the seed articles, reproduced with ``Value``.

The articles' own ``Value`` classes are toys (no ``backward``, or ``_backward`` calls
made by hand); the examples below are theirs, written against diffkit's ``Value`` and
its ``backward()``. Forward values are plain Python arithmetic, so they match the
articles' printed numbers bit for bit; gradients of these small graphs are exact.
"""

from __future__ import annotations

from diffkit.autodiff.value import Value

# ------------------------------------------------- seed 000: Ji Kim, "Derivative and Backpropagation"


def _seed000_graph() -> dict[str, Value]:
    a = Value(2.0)
    a.label = "a"
    b = Value(-3.0)
    b.label = "b"
    c = Value(10.0)
    c.label = "c"
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0)
    f.label = "f"
    L = d * f
    L.label = "L"
    return {"a": a, "b": b, "c": c, "e": e, "d": d, "f": f, "L": L}


def test_seed000_manual_backprop_gradients_of_L() -> None:
    nodes = _seed000_graph()
    nodes["L"].backward()
    grads = {name: node.grad for name, node in nodes.items()}
    # The article sets these by hand after deriving them with the chain rule.
    assert grads == {"a": 6.0, "b": -4.0, "c": -2.0, "e": -2.0, "d": -2.0, "f": 4.0, "L": 1.0}


def test_seed000_forward_value_of_L_is_minus_8() -> None:
    assert _seed000_graph()["L"].data == -8.0


def test_seed000_nudge_by_0_01_times_grad_gives_printed_L() -> None:
    nodes = _seed000_graph()
    nodes["L"].backward()
    a, b, c, f = nodes["a"], nodes["b"], nodes["c"], nodes["f"]
    a.data += 0.01 * a.grad
    b.data += 0.01 * b.grad
    c.data += 0.01 * c.grad
    f.data += 0.01 * f.grad
    e = a * b
    d = e + c
    L = d * f
    # Not rounded: -7.286496 is exactly what Python prints for this float (its repr is
    # the shortest string that round-trips), so the comparison is bit for bit.
    assert L.data == -7.286496
    assert repr(L.data) == "-7.286496"


def test_seed000_example_1_2_partials_of_a_times_b_plus_c() -> None:
    # The article estimates them with h = 1e-4 (-3.000000000010772, 2.0000000000042206,
    # 0.9999999999976694); reverse mode gives the exact b, a and 1.
    a, b, c = Value(2.0), Value(-3.0), Value(10.0)
    y = a * b + c
    y.backward()
    assert (a.grad, b.grad, c.grad) == (-3.0, 2.0, 1.0)


# ------------------------------------------ seed 001: Will Beckman, "Backpropagation - re-writing Micrograd"


def test_seed001_trivial_case_product_swaps_gradients() -> None:
    # c = a * b with a = 1 and b = 2: dc/da = b = 2.0, dc/db = a = 1.0, c = 2.
    a, b = Value(1.0), Value(2.0)
    c = a * b
    c.backward()
    assert c.data == 2.0
    assert (c.grad, a.grad, b.grad) == (1.0, 2.0, 1.0)


def test_seed001_two_levels_deep_dh1_dw1_is_x1() -> None:
    # h1 = o1 + o2, o1 = w1 x1, o2 = w2 x2; the text gives x1 = 2.0 and dh1/dw1 = 2.0. The
    # other inputs are only in the article's figure; these are the micrograd lecture's
    # neuron (x2 = 0, w1 = -3, w2 = 1), and the gradients below do not depend on them.
    x1, x2, w1, w2 = Value(2.0), Value(0.0), Value(-3.0), Value(1.0)
    o1 = w1 * x1
    o2 = w2 * x2
    h1 = o1 + o2
    h1.backward()
    assert (o1.grad, o2.grad) == (1.0, 1.0)  # addition routes the gradient unchanged
    assert w1.grad == 2.0  # = x1
    assert (w2.grad, x1.grad, x2.grad) == (x2.data, w1.data, w2.data)


def test_seed001_car_bicycle_human_speed_ratio_is_8() -> None:
    # b = 2 h, c = 4 b: dc/dh = dc/db * db/dh = 4 * 2 = 8.
    human = Value(3.0)
    bicycle = 2 * human
    car = 4 * bicycle
    car.backward()
    assert bicycle.grad == 4.0
    assert human.grad == 8.0


# ---------------------------------------------------- seed 002: "Backpropagation from the ground up"


def test_seed002_pytorch_example_dL_da_is_4() -> None:
    a, b, c, f = Value(3.0), Value(-2.0), Value(8.0), Value(-2.0)
    d = a * b
    e = d + c
    L = e * f
    L.backward()
    assert (d.data, e.data, L.data) == (-6.0, 2.0, -4.0)  # printed: d = 2.0 is a * b + c
    assert a.grad == 4.0  # printed by a.grad.item()
    # The chain-rule steps the article derives on the way: dL/de = f, dL/df = e, dL/dd = -2.
    assert (e.grad, f.grad, d.grad) == (-2.0, 2.0, -2.0)
    assert (b.grad, c.grad) == (-6.0, -2.0)


# ------------------------------------------------- seed 003: micrograd notebook, computation graph


def _seed003_graph() -> tuple[Value, Value, Value, Value, Value]:
    a = Value(5, label="a")
    b = Value(3, label="b")
    c = a + b
    c.label = "c"
    d = Value(10, label="d")
    L = c * d
    L.label = "L"
    return a, b, c, d, L


def test_seed003_print_L_and_prev_in_argument_order() -> None:
    a, _, _, _, L = _seed003_graph()
    # The article prints "Value(data=80, grad=0) (Value(data=8, grad=0), ...)": its grad
    # starts as the int 0, ours as 0.0 (micrograd's repr format otherwise). Data that
    # start as ints stay ints under + and *, as in the article.
    assert f"{a} {a._prev}" == "Value(data=5, grad=0.0) ()"
    assert f"{L} {L._prev}" == (
        "Value(data=80, grad=0.0) (Value(data=8, grad=0.0), Value(data=10, grad=0.0))"
    )


def test_seed003_gradients_of_L_are_10_10_8() -> None:
    a, b, c, d, L = _seed003_graph()
    L.backward()
    assert L.data == 80
    assert (c.grad, d.grad) == (10.0, 8.0)
    assert (a.grad, b.grad) == (10.0, 10.0)  # also what the PyTorch cell prints


def _seed003_f(ha: float = 0, hb: float = 0, hc: float = 0, hd: float = 0) -> float:
    a = Value(5 + ha, label="a")
    b = Value(3 + hb, label="b")
    c = a + b + Value(hc)
    d = Value(10 + hd, label="d")
    return (c * d).data


def test_seed003_finite_difference_checks_of_the_gradients() -> None:
    h = 1e-5
    assert (_seed003_f(hd=h) - _seed003_f()) / h == 7.999999999697137
    assert (_seed003_f(hc=h) - _seed003_f()) / h == 10.000000000331966
    assert (_seed003_f(ha=h) - _seed003_f()) / h == 10.000000000331966
    assert (_seed003_f(hb=h) - _seed003_f()) / h == 10.000000000331966
    assert (_seed003_f(ha=1), _seed003_f(hb=1), _seed003_f(hc=1), _seed003_f(hd=1)) == (
        90,
        90,
        90,
        88,
    )


def test_seed003_one_descent_step_lr_0_01_gives_L_77_376() -> None:
    a, b, _, d, L = _seed003_graph()
    L.backward()
    lr = 0.01
    a.data -= lr * a.grad
    b.data -= lr * b.grad
    d.data -= lr * d.grad
    L = (a + b) * d
    assert L.data == 77.376  # exactly what Python prints: not rounded


def _seed003_step(a: Value, b: Value, d: Value, lr: float) -> Value:
    """One optimisation step, forward and backward of the article's loop.

    The article's ``_backward`` *assigns* gradients (``self.grad = ...``); ours
    accumulates, as micrograd does. Zeroing the leaves before each backward makes the
    two agree: in this graph every node has one path to L, so accumulating into zero
    is assigning.
    """
    a.data -= lr * a.grad
    b.data -= lr * b.grad
    d.data -= lr * d.grad
    L = (a + b) * d
    for leaf in (a, b, d):
        leaf.grad = 0.0
    L.backward()
    return L


def test_seed003_training_loop_lr_0_05_prints_the_articles_losses() -> None:
    a, b, _, d, L = _seed003_graph()
    L.backward()
    lr = 0.05
    L = _seed003_step(a, b, d, lr)
    assert L.data == 67.2  # the single epoch before the loop; printed unrounded
    printed = []
    while True:
        L = _seed003_step(a, b, d, lr)
        if L.data < 0:
            break
        printed.append(f"Loss: {round(L.data, 2)}")
    assert printed == [
        "Loss: 55.87",
        "Loss: 45.77",
        "Loss: 36.68",
        "Loss: 28.42",
        "Loss: 20.81",
        "Loss: 13.69",
        "Loss: 6.91",
        "Loss: 0.34",
    ]
