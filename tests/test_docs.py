"""The documentation site's sources cover what they promise, without building it.

The build itself (``sphinx-build -W``, in ``.ci/run`` after the tests) executes the
tutorials and fails on any assert that a seed article's number is wrong. These checks
are the part that needs no Sphinx: the API reference names every public name, each
tutorial's code states every number its article prints, and CI builds the site with
warnings as errors.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import diffkit as dk
from diffkit.studies.seed_rows import seed_rows

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TUTORIALS = {  # seed article -> the tutorial that reproduces it
    0: "difference-quotients.md",
    1: "chain-rule-micrograd.md",
    2: "backprop-ground-up.md",
    3: "micrograd-notebook.md",
}
_AUTODOC = re.compile(r"^\.\. auto(?:class|function|exception|data|module):: (\S+)", re.MULTILINE)


def documented_names() -> set[str]:
    """Dotted names of every autodoc directive in docs/api, resolved against currentmodule."""
    names = set()
    for page in sorted((DOCS / "api").glob("*.rst")):
        module = ""
        for line in page.read_text().splitlines():
            if line.startswith(".. currentmodule:: "):
                module = line.split("::", 1)[1].strip()
            match = _AUTODOC.match(line)
            if match:
                name = match.group(1)
                names.add(name if "." in name else f"{module}.{name}")
    return names


def test_api_reference_documents_every_public_name():
    documented = documented_names()
    missing = [name for name in dk.__all__ if f"diffkit.{name}" not in documented]
    modules = {"catalog": "catalog", "ops": "ops", "truth": "truth", "nn": "autodiff.nn"}
    missing = [
        name
        for name in missing
        if not (name in modules and f"diffkit.{modules[name]}" in documented)
    ]
    assert missing == [], f"add these names of dk.__all__ to docs/api/*.rst: {missing}"
    assert {"diffkit.report.write_report", "diffkit.verify"} <= documented


def code_cells(text: str) -> str:
    """The source of every ```{code-cell} of a MyST notebook, joined."""
    return "\n".join(re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.DOTALL))


@pytest.mark.parametrize("article", sorted(TUTORIALS))
def test_each_tutorial_states_every_number_its_article_prints(article):
    """The build asserts them; this proves none was left out of the tutorial's code."""
    path = DOCS / "tutorials" / TUTORIALS[article]
    code = code_cells(path.read_text())
    assert "assert" in code
    numbers = [row.printed_text for row in seed_rows() if row.article == article]
    assert numbers, f"seed article {article} prints no number?"
    missing = [
        text for text in numbers if not re.search(rf"(?<![\d.]){re.escape(text)}(?![\d])", code)
    ]
    assert missing == [], f"{path.name} does not state {missing}"


def test_every_tutorial_is_an_executed_notebook_in_the_toctree():
    index = (DOCS / "tutorials" / "index.md").read_text()
    for name in TUTORIALS.values():
        text = (DOCS / "tutorials" / name).read_text()
        assert text.startswith("---\nfile_format: mystnb\n"), name
        assert name.removesuffix(".md") in index, name
    conf = (DOCS / "conf.py").read_text()
    assert re.search(r'^nb_execution_mode = "force"$', conf, re.MULTILINE)
    assert "intersphinx" not in conf  # no network at build time


def test_ci_builds_the_docs_with_warnings_as_errors():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -e '.[docs]'" in ci
    assert re.search(r"^sphinx-build -W --keep-going .*-b html docs docs/_build/html$", ci, re.M)
