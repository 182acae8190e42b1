"""Package attributes imported from their modules on first use (PEP 562).

webvoice's packages export names this way so that importing a package costs
only the modules a page actually uses: in Pyodide every module imported counts
in the page's start-up. One helper for the three packages that do it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_attributes"]


def lazy_attributes(namespace: dict[str, Any], module_of: Mapping[str, str]
                    ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for the package whose globals are ``namespace``:
    ``name`` comes from submodule ``module_of[name]``, imported when first
    asked for, then kept in the namespace so later lookups skip the hook.
    ``"module:attribute"`` exports that module's ``attribute`` as ``name``."""
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        spec = module_of.get(name)
        if spec is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, _, attribute = spec.partition(":")
        value = getattr(importlib.import_module(f"{package}.{module}"), attribute or name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(module_of))

    return __getattr__, __dir__
