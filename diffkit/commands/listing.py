"""``diffkit list``: the catalog's functions (tags, why each is there) and the backends."""

from __future__ import annotations

import argparse

from .. import catalog
from ..backends import available

__all__ = ["list_command"]


def list_command(args: argparse.Namespace) -> int:
    """Print the catalog (name, tags, why) and the available backend names."""
    rows = [
        (name, ", ".join(sorted(catalog.get(name).tags)), catalog.get(name).why)
        for name in catalog.names()
    ]
    name_width = max(len(name) for name, _, _ in rows)
    tag_width = max(len(tags) for _, tags, _ in rows)
    print("functions:")
    for name, tags, why in rows:
        print(f"  {name:<{name_width}}  {tags:<{tag_width}}  {why}")
    print("backends:")
    for name in available():
        print(f"  {name}")
    return 0
