"""benchmarks/bundle_latency.py: interleaved CPU timing of bundle folders, ratios to the first."""

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from bundle_latency import main, measure  # noqa: E402

FCN = REPO / "bundles" / "polyp_endoscopy_feature_compression_net_segmentation"
LIGHT = REPO / "bundles" / "polyp_endoscopy_light_u2net_segmentation"


def test_every_round_times_every_bundle_and_ratios_are_to_the_first() -> None:
    result = measure([FCN, LIGHT], (1, 3, 64, 64), rounds=2)
    assert list(result) == [str(FCN), str(LIGHT)]
    for row in result.values():
        assert len(row["ms_per_round"]) == 2 and all(ms > 0 for ms in row["ms_per_round"])
        assert row["best_ms"] == min(row["ms_per_round"])
    fcn, light = result[str(FCN)], result[str(LIGHT)]
    assert fcn["ratio_per_round"] == [1.0, 1.0] and fcn["ratio_median"] == 1.0
    expected = [a / b for a, b in zip(light["ms_per_round"], fcn["ms_per_round"])]  # round by round
    assert light["ratio_per_round"] == pytest.approx(expected)
    assert light["ratio_median"] == pytest.approx(sum(expected) / 2)
    assert light["ratio_range"] == pytest.approx([min(expected), max(expected)])


def test_a_folder_that_is_not_a_bundle_is_refused_by_name(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--bundle", str(tmp_path)])
    assert f"{tmp_path}: no configs/inference.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--bundle", str(FCN), "--bundle", str(FCN)])
    assert "each --bundle once" in capsys.readouterr().err


def test_rounds_alternate_bundles_and_the_warm_up_round_is_discarded(monkeypatch) -> None:
    """scripts/bundle_tasks/report.py ``interleaved_cpu_ms`` (what the results tables and this tool time with): the
    first round is thrown away, then each round times every bundle once, in order."""
    import bundle_tasks.report as report

    calls = iter(range(100))
    monkeypatch.setattr(report, "cpu_ms_per_image", lambda bundle, shape: float(next(calls)))
    times = report.interleaved_cpu_ms([Path("a"), Path("b")], (1, 3, 8, 8), rounds=2)
    assert times == {"a": [2.0, 4.0], "b": [3.0, 5.0]}  # calls 0 and 1 were the warm-up round
