"""Write the bundles' configs, licences and samples from the per-task definitions in ``scripts/bundle_tasks``.

Run from the repository root after changing a recipe::

    python scripts/make_bundles.py                  # every task
    python scripts/make_bundles.py --task polyp     # one task

Each bundle stays a standalone MONAI bundle (its own configs, samples, licence); this script is the single
source for what they share, and the tests under ``tests/bundles`` fail if a committed config drifts from what it
writes. With ``../shared/data`` present the committed split (``configs/datalist.json``) is rebuilt too. Trained
weights, logs and the reported ``docs/`` are not touched.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bundle_tasks import TASKS  # noqa: E402
from bundle_tasks.engine import REPO, generate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(TASKS), nargs="+", default=list(TASKS))
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    for name in args.task:
        task = TASKS[name]
        if hasattr(task, "prepare_samples"):
            task.prepare_samples()
        paths = generate(task, REPO / "bundles", args.data if args.data.is_dir() else None)
        print(f"{name}: wrote {len(paths)} files under bundles/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
