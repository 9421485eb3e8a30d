"""Synthetic fundus-like images for the vessel bundle's samples: DRIVE's terms do not allow shipping its images.

Drawn deterministically (seeded): a dark disk outside the field of view, an orange-red background with uneven
illumination, and dark tree-like vessels of 1-4 px width, each image with its vessel mask and FOV mask. They
exercise the pipeline (formats, sizes, the FOV mask, metrics); accuracy on them says nothing about real
photographs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SAMPLES_README = """# Synthetic fundus-like samples

DRIVE's images may not be redistributed, so the vessel bundle's tests and examples use these synthetic
images instead, drawn deterministically by `synthetic_fundus` in `scripts/bundle_tasks/synthetic_fundus.py`
(Apache-2.0, no real patient data): a circular field of view on black, an orange-red background with uneven
illumination and noise, and dark branching vessels of 1-4 px width.

- `images/<name>.png`: RGB (`synthetic_1` is 190x200, `synthetic_2` 240x224, width x height).
- `masks/<name>.png`: vessel mask, 0/255 (vessels inside the field of view only).
- `fov/<name>.png`: field-of-view mask, 0/255.
- `reference/<name>.png` (the bundle's copy only): the shipped weights' masks of the samples, written by
  `scripts/report_results.py --task vessel`; a test checks that the weights still reproduce them.

They exercise the pipeline (formats, sizes, the FOV mask, metrics); a model's accuracy on them says nothing
about real fundus photographs.
"""


def synthetic_fundus(width: int, height: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An RGB fundus-like image (H, W, 3) uint8, its vessel mask and FOV mask (H, W) uint8 in {0, 255}."""
    rng = np.random.default_rng(seed)
    cy, cx, radius = height / 2, width / 2, 0.46 * min(width, height)
    yy, xx = np.mgrid[:height, :width]
    fov = ((yy - cy) ** 2 + (xx - cx) ** 2) <= radius**2
    vessels = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(vessels)
    disc = np.array([cx + 0.35 * radius * rng.choice([-1, 1]), cy + rng.uniform(-0.1, 0.1) * radius])

    def branch(start: np.ndarray, angle: float, width_px: int, length: int) -> None:
        point = start.copy()
        for step in range(length):
            angle += rng.normal(0, 0.12)
            nxt = point + 3.0 * np.array([np.cos(angle), np.sin(angle)])
            draw.line([tuple(point), tuple(nxt)], fill=255, width=width_px)
            point = nxt
            if width_px > 1 and step > 8 and rng.random() < 0.06:
                branch(point, angle + rng.choice([-1, 1]) * rng.uniform(0.4, 0.9), width_px - 1, length - step)

    for angle in np.linspace(0, 2 * np.pi, 7, endpoint=False) + rng.uniform(0, 0.5):
        branch(disc, angle, 4, int(radius / 2))
    vessel = (np.asarray(vessels) > 0) & fov
    shade = 0.75 + 0.25 * np.exp(-(((yy - disc[1]) ** 2 + (xx - disc[0]) ** 2) / (0.9 * radius) ** 2))
    base = np.stack([190 * shade, 85 * shade, 35 * shade], axis=-1) + rng.normal(0, 6, (height, width, 3))
    dark = np.array([110.0, 35.0, 20.0])
    soft = np.asarray(Image.fromarray(vessel.astype(np.uint8) * 255).filter(ImageFilter.GaussianBlur(0.7))) / 255
    image = base * (1 - soft[..., None]) + dark * soft[..., None]
    image[~fov] = rng.normal(4, 2, (int((~fov).sum()), 3))
    as_u8 = lambda a: np.clip(a, 0, 255).astype(np.uint8)  # noqa: E731
    return as_u8(image), as_u8(vessel * 255.0), as_u8(fov * 255.0)


def write_samples(folder: Path) -> None:
    for name, (w, h, seed) in {"synthetic_1": (190, 200, 1), "synthetic_2": (240, 224, 2)}.items():
        image, vessel, fov = synthetic_fundus(w, h, seed)
        for sub, array in (("images", image), ("masks", vessel), ("fov", fov)):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(folder / sub / f"{name}.png")
    (folder / "README.md").write_text(SAMPLES_README, encoding="utf-8")
