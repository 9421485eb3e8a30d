"""A Python environment holding only named distributions (and what they depend on), built in a second from the
ones already installed here: a fresh ``venv`` whose ``site-packages`` links to their installed files.

This stands in for ``pip install -r requirements.txt`` into a clean environment (what the MONAI model zoo's CI
does with a bundle's metadata), without a network or a second copy of torch. Each pin must be met by the
installed version, else the environment is refused: it would not be the one the metadata describes.
``monai_lightseg`` is never linked, so an import of it fails there as it would on a stranger's machine.
"""

from __future__ import annotations

import importlib.metadata as md
import os
import sys
import venv
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

__all__ = ["linked_environment"]

_NEVER = {"monai-lightseg"}


def _distribution(name: str) -> md.Distribution:
    try:
        return md.distribution(name)
    except md.PackageNotFoundError as err:
        raise RuntimeError(f"{name} is required but not installed here, so it cannot be linked") from err


def _closure(requirements: list[str]) -> dict[str, md.Distribution]:
    """Canonical name -> installed distribution, for the requirements and everything they need (no extras)."""
    environment = {**default_environment(), "extra": ""}
    found: dict[str, md.Distribution] = {}
    queue = [Requirement(r) for r in requirements]
    pinned = list(queue)
    while queue:
        req = queue.pop()
        if req.marker is not None and not req.marker.evaluate(environment):
            continue
        name = canonicalize_name(req.name)
        if name in found or name in _NEVER:
            continue
        found[name] = dist = _distribution(req.name)
        queue.extend(Requirement(r) for r in dist.requires or [])
    for req in pinned:
        installed = found[canonicalize_name(req.name)].version
        if not req.specifier.contains(installed, prereleases=True):
            raise RuntimeError(f"{req} is pinned but {installed} is installed: this is not the pinned environment")
    return found


def linked_environment(dest: Path, requirements: list[str]) -> Path:
    """Create the environment at ``dest`` with the ``name==version`` ``requirements``; returns its python."""
    venv.EnvBuilder(with_pip=False, symlinks=True).create(dest)
    site = dest / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    for dist in _closure(requirements).values():
        installed = Path(dist.locate_file(""))
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            link, target = site / top, installed / top
            if target.exists() and not os.path.lexists(link):
                link.symlink_to(target)
    return dest / "bin" / "python"
