"""The site-BN diagnostic (benchmarks/federated_site_bn.py): re-estimating BatchNorm statistics on one site's
frames changes the running statistics of every BatchNorm and nothing else."""

import json
import sys
from pathlib import Path

import torch

from tests.conftest import REPO, SAMPLES

sys.path.insert(0, str(REPO / "benchmarks"))
from federated_site_bn import site_statistics  # noqa: E402

BUNDLE = REPO / "bundles" / "polyp_endoscopy_feature_compression_net_segmentation"


def test_only_batchnorm_statistics_change(tmp_path: Path) -> None:
    from monai.bundle import ConfigParser

    kvasir = {"image": "images/kvasir_val_0.jpg", "label": "masks/kvasir_val_0.jpg", "dataset": "kvasir_seg"}
    cvc = {"image": "images/cvc_clinicdb_1.png", "label": "masks/cvc_clinicdb_1.png", "dataset": "cvc_clinicdb"}
    datalist = tmp_path / "datalist.json"
    datalist.write_text(json.dumps({"training": [kvasir, kvasir, cvc], "validation": [cvc]}), encoding="utf-8")
    parser = ConfigParser()
    parser.read_config(str(BUNDLE / "configs" / "train.json"))
    torch.manual_seed(0)
    source = {k: v.clone() for k, v in parser.get_parsed_content("network_def").state_dict().items()}
    adapted = site_statistics(source, "site-1", SAMPLES / "polyp", tmp_path, passes=2, datalist=datalist)
    assert set(adapted) == set(source)
    stats = [k for k in source if k.endswith(("running_mean", "running_var"))]
    assert stats and all(not torch.equal(adapted[k], source[k]) and torch.isfinite(adapted[k]).all() for k in stats)
    counts = {int(v) for k, v in adapted.items() if k.endswith("num_batches_tracked")}
    assert counts == {2}  # site-1 has 2 frames: one batch of 2 per pass, 2 passes
    for k in source:
        if not k.endswith(("running_mean", "running_var", "num_batches_tracked")):
            assert torch.equal(adapted[k], source[k]), k
