"""One unreadable file among good ones (issue 19): every bundle's inference (and its self-contained copy's)
segments the good files, names the bad one with the reason, ends with a summary line and exits non-zero."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monai_lightseg.data import readable_items
from monai_lightseg.export import export_bundle
from tests.bundles.conftest import ensure_weights

CASES = {  # bundle -> (a good sample's folder, the suffix of a good sample, the suffix of its written mask)
    "polyp_endoscopy_unet_segmentation": ("images", ".jpg", ".png"),
    "hippocampus_mri_unet_segmentation": ("images", ".nii.gz", "_seg.nii.gz"),
    "retinal_vessel_fundus_light_u2net_segmentation": ("images", ".png", ".png"),
}


#: the self-contained copies (monai-lightseg export-bundle) too, one 2D and one 3D
EXPORTED = ["polyp_endoscopy_unet_segmentation", "hippocampus_mri_unet_segmentation"]


@pytest.mark.parametrize("name, exported", [(n, False) for n in sorted(CASES)] + [(n, True) for n in EXPORTED])
def test_a_truncated_file_is_reported_and_the_rest_segmented(name: str, exported: bool, scratch_bundle, tmp_path):
    root = scratch_bundle(name)
    ensure_weights(root)
    if exported:
        root = export_bundle(root, tmp_path / "exported" / name)
    folder, suffix, mask_suffix = CASES[name]
    inputs = tmp_path / "in"
    inputs.mkdir()
    good = sorted((root / "sample_data" / folder).iterdir())
    for f in good:
        (inputs / f.name).write_bytes(f.read_bytes())
    sample = next(f for f in good if f.name.endswith(suffix))
    (inputs / f"truncated{suffix}").write_bytes(sample.read_bytes()[: len(sample.read_bytes()) // 3])
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "monai.bundle", "run", "--config_file", "configs/inference.json",
           "--dataset_dir", str(inputs), "--output_dir", str(out)]  # fmt: skip
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600)
    log = done.stdout + done.stderr
    assert done.returncode != 0
    assert f"truncated{suffix}: unreadable, skipped" in log
    assert f"segmented {len(good)} of {len(good) + 1} files; 1 unreadable: truncated{suffix}" in log
    stems = [f.name[: -len(next(s for s in (".nii.gz", ".png", ".jpg") if f.name.endswith(s)))] for f in good]
    for stem in stems:
        assert (out / f"{stem}{mask_suffix}").is_file(), sorted(p.name for p in out.iterdir())


def test_readable_items_refuses_a_folder_of_nothing_readable(tmp_path) -> None:
    (tmp_path / "a.png").write_bytes(b"not a png")
    unreadable: list = []
    with pytest.raises(ValueError, match="none of the 1 files could be read: a.png"):
        readable_items([{"image": str(tmp_path / "a.png")}], unreadable)
    assert unreadable[0]["file"] == "a.png" and unreadable[0]["reason"]
