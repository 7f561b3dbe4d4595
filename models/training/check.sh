#!/usr/bin/env bash
# Rebuilds the stress model from the repository and fails if it differs from the committed one.
#
#   models/training/check.sh            # CI runs this
#
# Needs the release build (scripts/setup.sh) and the shared data (ATTUNE_TEST_DATA, default
# ../shared/data). The Python environment (requirements.txt, pinned) is kept in TRAIN_VENV
# (default: train-venv in the cargo target directory) so repeated runs do not reinstall it.
#
# What must match: on one machine the rebuild is byte for byte (features from attune itself, a
# logistic regression fitted by the pinned scikit-learn/NumPy). Across CPUs the FFT and BLAS
# kernels are chosen at run time and may move the last bits, so a rebuild whose bytes differ
# still passes when every weight is within 1e-4 of the committed one (relative to the largest)
# and every figure of the JSON card within 0.002; anything beyond that fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
data="${ATTUNE_TEST_DATA:-../shared/data}"
bin="$target/release/attune"
venv="${TRAIN_VENV:-$target/train-venv}"
req=models/training/requirements.txt

[ -x "$bin" ] || { echo "train: $bin is missing (fix: scripts/setup.sh)" >&2; exit 1; }
[ -f "$data/emodb/labels.csv" ] || {
  echo "train: no EmoDB at $data/emodb (fix: set ATTUNE_TEST_DATA to the shared data folder)" >&2
  exit 1
}

if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/requirements.txt"; then
  echo "train: installing $req into $venv"
  if [ -e "$venv" ]; then
    [ -f "$venv/pyvenv.cfg" ] || { echo "train: $venv exists and is not a venv" >&2; exit 1; }
    rm -rf "$venv"
  fi
  python3 -m venv "$venv" || { echo "train: fix: apt-get install python3-venv" >&2; exit 1; }
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$req"
  cp "$req" "$venv/requirements.txt"
fi

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
encoder=models/ggml-tiny.en-q8_0.bin
[ -f "$encoder" ] || { echo "train: $encoder is missing (fix: attune models fetch)" >&2; exit 1; }
"$venv/bin/python" models/training/train_stress.py --attune "$bin" --encoder "$encoder" \
  --data "$data" --out "$out"
if cmp -s models/stress-arousal.onnx "$out/stress-arousal.onnx" &&
   cmp -s models/stress-arousal.json "$out/stress-arousal.json"; then
  echo "train: models/stress-arousal.onnx and .json rebuilt byte for byte"
  exit 0
fi
"$venv/bin/python" models/training/compare.py models "$out"
