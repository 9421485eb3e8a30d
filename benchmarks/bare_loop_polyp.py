"""How far a network gets in a fixed wall-clock budget in a bare PyTorch loop on the polyp data: a first check of
what the fast settings' lower output resolution costs, before the bundles are retrained with them.

The reference recipe of issue 17 (the project brief's bare loop): whole frames resized to 224x224, Dice + BCE
(MONAI's ``DiceCELoss`` with sigmoid), AdamW lr 2e-3, random flips and 90-degree rotations, batch 8, tensors in
memory, 2 threads. Training: the polyp bundles' training split (Kvasir-SEG train + CVC-ClinicDB training
sequences); validation: their validation split (frames never trained on, CVC-ClinicDB by sequence), resized to
224x224 like training, Dice per frame (an empty prediction on a frame with a polyp counts 0), mean per dataset.

Ablation switches (issue 17's recipe choices, each a short run on the validation split): ``--loss`` (DiceCE or seed B's
BCE + Dice + MS-SSIM), ``--zoom`` (scale augmentation: a random square crop of 60-100 % of the frame's side, resized
back to the training size), ``--size`` (training and validation resolution), ``--cosine`` (cosine learning-rate decay
over the budget), ``--width W`` (a ``_fast`` seed network with every width scaled by W), ``--lr`` (AdamW's peak learning
rate, 2e-3 by default), ``--teacher BUNDLE --distill-weight W`` (knowledge distillation: the trained bundle's foreground
probability on each training frame, computed once through its own scale rule and inferer, is a second, soft target: W x
BCE against it is added to the loss), ``--oversample-large F`` (frames whose polyp covers more than F of the frame drawn
3x as often), ``--crop C --pos-fraction P`` (C x C crops instead of whole frames: centred on a polyp pixel with
probability P, else a window with no polyp pixel where the frame has one and a random window where it has none; the
foreground prior of issue 17) and ``--negative-every K`` (whole frames, but every K-th step a batch of C x C polyp-free
windows, drawn from the frames that have one). The final validation also reports the same weights with post-processing
(components below 0.1 % of the frame dropped) and with flip test-time augmentation, keeps the plain Dice of every
validation frame (``validation_per_frame``, for per-sequence and paired comparisons), and runs the network on one
polyp-free window of each validation frame that has one (``polyp_free_windows``, 96 x 96 px whatever ``--size``: how
often and how much it marks mucosa where there is no polyp, what decides whether locate-then-segment can trust its
coarse pass, docs/inference.md).

Usage::

    python benchmarks/bare_loop_polyp.py --minutes 10 --networks feature_compression_net_fast monai_unet \
        --out benchmarks/results/bare_loop_polyp_cpu.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from roster import REPO, build  # noqa: E402
from trained_bundle import trained_network  # noqa: E402


def load(items: list[dict], data: Path, size: int):
    import torch
    from PIL import Image

    images, masks, datasets = [], [], []
    for item in items:
        image = Image.open(data / item["image"]).convert("RGB").resize((size, size), Image.BILINEAR)
        mask = Image.open(data / item["label"]).convert("L").resize((size, size), Image.NEAREST)
        images.append(np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0)
        masks.append((np.asarray(mask) > 127).astype(np.float32)[None])
        datasets.append(item.get("dataset", ""))
    return torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(masks)), datasets


def teacher_targets(items: list[dict], data: Path, bundle: Path, size: int):
    """(N, 1, size, size) foreground probabilities of the trained polyp ``bundle`` on each frame of ``items``: each
    frame through the bundle's own ``preprocessing`` (its reader, intensity scaling and scale rule), ``inferer``
    and network, in the (W, H) layout MONAI's ``PILReader`` gives the bundles, then resized to ``size`` x ``size``
    like :func:`load`'s masks. Computed once, before training: a fixed soft target for distillation (the teacher
    sees no augmentation; the student's flips and rotations move the target with the frame)."""
    import torch
    import torch.nn.functional as F

    parser, net = trained_network(bundle, "bare_loop_polyp", require=("frame_size", "preprocessing"))
    preprocessing, inferer = parser.get_parsed_content("preprocessing"), parser.get_parsed_content("inferer")
    targets = []
    with torch.no_grad():
        for item in items:
            frame = preprocessing({"image": str(data / item["image"])})["image"]  # (3, W', H') at the frame scale
            logits = inferer(frame.as_tensor()[None].float(), net)
            prob = torch.sigmoid(logits[:, :1]).transpose(2, 3)  # (1, 1, H', W')
            targets.append(F.interpolate(prob, (size, size), mode="bilinear", align_corners=False)[0])
    return torch.stack(targets)


