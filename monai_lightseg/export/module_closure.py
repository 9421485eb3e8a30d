"""Which of this package's modules a set of dotted names needs, and which third-party packages those modules import.

Read from the source files with :mod:`ast` (nothing is imported), so the answer does not depend on what happens
to be loaded. A name is followed to the module that *defines* it: ``monai_lightseg.handlers.KeepBestNetwork``
needs ``monai_lightseg.handlers.best_network`` (and the packages above it), not everything that
``monai_lightseg/handlers/__init__.py`` re-exports. Python's ``modulefinder`` follows whole packages and would
pull in the batch command, DICOM and ONNX code that no bundle config uses; ``pydeps``/``snakefood`` are not
installed and answer at the same package level.
"""

from __future__ import annotations

import ast
import importlib.metadata
import sys
from dataclasses import dataclass, field
from pathlib import Path

import monai_lightseg

PACKAGE = "monai_lightseg"
PACKAGE_DIR = Path(monai_lightseg.__file__).resolve().parent

__all__ = [
    "PACKAGE",
    "PACKAGE_DIR",
    "Closure",
    "absolute_source",
    "distributions_of",
    "module_closure",
    "module_file",
    "resolve",
]


def module_file(module: str) -> Path | None:
    """The source file of ``module`` (``a.b`` -> ``a/b.py`` or ``a/b/__init__.py``), or None if it is not one."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _parse(module: str) -> ast.Module:
    return ast.parse(module_file(module).read_text(encoding="utf-8"))


def absolute_source(module: str, node: ast.ImportFrom) -> str:
    """The absolute module of a (possibly relative) ``from X import ...`` inside ``module``."""
    if not node.level:
        return node.module or ""
    is_package = module_file(module).name == "__init__.py"
    base = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _defines(tree: ast.Module, name: str) -> bool:
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
    return False


def defining_module(module: str, name: str) -> str:
    """The module whose code defines ``name`` as seen from ``module`` (following re-exports); the submodule when
    ``name`` is one. Raises ``ValueError`` when ``module`` neither defines nor imports ``name``."""
    if module_file(f"{module}.{name}") is not None:
        return f"{module}.{name}"
    tree = _parse(module)
    if _defines(tree, name):
        return module
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            source = absolute_source(module, node)
            for alias in node.names:
                if (alias.asname or alias.name) == name and source.split(".")[0] == PACKAGE:
                    return defining_module(source, alias.name)
    raise ValueError(f"{module}.{name} names nothing in {PACKAGE}")


def resolve(dotted: str) -> str:
    """The module that defines the object named by ``dotted`` (``monai_lightseg.a.b.Name[.attr...]``)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        if module_file(module) is not None:
            return module if cut == len(parts) else defining_module(module, parts[cut])
    raise ValueError(f"{dotted!r} names nothing in {PACKAGE}")


def _guarded_by_import_error(handlers: list[ast.ExceptHandler]) -> bool:
    """Whether one of ``handlers`` catches an ImportError: by name, or as a broader ``Exception`` /
    ``BaseException`` / bare ``except`` (a guard that also catches a mismatched build failing inside its import)."""
    names = set()
    for h in handlers:
        if h.type is None:
            return True
        for n in [h.type] if not isinstance(h.type, ast.Tuple) else h.type.elts:
            if isinstance(n, ast.Name):
                names.add(n.id)
    return bool(names & {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


@dataclass
class Closure:
    """``modules``: this package's modules needed (packages above them included); ``third_party``: top-level
    names of other packages they import unconditionally; ``optional``: those imported only inside
    ``try: ... except ImportError`` in the module that uses them (a feature that names its missing package when
    used)."""

    modules: set[str] = field(default_factory=set)
    third_party: set[str] = field(default_factory=set)
    optional: set[str] = field(default_factory=set)


def _imports(module: str, tree: ast.Module):
    """(absolute module, imported name or None, optional?) for every import statement, at any depth."""

    def visit(node: ast.AST, optional: bool):
        if isinstance(node, ast.Try):
            guarded = optional or _guarded_by_import_error(node.handlers)
            for child in node.body:
                yield from visit(child, guarded)
            for child in node.handlers + node.orelse + node.finalbody:
                yield from visit(child, optional)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, optional
        elif isinstance(node, ast.ImportFrom):
            source = absolute_source(module, node)
            for alias in node.names:
                yield source, alias.name, optional
        for child in ast.iter_child_nodes(node):
            yield from visit(child, optional)

    yield from visit(tree, False)


def module_closure(names: set[str]) -> Closure:
    """Every module of this package that the dotted ``names`` need, transitively, and what they import."""
    closure = Closure()
    queue = [resolve(n) for n in names]
    while queue:
        module = queue.pop()
        parts = module.split(".")
        for cut in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            parent = ".".join(parts[:cut])
            if parent not in closure.modules:
                closure.modules.add(parent)
                if parent != module:
                    queue.append(parent)
        if module_file(module).name == "__init__.py":
            continue  # a package's own imports are filtered to the closure when it is exported
        imports = list(_imports(module, _parse(module)))
        # a package this module guards once (``try: import x except ImportError``) is optional for all of it:
        # e.g. ONNX Runtime is imported again, unguarded, in a method only reachable after the guarded check
        guarded = {source.split(".")[0] for source, _, optional in imports if optional}
        for source, name, optional in imports:
            top = source.split(".")[0]
            optional = optional or top in guarded
            if top == PACKAGE:
                target = resolve(source if name is None or name == "*" else f"{source}.{name}")
                if target not in closure.modules:
                    queue.append(target)
            elif top and top not in sys.stdlib_module_names and top != "__future__":
                (closure.optional if optional else closure.third_party).add(top)
    closure.optional -= closure.third_party
    return closure


def distributions_of(top_level_names: set[str]) -> dict[str, str]:
    """Installed distribution name -> version for each top-level import name (``PIL`` -> ``pillow``)."""
    mapping = importlib.metadata.packages_distributions()
    found = {}
    for name in sorted(top_level_names):
        dists = mapping.get(name)
        if not dists:
            raise ValueError(f"no installed distribution provides the import {name!r}")
        dist = dists[0]
        found[importlib.metadata.metadata(dist)["Name"]] = importlib.metadata.version(dist)
    return found
