"""Per-task bundle definitions (polyp, hippocampus, vessel) and the config skeleton they fill in."""

from __future__ import annotations

from .engine import Task
from .hippocampus import TASK as HIPPOCAMPUS
from .polyp import TASK as POLYP
from .vessel import TASK as VESSEL

TASKS: dict[str, Task] = {t.name: t for t in (POLYP, HIPPOCAMPUS, VESSEL)}
