"""Studies behind the report's later sections: gradient cost, expression swell, the seeds.

Each study is a function returning a ``pandas.DataFrame`` (one row per measurement),
so the report draws it and a test can check it without either knowing the other.
Time columns are kept apart from the deterministic ones (``cost.TIME_COLUMNS``).
"""

from __future__ import annotations

from .cost import TIME_COLUMNS, gradient_cost
from .seeds import seed_examples, seeds_graph
from .swell import logistic_swell

__all__ = ["TIME_COLUMNS", "gradient_cost", "logistic_swell", "seed_examples", "seeds_graph"]
