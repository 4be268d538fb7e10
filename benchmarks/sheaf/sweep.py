"""Random search for a sheaf model's settings on a Geom-GCN data set, scored on a few splits' validation accuracy.

``python -m benchmarks.sheaf.sweep Cora Diag-NSD --trials 9 --seed 1 [--splits 0,1,2]`` draws ``--trials``
settings from ranges like those of NSD's own sweeps (its ``config/*.yml``), trains each on the given splits
with :func:`~benchmarks.sheaf.node_classification.train_split` (NSD's protocol: 1,500 epochs, patience 200,
best epoch by validation accuracy) and prints one JSON line per draw: mean validation and test accuracy (%)
and the settings. Pick by validation accuracy only; the test figure is printed to be recorded, not to choose.
The same seed draws the same settings.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from dataclasses import asdict

from tqdm import tqdm

from .node_classification import DATASETS, LEARNED_SHEAF_MODELS, SheafSettings, load, train_split


def draw(rng: random.Random, model: str) -> SheafSettings:
    """One draw: stalk dimension 1-5 (>= 2 for maps other than diagonal), 2-6 layers, 8-64 channels, dropout
    0-0.8 and input dropout 0-0.9 in steps of 0.1, lr 0.01 / 0.02, weight decay log-uniform on
    ``[e^-9.2, e^-5.3]`` (1e-4 to 5e-3), the learner's on ``[e^-11, e^-5.3]``, low / high pass each with
    probability 1/2, a second encoder layer with probability 0.3."""
    d = rng.choice([1, 2, 3, 4, 5])
    settings = dict(layers=rng.choice([2, 3, 4, 5, 6]), hidden=rng.choice([8, 16, 32, 64]),
                    dropout=rng.choice([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]),
                    input_dropout=rng.choice([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]),
                    lr=rng.choice([0.01, 0.02]), weight_decay=math.exp(rng.uniform(-9.2, -5.3)),
                    sheaf_decay=math.exp(rng.uniform(-11.0, -5.3)), low_pass=rng.random() < 0.5,
                    high_pass=rng.random() < 0.5, second_linear=rng.random() < 0.3)
    return SheafSettings(d=d if model == "Diag-NSD" else max(d, 2), epochs=1500, patience=200, stop="acc",
                         **settings)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sheaf.sweep", description=__doc__)
    parser.add_argument("dataset", choices=DATASETS)
    parser.add_argument("model", choices=LEARNED_SHEAF_MODELS)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--splits", default="0,1,2", help="comma-separated Geom-GCN split numbers (0-9)")
    args = parser.parse_args(argv)
    if args.trials < 1:
        parser.error(f"--trials: expected an int >= 1, got {args.trials}")
    try:
        splits = [int(k) for k in args.splits.split(",")]
    except ValueError:
        splits = []
    if not splits or any(not 0 <= k < 10 for k in splits):
        parser.error(f"--splits: expected comma-separated split numbers in 0-9, got {args.splits!r}")
    rng = random.Random(args.seed)
    data = load(args.dataset)
    for _ in tqdm(range(args.trials), desc=f"{args.dataset} {args.model}"):
        settings = draw(rng, args.model)
        runs = [train_split(args.model, data, k, settings) for k in splits]
        mean = {key: round(100 * sum(r[key] for r in runs) / len(runs), 2) for key in ("val", "test")}
        tqdm.write(json.dumps({**mean, **asdict(settings)}))


if __name__ == "__main__":
    main()
