"""Quick run of the ``tensor`` suite: every decomposition and its TensorLy peers are timed at equal error."""

import torch

import benchmarks.suites  # noqa: F401  (registers the suites)
from benchmarks.registry import SUITES, Context

from ..real_data import needs_data


def test_quick_run_times_every_peer_at_equal_error_and_completes_the_sparse_tensor():
    needs_data("movielens/ml-100k/u1.base")          # the MovieLens completion case
    records = SUITES["tensor"].run(Context(quick=True, device=torch.device("cpu"), progress=False))
    for case in ("cp 30x30x30 R=5", "tucker 30x30x30", "tt 30x30x30"):
        errors = {r.impl: r.value for r in records if r.case == case and r.metric == "relative error"}
        assert set(errors) == {"geomlearn", "TensorLy (numpy)", "TensorLy (pytorch)"}
        # Same start, same sweeps: the same fit, to rounding.
        assert max(errors.values()) - min(errors.values()) < 1e-8
        assert len([r for r in records if r.case == case and r.metric == "geomlearn speedup"]) == 2
    rse = [r.value for r in records if r.metric == "RSE (whole tensor)"]
    assert len(rse) == 1 and rse[0] < 1e-6
    accuracy = {r.params["bond_dim"]: r.value for r in records if r.metric == "test accuracy"}
    assert set(accuracy) == {2, 4} and all(10 < a <= 100 for a in accuracy.values())   # above chance (10 %)
