"""Finding backends by name: built-ins in a dict, third-party ones by entry point.

A package adds a backend by declaring, in its own ``pyproject.toml``::

    [project.entry-points."diffkit.backends"]
    mybackend = "mypackage.module:MyDifferentiator"

The entry point names a class (or any callable returning a ``Differentiator``);
``backend("mybackend", **options)`` calls it with the options. A plugin that fails
to load is skipped with a warning naming it, so one broken package cannot take
the rest of diffkit down. A factory may also say whether it can run here with an
``available() -> bool`` attribute (as xarray's backends do): one whose optional
library is not installed answers ``False`` and is left out silently, since a
missing optional peer is normal, not a fault. diffkit's own torch and jax backends
(``diffkit.plugins``) are declared this way.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from typing import Any

from .finite import FiniteDifference
from .protocol import Differentiator
from .reverse import ReverseMode
from .symbolic import Symbolic

__all__ = [
    "ENTRY_POINT_GROUP",
    "UnknownBackendError",
    "available",
    "backend",
    "factories",
    "plugin_names",
    "register",
]

ENTRY_POINT_GROUP = "diffkit.backends"

Factory = Callable[..., Differentiator]

_BUILTIN: dict[str, Factory] = {
    "fd": FiniteDifference,
    "fd-richardson": lambda **options: FiniteDifference(richardson=True, **options),
    "complex-step": lambda **options: FiniteDifference(scheme="complex", **options),
    "fd-contour": lambda **options: FiniteDifference(scheme="contour", **options),
    "reverse": ReverseMode,
    "symbolic": Symbolic,
}
_REGISTERED: dict[str, Factory] = {}


class UnknownBackendError(KeyError):
    """A backend name that is neither built in, registered, nor a plugin."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0])


def register(name: str, factory: Factory, *, replace: bool = False) -> None:
    """Make ``factory`` available as ``backend(name)`` for this process."""
    if not replace and name in factories():
        raise ValueError(
            f"a backend named {name!r} exists already; pass replace=True to override it"
        )
    _REGISTERED[name] = factory


def _plugins() -> dict[str, Factory]:
    found: dict[str, Factory] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            factory = ep.load()
            check = getattr(factory, "available", None)
            if callable(check) and not check():
                continue  # its optional library is not installed: not listed, no warning
            found[ep.name] = factory
        except Exception as exc:  # a broken plugin must not break diffkit
            warnings.warn(
                f"diffkit backend plugin {ep.name!r} ({ep.value}) failed to load: {exc}",
                stacklevel=3,
            )
    return found


def factories() -> dict[str, Factory]:
    """Every backend constructor by name: built-ins, then plugins, then ``register``-ed ones."""
    return {**_BUILTIN, **_plugins(), **_REGISTERED}


def plugin_names() -> tuple[str, ...]:
    """Names of the installed third-party backends (entry points), sorted."""
    return tuple(sorted(set(_plugins()) - set(_BUILTIN)))


def available() -> tuple[str, ...]:
    """Names accepted by ``backend``, sorted."""
    return tuple(sorted(factories()))


# diffkit's own peers, left out where their library is missing: the extra that adds it.
PEER_EXTRAS = {"torch": "torch", "jax": "jax"}


def unknown_backend(name: str, known: Sequence[str]) -> str:
    """Why ``name`` is no backend here: a peer's missing extra, or a near miss, or the list."""
    if name in PEER_EXTRAS and name not in known:
        extra = PEER_EXTRAS[name]
        return (
            f"the {name} backend needs {name}, which is not installed here: "
            f"pip install 'diffkit[{extra}]'"
        )
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"no backend named {name!r}{hint}; available: {', '.join(sorted(known))}"


def backend(name: str, **options: Any) -> Differentiator:
    """The backend called ``name``, built with ``options`` (``backend("fd", h=1e-6)``)."""
    table = factories()
    try:
        factory = table[name]
    except KeyError:
        raise UnknownBackendError(unknown_backend(name, list(table))) from None
    return factory(**options)
