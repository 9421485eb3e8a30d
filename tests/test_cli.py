"""The command line demo runs on the shipped samples."""

from __future__ import annotations

from monai_lightseg.cli import main


def test_demo_prints_every_net_on_every_sample(capsys, samples_dir) -> None:
    assert main(["demo", "--variant", "tiny", "--images", str(samples_dir / "polyp" / "images")]) == 0
    out = capsys.readouterr().out
    for name in ("emisnet", "feature_compression_net", "light_u2net"):
        assert f"{name}" in out
    assert "(1, 3, 384, 288)" in out and "(1, 1, 384, 288)" in out  # CVC-ClinicDB frame, native size kept


def test_demo_on_an_empty_folder_fails_clearly(tmp_path, capsys) -> None:
    assert main(["demo", "--images", str(tmp_path)]) == 2
    assert "no PNG/JPEG images" in capsys.readouterr().err
