"""The command line demo runs on the shipped samples."""

from __future__ import annotations

import numpy as np

from monai_lightseg.cli import main


def test_networks_prints_every_net_on_every_sample(capsys, samples_dir) -> None:
    assert main(["networks", "--variant", "tiny", "--images", str(samples_dir / "polyp" / "images")]) == 0
    out = capsys.readouterr().out
    for name in ("emisnet", "feature_compression_net", "light_u2net"):
        assert f"{name}" in out
    assert "(1, 3, 384, 288)" in out and "(1, 1, 384, 288)" in out  # CVC-ClinicDB frame, native size kept


def test_networks_on_an_empty_folder_fails_clearly(tmp_path, capsys) -> None:
    assert main(["networks", "--images", str(tmp_path)]) == 2
    assert "no PNG/JPEG images" in capsys.readouterr().err


def test_demo_segments_the_samples_with_a_bundle(capsys, samples_dir, tmp_path) -> None:
    """The README's main job, on a scratch copy of a bundle (shipped weights, or random ones if still training)."""
    from tests.bundles.conftest import copy_bundle, ensure_weights

    bundle = copy_bundle("polyp_endoscopy_unet_segmentation", tmp_path)
    ensure_weights(bundle)
    out = tmp_path / "demo"
    args = ["demo", "--bundle", str(bundle), "--images", str(samples_dir / "polyp" / "images"), "--output", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "cvc_clinicdb_1.png" in printed and "384x288" in printed
    assert (out / "cvc_clinicdb_1.png").is_file() and (out / "kvasir_val_0_overlay.png").is_file()


def test_segment_cli_rules_and_usage_errors(tmp_path, capsys) -> None:
    """The segment command's series rules reach the batch, and usage errors exit 2 with a message."""
    from tests.batch.conftest import make_tiny_3d_bundle
    from tests.io.dicom_fixtures import rotation_direction, write_mr_series

    bundle = make_tiny_3d_bundle(tmp_path / "bundle")
    write_mr_series(tmp_path / "in" / "s", np.zeros((4, 8, 8), np.int16), (1, 1, 2), (0, 0, 0), rotation_direction())
    out = tmp_path / "out"
    args = [
        "segment",
        "--bundle",
        str(bundle),
        "--input",
        str(tmp_path / "in"),
        "--output",
        str(out),
        "--no-progress",
        "--device",
        "cpu",
        "--exclude-image-type",
        "ORIGINAL",
    ]
    assert main(args) == 0
    assert "skipped" in (out / "report.csv").read_text(encoding="utf-8") and "ORIGINAL" in (
        out / "report.csv"
    ).read_text(encoding="utf-8")
    assert main(args) == 2  # the output holds a batch: needs --resume or --overwrite
    assert "--resume" in capsys.readouterr().err
    assert (
        main(
            [
                "segment",
                "--bundle",
                str(tmp_path / "nope"),
                "--input",
                str(tmp_path / "in"),
                "--output",
                str(tmp_path / "o2"),
                "--no-progress",
            ]
        )
        == 2
    )
    assert main(["merge", str(tmp_path / "empty")]) == 2


def test_every_command_reports_unusable_input_in_one_line(tmp_path, capsys) -> None:
    """Missing inputs are a one-line error naming the path and exit status 2, whichever command meets them."""
    missing = tmp_path / "no_such_bundle"
    assert main(["export-bundle", str(missing), str(tmp_path / "out")]) == 2
    assert main(["networks", "--images", str(tmp_path / "no_such_folder")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("error: ") for line in err)
    assert "no_such_bundle" in err[0] and "no_such_folder" in err[1]
    assert not (tmp_path / "out").exists()
