"""One line at the end of an inference run: how many files were segmented, which could not be read and why;
the run then fails (non-zero exit) if any could not, after every other output was written."""

from __future__ import annotations

import logging

from ignite.engine import Engine, Events

__all__ = ["RunSummary"]

logger = logging.getLogger(__name__)


class RunSummary:
    """Attach to an evaluator. ``datalist``: the items it runs on; ``unreadable``: the list
    :func:`monai_lightseg.data.readable_items` filled with ``{"file", "reason"}`` for the files it left out."""

    def __init__(self, datalist: list, unreadable: list) -> None:
        self.datalist, self.unreadable = datalist, unreadable

    def attach(self, engine: Engine) -> None:
        engine.add_event_handler(Events.COMPLETED, self)

    def __call__(self, engine: Engine) -> None:
        total = len(self.datalist) + len(self.unreadable)
        names = "; ".join(f"{f['file']} ({f['reason']})" for f in self.unreadable)
        logger.info("segmented %d of %d files%s", len(self.datalist), total,
                    f"; {len(self.unreadable)} unreadable: {names}" if self.unreadable else "")  # fmt: skip
        if self.unreadable:
            raise RuntimeError(f"{len(self.unreadable)} of {total} files could not be read: {names}")
