"""Draw a computation graph: Graphviz DOT text always, a rendered picture when Graphviz is there.

``to_dot`` needs nothing but the standard library and NumPy, so a graph can be saved,
diffed or pasted into an online viewer anywhere; ``draw_graph`` hands the same text to
the optional ``graphviz`` package for display in a notebook. Both read a node through
a small duck-typed interface (``_prev``, ``_op``, ``label``, ``data``, ``grad``), so
they serve the scalar ``Value`` and array-valued tensors alike. The picture follows
micrograd's ``draw_dot``: one record per value (``label | data | grad``) and one small
node per operation between its inputs and its result.
"""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Iterable
from typing import Any, Protocol

import numpy as np

__all__ = ["GraphNode", "GraphvizUnavailableError", "draw_graph", "to_dot"]

RANKDIRS = ("LR", "TB", "RL", "BT")
_SMALL_ARRAY = 4  # arrays with at most this many elements are shown in full


class GraphNode(Protocol):
    """What drawing needs from a node; ``_op`` and ``label`` may be absent."""

    @property
    def _prev(self) -> Iterable[Any]: ...

    @property
    def data(self) -> Any: ...

    @property
    def grad(self) -> Any: ...


class GraphvizUnavailableError(RuntimeError):
    """``draw_graph`` was called without the graphviz package or the ``dot`` program."""


def to_dot(root: GraphNode, *, rankdir: str = "LR") -> str:
    """The graph that produced ``root`` as Graphviz DOT text.

    Node ids (``n0`` is ``root``, then depth first in argument order) depend only on
    the graph's shape, never on ``id()``, so the same graph gives the same bytes on
    every run and the text can be compared in tests or under version control.
    """
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {RANKDIRS}, got {rankdir!r}")
    nodes, index = _collect(root)
    lines = ["digraph {", f"\tgraph [rankdir={rankdir}]"]
    edges: list[str] = []
    for i, node in enumerate(nodes):
        record = " | ".join(
            (
                _escape_record(str(getattr(node, "label", ""))),
                "data " + _escape_record(_summary(node.data)),
                "grad " + _escape_record(_summary(node.grad)),
            )
        )
        lines.append(f'\tn{i} [label="{{ {record} }}" shape=record]')
        children = tuple(node._prev)
        op = str(getattr(node, "_op", "") or "")
        if op or children:
            lines.append(f'\tn{i}_op [label="{_escape_text(op)}"]')
            edges.append(f"\tn{i}_op -> n{i}")
            edges.extend(f"\tn{index[id(child)]} -> n{i}_op" for child in children)
    lines.extend(edges)
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(root: GraphNode, *, format: str = "svg", rankdir: str = "LR") -> Any:
    """The graph that produced ``root``, as a ``graphviz.Source`` (displays in notebooks).

    Needs the optional ``graphviz`` Python package and Graphviz's ``dot`` program;
    without them this raises ``GraphvizUnavailableError`` naming what to install, and
    ``to_dot`` still gives the text.
    """
    dot_text = to_dot(root, rankdir=rankdir)
    missing = []
    try:
        graphviz = importlib.import_module("graphviz")
    except ImportError:
        graphviz = None
        missing.append("the graphviz Python package: pip install 'diffkit[graph]'")
    if shutil.which("dot") is None:
        missing.append(
            "Graphviz's `dot` program, from the system package graphviz "
            "(apt install graphviz, brew install graphviz or conda install graphviz)"
        )
    if graphviz is None or missing:
        raise GraphvizUnavailableError(
            "draw_graph needs " + " and ".join(missing) + "; to_dot(root) gives the DOT "
            "text without either."
        )
    return graphviz.Source(dot_text, format=format)


def _collect(root: GraphNode) -> tuple[list[Any], dict[int, int]]:
    """Every node reachable from ``root``, depth first in argument order, without recursion.

    Nodes are keyed by ``id()`` only while they are all held in the list, so ids are
    unique; tensors need not be hashable.
    """
    nodes: list[Any] = []
    index: dict[int, int] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in index:
            continue
        index[id(node)] = len(nodes)
        nodes.append(node)
        stack.extend(reversed(tuple(node._prev)))
    return nodes, index


def _summary(value: Any) -> str:
    """``%.4f`` for a number; shape and a few statistics for an array; ``None`` as is."""
    if value is None:
        return "None"
    if isinstance(value, int | float):
        return f"{value:.4f}"
    array = np.asarray(value)
    if array.ndim == 0:
        return f"{array.item():.4f}" if array.dtype.kind in "biuf" else str(array.item())
    if array.dtype.kind not in "biuf":
        return f"shape {array.shape} {array.dtype}"
    if array.size <= _SMALL_ARRAY:
        return "[" + " ".join(f"{x:.4f}" for x in array.ravel().tolist()) + f"] shape {array.shape}"
    with np.errstate(all="ignore"):  # inf - inf in the mean is nan, not a warning
        low, mean, high = array.min(), array.mean(), array.max()
    return f"shape {array.shape} min {low:.4f} mean {mean:.4f} max {high:.4f}"


def _escape_text(text: str) -> str:
    """Text inside a double-quoted DOT string: backslashes, quotes and newlines escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_record(text: str) -> str:
    """Text for one field of a record label, where ``{ } | < >`` are structure."""
    text = text.replace("\\", "\\\\")
    for char in '{}|<>"':
        text = text.replace(char, "\\" + char)
    return text.replace("\n", "\\n")
