#!/usr/bin/env python3
"""Does a per-customer voice baseline help? A simulated-conversation protocol on EmoDB.

Each simulated conversation is one EmoDB speaker: k earlier turns and a target turn, all drawn
from that speaker's clean recordings. The absolute model (the recipe of train_stress.py,
trained leave-one-speaker-out so the speaker is never seen) gives each turn a logit. The
baseline is the mean logit of the earlier turns the absolute model judged calm (p < 0.5); with
no such turn the target is scored by the absolute model alone, so a first turn that is already
distressed still counts. Absolute and relative (logit - baseline) are combined by a logistic
regression fitted on the other speakers' conversations. Two scenarios:

- any:   earlier turns drawn from all of the speaker's recordings (a customer in any state);
- calm:  earlier turns drawn from the speaker's low-arousal recordings ("getting more upset").

    python3 models/training/simulate_conversations.py --attune target/release/attune \
        --data ../shared/data

Prints ROC-AUC, recall at 5% false alarms and UAR of the target turns, absolute against
combined. Seeded: the same inputs give the same figures.
"""

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

import train_stress as T

CONVERSATIONS_PER_SPEAKER = 300
SEED = 7


def out_of_fold_logits(meta_c, x_c, meta, x, y, idx):
    """Each clean recording's logit from a model that never heard its speaker."""
    spk = np.array([m["speaker"] for m in meta])
    spk_c = np.array([m["speaker"] for m in meta_c])
    logits = np.zeros(len(meta_c))
    for s in sorted(set(spk)):
        scaler, lr = T.fit(x[spk != s][:, idx], y[spk != s])
        held = spk_c == s
        logits[held] = lr.decision_function(scaler.transform(x_c[held][:, idx]))
    return spk_c, logits


def conversations(rng, speakers, logits, labels, k, calm_only):
    rows = []
    for s in sorted(set(speakers)):
        ids = np.flatnonzero(speakers == s)
        for _ in range(CONVERSATIONS_PER_SPEAKER):
            target = rng.choice(ids)
            pool = [i for i in ids if i != target and (not calm_only or labels[i] == 0)]
            earlier = rng.choice(pool, size=k, replace=False)
            reference = [i for i in earlier if logits[i] < 0]
            base = float(np.mean(logits[reference])) if reference else None
            rows.append((s, logits[target], base, labels[target]))
    return rows


def uar(p, y):
    return float(((p[y == 1] >= 0.5).mean() + (p[y == 0] < 0.5).mean()) / 2)


def evaluate(rows):
    spk = np.array([r[0] for r in rows])
    logit = np.array([r[1] for r in rows])
    has = np.array([r[2] is not None for r in rows])
    base = np.array([r[2] if r[2] is not None else 0.0 for r in rows])
    y = np.array([r[3] for r in rows])
    absolute = 1 / (1 + np.exp(-logit))
    combined = absolute.copy()
    feats = np.c_[logit, logit - base]
    for s in sorted(set(spk)):
        train, test = (spk != s) & has, (spk == s) & has
        c = LogisticRegression().fit(feats[train], y[train])
        combined[test] = c.predict_proba(feats[test])[:, 1]
    return {
        "conversations": int(len(y)),
        "with_a_calm_reference": round(float(has.mean()), 3),
        "absolute": figures(absolute, y),
        "combined": figures(combined, y),
    }


def figures(p, y):
    return {
        "auc": round(float(roc_auc_score(y, p)), 4),
        "recall_at_5pct_fa": round(T.recall_at_5pct_fa(p, y), 4),
        "uar": round(uar(p, y), 4),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--attune", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--encoder", required=True)
    args = ap.parse_args()
    data = Path(args.data)
    labels_csv = data / "emodb" / "labels.csv"
    with tempfile.TemporaryDirectory() as tmp:
        meta_c, names, x_c = T.features(args.attune, args.encoder, labels_csv, Path(tmp) / "c.csv")
        meta_n, _, x_n = T.features(
            args.attune, args.encoder, labels_csv, Path(tmp) / "n.csv", noise_dir=data / "noise"
        )
        meta_r, _, x_r = T.features(
            args.attune, args.encoder, labels_csv, Path(tmp) / "r.csv", seed=T.NOISE_SEED, rooms=T.ROOMS
        )
    # Trained like the committed model: clean, noisy and room rows.
    meta = meta_c + meta_n + meta_r
    x = np.vstack([x_c, x_n, x_r])
    y = T.labels_of(meta)
    speakers, logits = out_of_fold_logits(meta_c, x_c, meta, x, y, T.used(names))
    labels = T.labels_of(meta_c)
    rng = np.random.default_rng(SEED)
    for scenario, calm_only in (("any", False), ("calm", True)):
        for k in (1, 3):
            rows = conversations(rng, speakers, logits, labels, k, calm_only)
            print(json.dumps({"scenario": scenario, "earlier_turns": k, **evaluate(rows)}))


if __name__ == "__main__":
    main()
