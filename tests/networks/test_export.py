"""Every registered net scripts with TorchScript and exports to ONNX, in 2D and 3D, with equal outputs."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from monai_lightseg.networks import create_net, list_nets

SHAPES = {2: (1, 3, 40, 56), 3: (1, 1, 20, 24, 16)}
# torch 2.13 deprecates TorchScript itself; that warning (and only it) is expected here.
TORCHSCRIPT_DEPRECATION = r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning"


def _net(name: str, spatial_dims: int) -> torch.nn.Module:
    shape = SHAPES[spatial_dims]
    return create_net(name, "tiny", spatial_dims=spatial_dims, in_channels=shape[1], out_channels=2).eval()


@pytest.mark.filterwarnings(TORCHSCRIPT_DEPRECATION)  # outermost mark wins: ignore this one ...
@pytest.mark.filterwarnings("error")  # ... and turn every other warning into a failure
@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("name", list_nets())
def test_torchscript_round_trip(name: str, spatial_dims: int) -> None:
    net = _net(name, spatial_dims)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(net), buffer)
    buffer.seek(0)
    loaded = torch.jit.load(buffer)
    x = torch.randn(SHAPES[spatial_dims])
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), net(x), rtol=1e-4, atol=1e-5)
    loaded.train()  # the scripted module keeps the training-mode deep-supervision branch
    assert loaded(x).dim() in (len(x.shape), len(x.shape) + 1)


@pytest.mark.slow
@pytest.mark.parametrize("spatial_dims", [2, 3])
@pytest.mark.parametrize("name", list_nets())
def test_onnx_matches_pytorch(name: str, spatial_dims: int, tmp_path) -> None:
    ort = pytest.importorskip("onnxruntime")
    net = _net(name, spatial_dims)
    x = torch.randn(SHAPES[spatial_dims])
    path = tmp_path / f"{name}_{spatial_dims}d.onnx"
    torch.onnx.export(net, (x,), str(path), input_names=["image"], output_names=["logits"], dynamo=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"image": x.numpy()})
    with torch.no_grad():
        expected = net(x).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
