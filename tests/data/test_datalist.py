"""Pairing images with masks, the committed polyp split rules, and datalist loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monai_lightseg.data import (
    VOLUME_SUFFIXES,
    build_datalist,
    bundle_datalist,
    cvc_clinicdb_sequence,
    drive_datalist,
    load_datalist,
    polyp_datalist,
)
from monai_lightseg.data.polyp_split import KVASIR_NEAR_DUPLICATES


def _touch(folder, *names):
    folder.mkdir(parents=True, exist_ok=True)
    for n in names:
        (folder / n).write_bytes(b"x")


def test_pairs_by_stem_across_formats(tmp_path) -> None:
    _touch(tmp_path / "images", "a.jpg", "b.PNG", "c.tif", "notes.txt")
    _touch(tmp_path / "masks", "a.png", "b.gif", "c.tiff")
    items = build_datalist(tmp_path / "images", tmp_path / "masks", relative_to=tmp_path)
    assert items == [
        {"image": "images/a.jpg", "label": "masks/a.png"},
        {"image": "images/b.PNG", "label": "masks/b.gif"},
        {"image": "images/c.tif", "label": "masks/c.tiff"},
    ]
    assert build_datalist(tmp_path / "images", relative_to=tmp_path)[0] == {"image": "images/a.jpg"}


def test_an_output_folder_that_is_the_input_folder_is_refused(tmp_path) -> None:
    """A 2D bundle writes <stem>.png into output_dir: with output_dir the dataset_dir, a PNG input was replaced by
    its own mask (checked by hand with the UNet polyp bundle before the rule). Every shipped inference.json passes
    its @output_dir, so the run stops before anything is written."""
    _touch(tmp_path / "images", "a.png", "b.jpg")
    assert len(build_datalist(tmp_path / "images", output_dir=tmp_path / "images" / "masks")) == 2
    with pytest.raises(ValueError, match="output folder .* is the input folder"):
        build_datalist(tmp_path / "images", output_dir=tmp_path / "images" / ".." / "images")
    from monai.bundle import ConfigParser

    from tests.bundles.conftest import BUNDLES_DIR

    for bundle in sorted(BUNDLES_DIR.glob("*/configs/inference.json")):
        parser = ConfigParser()
        parser.read_config(str(bundle))
        parser.update({"bundle_root": str(bundle.parents[1]), "dataset_dir": str(tmp_path / "images")})
        parser.update({"output_dir": str(tmp_path / "images")})
        with pytest.raises(Exception) as raised:  # MONAI wraps the expression's error: the reason is its cause
            parser.get_parsed_content("datalist")
        error, messages = raised.value, []
        while error is not None:
            messages.append(str(error))
            error = error.__cause__
        assert any("is the input folder" in m for m in messages), (bundle, messages)
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == ["a.png", "b.jpg"]
    # the whole-head hippocampus path (inference_whole_head.json) does not build a datalist: its own check
    from monai_lightseg.localisation.bundle_run import segment_folder

    with pytest.raises(ValueError, match="is the input folder"):
        segment_folder(tmp_path / "no_bundle_needed", tmp_path / "images", tmp_path / "images")


def test_volumes_pair_by_stem_without_compound_suffix(tmp_path) -> None:
    _touch(tmp_path / "images", "hippocampus_001.nii.gz", "b.NII", "c.mha", "d.nii.gz.bak")
    _touch(tmp_path / "masks", "hippocampus_001.nii", "b.nii.gz", "c.nrrd")
    items = build_datalist(tmp_path / "images", tmp_path / "masks", relative_to=tmp_path, suffixes=VOLUME_SUFFIXES)
    assert items == [
        {"image": "images/b.NII", "label": "masks/b.nii.gz"},
        {"image": "images/c.mha", "label": "masks/c.nrrd"},
        {"image": "images/hippocampus_001.nii.gz", "label": "masks/hippocampus_001.nii"},
    ]
    _touch(tmp_path / "dup", "a.nii", "a.nii.gz")
    with pytest.raises(ValueError, match="two files share the stem 'a'"):
        build_datalist(tmp_path / "dup", suffixes=VOLUME_SUFFIXES)
    assert bundle_datalist(tmp_path, tmp_path / "none.json", "validation", VOLUME_SUFFIXES) == [
        {k: str((tmp_path / v).resolve()) for k, v in item.items()} for item in items
    ]


def test_extra_folders_pair_like_masks(tmp_path) -> None:
    _touch(tmp_path / "images", "01_test.tif", "02_test.tif", "03_test.tif", "04_test.tif")
    _touch(tmp_path / "masks", "01_test.gif", "02_test.gif", "03_test.gif", "04_test.gif")
    _touch(tmp_path / "fov", "01_test.gif", "02_test.gif", "03_test.gif", "04_test.gif")
    split = drive_datalist(tmp_path)
    expected = {"image": "images/04_test.tif", "label": "masks/04_test.gif", "fov": "fov/04_test.gif"}
    assert split["validation"] == [expected]
    assert len(split["training"]) == 3
    (tmp_path / "datalist.json").write_text(json.dumps(split), encoding="utf-8")
    (loaded,) = load_datalist(tmp_path / "datalist.json", "validation", tmp_path, ("image", "label", "fov"))
    assert loaded["fov"] == str(tmp_path / "fov" / "04_test.gif")
    (tmp_path / "fov" / "02_test.gif").unlink()
    with pytest.raises(ValueError, match=r"no fov file for the images \['02_test'\]"):
        drive_datalist(tmp_path)


def test_unpaired_and_ambiguous_files_are_named(tmp_path) -> None:
    _touch(tmp_path / "images", "a.jpg", "b.jpg")
    _touch(tmp_path / "masks", "a.png", "z.png")
    with pytest.raises(ValueError, match=r"images without a mask: \['b'\].*masks without an image: \['z'\]"):
        build_datalist(tmp_path / "images", tmp_path / "masks")
    assert len(build_datalist(tmp_path / "images", tmp_path / "masks", allow_unpaired=True)) == 1
    _touch(tmp_path / "dup", "a.jpg", "a.png")
    with pytest.raises(ValueError, match="two files share the stem 'a'"):
        build_datalist(tmp_path / "dup")
    with pytest.raises(FileNotFoundError, match="folder not found"):
        build_datalist(tmp_path / "missing")
    _touch(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="no image"):
        build_datalist(tmp_path / "empty")


def test_cvc_sequences_follow_the_dataset_readme() -> None:
    assert [cvc_clinicdb_sequence(f) for f in (1, 25, 26, 104, 126, 127, 591, 592, 612)] == [
        1,
        1,
        2,
        6,
        6,
        7,
        28,
        29,
        29,
    ]
    with pytest.raises(ValueError, match="1..612"):
        cvc_clinicdb_sequence(613)


def test_polyp_split_rules(tmp_path) -> None:
    """Built on an empty stand-in of the shared layout: by sequence for CVC, by published split for Kvasir."""
    kvasir = [f"train_{i}.jpg" for i in (300, 459, 510, 593, 620, 667, 1)] + ["val_0.jpg", "val_7.jpg"]
    _touch(tmp_path / "kvasir_seg" / "images", *kvasir)
    _touch(tmp_path / "kvasir_seg" / "masks", *kvasir)
    cvc = [f"{n}.png" for n in (1, 25, 26, 104, 130, 530, 600)]
    _touch(tmp_path / "cvc_clinicdb" / "images", *cvc)
    _touch(tmp_path / "cvc_clinicdb" / "masks", *cvc)
    split = polyp_datalist(tmp_path)
    val = {i["image"] for i in split["validation"]}
    assert val == {
        "kvasir_seg/images/val_0.jpg",
        "kvasir_seg/images/val_7.jpg",
        "cvc_clinicdb/images/1.png",
        "cvc_clinicdb/images/25.png",
        "cvc_clinicdb/images/104.png",
        "cvc_clinicdb/images/530.png",
    }
    train = {i["image"] for i in split["training"]}
    assert not val & train
    for a, b in KVASIR_NEAR_DUPLICATES:
        assert f"kvasir_seg/images/{a}.jpg" in train and f"kvasir_seg/images/{b}.jpg" in train


def test_load_and_bundle_datalist(tmp_path) -> None:
    _touch(tmp_path / "data" / "x", "a.png", "m.png")
    (tmp_path / "dl.json").write_text(
        json.dumps({"training": [{"image": "x/a.png", "label": "x/m.png", "dataset": "d"}]}), encoding="utf-8"
    )
    items = load_datalist(tmp_path / "dl.json", "training", tmp_path / "data")
    assert items == [{"image": str(tmp_path / "data/x/a.png"), "label": str(tmp_path / "data/x/m.png"), "dataset": "d"}]
    with pytest.raises(ValueError, match="no key 'validation'"):
        load_datalist(tmp_path / "dl.json", "validation", tmp_path / "data")
    with pytest.raises(FileNotFoundError, match="'x/a.png' not found"):
        load_datalist(tmp_path / "dl.json", "training", tmp_path)
    assert bundle_datalist(tmp_path / "data", tmp_path / "dl.json", "training") == items
    _touch(tmp_path / "folder" / "images", "q.png")
    _touch(tmp_path / "folder" / "masks", "q.png")
    assert bundle_datalist(tmp_path / "folder", tmp_path / "nope.json", "validation")[0]["label"].endswith(
        "masks/q.png"
    )
    with pytest.raises(FileNotFoundError, match="no images/ and masks/ folders"):
        bundle_datalist(tmp_path / "data", tmp_path / "nope.json", "training")


def test_hippocampus_split_keeps_both_sides_of_a_subject_together(tmp_path) -> None:
    from monai_lightseg.data import hippocampus_datalist, hippocampus_subject

    ids = [1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 14, 15, 17, 19, 20, 21, 22, 24, 25, 26]
    names = [f"hippocampus_{i:03d}.nii.gz" for i in ids]
    _touch(tmp_path / "imagesTr", *names)
    _touch(tmp_path / "labelsTr", *names)
    split = hippocampus_datalist(tmp_path)
    side = {i["subject"]: k for k, items in split.items() for i in items}
    for k, items in split.items():
        assert all(side[i["subject"]] == k for i in items)  # no subject on both sides
    subjects = sorted(side)
    assert {s for s in subjects if side[s] == "validation"} == {subjects[4], subjects[9]}
    assert hippocampus_subject("hippocampus_017.nii.gz") == 9 and hippocampus_subject("hippocampus_018.nii.gz") == 9
    assert split["training"][0] == {
        "image": "imagesTr/hippocampus_001.nii.gz",
        "label": "labelsTr/hippocampus_001.nii.gz",
        "subject": 1,
    }
    (tmp_path / "labelsTr" / names[0]).unlink()
    with pytest.raises(ValueError, match="hippocampus_001.nii.gz: no label"):
        hippocampus_datalist(tmp_path)
    with pytest.raises(ValueError, match="not an MSD hippocampus file name"):
        hippocampus_subject("brain.nii.gz")


def test_committed_split_wins_over_images_and_masks_folders(tmp_path) -> None:
    """A data set laid out as images/ and masks/ (the shared DRIVE part) is split by its committed datalist, so
    training never sees the validation images; a folder the datalist does not describe is one set."""
    names = ["01.png", "02.png", "03.png", "04.png"]
    _touch(tmp_path / "drive" / "images", *names)
    _touch(tmp_path / "drive" / "masks", *names)
    split = {
        "training": [{"image": f"images/{n}", "label": f"masks/{n}"} for n in names[:3]],
        "validation": [{"image": "images/04.png", "label": "masks/04.png"}],
    }
    (tmp_path / "dl.json").write_text(json.dumps(split), encoding="utf-8")
    train = bundle_datalist(tmp_path / "drive", tmp_path / "dl.json", "training")
    val = bundle_datalist(tmp_path / "drive", tmp_path / "dl.json", "validation")
    assert [Path(i["image"]).name for i in train] == names[:3]
    assert [Path(i["image"]).name for i in val] == ["04.png"]
    _touch(tmp_path / "mine" / "images", "01.png", "99.png")  # a user's folder: the split does not describe it
    _touch(tmp_path / "mine" / "masks", "01.png", "99.png")
    assert len(bundle_datalist(tmp_path / "mine", tmp_path / "dl.json", "validation")) == 2
