"""2D photographs (endoscopy frames, fundus images, 2D DICOM pixel data) as the 8-bit RGB the 2D bundles were
trained on: one rule for the bundles' own image reader and the batch, so a file gives the same mask both ways.

Pillow's ``convert("RGB")`` is right for every 8-bit mode (palette, greyscale, with alpha, CMYK, YCbCr, 1-bit), but
clips deeper images (16-bit greyscale PNG, 32-bit integer or float TIFF) at 255: a 16-bit frame turns white.
Those are scaled instead, as the batch always did: by their maximum when it is above 255 (a deep file that holds
8-bit values keeps them); a float image whose maximum is at most 1 is taken as [0, 1]. Negative values, NaN and
infinities become 0. Why written here: MONAI's ``PILReader`` takes a converter but ships none, and
``ScaleIntensity`` would also stretch 8-bit frames, which the bundles read as 0..255.

Masks (:func:`to_binary_mask`) have the same problem the other way round: the bundles binarised them at 128, so a
0/1 label map (nnU-Net's convention and many data sets') read as empty, and evaluation reported Dice 0 on every
frame without a word (checked with the UNet polyp bundle's evaluate.json on the shipped samples saved as 0/1).
"""

from __future__ import annotations

import logging

import numpy as np
from PIL import Image

__all__ = ["DEEP_MODES", "to_binary_mask", "to_rgb8"]

logger = logging.getLogger(__name__)

#: Pillow modes with more than 8 bits per pixel, which ``convert("RGB")`` clips.
DEEP_MODES = frozenset({"I", "F", "I;16", "I;16B", "I;16L", "I;16N"})


def _scaled_to_8bit(a: np.ndarray) -> np.ndarray:
    """Any-dtype array -> uint8 by the rule above (NaN and infinities count as 0); uint8 passes unchanged."""
    if a.dtype == np.uint8:
        return a
    floating = np.issubdtype(a.dtype, np.floating)
    a = np.nan_to_num(a.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    top = float(a.max())
    if top > 255:
        a = a / top * 255
    elif floating and 0 < top <= 1:
        a = a * 255
    return a.clip(0, 255).round().astype(np.uint8)


def to_rgb8(image: Image.Image | np.ndarray) -> Image.Image:
    """An 8-bit RGB Pillow image of ``image``: a Pillow image in any mode, or pixel data (H, W), (H, W, 1),
    (H, W, 3) or (H, W, 4) of any dtype (a fourth channel is dropped as alpha). Usable as MONAI ``PILReader``'s
    ``converter`` (the 2D bundles' configs: ``{"_target_": "monai_lightseg.io.photographs.to_rgb8",
    "_mode_": "callable"}``).

    Raises:
        ValueError: pixel data of another shape, naming it.
    """
    if isinstance(image, Image.Image) and image.mode not in DEEP_MODES:
        return image.convert("RGB")
    pixels = np.asarray(image)
    if pixels.ndim == 3 and pixels.shape[2] in (1, 3, 4):
        pixels = pixels[..., :3] if pixels.shape[2] > 1 else pixels[..., 0]
    if not (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] == 3)) or 0 in pixels.shape:
        raise ValueError(
            f"expected 2D pixel data (H, W) or (H, W, 1|3|4), got shape {pixels.shape}: not a 2D photograph."
        )
    if pixels.dtype == np.bool_:
        pixels = pixels.astype(np.uint8) * 255
    pixels = _scaled_to_8bit(pixels)
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[..., None], 3, axis=2)
    return Image.fromarray(np.ascontiguousarray(pixels))


def _label_palette(image: Image.Image) -> bool:
    """Whether ``image`` (mode P or PA) is a label map: index 0 is black (the background, as in Pascal VOC) and
    some colour it uses is not a grey. Palette order is otherwise arbitrary (Pillow's ``quantize`` may put the
    lesion's colour at index 0), so any other palette image is read through its colours."""
    used = np.unique(np.asarray(image.getchannel("P") if image.mode == "PA" else image))
    palette = np.asarray(image.getpalette("RGB") or [], dtype=np.int64).reshape(-1, 3)
    colours = palette[used[used < len(palette)]]
    return len(palette) > 0 and not palette[0].any() and not (colours == colours[:, :1]).all()


def to_binary_mask(image: Image.Image) -> Image.Image:
    """A 2D mask file as the 0/255 greyscale image the bundles threshold at 128.

    - Greyscale maximum 128 or more (0/255 masks, with JPEG noise at the edges): foreground above 127, as before.
    - A float mask whose maximum is at most 1: above 0.5.
    - A label map, maximum under 128 with at most 4 distinct values (0/1 PNGs, 0/1/2 class maps, one pure colour
      such as red, 76 in greyscale): above 0. These read as empty before, so evaluation gave Dice 0.
    - Anything else under 128 (a colour mask saved as JPEG, a soft or noisy map) stays as before, empty, with a
      warning naming the file: a threshold drawn from such a mask's own maximum would turn noise into foreground.
    - A palette PNG with colours (Pascal VOC's format, and that of annotation tools which export it): its indices
      are the labels, whatever colours the palette gives them, so foreground is every index above 0, except 255
      when other labels are present (VOC's "void" border around each object). Read through its colours, a VOC
      mask gave only the void border as foreground (its light grey), not the object (dark red, 38 in greyscale).
      Only where index 0 is black: palette order is otherwise arbitrary (Pillow's ``quantize`` puts a red lesion
      at index 0 and black at 1), so other palette images, and palettes of greys only (a black-and-white GIF,
      white perhaps at index 0), are read through their colours, as before.
    - A mask drawn in its alpha channel alone (an annotation layer exported as a transparent PNG: one colour
      everywhere, the lesion opaque): alpha above 127. Read through its colour, it was empty.

    The label masks of the shared Kvasir-SEG, CVC-ClinicDB and DRIVE subsets and DRIVE's FOV masks (1456 files) all
    read exactly as before. Usable as MONAI ``PILReader``'s ``converter``, as :func:`to_rgb8`."""
    if image.mode in ("P", "PA") and _label_palette(image):
        labels = np.asarray(image.getchannel("P") if image.mode == "PA" else image)
        foreground = labels > 0
        if 255 in labels and ((labels > 0) & (labels < 255)).any():
            foreground &= labels != 255
        return Image.fromarray(foreground.astype(np.uint8) * 255)
    if image.mode in ("RGBA", "LA", "PA") and image.getchannel("A").getextrema()[0] < 128:
        if all(low == high for low, high in image.convert("RGB").getextrema()):  # one colour everywhere
            return Image.fromarray((np.asarray(image.getchannel("A")) > 127).astype(np.uint8) * 255)
    deep = image.mode in DEEP_MODES
    grey = np.asarray(image) if deep else np.asarray(image.convert("L"))
    floating = np.issubdtype(grey.dtype, np.floating)
    if floating:
        grey = np.nan_to_num(grey.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    top = grey.max() if grey.size else 0
    if top >= 128:
        foreground = grey > 127
    elif floating and top <= 1:
        foreground = grey > 0.5
    elif np.unique(grey).size <= 4:
        foreground = grey > 0
    else:
        foreground = np.zeros(grey.shape, dtype=bool)
        logger.warning(
            "%s: mask with greyscale maximum %s under 128 and many values (a colour mask saved as JPEG, or a soft "
            "map?): read as empty; save masks as 0/255 or 0/1 PNG.",
            getattr(image, "filename", "") or "mask",
            top,
        )
    return Image.fromarray(foreground.astype(np.uint8) * 255)
