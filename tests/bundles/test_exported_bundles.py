"""Every bundle, exported self-contained (`monai-lightseg export-bundle`), in an environment that holds only what
its metadata lists (read by the model zoo's own get_bundle_requirements.py) and not monai_lightseg: the zoo's
full verification passes, and `python -m monai.bundle run --config_file configs/inference.json` writes the same
masks as the committed bundle does here (and, for trained bundles, the shipped reference masks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from monai_lightseg.export import export_bundle
from tests.bundles.conftest import BUNDLES_DIR, copy_bundle, ensure_weights
from tests.bundles.isolated_env import linked_environment
from tests.conftest import REPO

ALL_BUNDLES = sorted(p.parent.parent.name for p in BUNDLES_DIR.glob("*/configs/metadata.json"))
ZOO_CI = REPO / ".ci" / "model_zoo"
#: what the zoo's verification itself needs beyond a bundle's requirements (its CI installs it the same way)
ZOO_TOOLING = ["jsonschema"]


def zoo_requirements(bundle: Path, work: Path) -> list[str]:
    """The pins the model zoo's CI would `pip install` for ``bundle`` (its ci/get_bundle_requirements.py)."""
    done = subprocess.run(
        [sys.executable, str(ZOO_CI / "ci" / "get_bundle_requirements.py"), "-b", bundle.name,
         "-p", str(bundle.parent)], cwd=work, capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = (work / done.stdout.strip()).read_text(encoding="utf-8").split()
    return [line for line in lines if line]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return {**env, **extra}


def _infer(python: Path, root: Path, out: Path) -> subprocess.CompletedProcess:
    """The bundle's inference on its own samples, run from its folder (as the zoo's bundles are)."""
    return subprocess.run(
        [str(python), "-m", "monai.bundle", "run", "--config_file", "configs/inference.json", "--output_dir", str(out)],
        cwd=root, capture_output=True, text=True, env=_clean_env(), timeout=600,
    )  # fmt: skip


def _read(path: Path) -> np.ndarray:
    if path.name.endswith((".nii", ".nii.gz")):
        import nibabel as nib

        return np.asarray(nib.load(path).dataobj)
    from PIL import Image

    return np.asarray(Image.open(path))


def _masks(folder: Path) -> dict[str, Path]:
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*")) if p.suffix in (".png", ".gz", ".nii")}


@pytest.mark.parametrize("name", ALL_BUNDLES)
def test_exported_bundle_runs_without_the_package(name: str, tmp_path) -> None:
    committed = copy_bundle(name, tmp_path / "committed")
    ensure_weights(committed)
    exported = export_bundle(committed, tmp_path / "exported" / name)
    python = linked_environment(tmp_path / "env", zoo_requirements(exported, tmp_path) + ZOO_TOOLING)
    leaked = subprocess.run([str(python), "-c", "import monai_lightseg"], cwd=tmp_path, env=_clean_env(),
                            capture_output=True)  # fmt: skip
    assert leaked.returncode != 0, "the package leaked into the isolated environment"

    zoo = subprocess.run(["bash", str(ZOO_CI / "run.sh"), "-m", "full", str(exported)], capture_output=True,
                         text=True, env=_clean_env(PYTHON=str(python)), timeout=900)  # fmt: skip
    assert zoo.returncode == 0 and f"PASS {name}" in zoo.stdout, zoo.stdout[-3000:] + zoo.stderr[-2000:]

    ran = _infer(python, exported, tmp_path / "out_exported")
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "monai_lightseg" not in ran.stderr.replace("scripts.monai_lightseg", "")
    assert _infer(Path(sys.executable), committed, tmp_path / "out_committed").returncode == 0
    got, want = _masks(tmp_path / "out_exported"), _masks(tmp_path / "out_committed")
    assert got.keys() == want.keys() and got
    for key in want:
        np.testing.assert_array_equal(_read(got[key]), _read(want[key]), err_msg=key)
