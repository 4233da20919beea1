"""Training time per epoch of the multimodal rankers against SASRec, in one run.

Each model trains ``--epochs`` epochs on ML-100K (leave-one-out, the evaluation's
settings: hidden 64, max length 50, batch 128; the second modality missing for 30% of
the items) and reports its mean seconds per epoch (validation included, as in the
training log) and the ratio to SASRec's. ``--device auto`` uses a GPU when present.

    python -m benchmarks.multimodal_speed [--epochs 2] [--device auto]
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import torch

from recommenders.data import make_split
from recommenders.features import build_features
from recommenders.models import get_model
from recommenders.pipeline import load_data

MODELS = ("sasrec", "duafmat", "mm-concat", "unisrec-text")


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", default="ml-100k")
    args = parser.parse_args(argv)
    data = load_data(args.data)
    split = make_split(data.interactions, "leave-one-out")
    features = build_features(data, missing=0.3, seed=0)
    rows = []
    for name in MODELS:
        extra = {} if name == "sasrec" else {"features": features}
        model = get_model(name, device=args.device, seed=0, epochs=args.epochs,
                          patience=args.epochs, batch_size=128, **extra)  # fmt: skip
        model.fit(split.train, split.valid)
        per_epoch = float(np.mean([r["seconds"] for r in model.train_log_]))
        rows.append({"model": name, "device": model.device.type, "seconds_per_epoch": per_epoch})
    table = pd.DataFrame(rows)
    table["ratio_to_sasrec"] = table["seconds_per_epoch"] / table["seconds_per_epoch"].iloc[0]
    print(f"torch threads: {torch.get_num_threads()}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    return table


if __name__ == "__main__":
    main()
