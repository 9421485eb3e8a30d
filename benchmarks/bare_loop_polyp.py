"""How far a network gets in a fixed wall-clock budget in a bare PyTorch loop on the polyp data: a first check of
what the fast settings' lower output resolution costs, before the bundles are retrained with them.

The reference recipe of issue 17 (the project brief's bare loop): whole frames resized to 224x224, Dice + BCE
(MONAI's ``DiceCELoss`` with sigmoid), AdamW lr 2e-3, random flips and 90-degree rotations, batch 8, tensors in
memory, 2 threads. Training: the polyp bundles' training split (Kvasir-SEG train + CVC-ClinicDB training
sequences); validation: their validation split (frames never trained on, CVC-ClinicDB by sequence), resized to
224x224 like training, Dice per frame (an empty prediction on a frame with a polyp counts 0), mean per dataset.

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

SIZE = 224


def load(items: list[dict], data: Path):
    import torch
    from PIL import Image

    images, masks, datasets = [], [], []
    for item in items:
        image = Image.open(data / item["image"]).convert("RGB").resize((SIZE, SIZE), Image.BILINEAR)
        mask = Image.open(data / item["label"]).convert("L").resize((SIZE, SIZE), Image.NEAREST)
        images.append(np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0)
        masks.append((np.asarray(mask) > 127).astype(np.float32)[None])
        datasets.append(item.get("dataset", ""))
    return torch.from_numpy(np.stack(images)), torch.from_numpy(np.stack(masks)), datasets


def evaluate(net, images, masks, datasets) -> dict:
    import torch

    net.eval()
    dice = []
    with torch.no_grad():
        for i in range(0, len(images), 16):
            pred = (net(images[i : i + 16]) > 0).float()
            gt = masks[i : i + 16]
            inter = (pred * gt).flatten(1).sum(1)
            total = pred.flatten(1).sum(1) + gt.flatten(1).sum(1)
            dice += torch.where(total > 0, 2 * inter / total.clamp(min=1), torch.ones_like(total)).tolist()
    net.train()
    out = {"all": float(np.mean(dice))}
    for name in sorted(set(datasets)):
        out[name] = float(np.mean([d for d, s in zip(dice, datasets) if s == name]))
    return out


def train(entry: str, minutes: float, data, seed: int) -> dict:
    import torch
    from monai.losses import DiceCELoss

    torch.manual_seed(seed)
    (xt, yt, _), (xv, yv, dv) = data
    net = build(entry, "2d").train()
    loss_fn = DiceCELoss(sigmoid=True)
    optimizer = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    curve, steps, start = [], 0, time.perf_counter()
    next_eval = 60.0 * minutes / 4
    while time.perf_counter() - start < 60.0 * minutes:
        idx = torch.randint(0, len(xt), (8,), generator=generator)
        x, y = xt[idx], yt[idx]
        if torch.rand(1, generator=generator) < 0.5:
            x, y = x.flip(3), y.flip(3)
        if torch.rand(1, generator=generator) < 0.5:
            x, y = x.flip(2), y.flip(2)
        k = int(torch.randint(0, 4, (1,), generator=generator))
        x, y = torch.rot90(x, k, (2, 3)), torch.rot90(y, k, (2, 3))
        out = net(x)
        if out.dim() == 5:  # deep supervision: every output
            loss = sum(loss_fn(o, y) for o in out.unbind(1)) / out.shape[1]
        else:
            loss = loss_fn(out, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        steps += 1
        elapsed = time.perf_counter() - start
        if elapsed >= next_eval:
            curve.append({"minutes": elapsed / 60, "steps": steps, "dice": evaluate(net, xv, yv, dv)})
            next_eval += 60.0 * minutes / 4
    final = evaluate(net, xv, yv, dv)
    return {"network": entry, "minutes": minutes, "steps": steps, "epochs": steps * 8 / len(xt),
            "validation_dice": final, "curve": curve}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--networks", nargs="+", default=["feature_compression_net_fast", "monai_unet"])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    datalist = json.loads((REPO / "bundles/polyp_endoscopy_unet_segmentation/configs/datalist.json").read_text())
    data = (load(datalist["training"], args.data), load(datalist["validation"], args.data))
    results = []
    for entry in args.networks:
        r = train(entry, args.minutes, data, args.seed)
        results.append(r)
        print(f"{entry}: {r['steps']} steps ({r['epochs']:.1f} epochs) in {args.minutes} min, validation Dice "
              + ", ".join(f"{k} {v:.3f}" for k, v in r["validation_dice"].items()), flush=True)  # fmt: skip
    if args.out:
        meta = {"torch": torch.__version__, "threads": args.threads, "size": SIZE, "command": " ".join(sys.argv)}
        args.out.write_text(json.dumps({"meta": meta, "results": results}, indent=4) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
