"""The mask overlay: colour only on the mask, metadata kept, clear shape errors."""

from __future__ import annotations

import pytest
import torch
from monai.data import MetaTensor

from monai_lightseg.transforms import BlendMaskOverlay, BlendMaskOverlayd


def test_overlay_colours_only_the_mask_and_keeps_metadata() -> None:
    image = MetaTensor(torch.full((3, 4, 5), 0.5), meta={"filename_or_obj": "/x/frame.png"})
    mask = torch.zeros(1, 4, 5)
    mask[0, 1, 2] = 1
    out = BlendMaskOverlay(alpha=0.5, color=(1.0, 0.0, 0.0))(image, mask)
    assert out.dtype == torch.uint8 and out.shape == (3, 4, 5)
    assert out[:, 1, 2].tolist() == [191, 64, 64]  # 0.5 * 0.5 + 0.5 * (1, 0, 0), times 255, rounded
    assert out[:, 0, 0].tolist() == [128, 128, 128]
    assert out.meta["filename_or_obj"] == "/x/frame.png"


def test_grey_image_and_dictionary_version() -> None:
    d = BlendMaskOverlayd(image_key="image", mask_key="pred", overlay_key="ov")(
        {"image": torch.zeros(1, 6, 6), "pred": torch.ones(6, 6)}
    )
    assert d["ov"].shape == (3, 6, 6) and int(d["ov"][0].min()) == 102  # 0.4 * 255


def test_overlay_errors() -> None:
    with pytest.raises(ValueError, match="alpha must be in"):
        BlendMaskOverlay(alpha=2)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        BlendMaskOverlay()(torch.zeros(4, 3, 3), torch.zeros(1, 3, 3))
    with pytest.raises(ValueError, match="mask shape"):
        BlendMaskOverlay()(torch.zeros(3, 3, 3), torch.zeros(1, 4, 3))
