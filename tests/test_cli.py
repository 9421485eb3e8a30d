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


def _fake_polyp_bundle(root, name: str, value: float | None, finished: bool = True) -> None:
    """A bundle folder with what ``best_polyp_bundle`` reads: weights, best-metric record, results."""
    import json

    bundle = root / f"polyp_endoscopy_{name}_segmentation"
    (bundle / "models").mkdir(parents=True)
    (bundle / "docs").mkdir()
    (bundle / "models" / "model.pt").write_bytes(b"weights")
    if value is not None:
        record = {"metric": "val_mean_dice", "value": value}
        (bundle / "models" / "model.best.json").write_text(json.dumps(record), encoding="utf-8")
    if finished:
        (bundle / "docs" / "results.json").write_text("{}", encoding="utf-8")


def test_best_polyp_bundle_takes_the_finished_bundle_with_the_best_validation_dice(tmp_path, monkeypatch) -> None:
    from monai_lightseg import cli

    monkeypatch.setattr(cli, "BUNDLES", tmp_path)
    assert cli.best_polyp_bundle() is None
    _fake_polyp_bundle(tmp_path, "a", 0.70)
    _fake_polyp_bundle(tmp_path, "b", 0.78)
    _fake_polyp_bundle(tmp_path, "c", 0.90, finished=False)  # still training: interim weights are not offered
    _fake_polyp_bundle(tmp_path, "d", None)  # no best-metric record
    assert cli.best_polyp_bundle() == tmp_path / "polyp_endoscopy_b_segmentation"


def test_readme_names_the_bundle_make_demo_runs() -> None:
    """The README's quick start says which shipped bundle ``make demo`` runs; it went stale once."""
    from monai_lightseg.cli import REPO, best_polyp_bundle

    bundle = best_polyp_bundle()
    assert bundle is not None, "no finished polyp bundle ships weights"
    titles = {
        "unet": "UNet",
        "light_u2net": "LightU2Net",
        "emisnet": "EMISNet",
        "feature_compression_net": "FeatureCompressionNet",
    }
    network = bundle.name.removeprefix("polyp_endoscopy_").removesuffix("_segmentation")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sentence = readme[readme.index("`make demo` runs") :].split(" on `samples/polyp/images/`")[0]
    assert f"now the {titles[network]}" in sentence, f"README says: {sentence!r}; make demo runs {bundle.name}"


def test_segment_offers_every_runtime_the_package_has() -> None:
    """The command line lists the runtimes by hand (parsing it imports no torch): it must match
    ``monai_lightseg.inference.runtimes.RUNTIMES``."""
    from monai_lightseg.cli import build_parser
    from monai_lightseg.inference.runtimes import RUNTIMES

    segment = build_parser()._subparsers._group_actions[0].choices["segment"]
    (runtime,) = [a for a in segment._actions if "--runtime" in a.option_strings]
    assert list(runtime.choices) == list(RUNTIMES)


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


def test_known_library_notices_are_hidden_and_no_other_warning() -> None:
    """scikit-image's ``min_size`` deprecation, which MONAI's RemoveSmallObjects triggers on every polyp inference,
    and MONAI's note that nvImageCodec is absent (on every LoadImage without it) are hidden by the command line; a
    warning it does not name still shows."""
    import logging
    import re
    import warnings

    import torch
    from monai.transforms import LoadImage, RemoveSmallObjects

    from monai_lightseg.cli import KNOWN_LIBRARY_LOGGERS, KNOWN_LIBRARY_NOTICES, silence_known_library_notices

    mask = torch.zeros(1, 8, 8)
    mask[0, 2:4, 2:4] = 1

    def notices(silenced: bool) -> list[warnings.WarningMessage]:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            if silenced:
                silence_known_library_notices()  # its filters go in front of "always"
            LoadImage()  # nvImageCodec's note, where it is not installed
            RemoveSmallObjects(min_size=8)(mask)
            warnings.warn("a notice about the user's data", UserWarning)
        return seen

    def named(w: warnings.WarningMessage) -> bool:
        return any(re.match(m, str(w.message)) and issubclass(w.category, c) for m, c in KNOWN_LIBRARY_NOTICES)

    before = notices(silenced=False)
    # the min_size notice exists (when a scikit-image or MONAI release drops it, drop its filter too); so does
    # nvImageCodec's wherever nvImageCodec is missing, and every nvImageCodec warning seen is the one named
    assert any(named(w) and "min_size" in str(w.message) for w in before), [str(w.message) for w in before]
    assert all(named(w) for w in before if "nvImageCodec" in str(w.message))
    levels = {name: logging.getLogger(name).level for name in KNOWN_LIBRARY_LOGGERS}
    try:
        assert [str(w.message) for w in notices(silenced=True)] == ["a notice about the user's data"]
        assert float(RemoveSmallObjects(min_size=8)(mask).sum()) == 0  # the specks are still removed
        assert all(logging.getLogger(name).level == logging.ERROR for name in KNOWN_LIBRARY_LOGGERS)
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_every_command_silences_the_known_notices(monkeypatch, tmp_path) -> None:
    import monai_lightseg.cli as cli

    calls = []
    monkeypatch.setattr(cli, "silence_known_library_notices", lambda: calls.append(1))
    assert main(["networks", "--images", str(tmp_path)]) == 2  # an empty folder: fails, after silencing
    assert calls == [1]
