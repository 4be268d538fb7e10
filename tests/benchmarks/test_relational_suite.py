import torch

import benchmarks.suites  # noqa: F401  (registers the suites)
from benchmarks.registry import SUITES, Context

from ..real_data import needs_data


def test_quick_rgcn_case_measures_both_and_checks_equality():
    needs_data("kg/WN18RR/raw/train.txt")
    ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only="rgcn layer WN18RR no bases")
    records = SUITES["relational"].run(ctx)
    times = {r.impl: r.value for r in records if r.metric == "fwd+bwd time"}
    assert set(times) == {"geomlearn", "torch_geometric"} and all(t > 0 for t in times.values())
    ours = next(r for r in records if r.impl == "geomlearn" and r.metric == "fwd+bwd time")
    assert float(ours.note.split("= ")[1]) < 1e-4                # equal outputs, checked before timing
    ratio = next(r for r in records if r.metric == "speedup of geomlearn")
    assert abs(ratio.value - times["torch_geometric"] / times["geomlearn"]) < 1e-9


def test_quick_link_case_records_the_metrics():
    needs_data("kg/WN18RR/raw/train.txt")
    ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only="rgcn link", budget_s=3.0)
    records = SUITES["relational"].run(ctx)
    assert {r.metric for r in records} == {"test MRR", "test Hits@1", "test Hits@3", "test Hits@10"}
    assert all(r.impl == "geomlearn R-GCN + DistMult" and 0 <= r.value <= 1 for r in records)   # no WN18RR paper row
    assert records[0].params["budget_s"] == 3.0 and "of" in records[0].note
