"""The one exception a study raises when it cannot be processed correctly."""

from __future__ import annotations

__all__ = ["StudyError"]


class StudyError(ValueError):
    """A study (file, series or volume) that must not be segmented, with the reason a person can act on.

    The batch command reports the reason per study and goes on with the others; nothing is ever written for
    a study that raised it, so a wrong volume never becomes a wrong mask.
    """
