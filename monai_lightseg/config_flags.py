"""Yes/no settings as they arrive from a bundle config or ``python -m monai.bundle run --key value``."""

from __future__ import annotations

__all__ = ["as_bool"]

_WORDS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def as_bool(value: bool | int | str, name: str) -> bool:
    """``value`` as a bool. Python Fire (behind ``monai.bundle run``) passes ``--flip_tta True`` as a bool but
    ``--flip_tta false`` as the string ``"false"``, which ``bool()`` would turn into True; strings are read as
    words instead, and anything but true/false/yes/no/1/0 is refused, naming the setting."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word not in _WORDS:
            raise ValueError(f"{name}: expected true or false, got {value!r}")
        return _WORDS[word]
    return bool(value)
