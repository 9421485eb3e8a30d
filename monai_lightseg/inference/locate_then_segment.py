"""Locate-then-segment: a coarse pass finds the lesions, only windows around them run at native resolution."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from typing import Any, Callable

import torch
import torch.nn.functional as F
from monai.data.utils import compute_importance_map, dense_patch_slices
from monai.inferers import Inferer, SlidingWindowInferer
from monai.utils import ensure_tuple_rep
from scipy import ndimage
from torch import nn

from monai_lightseg.inference.runtimes import OnnxRuntimeNetwork, to_preferred_memory_format
from monai_lightseg.networks.reparameterize import reparameterize

__all__ = ["LocateThenSegmentInferer"]

Box = tuple[tuple[int, ...], tuple[int, ...]]  # (start, stop) per spatial dim, stop exclusive


class LocateThenSegmentInferer(Inferer):
    """A MONAI ``Inferer`` for images much larger than the lesions in them (usable as a bundle's ``inferer``).

    1. **Locate**: the same network runs on the image downsampled by ``downsample`` (MONAI's sliding window when
       even that is larger than ``roi_size``); foreground probability above ``locate_threshold`` gives connected
       components (scipy), each a box in native coordinates with ``margin`` pixels added. Overlapping boxes merge.
    2. **Segment**: each box is covered at native resolution by ``roi_size`` windows (one window when the box is
       smaller: the window is centred on it; tiles with ``overlap`` when it is larger), and the windows of all
       boxes go through the network together in batches of ``sw_batch_size``.
    3. **Paste back**: window logits are blended into a full-size map with MONAI's Gaussian (or constant)
       importance map, so overlapping windows and boxes merge as in ``SlidingWindowInferer``; pixels no window
       covered get ``background_logit`` (a confident background).

    Falls back to full-resolution ``SlidingWindowInferer`` (same ROI, overlap, blending) when locating cannot
    pay off or cannot be trusted: the image needs at most ``min_windows`` windows anyway; the boxes cover more
    than ``max_coverage`` of the image; there are more than ``max_boxes`` of them; or more than
    ``max_uncertain`` of the coarse image is undecided (probability between ``locate_threshold`` and 0.5).
    With no component at all the result is background everywhere and no native-resolution window runs.
    Where at most ``max_lesions`` lesions are expected (one polyp per frame, say), the located path keeps only
    the components with the largest probability mass (the coarse probability summed over the component, so a
    large region outranks a small confident one): the rest are not segmented, cost no time and leave no mark.
    More than ``max_boxes`` components still mean "fall back" (a coarse pass that finds that many cannot be
    trusted to rank them). It is a prior the caller brings: a second, smaller or less confident lesion is
    dropped. The full-sliding-window fallback and given locations are not filtered.

    Given locations replace the coarse pass (user clicks, prior annotations, MONAI Label): pass
    ``points=[(y, x), ...]`` (one window centred on each) or ``boxes=[(y0, x0, y1, x1), ...]`` (start and
    exclusive stop per spatial dim, ``margin`` added) as keyword arguments of the call; an empty list means
    "nothing here".

    Memory: the full-size output lives on ``device`` (default: the input's device); blending sums are kept per
    region (merged boxes grown to the ROI), not image-sized, so besides the output the inferer holds buffers the
    size of the lesions' regions. The network runs on ``sw_device`` (default: the input's device) one batch of
    windows at a time, so GPU memory is bounded by ``sw_batch_size`` windows whatever the image size. With
    ``amp`` the network runs under CUDA autocast when ``sw_device`` is a CUDA device.

    Why written here: MONAI's ``SlidingWindowInferer`` covers one rectangular region with a regular grid; it
    cannot take a set of boxes, nor batch windows from several boxes. Window placement
    (``dense_patch_slices``), blending weights (``compute_importance_map``) and the fallback are MONAI's.

    Inputs: (N, C, *S) with len(S) in (2, 3). Output: logits (N, K, *S) on ``device``, K the network's output
    channels (1: sigmoid; > 1: softmax with channel 0 the background). ``last_run`` describes the last call
    (path taken, boxes, windows run) for logs and benchmarks.

    Args:
        roi_size: window size at native resolution (the bundle's training ROI).
        sw_batch_size: windows per network call.
        overlap: overlap of tiles in a box larger than the ROI, and of the fallback's windows.
        mode: blending, ``"gaussian"`` or ``"constant"``.
        downsample: factor (or one per spatial dim) of the coarse pass.
        locate_threshold: foreground probability that marks a coarse pixel as lesion (below the final 0.5,
            so that the coarse pass favours recall; the native-resolution pass decides the mask).
        margin: pixels added on every side of a located box (native resolution).
        min_size: smallest component kept, in coarse pixels.
        max_lesions: on the located path, keep at most this many components, those with the largest probability
            mass (``None``: all).
        max_coverage, max_boxes, max_uncertain, min_windows: the fallback rules above.
        background_logit: logit written where no window ran (-10: probability 4.5e-5).
        sw_device, device: where the network runs, and where the output is assembled.
        amp: CUDA autocast for the network.
        reparameterize: run a network in eval mode as :func:`monai_lightseg.networks.reparameterize` folds it
            (same output to rounding, less time; on the CPU in channels-last when it has depthwise convs); the
            folded copy is kept until the network's weights change.
            A network in training mode is always used as it is.
    """

    def __init__(
        self,
        roi_size: Sequence[int] | int,
        sw_batch_size: int = 4,
        overlap: float = 0.25,
        mode: str = "gaussian",
        downsample: Sequence[int] | int = 4,
        locate_threshold: float = 0.3,
        margin: Sequence[int] | int = 16,
        min_size: int = 4,
        max_coverage: float = 0.5,
        max_boxes: int = 32,
        max_uncertain: float = 0.25,
        min_windows: int = 4,
        background_logit: float = -10.0,
        sw_device: torch.device | str | None = None,
        device: torch.device | str | None = None,
        amp: bool = True,
        reparameterize: bool = True,
        max_lesions: int | None = None,
    ) -> None:
        super().__init__()
        self.reparameterize = reparameterize
        self._folded: tuple[tuple, nn.Module] | None = None  # (what it was folded from, the folded network)
        if not 0.0 <= overlap < 1.0:
            raise ValueError(f"LocateThenSegmentInferer: overlap must be in [0, 1), got {overlap!r}.")
        if not 0.0 < locate_threshold < 1.0:
            raise ValueError(f"LocateThenSegmentInferer: locate_threshold must be in (0, 1), got {locate_threshold!r}.")
        if max_lesions is not None and max_lesions < 1:
            raise ValueError(f"LocateThenSegmentInferer: max_lesions must be >= 1 or None, got {max_lesions!r}.")
        if sw_batch_size < 1:
            raise ValueError(f"LocateThenSegmentInferer: sw_batch_size must be >= 1, got {sw_batch_size!r}.")
        self.roi_size = roi_size
        self.sw_batch_size = sw_batch_size
        self.overlap = overlap
        self.mode = mode
        self.downsample = downsample
        self.locate_threshold = locate_threshold
        self.margin = margin
        self.min_size = min_size
        self.max_lesions = max_lesions
        self.max_coverage = max_coverage
        self.max_boxes = max_boxes
        self.max_uncertain = max_uncertain
        self.min_windows = min_windows
        self.background_logit = background_logit
        self.sw_device = sw_device
        self.device = device
        self.amp = amp
        self.last_run: dict[str, Any] = {}

    # ------------------------------------------------------------------------------------------------ helpers
    def _sliding_window(self, roi: tuple[int, ...]) -> SlidingWindowInferer:
        return SlidingWindowInferer(
            roi_size=roi,
            sw_batch_size=self.sw_batch_size,
            overlap=self.overlap,
            mode=self.mode,
            sw_device=self.sw_device,
            device=self.device,
        )

    def _autocast(self, device: torch.device):
        if self.amp and device.type == "cuda":
            return torch.autocast("cuda")
        return contextlib.nullcontext()

    @staticmethod
    def _foreground(logits: torch.Tensor) -> torch.Tensor:
        """(1, K, *S) logits -> (*S) foreground probability."""
        logits = logits.float()
        if logits.shape[1] == 1:
            return torch.sigmoid(logits[0, 0])
        return 1.0 - torch.softmax(logits, dim=1)[0, 0]

    def _windows_needed(self, shape: tuple[int, ...], roi: tuple[int, ...]) -> int:
        steps = [max(1, int(r * (1 - self.overlap))) for r in roi]
        return math.prod(max(1, math.ceil((s - r) / st) + 1) if s > r else 1 for s, r, st in zip(shape, roi, steps))

    # ------------------------------------------------------------------------------------------------ locate
    def locate(self, image: torch.Tensor, network: Callable[..., torch.Tensor], *args: Any, **kwargs: Any):
        """Boxes around the lesions of ``image`` (1, C, *S), or ``None`` when the coarse pass says "fall back"."""
        dims = image.ndim - 2
        shape = tuple(image.shape[2:])
        factor = ensure_tuple_rep(self.downsample, dims)
        roi = ensure_tuple_rep(self.roi_size, dims)
        coarse_shape = tuple(max(1, math.ceil(s / f)) for s, f in zip(shape, factor))
        coarse = F.interpolate(image.float(), size=coarse_shape, mode="area")
        sw_device = torch.device(self.sw_device) if self.sw_device is not None else image.device
        with torch.no_grad(), self._autocast(sw_device):
            logits = self._sliding_window(roi)(coarse, network, *args, **kwargs)
        probability = self._foreground(logits).cpu().numpy()
        found = probability > self.locate_threshold
        undecided = float(((probability > self.locate_threshold) & (probability <= 0.5)).mean())
        self.last_run["undecided_fraction"] = undecided
        if undecided > self.max_uncertain:
            self.last_run["fallback"] = f"undecided fraction {undecided:.2f} > {self.max_uncertain}"
            return None
        labels, n = ndimage.label(found, structure=ndimage.generate_binary_structure(dims, dims))
        sizes = ndimage.sum_labels(found, labels, index=range(1, n + 1)) if n else []
        kept = [i for i in range(n) if sizes[i] >= self.min_size]
        self.last_run["components"] = len(kept)
        if self.max_lesions is not None and len(kept) > self.max_boxes:
            self.last_run["fallback"] = f"{len(kept)} components > max_boxes {self.max_boxes}"
            return None
        if self.max_lesions is not None and len(kept) > self.max_lesions:
            mass = ndimage.sum_labels(probability, labels, index=range(1, n + 1))
            kept = sorted(kept, key=lambda i: -mass[i])[: self.max_lesions]
        margin = ensure_tuple_rep(self.margin, dims)
        boxes: list[Box] = []
        objects = ndimage.find_objects(labels)
        for index in sorted(kept):
            sl = objects[index]
            if sl is None:
                continue
            start = tuple(max(0, s.start * f - m) for s, f, m in zip(sl, factor, margin))
            stop = tuple(min(size, s.stop * f + m) for s, f, m, size in zip(sl, factor, margin, shape))
            boxes.append((start, stop))
        boxes = _merge_overlapping(boxes)
        self.last_run["located_boxes"] = len(boxes)
        if len(boxes) > self.max_boxes:
            self.last_run["fallback"] = f"{len(boxes)} boxes > max_boxes {self.max_boxes}"
            return None
        # merged boxes do not overlap, so their volumes add up to the covered volume
        coverage = sum(math.prod(b - a for a, b in zip(*box)) for box in boxes) / math.prod(shape)
        self.last_run["box_coverage"] = coverage
        if coverage > self.max_coverage:
            self.last_run["fallback"] = f"boxes cover {coverage:.2f} > max_coverage {self.max_coverage}"
            return None
        return boxes

    # ------------------------------------------------------------------------------------------------ call
    def __call__(
        self,
        inputs: torch.Tensor,
        network: Callable[..., torch.Tensor],
        *args: Any,
        points: Sequence[Sequence[float]] | None = None,
        boxes: Sequence[Sequence[int]] | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        if inputs.ndim not in (4, 5):
            raise ValueError(
                f"LocateThenSegmentInferer: inputs must be (N, C, H, W) or (N, C, D, H, W), got {tuple(inputs.shape)}."
            )
        network = self._deployed(network)
        outputs = [self._one(inputs[i : i + 1], network, points, boxes, *args, **kwargs) for i in range(len(inputs))]
        return torch.cat(outputs, dim=0)

    def _deployed(self, network: Callable[..., torch.Tensor]) -> Callable[..., torch.Tensor]:
        """The folded copy of an eval-mode module, made once per set of weights: keyed by the module and the
        version counters of its parameters and buffers (an in-place update such as ``load_state_dict`` or an
        optimiser step changes them). A network already deployed on another runtime (ONNX Runtime, TorchScript:
        :func:`monai_lightseg.inference.deploy`, folded there) is used as it is."""
        deployed = isinstance(network, (OnnxRuntimeNetwork, torch.jit.ScriptModule))  # a frozen script has no .training
        if not self.reparameterize or not isinstance(network, nn.Module) or deployed or network.training:
            return network
        tensors = [*network.parameters(), *network.buffers()]
        key = (id(network), tuple(t._version for t in tensors), tuple(t.data_ptr() for t in tensors))
        if self._folded is None or self._folded[0] != key:
            self._folded = (key, to_preferred_memory_format(reparameterize(network)))
        return self._folded[1]

    def _one(self, image, network, points, boxes, *args, **kwargs) -> torch.Tensor:
        dims = image.ndim - 2
        shape = tuple(image.shape[2:])
        roi = tuple(int(r) for r in ensure_tuple_rep(self.roi_size, dims))
        self.last_run = {"path": None, "boxes": 0, "windows": 0}
        if points is not None or boxes is not None:
            located = self._given(points or [], boxes or [], shape, dims)
            self.last_run["path"] = "given"
        elif self._windows_needed(shape, roi) <= self.min_windows:
            located = None
            self.last_run["fallback"] = "image needs few windows"
        else:
            located = self.locate(image, network, *args, **kwargs)
            self.last_run["path"] = "located"
        if located is None:
            self.last_run["path"] = "full"
            self.last_run["windows"] = self._windows_needed(shape, roi)
            sw_device = torch.device(self.sw_device) if self.sw_device is not None else image.device
            with torch.no_grad(), self._autocast(sw_device):
                return self._sliding_window(roi)(image, network, *args, **kwargs).float()
        return self._segment_boxes(image, network, located, roi, *args, **kwargs)

    def _given(self, points, boxes, shape, dims) -> list[Box]:
        roi = ensure_tuple_rep(self.roi_size, dims)
        margin = ensure_tuple_rep(self.margin, dims)
        out: list[Box] = []
        for p in points:
            if len(p) != dims:
                raise ValueError(f"LocateThenSegmentInferer: point {tuple(p)} must have {dims} coordinates.")
            start = tuple(int(round(c)) - r // 2 for c, r in zip(p, roi))
            out.append((start, tuple(s + r for s, r in zip(start, roi))))
        for b in boxes:
            if len(b) != 2 * dims:
                raise ValueError(
                    f"LocateThenSegmentInferer: box {tuple(b)} must have {2 * dims} numbers (start, stop)."
                )
            start = tuple(int(b[d]) - m for d, m in zip(range(dims), margin))
            stop = tuple(int(b[dims + d]) + m for d, m in zip(range(dims), margin))
            out.append((start, stop))
        clipped = []
        for start, stop in out:
            start = tuple(min(max(0, a), s) for a, s in zip(start, shape))
            stop = tuple(min(max(0, b), s) for b, s in zip(stop, shape))
            if all(b > a for a, b in zip(start, stop)):
                clipped.append((start, stop))
        return _merge_overlapping(clipped)

    def _segment_boxes(self, image, network, boxes: list[Box], roi, *args, **kwargs) -> torch.Tensor:
        shape = tuple(image.shape[2:])
        device = torch.device(self.device) if self.device is not None else image.device
        sw_device = torch.device(self.sw_device) if self.sw_device is not None else image.device
        # images smaller than the ROI along a dim are zero-padded at the end (as SlidingWindowInferer pads)
        padded_shape = tuple(max(s, r) for s, r in zip(shape, roi))
        if padded_shape != shape:
            pad = [p for s, ps in zip(reversed(shape), reversed(padded_shape)) for p in (0, ps - s)]
            image = F.pad(image, pad)
        # each box grown to at least the ROI; grown boxes that overlap merge into one region, tiled by windows
        regions = _merge_overlapping([_expand_to_roi(a, b, roi, padded_shape) for a, b in boxes])
        interval = tuple(max(1, int(r * (1 - self.overlap))) for r in roi)
        windows = []  # (region index, slices in the region, slices in the image)
        for k, (start, stop) in enumerate(regions):
            size = tuple(b - a for a, b in zip(start, stop))
            for sl in dense_patch_slices(size, roi, interval):
                windows.append((k, sl, tuple(slice(a + w.start, a + w.stop) for a, w in zip(start, sl))))
        self.last_run.update({"boxes": len(boxes), "regions": len(regions), "windows": len(windows)})
        weight_map = compute_importance_map(roi, mode=self.mode, sigma_scale=0.125, device=device).float()
        # blending sums live in one buffer per region, not in image-sized maps: a 512x512x600 volume with one
        # lesion needs the output and a few ROI-sized buffers, not three more copies of the volume
        sums: list[torch.Tensor] = []
        counts = [torch.zeros((1, 1, *(b - a for a, b in zip(*region))), device=device) for region in regions]
        for i in range(0, len(windows), self.sw_batch_size):
            batch_windows = windows[i : i + self.sw_batch_size]
            batch = torch.cat([image[(slice(None), slice(None), *w)] for _, _, w in batch_windows]).to(sw_device)
            with torch.no_grad(), self._autocast(sw_device):
                logits = network(batch, *args, **kwargs)
            logits = logits.float().to(device)
            if not sums:
                sums = [torch.zeros((1, logits.shape[1], *c.shape[2:]), device=device) for c in counts]
            for (k, local, _), pred in zip(batch_windows, logits):
                sums[k][(0, slice(None), *local)] += pred * weight_map
                counts[k][(0, slice(None), *local)] += weight_map
        if sums:
            channels = sums[0].shape[1]
        else:  # no box: background everywhere, without knowing the channel count from a window
            channels = self._channels(image, network, roi, sw_device, *args, **kwargs)
        background = self._background(channels, len(shape), device)
        output = torch.empty((1, channels, *padded_shape), device=device)
        output.copy_(background.expand_as(output))
        for (start, stop), total, count in zip(regions, sums, counts):
            region = (slice(None), slice(None), *(slice(a, b) for a, b in zip(start, stop)))
            output[region] = torch.where(count > 0, total / count.clamp(min=1e-12), background)
        crop = (slice(None), slice(None), *(slice(0, s) for s in shape))
        return output[crop]

    def _background(self, channels: int, dims: int, device: torch.device) -> torch.Tensor:
        """Logits of a confident background, (1, K, 1, ...) to broadcast: ``background_logit`` for a sigmoid
        output; for softmax, channel 0 gets its negation so that the background wins."""
        value = torch.full((channels,), self.background_logit, device=device)
        if channels > 1:
            value[0] = -self.background_logit
        return value.view(1, channels, *([1] * dims))

    def _channels(self, image, network, roi, sw_device, *args, **kwargs) -> int:
        """The network's output channel count, from one ROI-sized forward pass (only when nothing was found)."""
        probe = torch.zeros((1, image.shape[1], *roi), device=sw_device, dtype=image.dtype)
        with torch.no_grad(), self._autocast(sw_device):
            return int(network(probe, *args, **kwargs).shape[1])


def _expand_to_roi(start, stop, roi, shape) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Grow a box to at least the ROI per dim, centred, shifted to lie inside ``shape`` (which is >= ROI)."""
    new_start, new_stop = [], []
    for a, b, r, s in zip(start, stop, roi, shape):
        if b - a < r:
            a = (a + b) // 2 - r // 2
            b = a + r
        a, b = (0, b - a) if a < 0 else (a, b)
        a, b = (a - (b - s), s) if b > s else (a, b)
        new_start.append(max(0, a))
        new_stop.append(min(s, b))
    return tuple(new_start), tuple(new_stop)


def _merge_overlapping(boxes: list[Box]) -> list[Box]:
    """Merge boxes that overlap or touch, until none do (their union's bounding box)."""
    boxes = list(boxes)
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                (a0, a1), (b0, b1) = boxes[i], boxes[j]
                if all(s0 <= t1 and t0 <= s1 for s0, s1, t0, t1 in zip(a0, a1, b0, b1)):
                    boxes[i] = (tuple(map(min, a0, b0)), tuple(map(max, a1, b1)))
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return sorted(boxes)
