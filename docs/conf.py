# Sphinx, not MkDocs: autodoc imports diffkit and renders its docstrings as they are written
# (reStructuredText ``literal`` markup), and MyST-NB executes the tutorials, MyST Markdown
# notebooks, at every build, where -W turns a failing cell or a docutils error into a failed
# build. MkDocs 1.x has had no release since August 2024, and MkDocs 2.0 drops the plugin
# system that mkdocstrings and mkdocs-jupyter depend on.
"""Sphinx configuration: ``sphinx-build -W --keep-going -E -b html docs docs/_build/html``."""

from __future__ import annotations

import sys
from pathlib import Path

import diffkit

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "diffkit"
author = "the diffkit authors"
copyright = "2026, the diffkit authors"
version = release = diffkit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "myst_nb",
    "offline",  # _ext/offline.py: math as MathML, and no page loading anything from outside
    "absolute_values",  # _ext/absolute_values.py: |x| in a docstring is an absolute value
]

exclude_patterns = ["_build", "**/.ipynb_checkpoints"]
html_theme = "furo"
html_title = f"diffkit {release}"
html_math_renderer = "mathml"
html_show_sourcelink = False
html_copy_source = False

# API reference: the docstrings as written, signatures with their type hints.
autodoc_default_options = {"members": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True

# MyST: $...$ and $$...$$ math in Markdown, ::: fences for admonitions.
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

# Every notebook page (the tutorials and the guide) runs at every build. A cell that raises,
# such as an assert on a number an article prints, is a warning that shows the cell and its
# traceback, and -W makes it fail the build (raising instead would hide both in a temp file).
nb_execution_mode = "force"
nb_execution_raise_on_error = False
nb_execution_timeout = 300
nb_execution_show_tb = True
nb_merge_streams = True
