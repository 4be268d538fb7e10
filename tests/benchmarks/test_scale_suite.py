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


def test_quick_ncn_cases_time_a_sampled_link_step_and_train_sampled_and_on_the_full_graph():
    needs_data("planetoid/Cora/raw")
    ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only="NCN")
    records = SUITES["scale"].run(ctx)
    steps = {(r.impl, r.metric): r for r in records if r.case == "NCN steps products"}
    assert steps["geomlearn", "time per batch"].value > 0
    peer = steps["torch_geometric", "time per batch"]
    assert peer.value is not None or peer.note.startswith("peer not installed")
    hits = {r.impl: r.value for r in records if r.metric == "test HR@100"}
    assert set(hits) == {"sampled mini-batches", "full graph"} and all(0 <= v <= 100 for v in hits.values())
    (difference,) = [r.value for r in records if r.metric == "difference"]
    assert difference == pytest.approx(hits["sampled mini-batches"] - hits["full graph"])
