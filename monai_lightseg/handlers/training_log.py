"""One CSV row per training epoch: steps, loss, learning rate, wall time and validation metrics."""

from __future__ import annotations

import csv
import time
from pathlib import Path

from ignite.engine import Events

__all__ = ["TrainingLogCSV"]

FIELDS = ["epoch", "iteration", "train_loss", "lr", "elapsed_s", "validation"]


class TrainingLogCSV:
    """Append ``epoch, iteration, train_loss (epoch mean), lr, elapsed_s, validation`` to ``path`` at every
    epoch end; ``validation`` is a ``key=value;...`` list of the validator's metrics when it ran that epoch.

    ``elapsed_s`` is cumulative wall time over resumed runs (it continues from the file's last row), which is
    what a bundle's README reports as training time. Attach it after the ``ValidationHandler`` so the
    validator has run when the row is written. Rows of epochs redone after a resume are replaced.

    Args:
        path: CSV file (created with a header if missing).
        validator: the validation engine, or ``None``.
        optimizer: to log the first parameter group's learning rate, or ``None``.
    """

    def __init__(self, path: str | Path, validator=None, optimizer=None) -> None:
        self.path = Path(path)
        self.validator = validator
        self.optimizer = optimizer
        self._losses: list[float] = []
        self._start = time.perf_counter()
        self._offset = 0.0

    def attach(self, engine) -> None:
        engine.add_event_handler(Events.STARTED, self._started)
        engine.add_event_handler(Events.ITERATION_COMPLETED, self._iteration)
        engine.add_event_handler(Events.EPOCH_COMPLETED, self._epoch)

    def _rows(self) -> list[dict[str, str]]:
        if not self.path.is_file():
            return []
        with self.path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def _started(self, engine) -> None:
        rows = [r for r in self._rows() if int(r["epoch"]) <= engine.state.epoch]  # drop epochs to be redone
        self._offset = float(rows[-1]["elapsed_s"]) if rows else 0.0
        self._write(rows)
        self._start = time.perf_counter()

    def _iteration(self, engine) -> None:
        output = engine.state.output
        items = output if isinstance(output, list) else [output]
        losses = [float(i["loss"]) for i in items if isinstance(i, dict) and "loss" in i]
        if losses:
            self._losses.append(losses[0])  # the batch loss is repeated on every decollated item

    def _epoch(self, engine) -> None:
        validation = ""
        if self.validator is not None and self.validator.state.epoch == engine.state.epoch:
            validation = ";".join(f"{k}={float(v):.5f}" for k, v in sorted(self.validator.state.metrics.items()))
        row = {
            "epoch": engine.state.epoch,
            "iteration": engine.state.iteration,
            "train_loss": f"{sum(self._losses) / max(1, len(self._losses)):.5f}",
            "lr": f"{self.optimizer.param_groups[0]['lr']:.6g}" if self.optimizer is not None else "",
            "elapsed_s": f"{self._offset + time.perf_counter() - self._start:.1f}",
            "validation": validation,
        }
        self._losses = []
        self._write(self._rows() + [row])

    def _write(self, rows: list[dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(self.path)
