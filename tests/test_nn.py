"""Neuron, Layer, MLP: micrograd's shapes and reprs, seeded weights, gradients that check out."""

from __future__ import annotations

import numpy as np
import pytest

import diffkit as dk
from diffkit.autodiff.nn import MLP, Layer, Neuron, as_generator
from diffkit.autodiff.value import Value
from diffkit.studies.moons import make_moons


def hinge_loss(model: MLP, X: np.ndarray, y: np.ndarray, alpha: float = 1e-4) -> Value:
    """micrograd demo's loss: mean max(0, 1 - y score) plus alpha times the squared weights."""
    scores = [model(list(map(Value, row))) for row in X.tolist()]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y.tolist(), scores, strict=True)]
    data_loss = sum(losses, Value(0.0)) * (1.0 / len(losses))
    reg_loss = alpha * sum((p * p for p in model.parameters()), Value(0.0))
    return data_loss + reg_loss


def test_mlp_has_micrograd_demo_parameter_count_and_repr() -> None:
    model = MLP(2, [16, 16, 1])
    assert len(model.parameters()) == 337  # micrograd's README: "number of parameters 337"
    assert repr(model).startswith("MLP of [Layer of [ReLUNeuron(2), ReLUNeuron(2)")
    assert repr(model).endswith("Layer of [LinearNeuron(16)]]")
    assert repr(Neuron(3, nonlin=False)) == "LinearNeuron(3)"


def test_layer_returns_a_value_for_one_neuron_and_a_list_otherwise() -> None:
    assert isinstance(Layer(2, 1)([1.0, 2.0]), Value)
    out = Layer(2, 3)([1.0, 2.0])
    assert isinstance(out, list)
    assert len(out) == 3


def test_weights_are_seeded_uniform_and_biases_zero() -> None:
    def weights(model: MLP) -> list[float]:
        return [p.data for p in model.parameters()]

    assert weights(MLP(2, [4, 1], rng=7)) == weights(MLP(2, [4, 1], rng=7))
    assert weights(MLP(2, [4, 1], rng=7)) != weights(MLP(2, [4, 1], rng=8))
    assert weights(MLP(2, [4, 1])) == weights(MLP(2, [4, 1], rng=0))
    model = MLP(3, [5, 2], rng=np.random.default_rng(1))
    for neuron in (n for layer in model.layers for n in layer.neurons):
        assert all(-1.0 <= w.data < 1.0 and type(w.data) is float for w in neuron.w)
        assert neuron.b.data == 0.0
    # Neurons of a layer draw in turn from one generator: no two are equal.
    rows = [tuple(w.data for w in n.w) for n in model.layers[0].neurons]
    assert len(set(rows)) == len(rows)


def test_a_generator_is_used_not_copied() -> None:
    rng = np.random.default_rng(5)
    first = [w.data for w in Neuron(3, rng=rng).w]
    second = [w.data for w in Neuron(3, rng=rng).w]
    assert first != second
    assert first == np.random.default_rng(5).uniform(-1, 1, size=3).tolist()


@pytest.mark.parametrize("bad", [1.5, "0", True, None])
def test_rng_must_be_a_generator_or_an_int(bad: object) -> None:
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator or an int seed"):
        as_generator(bad)  # type: ignore[arg-type]


def test_wrong_input_length_is_an_error() -> None:
    with pytest.raises(ValueError, match="zip"):
        Neuron(3)([1.0, 2.0])


def test_zero_grad_resets_every_parameter() -> None:
    model = MLP(2, [3, 1], rng=2)
    X, y = make_moons(6)
    hinge_loss(model, X, y).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_training_on_moons_decreases_the_loss() -> None:
    X, y = make_moons(40, seed=1)
    model = MLP(2, [8, 8, 1], rng=3)
    history = []
    for step in range(15):
        loss = hinge_loss(model, X, y)
        model.zero_grad()
        loss.backward()
        history.append(loss.data)
        lr = 0.5 - 0.4 * step / 15
        for p in model.parameters():
            p.data -= lr * p.grad
    assert history[-1] < 0.7 * history[0]
    assert min(history) == pytest.approx(history[-1], rel=0.2)  # no blow-up at the end


def _relu_margins(model: MLP, X: np.ndarray) -> np.ndarray:
    """|pre-activation| of every ReLU neuron at every input, in plain NumPy."""
    margins = []
    for row in X:
        x = row
        for layer in model.layers:
            W = np.array([[w.data for w in n.w] for n in layer.neurons])
            z = W @ x + np.array([n.b.data for n in layer.neurons])
            if layer.neurons[0].nonlin:
                margins.append(np.abs(z))
            x = np.maximum(z, 0.0)
    return np.concatenate(margins)


def test_backward_matches_richardson_finite_differences() -> None:
    # A smooth loss (squared error) on a ReLU net, at a generic point (random biases too,
    # so no dead unit sits exactly on its kink): within a linear piece central
    # differences are exact but for rounding, and no pre-activation is near a kink.
    X, y = make_moons(6, seed=4)
    model = MLP(2, [4, 3, 1], rng=6)
    params = model.parameters()
    theta = np.random.default_rng(11).uniform(-1.0, 1.0, size=len(params))

    def loss_at(values: np.ndarray) -> Value:
        for p, v in zip(params, values.tolist(), strict=True):
            p.data = v
        errors = (model(row) - target for row, target in zip(X.tolist(), y.tolist(), strict=True))
        return sum((e**2 for e in errors), Value(0.0))

    loss = loss_at(theta)
    assert _relu_margins(model, X).min() > 1e-2
    model.zero_grad()
    loss.backward()
    reverse = np.array([p.grad for p in params])
    assert np.count_nonzero(reverse) > len(params) // 2  # most units are alive

    # Richardson's automatic first step is a sizeable fraction of |theta_i|, which would
    # reach across a kink; h = 1e-3 (then smaller) stays inside every linear piece.
    fd = dk.FiniteDifference(richardson=True, h=1e-3)
    numeric = fd.gradient(lambda v: loss_at(v).data, theta)
    np.testing.assert_allclose(reverse, numeric, rtol=1e-8, atol=1e-8)
