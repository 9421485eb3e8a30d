#!/usr/bin/env bash
# Train (or resume) one task's bundles one after another on the shared data, each for its recipe's fixed step
# budget. Safe to rerun: a finished bundle is skipped, an interrupted one resumes from its last checkpoint.
#   bash scripts/train_bundles.sh polyp [DATA_DIR] [NET ...]        # DATA_DIR default: ../shared/data
#   bash scripts/train_bundles.sh hippocampus [DATA_DIR] [NET ...]  # DATA_DIR default: ../shared/data/msd_hippocampus
#   bash scripts/train_bundles.sh vessel [DATA_DIR]                 # DATA_DIR default: ../shared/data/drive
# NET: unet, emisnet, feature_compression_net, light_u2net (default: all four; vessel: light_u2net only).
# Paths are relative to the repository root. Logs: bundles/*/models/train.log. Set OMP_NUM_THREADS=1 to run
# two chains side by side on two cores (the networks' many small ops gain little from a second thread).
# bundles/*/models/ is git-ignored so that mid-training files are never swept into a commit by `git add -A`:
# when a session stops, commit the newest checkpoint, model.pt, model.best.json and the logs with `git add -f`;
# when a run finishes, run scripts/report_results.py --task <task> and commit its outputs (no checkpoint needed).
# Wall time in training_log.csv is cumulative over resumed runs and includes any pause of the process.
set -euo pipefail
cd "$(dirname "$0")/.."
TASK=${1:?usage: train_bundles.sh polyp|hippocampus|vessel [DATA_DIR] [NET ...]}
NETS=(unet emisnet feature_compression_net light_u2net)
case "$TASK" in
  polyp) PREFIX=polyp_endoscopy; DEFAULT_DATA=../shared/data ;;
  hippocampus) PREFIX=hippocampus_mri; DEFAULT_DATA=../shared/data/msd_hippocampus ;;
  vessel) PREFIX=retinal_vessel_fundus; DEFAULT_DATA=../shared/data/drive; NETS=(light_u2net) ;;
  *) echo "train_bundles.sh: unknown task '$TASK' (polyp, hippocampus or vessel)" >&2; exit 2 ;;
esac
shift
DATA_DIR=$(realpath "${1:-$DEFAULT_DATA}")
shift || true
BUNDLES=("$@")
[ ${#BUNDLES[@]} -gt 0 ] || BUNDLES=("${NETS[@]}")
PY=${PY:-.venv/bin/python}
for net in "${BUNDLES[@]}"; do
  b=bundles/${PREFIX}_${net}_segmentation
  [ -d "$b" ] || { echo "train_bundles.sh: no bundle $b" >&2; exit 2; }
  steps=$($PY -c "import json; print(json.load(open('$b/configs/train.json'))['max_steps'])")
  done_steps=$(tail -n 1 "$b/models/training_log.csv" 2>/dev/null | cut -d, -f2 || true)
  if [ "${done_steps:-0}" = "$steps" ]; then echo "$b: finished ($steps steps), skipped"; continue; fi
  echo "$b: training from step ${done_steps:-0} to $steps"
  mkdir -p "$b/models"
  # the data path relative to the bundle, so that logs committed with the bundle hold no machine paths
  rel_data=$(realpath --relative-to="$b" "$DATA_DIR")
  (cd "$b" && ../../$PY -m monai.bundle run --config_file configs/train.json --bundle_root . \
      --dataset_dir "$rel_data" >> models/train.log 2>&1)
done
