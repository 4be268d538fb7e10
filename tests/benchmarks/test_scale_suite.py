import pytest
import torch

import benchmarks.suites  # noqa: F401  (registers the suites)
from benchmarks.registry import SUITES, Context

from ..real_data import needs_data


def test_quick_sampler_case_times_geomlearn_and_says_whether_the_peer_ran():
    ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only="sampler products")
    records = SUITES["scale"].run(ctx)
    ours = {r.metric: r.value for r in records if r.impl == "geomlearn"}
    assert ours["sampled edges per s"] > 0 and ours["edges per batch"] > 1024
    peer = [r for r in records if r.impl == "torch_geometric" and r.metric == "sampled edges per s"]
    assert len(peer) == 1 and (peer[0].value is not None or peer[0].note.startswith("peer not installed"))


def test_quick_accuracy_case_trains_sampled_and_full_batch():
    needs_data("planetoid/Cora/raw")
    ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only="accuracy Cora")
    records = SUITES["scale"].run(ctx)
    accuracy = {r.impl: r.value for r in records if r.metric == "test accuracy"}
    assert set(accuracy) == {"sampled mini-batches", "full batch"}
    (difference,) = [r.value for r in records if r.metric == "difference"]
    assert difference == pytest.approx(accuracy["sampled mini-batches"] - accuracy["full batch"])
