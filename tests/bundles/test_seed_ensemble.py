"""benchmarks/seed_ensemble.py: an ensemble bundle folder whose network is the mean logit of its members."""

import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
from monai.bundle import ConfigParser

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))
from seed_ensemble import MeanLogitEnsemble, build  # noqa: E402

FCN = REPO / "bundles" / "polyp_endoscopy_feature_compression_net_segmentation"
LIGHT = REPO / "bundles" / "polyp_endoscopy_light_u2net_segmentation"
UNET = REPO / "bundles" / "polyp_endoscopy_unet_segmentation"


def _network(bundle: Path) -> torch.nn.Module:
    parser = ConfigParser()
    parser.read_config(str(bundle / "configs" / "inference.json"))
    parser["bundle_root"] = str(bundle)
    net = parser.get_parsed_content("network_def")
    net.load_state_dict(torch.load(bundle / "models" / "model.pt", map_location="cpu", weights_only=True))
    return net.eval()


def test_the_ensemble_bundle_loads_every_members_weights_and_averages_their_logits(tmp_path) -> None:
    out = tmp_path / "ens"
    build([FCN, LIGHT], out)
    ensemble = _network(out)  # the ensemble's own config and model.pt, as the bundle's loader reads them
    assert isinstance(ensemble, MeanLogitEnsemble) and len(ensemble.members) == 2
    x = torch.rand(1, 3, 64, 96)
    with torch.no_grad():
        expected = (_network(FCN)(x) + _network(LIGHT)(x)) / 2
        torch.testing.assert_close(ensemble(x), expected)
    assert (out / "configs" / "evaluate.json").is_file()  # the first member's configs come along
    assert json.loads((out / "configs" / "inference.json").read_text(encoding="utf-8"))["runtime"] == "auto"  # both
    # members on different runtimes (the UNet "eager", FeatureCompressionNet "auto"): the ensemble runs eager
    build([FCN, UNET], tmp_path / "mixed")
    assert json.loads((tmp_path / "mixed" / "configs" / "inference.json").read_text(encoding="utf-8"))["runtime"] \
        == "eager"


def test_nothing_is_overwritten_and_a_folder_without_weights_is_refused(tmp_path) -> None:
    out = tmp_path / "ens"
    out.mkdir()
    with pytest.raises(SystemExit, match="exists"):
        build([FCN], out)
    (tmp_path / "untrained" / "configs").mkdir(parents=True)
    (tmp_path / "untrained" / "configs" / "inference.json").write_text("{}", encoding="utf-8")
    with pytest.raises(SystemExit, match="model.pt does not exist"):
        build([tmp_path / "untrained"], tmp_path / "other")
    other = tmp_path / "other_settings"
    shutil.copytree(FCN / "configs", other / "configs")
    (other / "models").mkdir()
    shutil.copy(FCN / "models" / "model.pt", other / "models" / "model.pt")
    config = json.loads((other / "configs" / "inference.json").read_text(encoding="utf-8"))
    config["frame_size"] = 512
    (other / "configs" / "inference.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(SystemExit, match=r"differs from .* in \['frame_size'\]"):
        build([FCN, other], tmp_path / "third")
    with pytest.raises(ValueError, match="at least one member"):
        MeanLogitEnsemble([])
