"""Graph drawing: DOT text that is complete, well formed, escaped and byte-for-byte stable."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import types
from typing import Any

import numpy as np
import pytest

from diffkit.autodiff import graph
from diffkit.autodiff.graph import GraphvizUnavailableError, draw_graph, to_dot
from diffkit.autodiff.value import Value


def seed000_graph() -> Value:
    """Seed 000's graph after ``L.backward()``."""
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    L.backward()
    return L


def _balanced(text: str) -> bool:
    """Braces balance outside quoted strings, and every string is closed."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0 and not in_string


def test_seed000_dot_has_every_label_with_its_data_and_grad() -> None:
    dot = to_dot(seed000_graph())
    expected = {
        "a": (2.0, 6.0),
        "b": (-3.0, -4.0),
        "c": (10.0, -2.0),
        "e": (-6.0, -2.0),
        "d": (4.0, -2.0),
        "f": (-2.0, 4.0),
        "L": (-8.0, 1.0),
    }
    for label, (data, grad) in expected.items():
        assert f'"{{ {label} | data {data:.4f} | grad {grad:.4f} }}"' in dot, label
    assert dot.count("shape=record") == 7
    assert re.findall(r'_op \[label="(.*?)"\]', dot) == ["*", "+", "*"]


def test_seed000_dot_edges_go_child_to_op_to_result() -> None:
    dot = to_dot(seed000_graph())
    ids = dict(re.findall(r'(n\d+) \[label="\{ (\w) \|', dot))
    node = {label: n for n, label in ids.items()}
    edges = set(re.findall(r"(n\w+) -> (n\w+)", dot))
    for result, inputs in {"L": "df", "d": "ec", "e": "ab"}.items():
        op = node[result] + "_op"
        assert (op, node[result]) in edges
        assert {(node[x], op) for x in inputs} <= edges
    assert len(edges) == 9  # 3 ops x (2 inputs + 1 result)


def test_dot_is_well_formed_and_starts_at_the_root() -> None:
    dot = to_dot(seed000_graph(), rankdir="TB")
    assert dot.startswith('digraph {\n\tgraph [rankdir=TB]\n\tn0 [label="{ L |')
    assert dot.endswith("}\n")
    assert _balanced(dot)


def test_dot_is_deterministic_across_builds_and_processes() -> None:
    here = to_dot(seed000_graph())
    assert to_dot(seed000_graph()) == here
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "from test_graph import seed000_graph\n"
        "from diffkit.autodiff.graph import to_dot\n"
        "sys.stdout.write(to_dot(seed000_graph()))\n"
    )
    tests_dir = str(__import__("pathlib").Path(__file__).parent)
    package_dir = str(__import__("pathlib").Path(__file__).parent.parent)
    other = subprocess.run(
        [sys.executable, "-c", code, tests_dir, package_dir],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
    ).stdout
    assert other == here


def test_labels_and_ops_are_escaped() -> None:
    x = Value(1.0, label='x{|}<>"\\')
    y = Value(2.0, _children=(x,), _op='say "hi"\\')
    dot = to_dot(y)
    assert _balanced(dot)
    assert r"{ x\{\|\}\<\>\"\\ | data 1.0000" in dot
    assert r'[label="say \"hi\"\\"]' in dot


def test_a_repeated_argument_gives_two_edges_and_one_node() -> None:
    x = Value(3.0, label="x")
    y = x * x
    dot = to_dot(y)
    assert dot.count("shape=record") == 2
    assert dot.count("n1 -> n0_op") == 2


def test_deep_chain_does_not_recurse() -> None:
    x = Value(0.5)
    for _ in range(5 * sys.getrecursionlimit()):
        x = -x
    dot = to_dot(x)
    assert dot.count("shape=record") == 5 * sys.getrecursionlimit() + 1


def test_rankdir_is_validated() -> None:
    with pytest.raises(ValueError, match=r"rankdir must be one of .*got 'XY'"):
        to_dot(Value(1.0), rankdir="XY")


class _ArrayNode:
    """A tensor-like node: array data, array or missing grad, unhashable like arrays."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, data: Any, prev: tuple[Any, ...] = (), op: str = "", grad: Any = None):
        self.data = data
        self.grad = grad
        self._prev = prev
        self._op = op
        self.label = ""


def test_array_data_shows_shape_and_summary() -> None:
    big = _ArrayNode(np.arange(12.0).reshape(3, 4), grad=np.ones((3, 4)))
    small = _ArrayNode(np.array([1.0, -2.0]))
    out = _ArrayNode(np.float64(3.25), prev=(big, small), op="matmul")
    dot = to_dot(out)
    assert "data 3.2500 | grad None" in dot
    assert "data shape (3, 4) min 0.0000 mean 5.5000 max 11.0000" in dot
    assert "grad shape (3, 4) min 1.0000 mean 1.0000 max 1.0000" in dot
    assert "data [1.0000 -2.0000] shape (2,)" in dot
    assert '[label="matmul"]' in dot
    assert _balanced(dot)


def test_array_summary_of_infinities_warns_nothing() -> None:
    node = _ArrayNode(np.array([np.inf, -np.inf, 0.0, 1.0, 2.0]))
    assert "mean nan" in to_dot(node)


# ----------------------------------------------------------------------- draw_graph


def _fake_graphviz() -> types.ModuleType:
    module = types.ModuleType("graphviz")

    class Source:
        def __init__(self, source: str, format: str = "pdf") -> None:
            self.source = source
            self.format = format

    module.Source = Source  # type: ignore[attr-defined]
    return module


def test_draw_graph_without_dot_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", _fake_graphviz())
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    with pytest.raises(GraphvizUnavailableError, match=r"system package graphviz") as info:
        draw_graph(seed000_graph())
    assert "pip install" not in str(info.value)  # the Python package is there
    assert isinstance(info.value, RuntimeError)


def test_draw_graph_without_anything_names_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz raises ImportError
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    with pytest.raises(GraphvizUnavailableError) as info:
        draw_graph(seed000_graph())
    message = str(info.value)
    assert "pip install 'diffkit[graph]'" in message
    assert "system package graphviz" in message
    assert "to_dot" in message


def test_draw_graph_without_python_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)
    monkeypatch.setattr(graph.shutil, "which", lambda name: "/usr/bin/dot")
    with pytest.raises(GraphvizUnavailableError, match=r"pip install 'diffkit\[graph\]'"):
        draw_graph(seed000_graph())


def test_draw_graph_returns_a_source_of_the_dot_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", _fake_graphviz())
    monkeypatch.setattr(graph.shutil, "which", lambda name: "/usr/bin/dot")
    L = seed000_graph()
    drawn = draw_graph(L, format="png", rankdir="TB")
    assert drawn.source == to_dot(L, rankdir="TB")
    assert drawn.format == "png"


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program not installed")
def test_draw_graph_renders_svg_with_real_graphviz() -> None:
    pytest.importorskip("graphviz")
    svg = draw_graph(seed000_graph()).pipe(format="svg").decode()
    assert "<svg" in svg
    assert "data 6.0000" in svg.replace("&#160;", " ")
