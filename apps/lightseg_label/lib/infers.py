"""MONAI Label inference tasks that run a monai_lightseg bundle through the package's own pipeline.

Why not MONAI Label's ``BundleInferTask``: it imports ``monailabel.transform.post``, which imports torchvision at
module level (only the CUDA build is on the package index, and it fails next to the CPU torch); and it re-derives
pre- and post-processing from the config, while :class:`~monai_lightseg.inference.BundleSegmenter` runs the
bundle's own (the polyp bundles' scale rule, speck removal, inversion), so the served mask equals the mask the
package computes for the same file.

Labels returned: 2D a PNG (H, W) at the image's size, 3D a NIfTI on the image's grid; values 0 background and
1..K the bundle's ``channel_def`` classes (``labels`` in ``/info``: name -> value).
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from monailabel.interfaces.tasks.infer_v2 import InferTask, InferType
from PIL import Image

logger = logging.getLogger(__name__)

#: bundle folder -> (mtime of its model.pt, BundleSegmenter), shared by the tasks of one bundle
_LOADED: dict[Path, tuple[int, Any]] = {}
_LOCK = threading.Lock()  # guards loading, not running: a loaded bundle is read-only at inference


class _BundleTask(InferTask):
    """Shared: the bundle's segmenter, loaded at the first request and kept (a warm server answers fast)."""

    def __init__(self, bundle: Path, type: InferType, description: str, config: dict | None = None) -> None:
        self.bundle = Path(bundle)
        metadata = json.loads((self.bundle / "configs" / "metadata.json").read_text(encoding="utf-8"))
        image = metadata["network_data_format"]["inputs"]["image"]
        channels = metadata["network_data_format"]["outputs"]["pred"].get("channel_def", {})
        names = {int(k): v for k, v in channels.items() if int(k) != 0 or len(channels) == 1}
        labels = {v: (1 if len(channels) == 1 else k) for k, v in names.items()}
        super().__init__(type, labels, len(image["spatial_shape"]), description, config)
        self.metadata = metadata

    def segmenter(self):
        """The loaded bundle, shared by every task of that bundle (automatic and click-guided load it once); loaded
        again when its ``models/model.pt`` changed (a fine-tune, which MONAI Label runs in another process, wrote
        new weights)."""
        weights = self.bundle / "models" / "model.pt"
        with _LOCK:
            stamp = weights.stat().st_mtime_ns
            loaded = _LOADED.get(self.bundle)
            if loaded is None or loaded[0] != stamp:
                from monai_lightseg.inference import BundleSegmenter

                loaded = _LOADED[self.bundle] = (stamp, BundleSegmenter(self.bundle))
            return loaded[1]

    def is_valid(self) -> bool:
        return (self.bundle / "models" / "model.pt").is_file()

    def _png(self, labels: np.ndarray, start: float, **extra) -> tuple[str, dict]:
        """A 2D label map as a PNG file, with the result's JSON."""
        out = tempfile.NamedTemporaryFile(suffix=".png", prefix="lightseg_", delete=False).name
        Image.fromarray(labels.astype(np.uint8)).save(out)
        return out, {"label_names": self.labels, "latencies": {"total": round(time.time() - start, 3)}, **extra}


class AutoSegmentation(_BundleTask):
    """The bundle on the whole image (3D bundles with ``monai_lightseg_localisation``: whole heads located,
    cropped, segmented and pasted back; crops as they are)."""

    def __init__(self, bundle: Path) -> None:
        super().__init__(bundle, InferType.SEGMENTATION, f"automatic segmentation: {bundle.name}")

    def __call__(self, request: dict[str, Any]) -> tuple[str, dict]:
        start = time.time()
        image = request["image"]
        if self.dimension == 2:
            return self._png(self.segmenter()(image), start)
        return self._segment_volume(image, request, start)

    def _segment_volume(self, image: str, request: dict[str, Any], start: float) -> tuple[str, dict]:
        import SimpleITK as sitk

        from monai_lightseg.io.writers import write_nifti_mask
        from monai_lightseg.localisation import segment_whole_head

        if Path(image).is_dir():  # a DICOM series, as MONAI Label's DICOMweb datastore hands it over
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(image)))
            study = reader.Execute()
        else:
            study = sitk.ReadImage(str(image))
        segmenter = self.segmenter()
        if self.metadata.get("monai_lightseg_localisation") == "hippocampus_mni152":
            result = segment_whole_head(study, segmenter, names=segmenter.segment_names)
            labels, extra = result.labels, {"sides": result.sides, "localised": result.localised}
        else:
            labels, extra = segmenter(image), {}
        out = Path(tempfile.mkdtemp(prefix="lightseg_")) / "label.nii.gz"
        write_nifti_mask(labels, study, out)
        return str(out), {"label_names": self.labels, "latencies": {"total": round(time.time() - start, 3)}, **extra}


class ClickSegmentation(_BundleTask):
    """2D, click-guided: each foreground click (``"foreground": [[x, y], ...]``, x = column, y = row) is segmented
    in a ``window``-pixel crop around it at the bundle's training scale and pasted back
    (:func:`monai_lightseg.inference.segment_around_clicks`); background clicks drop what they touch."""

    def __init__(self, bundle: Path, window: int = 384) -> None:
        super().__init__(bundle, InferType.DEEPGROW, f"click-guided segmentation: {bundle.name}",
                         config={"window": window})  # fmt: skip

    def __call__(self, request: dict[str, Any]) -> tuple[str, dict]:
        from monai_lightseg.inference import segment_around_clicks

        start = time.time()
        foreground = [p[:2] for p in request.get("foreground", [])]
        background = [p[:2] for p in request.get("background", [])]
        window = int(request.get("window", self.config()["window"]))
        labels = segment_around_clicks(self.segmenter(), request["image"], foreground, background, window=window)
        return self._png(labels, start, clicks=len(foreground))
