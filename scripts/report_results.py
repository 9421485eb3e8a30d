"""Measure trained bundles and write their results: per-bundle docs/README.md, validation curves, per-image
validation reports, sample reference masks, and the task's table in docs/results.md.

    python scripts/report_results.py --task polyp [--data ../shared/data] [--bundles unet emisnet ...]
    python scripts/report_results.py --task polyp --speed-only   # on a quiet machine, after the runs are reported
    python scripts/report_results.py --task polyp --text-only    # READMEs and table from the recorded results

``--bundles`` takes the short names (the bundle folder without the task prefix and ``_segmentation``). See
``scripts/bundle_tasks/report.py`` for what is measured and how. Needs the ``docs`` extra (matplotlib), except with
``--text-only``, which redraws no figures.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bundle_tasks import TASKS  # noqa: E402
from bundle_tasks.engine import REPO  # noqa: E402
from bundle_tasks.report import report  # noqa: E402


def short_names(task) -> dict[str, str]:
    return {name[len(task.prefix) + 1 : -len("_segmentation")]: name for name in task.networks}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(TASKS), required=True)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--bundles", nargs="+", default=None, help="short names; default: all of the task")
    speed = parser.add_mutually_exclusive_group()
    speed.add_argument("--no-speed", action="store_true", help="skip the CPU timing (on a busy machine)")
    speed.add_argument("--speed-only", action="store_true", help="only re-time bundles already reported")
    speed.add_argument(
        "--text-only", action="store_true", help="only rewrite READMEs and the table from the recorded results.json"
    )
    args = parser.parse_args()
    task = TASKS[args.task]
    names = short_names(task)
    unknown = set(args.bundles or []) - set(names)
    if unknown:
        parser.error(f"unknown bundles for --task {task.name}: {sorted(unknown)}; choose from {sorted(names)}")
    chosen = [names[b] for b in args.bundles] if args.bundles else list(task.networks)
    report(task, chosen, args.data, speed=not args.no_speed, speed_only=args.speed_only, text_only=args.text_only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
