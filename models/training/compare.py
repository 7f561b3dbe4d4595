#!/usr/bin/env python3
"""Compares a rebuilt stress model with the committed one, within the tolerances check.sh
states; exits 1 with what differs, 0 (saying why) when only the last bits moved."""

import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

WEIGHT_TOLERANCE = 1e-4  # relative to the largest committed weight
FIGURE_TOLERANCE = 0.002  # ROC-AUC, recall and UAR in the card


def weights(path):
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


def figure_differences(a, b, where=""):
    """Paths whose values differ: numbers beyond the tolerance, anything else at all."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in figure_differences(a.get(k), b.get(k), f"{where}/{k}")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return [] if abs(a - b) <= FIGURE_TOLERANCE else [f"{where}: {a} -> {b}"]
    return [] if a == b else [f"{where}: {a!r} -> {b!r}"]


def main():
    committed, rebuilt = Path(sys.argv[1]), Path(sys.argv[2])
    wa = weights(committed / "stress-arousal.onnx")
    wb = weights(rebuilt / "stress-arousal.onnx")
    problems = []
    if set(wa) != set(wb) or any(wa[k].shape != wb[k].shape for k in wa):
        problems.append("the ONNX graphs have different weights")
    else:
        scale = max(float(np.max(np.abs(w))) for w in wa.values())
        moved = max(float(np.max(np.abs(wa[k] - wb[k]))) for k in wa) / scale
        print(f"train: largest weight difference {moved:.2e} of the largest weight")
        if moved > WEIGHT_TOLERANCE:
            problems.append(f"weights moved by {moved:.2e} (tolerance {WEIGHT_TOLERANCE:g})")
    ca = json.loads((committed / "stress-arousal.json").read_text())
    cb = json.loads((rebuilt / "stress-arousal.json").read_text())
    for key in ("onnx_sha256", "onnx_vs_sklearn_max_abs_diff"):
        ca.pop(key, None)
        cb.pop(key, None)
    problems += figure_differences(ca, cb)
    if problems:
        for p in problems:
            print(f"train: {p}", file=sys.stderr)
        print(
            "train: the committed stress model is not what models/training builds; "
            "fix: rebuild it (models/training/README.md) and commit it with the change that moved it",
            file=sys.stderr,
        )
        sys.exit(1)
    print("train: bytes differ but weights and figures are within tolerance (CPU-specific kernels)")


if __name__ == "__main__":
    main()
