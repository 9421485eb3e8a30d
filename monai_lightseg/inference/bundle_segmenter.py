"""Segment files one at a time with a MONAI bundle's own inference pipeline, returning the mask as an array."""

from __future__ import annotations

import contextlib
import json
import warnings
from pathlib import Path

import numpy as np
import torch
from monai.bundle import ConfigParser
from monai.data import MetaTensor
from monai.transforms import Compose, Invertd, SaveImaged

from monai_lightseg.config_flags import as_bool
from monai_lightseg.inference.flip_averaging import FlipAveragingInferer
from monai_lightseg.inference.runtimes import deploy_as_configured
from monai_lightseg.inference.scale_averaging import ScaleAveragingInferer
from monai_lightseg.transforms import BlendMaskOverlayd

__all__ = ["BundleSegmenter"]


def _find_wrapper(inferer, kind: type):
    """The first ``kind`` in a chain of wrapping inferers (each holding the next as ``.inferer``), or None."""
    seen = 0
    while inferer is not None and seen < 16:
        if isinstance(inferer, kind):
            return inferer
        inferer, seen = getattr(inferer, "inferer", None), seen + 1
    return None


#: what a bundle's postprocessing makes for its own output folder, not for the mask: files and overlays
_OUTPUTS = (SaveImaged, BlendMaskOverlayd)


