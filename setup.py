"""Builds pagetrail; pyproject.toml holds everything but what it cannot say: the parsers' hot
modules are compiled with Cython when the machine can (Cython and lxml, for its C headers, are
build requirements; a C compiler may be missing), and run as the plain Python they are otherwise.

They are compiled as they are written, with no annotations of Cython's own: the .py file is the
one source of truth, and parsers/_compiled.py uses it in place of a compiled module that no
longer matches it (edited since the build) or when PAGETRAIL_PURE_PYTHON=1 asks for it.
"""

from __future__ import annotations

import hashlib
import json
import os

from setuptools import setup
from setuptools.command.build_ext import build_ext

# parse-time work, most of a parse's CPU; the rest of the project is I/O-bound or cold
COMPILED = ("parsers.generic", "parsers.textutil", "parsers.api", "parsers.urls", "parsers.sanitize")
# written for Cython, over lxml's C API: each has a Python twin that runs where it is not built
IN_CYTHON = ("parsers._names_walk", "parsers._text_walk", "parsers._links_walk")


def _source(module: str) -> str:
    return module.replace(".", "/") + (".pyx" if module in IN_CYTHON else ".py")


class BuildRecordingSources(build_ext):
    """build_ext, then a manifest beside the compiled modules: the sha256 of the source each
    one was compiled from (parsers/_compiled.json), what parsers/_compiled.py checks."""

    def run(self) -> None:
        super().run()
        built: dict[str, dict[str, str]] = {}
        for ext in self.extensions:
            path = self.get_ext_fullpath(ext.name)
            if os.path.exists(path):
                with open(_source(ext.name), "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
                built.setdefault(os.path.dirname(path), {})[ext.name.rsplit(".", 1)[1]] = digest
        for folder, digests in built.items():
            with open(os.path.join(folder, "_compiled.json"), "w") as f:
                json.dump(digests, f, indent=1, sort_keys=True)


def _extensions() -> list:
    try:
        from Cython.Build import cythonize
    except ImportError:  # building without Cython (pip --no-build-isolation): plain Python
        return []
    from setuptools import Extension

    exts = [Extension(name, [_source(name)], optional=True) for name in COMPILED]
    try:
        import lxml

        exts += [Extension(name, [_source(name)], include_dirs=lxml.get_include(), optional=True)
                 for name in IN_CYTHON]
    except ImportError:  # no lxml to build against: the Python twins run
        pass
    # Python's semantics, not C's: annotation_typing off, or an argument annotated `str` would
    # refuse a str subclass (lxml's text results are one); binding keeps functions introspectable
    directives = {"language_level": 3, "binding": True, "annotation_typing": False}
    built = cythonize(exts, compiler_directives=directives, quiet=True, force=True)  # (settings change too)
    for ext in built:  # (cythonize's copies forget it) a module that fails to compile runs as Python
        ext.optional = True
    return built


setup(ext_modules=_extensions(), cmdclass={"build_ext": BuildRecordingSources})