def drop_specks(pred, min_fraction: float = 0.001):
    """``pred`` (N, 1, H, W) in {0, 1} with connected components smaller than ``min_fraction`` of the frame
    removed (MONAI's ``RemoveSmallObjects``, 8-connectivity: what the bundles' post-processing runs)."""
    import warnings

    import torch
    from monai.transforms import RemoveSmallObjects

    drop = RemoveSmallObjects(min_size=max(1, int(min_fraction * pred[0, 0].numel())), connectivity=2)
    with warnings.catch_warnings():  # MONAI 1.6 passes scikit-image 0.26 a deprecated positional min_size
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.stack([drop(p) for p in pred])


def evaluate(net, images, masks, datasets, mode: str = "plain", names: list[str] | None = None) -> dict:
    """Mean Dice per dataset; ``mode``: ``plain``, ``specks`` (post-processed) or ``tta`` (mean logit over the
    identity and the two flips). With ``names`` (one per frame) also ``per_frame``: {name: Dice}."""
    import torch

    net.eval()
    dice = []
    with torch.no_grad():
        for i in range(0, len(images), 16):
            x = images[i : i + 16]
            logit = net(x)
            if mode == "tta":
                logit = (logit + net(x.flip(3)).flip(3) + net(x.flip(2)).flip(2)) / 3
            pred = (logit > 0).float()
            if mode == "specks":
                pred = drop_specks(pred)
            gt = masks[i : i + 16]
            inter = (pred * gt).flatten(1).sum(1)
            total = pred.flatten(1).sum(1) + gt.flatten(1).sum(1)
            dice += torch.where(total > 0, 2 * inter / total.clamp(min=1), torch.ones_like(total)).tolist()
    net.train()
    out = {"all": float(np.mean(dice))}
    for name in sorted(set(datasets)):
        out[name] = float(np.mean([d for d, s in zip(dice, datasets) if s == name]))
    if names is not None:
        out["per_frame"] = dict(zip(names, dice))
    return out


def free_positions(masks, side: int):
    """Per frame (``masks`` (N, 1, H, W)), the flat top-left positions of ``side`` x ``side`` windows holding no
    polyp pixel (indices into the (H - side + 1) x (W - side + 1) grid of positions, in row-major order), from
    the package's :func:`~monai_lightseg.transforms.lesion_free_window_starts`."""
    from monai_lightseg.transforms import lesion_free_window_starts

    width = masks.shape[-1] - side + 1
    starts = [lesion_free_window_starts(m, (side, side)) for m in masks]
    return [s[:, 0] * width + s[:, 1] for s in starts]


