"""Every bundle passes the MONAI model zoo's own verification (.ci/model_zoo: required files, version and
changelog, metadata schema, verify_net_in_out, TorchScript export), run the way the zoo runs it. Bundles whose
training has not finished are checked with a seeded initialisation of their network (ensure_weights)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.bundles.conftest import BUNDLES_DIR, copy_bundle, ensure_weights
from tests.conftest import REPO

ALL_BUNDLES = sorted(p.parent.parent.name for p in BUNDLES_DIR.glob("*/configs/metadata.json"))


def test_every_bundle_passes_the_model_zoo_verification(tmp_path) -> None:
    roots = [copy_bundle(name, tmp_path) for name in ALL_BUNDLES]
    for root in roots:
        ensure_weights(root)
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(REPO / ".ci" / "model_zoo" / "run.sh"), "-m", "full", *map(str, roots)],
                          capture_output=True, text=True, env=env, timeout=1200)  # fmt: skip
    passed = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("PASS ")}
    assert passed == set(ALL_BUNDLES), done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 0


def test_metadata_pins_install_on_the_python_versions_the_readme_claims() -> None:
    """Every pinned version in every bundle's metadata is the installed (tested) one, and supports the oldest
    Python that setup.cfg and the README claim (numpy 2.4 and pillow 13 need 3.11: the claim follows them)."""
    import configparser
    import importlib.metadata as md
    import json
    import re

    from packaging.specifiers import SpecifierSet

    setup = configparser.ConfigParser()
    setup.read(REPO / "setup.cfg", encoding="utf-8")
    oldest = re.fullmatch(r">=\s*(3\.\d+)", setup["options"]["python_requires"].strip()).group(1)
    assert f"Python >= {oldest}" in (REPO / "README.md").read_text(encoding="utf-8")
    for path in sorted(BUNDLES_DIR.glob("*/configs/metadata.json")):
        metadata = json.loads(path.read_text(encoding="utf-8"))
        pins = {"monai": metadata["monai_version"], "torch": metadata["pytorch_version"],
                "numpy": metadata["numpy_version"], **metadata["required_packages_version"]}  # fmt: skip
        for name, version in pins.items():
            installed = md.version(name)
            assert installed.split("+")[0] == version, f"{path}: {name} {version} pinned, {installed} tested"
            supported = SpecifierSet(md.metadata(name).get("Requires-Python") or "")
            assert supported.contains(f"{oldest}.0"), f"{path}: {name} {version} does not install on Python {oldest}"
