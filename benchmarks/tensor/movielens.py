"""``movielens user x item x month``: rating completion on MovieLens 100K's five u1..u5 folds, a rank-10 CP of the
user x item x month tensor against rank-10 matrix factorisation of user x item, the same ALS on both.

Month = (timestamp - first timestamp) // 30 days: 8 months (Sep 1997 - Apr 1998). Both models fit the ratings
less a biased baseline :math:`\\mu + b_u + b_i` (ridge 5 on the biases, alternating means), on the training
ratings only, by ALS on the observed entries (``cp`` with sparse COO input) with the weighted ridge
(``weighted_l2``, :math:`\\lambda n_i` per row), 30 sweeps:

* MF: ``cp`` of the user x item matrix, rank 10, :math:`\\lambda = 0.1` from a random start;
* tensor: ``cp`` of the user x item x month tensor, rank 10, :math:`\\lambda = (0.1, 0.1, 0.003)` per mode, from the
  MF factors with a month factor of ones (the MF model is its first iterate).

:math:`\\lambda` was picked on fold u1 (a grid of 0.05 .. 0.4 for users / items and 1e-5 .. 1e-2 for the month
mode); predictions are clipped to the rating scale 1..5. RMSE on each fold's test ratings, and the mean.
"""

from __future__ import annotations

import statistics

import torch
from tqdm.auto import tqdm

from geomlearn.datasets import movielens_100k
from geomlearn.tensor_networks import CPTensor, cp

from ..registry import Context, Record

SUITE = "tensor"
CASE = "movielens user x item x month"
RANK, SWEEPS, RIDGE, MONTH_RIDGE, BIAS_RIDGE = 10, 30, 0.1, 0.003, 5.0
MONTH_SECONDS = 30 * 86_400


def _biases(user, item, rating, users: int, items: int):
    """:math:`\\mu, b_u, b_i` by alternating ridge-regularised means (10 rounds)."""
    mu = rating.mean()
    user_bias, item_bias = torch.zeros(users, dtype=rating.dtype), torch.zeros(items, dtype=rating.dtype)
    user_count = torch.bincount(user, minlength=users).to(rating.dtype)
    item_count = torch.bincount(item, minlength=items).to(rating.dtype)
    for _ in range(10):
        item_bias = torch.zeros_like(item_bias).index_add_(0, item, rating - mu - user_bias[user]) / (
            item_count + BIAS_RIDGE)
        user_bias = torch.zeros_like(user_bias).index_add_(0, user, rating - mu - item_bias[item]) / (
            user_count + BIAS_RIDGE)
    return mu, user_bias, item_bias


def _predict(model: CPTensor, indices: torch.Tensor) -> torch.Tensor:
    rows = model.weights
    for n, factor in enumerate(model.factors):
        rows = rows * factor[indices[n]]
    return rows.sum(1)


def movielens_cases(ctx: Context, records: list[Record]) -> None:
    if not ctx.wanted(CASE):
        return
    data = movielens_100k()
    users, items = data.num_users, data.num_items
    user, item = data.edge_index[0], data.edge_index[1] - users
    rating = data.rating.to(torch.float64)
    month = (data.time - data.time.min()) // MONTH_SECONDS
    months = int(month.max()) + 1
    folds = range(1 if ctx.quick else 5)
    sweeps = 3 if ctx.quick else SWEEPS
    rmse = {"biases only": [], "MF (rank 10)": [], "CP tensor (rank 10)": []}
    for fold in tqdm(folds, desc="tensor: MovieLens folds", disable=not ctx.progress):
        test = data.test_mask[:, fold]
        train = ~test
        mu, user_bias, item_bias = _biases(user[train], item[train], rating[train], users, items)
        baseline = mu + user_bias[user] + item_bias[item]
        residual = (rating - baseline)[train]
        matrix = torch.sparse_coo_tensor(torch.stack([user[train], item[train]]), residual, (users, items),
                                         check_invariants=True)
        mf = cp(matrix, RANK, n_iter_max=sweeps, tol=0, init="random", random_state=0, l2_reg=RIDGE,
                weighted_l2=True)
        tensor = torch.sparse_coo_tensor(torch.stack([user[train], item[train], month[train]]), residual,
                                         (users, items, months))
        start = CPTensor(torch.ones(RANK, dtype=torch.float64),
                         [mf.factors[0] * mf.weights, mf.factors[1], torch.ones(months, RANK, dtype=torch.float64)])
        ct = cp(tensor, RANK, n_iter_max=sweeps, tol=0, init=start, l2_reg=[RIDGE, RIDGE, MONTH_RIDGE],
                weighted_l2=True)
        truth = rating[test]
        for name, prediction in (("biases only", baseline[test]),
                                 ("MF (rank 10)", baseline[test] + _predict(mf, [user[test], item[test]])),
                                 ("CP tensor (rank 10)",
                                  baseline[test] + _predict(ct, [user[test], item[test], month[test]]))):
            rmse[name].append(float((prediction.clamp(1, 5) - truth).square().mean().sqrt()))
    params = dict(rank=RANK, sweeps=SWEEPS, ridge=RIDGE, month_ridge=MONTH_RIDGE, months=months,
                  folds=[f"u{f + 1}" for f in folds])
    for name, values in rmse.items():
        params_fold = {**params, "per_fold": [round(v, 4) for v in values]}
        records.append(Record(SUITE, CASE, name, "test RMSE", statistics.mean(values), "",
                              std=statistics.stdev(values) if len(values) > 1 else None, n=len(values),
                              params=params_fold))
    ratio = statistics.mean(rmse["CP tensor (rank 10)"]) / statistics.mean(rmse["MF (rank 10)"])
    records.append(Record(SUITE, CASE, "CP tensor (rank 10)", "RMSE / MF RMSE", ratio, "x", params=params))
