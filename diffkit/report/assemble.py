"""The report's sections beyond the V-curves, each built on its own so one failure loses nothing.

Order, agreement, precision and noise are pure functions of the sweep's frame; cost,
expression swell and the seeds are studies of their own (``diffkit.studies``), run
only when asked, since a report of one expression has no use for them. A section
whose builder raises becomes a short section saying so, and the report is written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from ..function import Function
from .agreement_section import agreement_section
from .noise_section import noise_section
from .order_section import order_section
from .precision_section import precision_section
from .sections import Section
from .study_sections import cost_section, seeds_section, swell_section

__all__ = ["Built", "frame_sections", "study_sections"]


@dataclass(frozen=True)
class Built:
    """The sections that were built, and for each failure its title and message."""

    sections: list[Section]
    failures: list[tuple[str, str]]


def _build(items: list[tuple[str, Callable[[], Section | None]]]) -> Built:
    sections, failures = [], []
    for title, build in items:
        try:
            section = build()
        except Exception as exc:  # one study's bug must not cost the whole report
            failures.append((title, f"{type(exc).__name__}: {exc}"))
            sections.append(
                Section(
                    key=f"failed-{len(failures)}",
                    title=f"{title} (not built)",
                    paragraphs=(f"This section could not be built: {type(exc).__name__}: {exc}",),
                )
            )
            continue
        if section is not None:
            sections.append(section)
    return Built(sections, failures)


def frame_sections(frame: pd.DataFrame, funcs: Mapping[str, Function]) -> Built:
    """Order of accuracy, agreement, precision and noise: what the frame holds data for."""
    return _build(
        [
            ("Order of accuracy", lambda: order_section(frame)),
            ("Agreement", lambda: agreement_section(frame)),
            ("Precision", lambda: precision_section(frame, funcs)),
            ("Noise", lambda: noise_section(frame, funcs)),
        ]
    )


def _cost() -> Section:
    from ..studies.cost import gradient_cost

    frame = pd.concat([gradient_cost(), gradient_cost(function="sin_chain")], ignore_index=True)
    return cost_section(frame)


def _swell() -> Section:
    from ..studies.swell import logistic_swell

    return swell_section(logistic_swell())


def _seeds() -> Section:
    from ..studies.seeds import seed_examples, seeds_graph

    dot, svg = seeds_graph()
    return seeds_section(seed_examples(), dot, svg)


def study_sections() -> Built:
    """Gradient cost against dimension, expression swell, and the seed articles' numbers."""
    return _build([("Cost", _cost), ("Expression swell", _swell), ("The seeds", _seeds)])
