"""The site needs no network: math becomes MathML at build time, and nothing loads from outside.

Sphinx's default math renderer, MathJax, is a script fetched from a CDN by every page
with a formula. Here docutils' own LaTeX-to-MathML converter writes the formulas into
the HTML, which browsers render natively. After the build, every page is scanned for
scripts, stylesheets, images or frames that come from another host; each one is a
warning, which ``-W`` makes an error. Links to other sites (``<a href>``) are fine.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.utils.math import MathError
from docutils.utils.math.latex2mathml import tex2mathml
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

# A tag that loads something (not <a>) whose address names a scheme or starts with //.
_REMOTE = re.compile(
    r"<(script|link|img|iframe|source|video|audio|embed|object)\b[^>]*?"
    r"\b(src|href|data)\s*=\s*[\"']?((?:[a-z][a-z0-9+.-]*:)?//[^\"'\s>]+)",
    re.IGNORECASE,
)


def _mathml(self: Any, node: nodes.Element, *, block: bool) -> None:
    try:
        self.body.append(tex2mathml(node.astext(), as_block=block))
    except MathError as error:
        logger.warning(
            "formula %r is not LaTeX that MathML can show: %s", node.astext(), error, location=node
        )
        self.body.append(self.encode(node.astext()))
    raise nodes.SkipNode


def visit_math(self: Any, node: nodes.Element) -> None:
    _mathml(self, node, block=False)


def visit_displaymath(self: Any, node: nodes.Element) -> None:
    self.body.append('<div class="math">')
    try:
        _mathml(self, node, block=True)
    finally:
        self.body.append("</div>")


def check_no_remote_resources(app: Sphinx, exception: BaseException | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for page in sorted(out.rglob("*.html")):
        for match in _REMOTE.finditer(page.read_text(encoding="utf-8")):
            logger.warning(
                "%s loads %s from outside (<%s %s=...>): the site must work offline",
                page.relative_to(out),
                match.group(3),
                match.group(1),
                match.group(2),
            )


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_html_math_renderer(
        "mathml",
        inline_renderers=(visit_math, None),
        block_renderers=(visit_displaymath, None),
    )
    app.connect("build-finished", check_no_remote_resources)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
