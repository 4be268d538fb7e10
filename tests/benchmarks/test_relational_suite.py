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


def test_quick_hgt_case_measures_both_and_checks_equality():
    needs_data("movielens/ml-100k/u.data")
    ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only="hgt layer")
    records = SUITES["relational"].run(ctx)
    times = {r.impl: r.value for r in records if r.metric == "fwd+bwd time"}
    assert set(times) == {"geomlearn (SparseIndex)", "geomlearn (edge_index)", "torch_geometric"}
    ours = next(r for r in records if r.impl == "geomlearn (SparseIndex)" and r.metric == "fwd+bwd time")
    assert float(ours.note.split("= ")[1]) < 1e-4
    assert ours.params["relations"] == 2 and ours.params["N"] == 943 + 1682 and ours.params["E"] == 200_000


def test_mag_shaped_graph_has_ogbn_mags_types_and_scaled_counts():
    from benchmarks.relational.hetero_graphs import MAG_NODES, MAG_RELATIONS, mag_shaped

    data = mag_shaped(scale=0.001)
    assert set(data.node_types) == set(MAG_NODES)
    assert {t: data[t].num_nodes for t in MAG_NODES} == {t: round(n * 0.001) for t, n in MAG_NODES.items()}
    for (src, rel, dst), count in MAG_RELATIONS.items():
        edges = data[src, rel, dst].edge_index
        assert edges.shape[1] == round(count * 0.001)
        assert int(edges[0].max()) < data[src].num_nodes and int(edges[1].max()) < data[dst].num_nodes
        if src != dst:
            assert torch.equal(data[dst, f"rev_{rel}", src].edge_index, edges.flip(0))


def test_quick_rgat_case_measures_both_and_checks_equality():
    needs_data("kg/WN18RR/raw/train.txt")
    ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only="rgat layer")
    records = SUITES["relational"].run(ctx)
    times = {r.impl: r.value for r in records if r.metric == "fwd+bwd time"}
    assert set(times) == {"geomlearn", "torch_geometric"}
    ours = next(r for r in records if r.impl == "geomlearn" and r.metric == "fwd+bwd time")
    assert float(ours.note.split("= ")[1]) < 1e-4
