"""The first-party import closure of entry scripts: exactly the repository modules they need at run time.

Starting from the entry files, every ``import a.b`` and ``from a.b import c`` statement (at any depth,
including those inside functions, ``if``/``try`` blocks and ``TYPE_CHECKING`` guards; relative imports
resolved against the importing module's package) is resolved against the search roots in order, as Python's
path finder does: a package ``a/__init__.py`` first, then a module ``a.py``, else a namespace package
(a folder without ``__init__.py``, which has no file of its own). Importing ``a.b.c`` runs ``a/__init__.py``
and ``a/b/__init__.py`` too, so they are part of the closure; ``from a.b import c`` adds ``a/b/c.py`` when
``c`` is a submodule (else ``c`` is a name defined in ``a.b``). Names that resolve under no root (the standard
library, third-party distributions, modules provided by the runtime) are collected as :attr:`Closure.external`
top-level names. Dynamic imports (``importlib.import_module("...")``, ``__import__``) are not seen.

Data files are not part of a closure: no bundled package reads a file of its own at run time (the
``data_contracts/schemas/*.json`` files are written from code by ``python -m data_contracts.export``).
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

__all__ = ["Closure", "closure", "imported_modules"]


@dataclass
class Closure:
    files: dict[str, Path] = field(default_factory=dict)
    """Archive name (the file's path relative to the root it was found under) -> file, entries excluded."""
    modules: dict[str, str] = field(default_factory=dict)
    """Dotted module name -> archive name, for every first-party module with a file (entries excluded)."""
    external: set[str] = field(default_factory=set)
    """Top-level names imported but not first-party (standard library, third party, runtime)."""


def imported_modules(source: bytes, module: str, is_package: bool, filename: str = "<module>") -> set[tuple[str, ...]]:
    """Each import of ``source`` as ``(module, submodule candidates...)``: ``import a.b`` -> ``("a.b",)``,
    ``from a.b import c, d`` -> ``("a.b", "a.b.c", "a.b.d")``. ``module`` is the importer's dotted name."""
    found: set[tuple[str, ...]] = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found.update((alias.name,) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, is_package, filename)
            found.add((base,) + tuple(f"{base}.{alias.name}" for alias in node.names if alias.name != "*"))
    return found


def _absolute(node: ast.ImportFrom, module: str, is_package: bool, filename: str) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    if node.level - 1 > len(package) - 1 or not module:
        raise ImportError(f"{filename}:{node.lineno}: relative import beyond the top-level package")
    parts = package[: len(package) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


class _Finder:
    def __init__(self, roots: Sequence[Path]) -> None:
        self.roots = [Path(root) for root in roots]
        self.cache: dict[str, tuple[Path, Path | None] | None] = {}

    def find(self, name: str) -> tuple[Path, Path | None] | None:
        """``(root, file)`` of a first-party module (``file`` None for a namespace package), else None."""
        if name not in self.cache:
            self.cache[name] = self._find(name)
        return self.cache[name]

    def _find(self, name: str) -> tuple[Path, Path | None] | None:
        parent, _, last = name.rpartition(".")
        if parent:
            found = self.find(parent)
            if found is None:
                return None
            root = found[0]
            if found[1] is not None and found[1].name != "__init__.py":
                return None  # a plain module has no submodules
            return self._in(root, root.joinpath(*parent.split(".")), last)
        for root in self.roots:
            hit = self._in(root, root, last)
            if hit is not None and hit[1] is not None:
                return hit
        namespace = [root for root in self.roots if (root / last).is_dir()]
        return (namespace[0], None) if namespace and name.isidentifier() else None

    @staticmethod
    def _in(root: Path, folder: Path, last: str) -> tuple[Path, Path | None] | None:
        if (folder / last / "__init__.py").is_file():
            return root, folder / last / "__init__.py"
        if (folder / f"{last}.py").is_file():
            return root, folder / f"{last}.py"
        if (folder / last).is_dir():
            return root, None
        return None


def closure(entries: Iterable[Path], roots: Sequence[Path]) -> Closure:
    """The first-party modules ``entries`` import, transitively, found under ``roots`` (in order).

    Entries are run as scripts: their own package ``__init__`` is not imported on their behalf, and they are
    not part of the result unless another module imports them.
    """
    finder = _Finder(roots)
    result = Closure()
    entry_files = {Path(entry).resolve() for entry in entries}
    queue: list[tuple[Path, str, bool]] = [(path, "", False) for path in sorted(entry_files)]
    seen: set[Path] = set()
    while queue:
        path, module, is_package = queue.pop()
        if path in seen:
            continue
        seen.add(path)
        for names in sorted(imported_modules(path.read_bytes(), module, is_package, str(path))):
            base, submodules = names[0], names[1:]
            if finder.find(base.split(".")[0]) is None:
                result.external.add(base.split(".")[0])
                continue
            wanted = [".".join(base.split(".")[: i + 1]) for i in range(base.count(".") + 1)]
            wanted += [name for name in submodules if finder.find(name) is not None]
            for name in wanted:
                found = finder.find(name)
                if found is None or found[1] is None:
                    continue  # a namespace package, or a name that does not resolve (an error at run time)
                root, file = found
                is_pkg = file.name == "__init__.py"
                if file.resolve() not in entry_files:
                    arcname = file.relative_to(root).as_posix()
                    result.files[arcname] = file
                    result.modules[name] = arcname
                queue.append((file.resolve(), name, is_pkg))
    return result
