"""benchmarks/results/README.md names every result file and folder, and names none that is gone.

Why: 50-odd result entries back the numbers in the docs; the index is how a reader finds which section reads
which, and an experiment added without an index line (or removed with its line left) would make it quietly wrong.
"""

import re

from tests.conftest import REPO

RESULTS = REPO / "benchmarks" / "results"


def _indexed() -> set[str]:
    """Entry names in the index's table rows (first column, in backticks; folders end in "/")."""
    names = set()
    for line in (RESULTS / "README.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| `"):
            first_column = line.split("|")[1]
            names.update(name.rstrip("/") for name in re.findall(r"`([^`]+)`", first_column))
    return names


def test_every_result_entry_is_indexed_and_every_indexed_entry_exists() -> None:
    present = {entry.name for entry in RESULTS.iterdir() if entry.name != "README.md"}
    indexed = _indexed()
    assert present - indexed == set(), f"not in benchmarks/results/README.md: {sorted(present - indexed)}"
    gone = indexed - present
    assert gone == set(), f"in benchmarks/results/README.md but not in benchmarks/results: {sorted(gone)}"
