"""`monai-lightseg export-bundle`: what the copy holds, and what it refuses. (That the copy runs and verifies
where the package is absent: tests/bundles/test_exported_bundles.py.)"""

from __future__ import annotations

import ast
import json
import zipfile

import pytest

from monai_lightseg.cli import main
from monai_lightseg.export import export_bundle
from tests.bundles.conftest import BUNDLES_DIR

HIPPOCAMPUS = BUNDLES_DIR / "hippocampus_mri_unet_segmentation"


def _imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            yield node.module


def test_the_copy_names_only_its_own_scripts(tmp_path) -> None:
    out = export_bundle(HIPPOCAMPUS, tmp_path / "b")
    code = sorted((out / "scripts").rglob("*.py"))
    assert code and not [p for p in code for m in _imported_modules(p) if m.split(".")[0] == "monai_lightseg"]
    assert (out / "scripts/monai_lightseg/localisation/mni152_2009a_sym_t1_2mm.nii.gz").is_file()  # data files
    assert (out / "scripts/monai_lightseg/localisation/LICENSE_MNI152.txt").is_file()  # and their licence
    assert not (out / "scripts/monai_lightseg/batch").exists()  # no module the configs do not need
    for config in (out / "configs").glob("*.json"):
        text = config.read_text(encoding="utf-8")
        assert '"monai_lightseg.' not in text and "$monai_lightseg." not in text and "import monai_lightseg" not in text
    inference = json.loads((out / "configs/inference.json").read_text(encoding="utf-8"))
    assert inference["imports"].index("$import scripts") < inference["imports"].index("$import scripts.monai_lightseg")
    metadata = json.loads((out / "configs/metadata.json").read_text(encoding="utf-8"))
    required = metadata["required_packages_version"]
    assert "monai_lightseg" not in required and {"simpleitk", "nibabel", "pytorch-ignite"} <= set(required)
    assert "optional_packages_version" not in metadata  # MONAI 1.6 would rename it over the required ones
    assert not (out / "models/checkpoints").exists()


def test_nothing_is_overwritten_and_bad_input_is_named(tmp_path, capsys) -> None:
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "keep.txt").write_text("mine", encoding="utf-8")
    assert main(["export-bundle", str(HIPPOCAMPUS), str(taken)]) == 2
    assert "exists" in capsys.readouterr().err and (taken / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in taken.iterdir()) == ["keep.txt"]
    not_a_bundle = tmp_path / "folder"
    (not_a_bundle / "configs").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match="configs/metadata.json is missing"):
        export_bundle(not_a_bundle, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_zip_has_one_top_folder(tmp_path, capsys) -> None:
    assert main(["export-bundle", str(HIPPOCAMPUS), str(tmp_path / "hippo"), "--zip"]) == 0
    with zipfile.ZipFile(tmp_path / "hippo.zip") as archive:
        names = archive.namelist()
    assert {n.split("/")[0] for n in names} == {"hippo"} and "hippo/configs/inference.json" in names
    assert "hippo.zip" in capsys.readouterr().out
