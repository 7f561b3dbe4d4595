#!/usr/bin/env bash
# Rebuilds the stress model from the repository and fails if it differs from the committed one.
#
#   models/training/check.sh            # CI runs this
#
# Needs the release build (scripts/setup.sh) and the shared data (ATTUNE_TEST_DATA, default
# ../shared/data). The Python environment (models/training/requirements.txt, pinned) is kept in
# TRAIN_VENV (default /var/cache/attune-ci/train-venv) so repeated runs do not reinstall it.
# The comparison is byte for byte, for the ONNX model and its JSON card: the features come from
# attune itself, and a logistic regression fitted by the pinned scikit-learn and NumPy is
# deterministic. On a mismatch the largest weight difference is printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
data="${ATTUNE_TEST_DATA:-../shared/data}"
bin="${CARGO_TARGET_DIR:-target}/release/attune"
venv="${TRAIN_VENV:-/var/cache/attune-ci/train-venv}"
req=models/training/requirements.txt

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/requirements.txt"; then
  echo "train: installing $req into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  cp "$req" "$venv/requirements.txt"
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
"$venv/bin/python" models/training/train_stress.py --attune "$bin" --data "$data" --out "$out"
status=0
for f in stress-arousal.onnx stress-arousal.json; do
  if cmp -s "models/$f" "$out/$f"; then
    echo "train: models/$f rebuilt byte for byte"
  else
    echo "train: models/$f differs from the rebuilt one" >&2
    diff <(sed 's/,/,\n/g' "models/$f") <(sed 's/,/,\n/g' "$out/$f") | head -20 >&2 || true
    status=1
  fi
done
if [ $status -ne 0 ]; then
  "$venv/bin/python" - "models/stress-arousal.onnx" "$out/stress-arousal.onnx" <<'PY' >&2
import sys, onnx, numpy as np
from onnx import numpy_helper
a, b = ({t.name: numpy_helper.to_array(t) for t in onnx.load(p).graph.initializer} for p in sys.argv[1:])
print("largest weight difference:", max(float(np.max(np.abs(a[k] - b[k]))) for k in a))
PY
  echo "train: fix: commit the rebuilt model with the change that moved it" >&2
fi
exit $status
