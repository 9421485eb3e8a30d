"""Every bundle passes the MONAI model zoo's own verification (.ci/model_zoo: required files, version and
changelog, metadata schema, verify_net_in_out, TorchScript export), run the way the zoo runs it. Bundles whose
training has not finished are checked with a seeded initialisation of their network (ensure_weights)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.bundles.conftest import BUNDLES_DIR, copy_bundle, ensure_weights
from tests.conftest import REPO

ALL_BUNDLES = sorted(p.parent.parent.name for p in BUNDLES_DIR.glob("*/configs/metadata.json"))


def test_every_bundle_passes_the_model_zoo_verification(tmp_path) -> None:
    roots = [copy_bundle(name, tmp_path) for name in ALL_BUNDLES]
    for root in roots:
        ensure_weights(root)
    env = {**os.environ, "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(REPO / ".ci" / "model_zoo" / "run.sh"), "-m", "full", *map(str, roots)],
                          capture_output=True, text=True, env=env, timeout=1200)  # fmt: skip
    passed = {line.split()[1] for line in done.stdout.splitlines() if line.startswith("PASS ")}
    assert passed == set(ALL_BUNDLES), done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 0
