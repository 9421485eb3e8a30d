"""benchmarks/bundle_runtime_pipeline.py: whole-bundle time per frame under each runtime, and the first frame."""

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from bundle_runtime_pipeline import main  # noqa: E402

FCN = REPO / "bundles" / "polyp_endoscopy_feature_compression_net_segmentation"


def test_each_bundle_and_runtime_gets_rounds_a_median_and_a_fresh_process_first_frame(tmp_path) -> None:
    out = tmp_path / "pipeline.json"
    assert main(["--bundle", str(FCN), "--runtime", "eager", "--runtime", "torchscript", "--rounds", "2",
                 "--out", str(out)]) == 0  # fmt: skip
    result = json.loads(out.read_text(encoding="utf-8"))
    name = "bundles/polyp_endoscopy_feature_compression_net_segmentation"  # relative to the repository
    assert list(result["runs"]) == [f"{name}:eager", f"{name}:torchscript"]
    for row in result["runs"].values():
        rounds = row["ms_per_frame_per_round"]
        assert len(rounds) == 2 and all(ms > 0 for ms in rounds)
        assert row["ms_per_frame"] == pytest.approx(sum(rounds) / 2)
        assert row["range"] == [min(rounds), max(rounds)]
        fresh = row["fresh_process"]
        assert set(fresh) == {"import_s", "load_s", "first_frame_s"} and fresh["first_frame_s"] > 0


def test_a_folder_without_sample_frames_and_an_unknown_runtime_are_refused(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--bundle", str(tmp_path), "--runtime", "eager"])
    assert f"{tmp_path}: no sample frames to time" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--bundle", str(FCN), "--runtime", "tensorrt"])
    assert "invalid choice: 'tensorrt'" in capsys.readouterr().err
