"""Replace a training sample, now and then, by a lesion-free window of itself: negative examples for data in
which every image shows a lesion."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import torch
from monai.config import KeysCollection
from monai.transforms import MapTransform, RandomizableTransform, SpatialCrop, SpatialPad

from monai_lightseg.transforms.sampling.array import lesion_free_window_starts

__all__ = ["RandLesionFreeWindowd", "RandLesionFreeWindowD", "RandLesionFreeWindowDict"]


class RandLesionFreeWindowd(RandomizableTransform, MapTransform):
    """With probability ``prob``, crop ``keys`` to a random ``window`` that holds no foreground of ``label_key``
    and pad the crop back to ``spatial_size`` by reflection (the scale stays that of the frame: no resize); a
    sample in which no such window fits is returned unchanged.

    Why: polyp datasets hold only frames with a polyp, so a network trained on whole frames has never been told
    that mucosa alone is background, and marks something in every frame it sees (docs/results.md, "Foreground
    prior"). MONAI's ``RandCropByPosNegLabeld`` draws "negative" crops centred on a background pixel, which still
    hold the lesion when it is near, and ``RandWeightedCropd`` samples uniformly when no window qualifies; neither
    skips the frames that have no lesion-free window. Reflection rather than zeros keeps the padded sample looking
    like tissue, not like a small view in a black border. Put it after a resize to the training scale and before
    any padding of the frame, so that padding is not counted as lesion-free tissue.

    Training only: it is not invertible (the crop and pad it applies are recorded on a ``MetaTensor``, but an
    ``Invertd`` over it is not supported).

    Shapes: every key (C, *S), 2D or 3D; out (C, *spatial_size) when a window was cut, else unchanged.

    Args:
        keys: the keys cropped alike (image and label).
        label_key: the label deciding what is lesion-free (non-zero = lesion).
        window: the crop's size, one per spatial dimension.
        spatial_size: the size the crop is reflect-padded to (each at most twice ``window``, a limit of
            reflection); usually the training ROI.
        prob: chance that a sample is replaced, where a lesion-free window fits. The share of all samples that
            become windows is ``prob`` times the share of frames with such a window.

    Example (training preprocessing, after ``Resized`` and before ``SpatialPadd``)::

        RandLesionFreeWindowd(keys=["image", "label"], label_key="label", window=(128, 128),
                              spatial_size=(256, 256), prob=0.3)
    """

    def __init__(
        self,
        keys: KeysCollection,
        label_key: Hashable,
        window: Sequence[int],
        spatial_size: Sequence[int],
        prob: float = 0.1,
        allow_missing_keys: bool = False,
    ) -> None:
        MapTransform.__init__(self, keys, allow_missing_keys)
        RandomizableTransform.__init__(self, prob)
        if len(window) != len(spatial_size):
            raise ValueError(
                f"RandLesionFreeWindowd: window {tuple(window)} and spatial_size {tuple(spatial_size)} differ in "
                "their number of dimensions."
            )
        if any(not 2 <= w <= s <= 2 * w for w, s in zip(window, spatial_size)):
            raise ValueError(
                f"RandLesionFreeWindowd: each window must be >= 2 and each spatial_size in [window, 2 * window] "
                f"(reflection padding), got window {tuple(window)} and spatial_size {tuple(spatial_size)}."
            )
        self.label_key = label_key
        self.window = tuple(int(w) for w in window)
        self.pad = SpatialPad(spatial_size=spatial_size, method="symmetric", mode="reflect")
        self._start: list[int] | None = None

    def randomize(self, label: torch.Tensor) -> None:  # type: ignore[override]
        super().randomize(None)
        self._start = None
        if not self._do_transform:
            return
        starts = lesion_free_window_starts(label, self.window)
        if len(starts):
            self._start = starts[int(self.R.randint(len(starts)))].tolist()

    def __call__(self, data: Mapping[Hashable, torch.Tensor]) -> dict[Hashable, torch.Tensor]:
        d = dict(data)
        if self.label_key not in d:
            if self.allow_missing_keys:
                return d
            raise KeyError(f"RandLesionFreeWindowd: the sample has no label key {self.label_key!r} (keys: {list(d)}).")
        self.randomize(d[self.label_key])
        if self._start is None:
            return d
        crop = SpatialCrop(roi_start=self._start, roi_end=[s + w for s, w in zip(self._start, self.window)])
        for key in self.key_iterator(d):
            d[key] = self.pad(crop(d[key]))
        return d


RandLesionFreeWindowD = RandLesionFreeWindowDict = RandLesionFreeWindowd
