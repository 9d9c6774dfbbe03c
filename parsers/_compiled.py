"""Which parser modules run compiled, and the source in place of a compiled module that does not
match it.

setup.py compiles the parsers' hot modules with Cython, unchanged (they are plain Python), and
the parsers/_*.pyx modules, each with a Python twin (in parsers.generic, textutil or api); it
records the sha256 of each source in _compiled.json beside them. A compiled module is imported in preference to its
.py file; after an edit it would silently run the old code. So at import of the package, a
compiled module whose source no longer has the recorded digest is passed over, for its .py file
or, for a .pyx, for its twin in Python (with a warning: `make compile` compiles it again), and
PAGETRAIL_PURE_PYTHON=1 passes over all of them (to compare the two, or to debug in Python).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path
from types import ModuleType

_HERE = Path(__file__).resolve().parent


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Finds the listed parsers modules as their .py files, ahead of the compiled ones; a
    compiled module from a .pyx is not found at all (its importer falls back to Python)."""

    def __init__(self, sources: dict[str, Path]) -> None:
        self.sources = sources

    def find_spec(self, fullname: str, path: object = None, target: ModuleType | None = None):  # type: ignore[no-untyped-def]
        source = self.sources.get(fullname)
        if source is None:
            return None
        if source.suffix == ".pyx":
            raise ImportError(f"{fullname} is not used: {source.name} is newer, or PAGETRAIL_PURE_PYTHON is set",
                              name=fullname)
        return importlib.util.spec_from_file_location(fullname, source)


def _compiled_here(name: str) -> bool:
    return any((_HERE / f"{name}{suffix}").exists() for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def prefer_current_sources() -> None:
    """Run before any other parsers module is imported (from the package's __init__)."""
    pure = os.environ.get("PAGETRAIL_PURE_PYTHON", "") not in ("", "0")
    try:
        recorded: dict[str, str] = json.loads((_HERE / "_compiled.json").read_text())
    except (OSError, ValueError):
        recorded = {}
    sources: dict[str, Path] = {}
    stale: list[str] = []
    for path in [*_HERE.glob("*.py"), *_HERE.glob("*.pyx")]:
        name = path.stem
        if not _compiled_here(name):
            continue
        if not pure:
            if recorded.get(name) == hashlib.sha256(path.read_bytes()).hexdigest():
                continue
            stale.append(name)
        sources[f"parsers.{name}"] = path
    if stale:
        warnings.warn(f"parsers module(s) {', '.join(sorted(stale))} changed since they were compiled: "
                      "running the source, slower (`make compile` compiles them again)", stacklevel=3)
    if sources:
        sys.meta_path.insert(0, _SourceFirst(sources))


def compiled_modules() -> list[str]:
    """The parsers modules imported so far that run compiled."""
    return sorted(name for name, module in list(sys.modules.items())
                  if name.startswith("parsers.") and
                  isinstance(getattr(module, "__loader__", None), importlib.machinery.ExtensionFileLoader))
