#!/usr/bin/env bash
# Run the MONAI model zoo's own bundle verification (ci/verify_bundle.py from Project-MONAI/model-zoo, Apache-2.0,
# copied unchanged under ci/) on bundle folders, offline: the metadata schema comes from bundles/schemas/.
# Usage: run.sh [-m full|min] BUNDLE_DIR...   (uses the python on PATH, or $PYTHON)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); PY=${PYTHON:-python}; MODE=full
[ "${1:-}" = "-m" ] && { MODE=$2; shift 2; }
[ $# -gt 0 ] || { echo "usage: run.sh [-m full|min] BUNDLE_DIR..." >&2; exit 2; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT; mkdir -p "$W/models"; echo '{}' > "$W/models/model_info.json"
cp "$HERE/../../bundles/schemas/meta_schema_20240725.json" "$W/models/"
names=()
for b in "$@"; do n=$(basename "$b"); cp -a "$b" "$W/models/$n"; names+=("$n"); done
cd "$W"
"$PY" "$HERE/ci/prepare_schema.py" --l "${names[*]}" >/dev/null
rc=0
for n in "${names[@]}"; do
  if "$PY" "$HERE/ci/verify_bundle.py" -b "$n" -p models -m "$MODE" > "$W/$n.log" 2>&1; then echo "PASS $n"
  else echo "FAIL $n"; tail -5 "$W/$n.log" | sed 's/^/    /'; rc=1; fi
done
exit $rc