class BundleSegmenter:
    """Load ``BUNDLE/configs/inference.json`` once (network, weights, preprocessing, inferer, postprocessing)
    and segment one file per call, the way ``monai.bundle run`` would, but returning the mask instead of
    writing it: the batch command decides names, formats and atomic writes.

    The bundle's postprocessing runs without its writers (``SaveImaged``) and overlays (``BlendMaskOverlayd``);
    the rest runs as in the bundle, including steps that derive helper keys from the image (a field-of-view
    mask that ``MaskIntensityd`` applies to ``pred``). Geometry changed by the preprocessing (spacing,
    orientation, crops, the polyp bundles' scale rule) is undone by the bundle's own ``Invertd`` where its
    postprocessing has one, in its place (so the mask is the one ``monai.bundle run`` writes), otherwise with
    MONAI's ``Invertd`` before the postprocessing; either way the mask lies on the grid of the file as the
    bundle's loader read it.

    The bundle's postprocessing must make the output discrete (threshold or argmax), as MONAI bundles do before
    ``SaveImaged``; a multi-channel output is reduced with argmax.

    Output of :meth:`__call__`: a uint8 label array in numpy order of the source, (H, W) for 2D images and
    (Z, Y, X) for volumes (SimpleITK's ``GetArrayFromImage`` order); 0 background, 1..K the channels of the
    bundle's ``channel_def`` (binary bundles: 0/1).

    The network is re-parameterised for inference (:func:`monai_lightseg.networks.reparameterize`: batch norms
    folded, linear branches merged; same masks, less time) when the bundle's ``inference.json`` says
    ``"reparameterize": true``, unless ``reparameterize`` says otherwise.

    Args:
        bundle_dir: the bundle folder (``configs/inference.json``, ``configs/metadata.json``, ``models/model.pt``).
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; default: the bundle's own choice (CUDA when present).
        reparameterize: True or False overrides the bundle's ``reparameterize`` setting (default: absent = False).
        runtime: ``"eager"``, ``"torchscript"``, ``"onnxruntime"`` or ``"auto"``
            (:mod:`monai_lightseg.inference.runtimes`; all but eager always fold; ONNX Runtime runs on the CPU, so
            ``auto`` takes it for a CPU device with the ``onnx`` extra installed and eager otherwise); default: the
            bundle's ``runtime`` setting, else eager.
        flip_tta: True or False overrides the bundle's ``flip_tta`` setting (default: absent = False): the mean logit
            over the image and its flips along the bundle's ``flip_tta_axes`` (every spatial axis when absent),
            :class:`~monai_lightseg.inference.FlipAveragingInferer`. The inferer is the bundle's ``tta_inferer``
            when its config defines one (every shipped bundle does), so an edit there applies here as in
            ``python -m monai.bundle run``.
        scale_tta: True or False overrides the bundle's ``scale_tta`` setting (default: absent = False): the mean
            logit over the image resized by each of the bundle's ``scale_tta_factors``,
            :class:`~monai_lightseg.inference.ScaleAveragingInferer` around the flips. A bundle without that setting
            (the 3D and vessel bundles) refuses ``scale_tta=True`` with a ValueError.
    """

    def __init__(
        self,
        bundle_dir: str | Path,
        device: str | None = None,
        reparameterize: bool | None = None,
        runtime: str | None = None,
        flip_tta: bool | None = None,
        scale_tta: bool | None = None,
    ) -> None:
        self.bundle_dir = Path(bundle_dir)
        config = self.bundle_dir / "configs" / "inference.json"
        weights = self.bundle_dir / "models" / "model.pt"
        for path in (config, weights):
            if not path.is_file():
                raise FileNotFoundError(f"{self.bundle_dir}: not a usable bundle, {path.name} is missing.")
        self.metadata = json.loads((self.bundle_dir / "configs" / "metadata.json").read_text(encoding="utf-8"))
        parser = ConfigParser()
        parser.read_config(str(config))
        parser["bundle_root"] = str(self.bundle_dir)
        if device is not None:
            parser["device"] = f"$torch.device({device!r})"
        asked = None if flip_tta is None else as_bool(flip_tta, "flip_tta")
        if asked is not None:  # every override before the first parse: setting an item resets parsed objects
            parser["flip_tta"] = asked
        asked_scale = None if scale_tta is None else as_bool(scale_tta, "scale_tta")
        if asked_scale is not None:
            if "scale_tta" not in parser:
                if asked_scale:
                    raise ValueError(
                        f'{config}: this bundle has no scale test-time augmentation (no "scale_tta"; a bundle that '
                        'has one sets "scale_tta", "scale_tta_factors" and a ScaleAveragingInferer in "tta_inferer").'
                    )
            else:
                parser["scale_tta"] = asked_scale
        self.device = parser.get_parsed_content("device")
        self.amp = bool(parser.get_parsed_content("amp")) and self.device.type == "cuda"
        self.network = parser.get_parsed_content("network")
        self.network.load_state_dict(torch.load(weights, map_location=self.device, weights_only=True))
        self.network.eval()
        self.runtime = runtime or parser.get_parsed_content("runtime", default="eager")
        if reparameterize is None:
            reparameterize = parser.get_parsed_content("reparameterize", default=False)
        self.network = deploy_as_configured(self.network, reparameterize, self.runtime)
        self.preprocessing = parser.get_parsed_content("preprocessing")
        # the bundle's own "tta_inferer" (the inferer, averaged over flipped copies when the bundle's "flip_tta", or
        # ``flip_tta``, says so), so that a user's change to it in the config reaches this path too; a bundle
        # without one gets the same wrapper built here
        if "tta_inferer" in parser:
            self.inferer = parser.get_parsed_content("tta_inferer")
            for name, wanted, kind in (
                ("flip_tta", asked, FlipAveragingInferer),
                ("scale_tta", asked_scale if "scale_tta" in parser else None, ScaleAveragingInferer),
            ):
                wrapper = _find_wrapper(self.inferer, kind)
                enabled = wrapper is not None and wrapper.enabled
                if wanted is not None and enabled is not wanted:  # asked for off without a wrapper: nothing to say
                    warnings.warn(
                        f"{config}: {name}={wanted} was asked for, but this bundle's tta_inferer does not follow "
                        f'"{name}" (it was edited); its own setting is used.',
                        stacklevel=2,
                    )
        else:
            self.inferer = FlipAveragingInferer(
                parser.get_parsed_content("inferer"),
                spatial_axes=parser.get_parsed_content("flip_tta_axes", default=None),
                enabled=parser.get_parsed_content("flip_tta", default=False),
            )
            if "scale_tta" in parser:
                if "scale_tta_factors" not in parser:
                    raise ValueError(f'{config}: "scale_tta" needs "scale_tta_factors" (e.g. [1.0, 1.25]).')
                self.inferer = ScaleAveragingInferer(
                    self.inferer,
                    factors=parser.get_parsed_content("scale_tta_factors"),
                    enabled=parser.get_parsed_content("scale_tta"),
                )
        post = parser.get_parsed_content("postprocessing")
        kept = [t for t in post.transforms if not isinstance(t, _OUTPUTS)]
        self.postprocessing = Compose(kept)
        # the bundle's own Invertd runs where the bundle puts it (the polyp bundles drop specks at the network's
        # scale, then invert); a bundle without one gets its preprocessing inverted before the postprocessing
        self.invert = None
        if not any(isinstance(t, Invertd) for t in kept):
            self.invert = Invertd(keys="pred", transform=self.preprocessing, orig_keys="image", nearest_interp=False)
        image_format = self.metadata["network_data_format"]["inputs"]["image"]
        self.spatial_dims = len(image_format["spatial_shape"])
        self.in_channels = int(image_format["num_channels"])
        channel_def = self.metadata["network_data_format"]["outputs"]["pred"].get("channel_def", {})
        self.labels = {int(k): v for k, v in channel_def.items()}

    @property
    def segment_names(self) -> dict[int, str]:
        """Label value -> name of what the mask holds (binary: ``{1: channel 0's name}``)."""
        if len(self.labels) <= 1:
            return {1: next(iter(self.labels.values()), "foreground")}
        return {k: v for k, v in self.labels.items() if k != 0}

    def __call__(self, path: str | Path) -> np.ndarray:
        data = self.preprocessing({"image": str(path)})
        image = data["image"]
        autocast = torch.autocast("cuda") if self.amp else contextlib.nullcontext()
        with torch.no_grad(), autocast:
            logits = self.inferer(image.unsqueeze(0).to(self.device), self.network)[0].float().cpu()
        data["pred"] = MetaTensor(logits, meta=dict(image.meta), applied_operations=list(image.applied_operations))
        if self.invert is not None and image.applied_operations:
            data = self.invert(data)
        data = self.postprocessing(data)
        pred = torch.as_tensor(data["pred"]).cpu()
        if pred.shape[0] == 1:  # already discrete: a thresholded binary mask or an argmax label map
            labels = pred[0].round().clamp(min=0)
        else:  # one channel per class (probabilities or one-hot)
            labels = pred.argmax(dim=0)
        array = labels.numpy().astype(np.uint8)
        return np.ascontiguousarray(array.transpose(tuple(reversed(range(array.ndim)))))
