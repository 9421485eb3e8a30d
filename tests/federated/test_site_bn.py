"""The site-BN diagnostic (benchmarks/federated_site_bn.py): re-estimating BatchNorm statistics on one site's
frames changes the running statistics of every BatchNorm and nothing else."""

import sys
from pathlib import Path

import torch

from tests.conftest import REPO, SAMPLES
from tests.federated.samples import BUNDLE, CVC, KVASIR, write_datalist

sys.path.insert(0, str(REPO / "benchmarks"))
from federated_site_bn import site_statistics  # noqa: E402


def test_only_batchnorm_statistics_change(tmp_path: Path) -> None:
    from monai.bundle import ConfigParser

    datalist = write_datalist(tmp_path / "datalist.json", [KVASIR, KVASIR, CVC], [CVC])
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