def crop_batch(x, y, idx, side: int, pos_fraction: float, free: list, generator):
    """``side`` x ``side`` crops of frames ``idx``: centred on a random polyp pixel with probability
    ``pos_fraction`` (clamped into the frame), else a random polyp-free window (uniform when the frame has none)."""
    import torch

    width = x.shape[-1] - side + 1
    xs, ys = [], []
    for i in idx.tolist():
        fg = torch.nonzero(y[i, 0])
        if len(fg) and float(torch.rand(1, generator=generator)) < pos_fraction:
            cy, cx = fg[int(torch.randint(0, len(fg), (1,), generator=generator))].tolist()
            top = min(max(cy - side // 2, 0), x.shape[-2] - side)
            left = min(max(cx - side // 2, 0), x.shape[-1] - side)
        elif len(free[i]):
            top, left = divmod(int(free[i][int(torch.randint(0, len(free[i]), (1,), generator=generator))]), width)
        else:
            top, left = (int(torch.randint(0, n - side + 1, (1,), generator=generator)) for n in x.shape[-2:])
        xs.append(x[i, :, top : top + side, left : left + side])
        ys.append(y[i, :, top : top + side, left : left + side])
    return torch.stack(xs), torch.stack(ys)


def evaluate_polyp_free(net, images, masks, side: int = 96) -> dict:
    """The network on one polyp-free ``side`` x ``side`` window of each validation frame that has one (the window
    chosen by a fixed generator, so every run sees the same windows): the share of windows where it marks
    anything after dropping specks (under 0.1 % of a frame of the validation size), and the mean share of the
    window marked."""
    import torch

    free = free_positions(masks, side)
    generator, width, marked, area = torch.Generator().manual_seed(0), images.shape[-1] - side + 1, [], []
    net.eval()
    with torch.no_grad():
        for i, positions in enumerate(free):
            if not len(positions):
                continue
            top, left = divmod(int(positions[int(torch.randint(0, len(positions), (1,), generator=generator))]), width)
            window = images[i : i + 1, :, top : top + side, left : left + side]
            pred = (net(window) > 0).float()
            pred = drop_specks(pred, 0.001 * images.shape[-1] * images.shape[-2] / side**2)
            marked.append(bool(pred.any()))
            area.append(float(pred.mean()))
    net.train()
    return {"side": side, "windows": len(marked), "share_marked": float(np.mean(marked)) if marked else None,
            "mean_area_marked": float(np.mean(area)) if area else None}  # fmt: skip


def zoom(x, y, generator):
    """A random square crop of 60-100 % of the side at a random place, resized back (bilinear image, nearest
    mask): the polyps of a batch appear up to 1.7x larger."""
    import torch
    import torch.nn.functional as F

    size = x.shape[-1]
    side = int(size * float(0.6 + 0.4 * torch.rand(1, generator=generator)))
    top, left = (int(torch.randint(0, size - side + 1, (1,), generator=generator)) for _ in range(2))
    x, y = x[..., top : top + side, left : left + side], y[..., top : top + side, left : left + side]
    return F.interpolate(x, size, mode="bilinear", align_corners=False), F.interpolate(y, size, mode="nearest")


def train(entry: str, minutes: float, data, seed: int, loss_name: str = "dicece", scale_aug: bool = False,
          cosine: bool = False, max_steps: int | None = None, large: float | None = None, crop: int | None = None,
          pos_fraction: float = 0.5, negative_every: int | None = None, width: float = 1.0,
          lr: float = 2e-3, soft=None, distill_weight: float = 1.0) -> dict:  # fmt: skip
    """Train ``entry`` for ``minutes`` of wall time, or ``max_steps`` steps when given (a budget that other work
    on the machine cannot shrink: what the ablations use); validation Dice at each quarter of the budget.
    ``large``: frames whose polyp covers more than this fraction of the frame are drawn 3x as often. ``crop``:
    train on crops of this side (:func:`crop_batch` with ``pos_fraction``); with ``negative_every`` K, whole
    frames and every K-th step a batch of polyp-free ``crop`` windows from frames that have one. ``width``
    scales a ``_fast`` seed network's widths (``roster.widened``); ``lr`` is AdamW's peak learning rate. ``soft``
    (N, 1, H, W), the training frames' teacher probabilities (:func:`teacher_targets`): ``distill_weight`` x BCE
    between the network's logits and them is added to the loss (whole frames only)."""
    import torch
    import torch.nn.functional as F
    from monai.losses import DiceCELoss

    from monai_lightseg.losses import BceDiceMsSsimLoss

    if soft is not None and (crop or scale_aug):
        raise ValueError("distillation (soft targets) is implemented for whole frames only: no crop, no zoom")
    torch.manual_seed(seed)
    (xt, yt, _), (xv, yv, dv), names = data
    net = build(entry, "2d", width).train()
    loss_fn = DiceCELoss(sigmoid=True) if loss_name == "dicece" else BceDiceMsSsimLoss(2)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    weights = None if large is None else 1.0 + 2.0 * (yt.mean(dim=(1, 2, 3)) > large).double()
    free = free_positions(yt, crop) if crop else None
    with_free = torch.tensor([i for i, f in enumerate(free) if len(f)]) if crop else None
    curve, steps, start = [], 0, time.perf_counter()

    def progress() -> float:
        return steps / max_steps if max_steps else (time.perf_counter() - start) / (60.0 * minutes)

    next_eval = 0.25
    while progress() < 1.0:
        if weights is None:
            idx = torch.randint(0, len(xt), (8,), generator=generator)
        else:
            idx = torch.multinomial(weights, 8, replacement=True, generator=generator)
        if crop and negative_every and steps % negative_every == negative_every - 1:
            negatives = with_free[torch.randint(0, len(with_free), (8,), generator=generator)]
            x, y = crop_batch(xt, yt, negatives, crop, 0.0, free, generator)
        elif crop and negative_every:
            x, y = xt[idx], yt[idx]
        elif crop:
            x, y = crop_batch(xt, yt, idx, crop, pos_fraction, free, generator)
        else:
            x, y = xt[idx], yt[idx]
        if soft is not None:  # the soft target moves with the frame: a second channel of the mask
            y = torch.cat([y, soft[idx]], 1)
        if scale_aug:
            x, y = zoom(x, y, generator)
        if torch.rand(1, generator=generator) < 0.5:
            x, y = x.flip(3), y.flip(3)
        if torch.rand(1, generator=generator) < 0.5:
            x, y = x.flip(2), y.flip(2)
        k = int(torch.randint(0, 4, (1,), generator=generator))
        x, y = torch.rot90(x, k, (2, 3)), torch.rot90(y, k, (2, 3))
        y, target = (y[:, :1], y[:, 1:]) if soft is not None else (y, None)
        out = net(x)
        if out.dim() == 5:  # deep supervision: every output
            loss = sum(loss_fn(o, y) for o in out.unbind(1)) / out.shape[1]
        else:
            loss = loss_fn(out, y)
        if target is not None:
            main = out[:, 0] if out.dim() == 5 else out
            loss = loss + distill_weight * F.binary_cross_entropy_with_logits(main, target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cosine:  # over the budget, whichever kind it is
            optimizer.param_groups[0]["lr"] = lr * 0.5 * (1 + np.cos(np.pi * min(1.0, progress())))
        optimizer.step()
        steps += 1
        if progress() >= next_eval and next_eval < 1.0:
            elapsed = time.perf_counter() - start
            curve.append({"minutes": elapsed / 60, "steps": steps, "dice": evaluate(net, xv, yv, dv)})
            next_eval += 0.25
    minutes = (time.perf_counter() - start) / 60
    final = evaluate(net, xv, yv, dv, names=names)
    per_frame = final.pop("per_frame")
    options = {"loss": loss_name, "scale_aug": scale_aug, "cosine": cosine, "oversample_large": large}
    if width != 1 or lr != 2e-3:
        options.update(width=width, lr=lr, params=sum(p.numel() for p in net.parameters()))
    if soft is not None:
        options.update(distill_weight=distill_weight)
    if weights is not None:
        options["large_frames"] = int((weights > 1).sum())
    if crop:
        options.update(crop=crop, pos_fraction=None if negative_every else pos_fraction, negative_every=negative_every,
                       frames_with_a_free_window=sum(bool(len(f)) for f in free))  # fmt: skip
    return {"network": entry, **options, "minutes": minutes, "steps": steps, "epochs": steps * 8 / len(xt),
            "validation_dice": final, "validation_per_frame": per_frame,
            "validation_dice_specks_dropped": evaluate(net, xv, yv, dv, "specks"),
            "validation_dice_flip_tta": evaluate(net, xv, yv, dv, "tta"),
            "polyp_free_windows": evaluate_polyp_free(net, xv, yv), "curve": curve}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--networks", nargs="+", default=["feature_compression_net_fast", "monai_unet"])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--steps", type=int, default=None, help="a step budget instead of --minutes")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--size", type=int, default=224, help="frames resized to size x size")
    parser.add_argument("--loss", choices=["dicece", "bce_dice_msssim"], default="dicece")
    parser.add_argument("--zoom", action="store_true", help="scale augmentation (random crops resized back)")
    parser.add_argument("--cosine", action="store_true", help="cosine learning-rate decay over the budget")
    parser.add_argument("--oversample-large", type=float, default=None, metavar="F",
                        help="draw frames whose polyp covers more than F of the frame 3x as often")
    parser.add_argument("--crop", type=int, default=None, metavar="C", help="train on C x C crops (see above)")
    parser.add_argument("--pos-fraction", type=float, default=0.5, help="with --crop: share centred on a polyp")
    parser.add_argument("--negative-every", type=int, default=None, metavar="K",
                        help="with --crop: whole frames, every K-th step a batch of polyp-free C x C windows")
    parser.add_argument("--width", type=float, default=1.0, help="scale a `_fast` seed network's widths by this")
    parser.add_argument("--lr", type=float, default=2e-3, help="AdamW's (peak) learning rate")
    parser.add_argument("--teacher", type=Path, default=None, metavar="BUNDLE",
                        help="distil from this trained polyp bundle (its probabilities on the training frames)")
    parser.add_argument("--distill-weight", type=float, default=1.0, help="with --teacher: weight of the soft BCE")
    args = parser.parse_args()
    if args.negative_every and not args.crop:
        parser.error("--negative-every needs --crop (the windows' side)")
    if args.pos_fraction != 0.5 and (args.negative_every or not args.crop):
        parser.error("--pos-fraction applies to --crop without --negative-every")
    if args.teacher and (args.crop or args.zoom):
        parser.error("--teacher is implemented for whole frames only (no --crop, no --zoom)")

    import torch

    torch.set_num_threads(args.threads)
    datalist = json.loads(
        (REPO / "bundles/polyp_endoscopy_unet_segmentation/configs/datalist.json").read_text(encoding="utf-8")
    )
    data = (load(datalist["training"], args.data, args.size), load(datalist["validation"], args.data, args.size),
            [item["image"] for item in datalist["validation"]])
    soft = None
    if args.teacher:
        start = time.perf_counter()
        soft = teacher_targets(datalist["training"], args.data, args.teacher, args.size)
        hard, truth = (soft > 0.5).float(), data[0][1]
        agreement = float((2 * (hard * truth).sum() / (hard.sum() + truth.sum())).item())
        print(f"teacher {args.teacher}: soft targets for {len(soft)} training frames in "
              f"{time.perf_counter() - start:.0f} s; pooled Dice of its masks against the training masks "
              f"{agreement:.3f}", flush=True)
    results = []
    for entry in args.networks:
        r = train(entry, args.minutes, data, args.seed, args.loss, args.zoom, args.cosine, args.steps,
                  args.oversample_large, args.crop, args.pos_fraction, args.negative_every, args.width, args.lr,
                  soft, args.distill_weight)
        results.append(r)
        print(f"{entry}: {r['steps']} steps ({r['epochs']:.1f} epochs) in {r['minutes']:.1f} min, validation Dice "
              + ", ".join(f"{k} {v:.3f}" for k, v in r["validation_dice"].items())
              + f"; specks dropped {r['validation_dice_specks_dropped']['all']:.3f}"
              + f"; flip TTA {r['validation_dice_flip_tta']['all']:.3f}"
              + f"; polyp-free windows marked {r['polyp_free_windows']['share_marked']:.2f}", flush=True)  # fmt: skip
    if args.out:
        meta = {"torch": torch.__version__, "threads": args.threads, "size": args.size, "command": " ".join(sys.argv)}
        if args.teacher:
            meta.update(teacher=str(args.teacher), teacher_training_dice_pooled=agreement)
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=4) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
