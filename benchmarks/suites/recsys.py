"""``recsys``: Sheaf4Rec against LightGCN on MovieLens 100K's five folds, same protocol and settings.

Case ``recsys ML-100K <Model>``: mean ± std over the folds u1..u5 (``--repeats`` for fewer; fold u1, unless
``--repeats`` says more, and 2 epochs with ``--quick``; each fold kept as it finishes, for ``--resume``) of F1@10,
NDCG@10 and Recall@20 at the epoch each fold's validation hold-out chose (:mod:`benchmarks.sheaf.recommendation`),
with that epoch and the training time per epoch. The paper publishes relative gains only (+5.1 % F1 on ML-100K
over its best baseline), so the run records SheafRecommender's relative NDCG@10 gain over LightGCN.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict

from tqdm.auto import tqdm

from geomlearn.datasets import movielens_100k

from ..registry import Context, Record, register
from ..sheaf.recommendation import RECOMMENDERS, RecsysSettings, train_recommender

SUITE = "recsys"
METRICS = ("F1@10", "NDCG@10", "Recall@20")


@register(SUITE, "SheafRecommender vs LightGCN on MovieLens 100K (five folds): F1@10, NDCG@10, Recall@20")
def run(ctx: Context) -> list[Record]:
    records: list[Record] = []
    cases = [m for m in RECOMMENDERS if ctx.wanted(f"recsys ML-100K {m}")]
    if not cases:
        return records
    folds = ctx.repeat_count(5, "MovieLens folds")
    data = movielens_100k()
    settings = RecsysSettings()
    means = {}
    epochs = 2 if ctx.quick else settings.epochs
    for model in tqdm(cases, desc="recsys", disable=not ctx.progress):
        case = f"recsys ML-100K {model}"
        runs = [ctx.checkpoints.run(case, f"fold u{fold + 1}", dict(asdict(settings), epochs=epochs),
                                    lambda: train_recommender(model, data, fold, settings, epochs=epochs,
                                                              progress=ctx.progress),
                                    bounds={metric: (0, 1) for metric in METRICS})
                for fold in tqdm(range(folds), desc=model, leave=False, disable=not ctx.progress)]
        params = dict(model=model, folds=folds, **asdict(settings))
        if case in ctx.checkpoints.resumed:                     # {fold: commit} finished by an earlier process
            params["resumed_folds"] = ctx.checkpoints.resumed[case]
        for metric in METRICS:
            values = [100 * r[metric] for r in runs]
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            records.append(Record(SUITE, case, model, metric, statistics.mean(values), "%", std=std, n=folds,
                                  params=params))
        means[model] = statistics.mean(100 * r["NDCG@10"] for r in runs)
        records.append(Record(SUITE, case, model, "chosen epoch", statistics.mean(r["epoch"] for r in runs), "",
                              n=folds, params=params))
        records.append(Record(SUITE, case, model, "epoch time",
                              1e3 * statistics.mean(r["seconds_per_epoch"] for r in runs), "ms", params=params))
    if len(means) == 2 and not ctx.quick:
        gain = means["SheafRecommender"] / means["LightGCN"] - 1
        records.append(Record(SUITE, "recsys ML-100K NDCG@10 gain", "SheafRecommender", "relative gain over LightGCN",
                              100 * gain, "%", n=folds))
    return records
