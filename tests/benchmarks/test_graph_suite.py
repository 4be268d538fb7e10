"""Two-epoch smoke runs of every ``graph`` suite case on the real Cora data, and its helpers."""

import json
import math

import pytest
import torch

import benchmarks.suites  # noqa: F401  (registers the suites)
from benchmarks.checkpoints import Checkpoints
from benchmarks.graph.link_prediction import split_edges
from benchmarks.graph.node_classification import SETTINGS, GCNII, SparseInputDropout, parameter_groups
from benchmarks.graph.speed_models import EDGE_FEATURE_LAYERS, EDGE_FEATURES, SPEED_LAYERS, build
from benchmarks.registry import SUITES, Context

from ..real_data import needs_data


@pytest.mark.parametrize("only, metric, count", [("node Cora", "test accuracy", 7), ("link Cora", "test HR@100", 3)])
def test_every_cora_case_runs_two_epochs(only, metric, count):
    needs_data("planetoid/Cora/raw")
    records = SUITES["graph"].run(Context(quick=True, device=torch.device("cpu"), progress=False, only=only))
    scores = [r for r in records if r.metric == metric]
    assert len(scores) == count
    assert all(0.0 <= r.value <= 100.0 and r.n == 1 for r in scores)


def test_node_case_keeps_each_seed_and_a_resumed_run_reuses_it(tmp_path):
    needs_data("planetoid/Cora/raw")
    def run(resume):
        return SUITES["graph"].run(Context(quick=True, device=torch.device("cpu"), progress=False,
                                           only="node Cora GCNII", checkpoints=Checkpoints(tmp_path, resume=resume)))
    first = next(r for r in run(False) if r.metric == "test accuracy")
    unit = tmp_path / "node_Cora_GCNII" / "seed_0.json"
    stored = json.loads(unit.read_text())
    assert stored["settings"]["options"] == [["layers", 64], ["alpha", 0.1], ["theta", 0.5]]
    unit.write_text(json.dumps({**stored, "result": {**stored["result"], "test": 0.25}}))
    resumed = next(r for r in run(True) if r.metric == "test accuracy")
    assert first.value != 25.0 and resumed.value == pytest.approx(25.0)      # the stored seed, not a new run
    assert list(resumed.params["resumed_seeds"]) == ["seed 0"]


def test_speed_case_times_geomlearn_and_torch_geometric_in_one_run():
    records = SUITES["graph"].run(Context(quick=True, device=torch.device("cpu"), progress=False, only="speed GCN E"))
    times = {r.impl: r.value for r in records if r.metric == "epoch time"}
    assert set(times) == {"geomlearn (SparseIndex)", "torch_geometric"}          # --quick: SparseIndex only
    speedup = next(r for r in records if r.metric == "speedup of geomlearn" and r.impl == "torch_geometric")
    assert speedup.value == pytest.approx(times["torch_geometric"] / times["geomlearn (SparseIndex)"])


def test_gcnii_decays_its_propagation_weights_apart_from_its_dense_layers():
    settings = SETTINGS[("GCNII", "Cora")]
    model = GCNII(20, 8, 3, 0.5, **dict(settings.options))
    assert len(model.convs) == 64
    conv, dense = parameter_groups(model, settings)
    assert conv["weight_decay"] == 0.01 and dense["weight_decay"] == 5e-4
    assert {id(p) for p in conv["params"]} == {id(c.weight1) for c in model.convs}
    assert {id(p) for p in dense["params"]} == {id(p) for p in (*model.embed.parameters(), *model.classify.parameters())}


def test_sparse_input_dropout_matches_dense_dropout_in_distribution():
    x = (torch.rand(400, 50) < 0.05).float() * torch.rand(400, 50)
    dropout = SparseInputDropout(x)
    torch.manual_seed(0)
    samples = torch.stack([dropout(0.5) for _ in range(400)])
    assert ((samples == 0) | (x == 0) | torch.isclose(samples, 2 * x)).all()      # kept entries scaled by 1/(1-p)
    kept = (samples[:, x != 0] != 0).float().mean()
    assert abs(kept - 0.5) < 4 * math.sqrt(0.25 / samples[:, x != 0].numel())
    assert dropout(0.0) is x


def test_edge_split_is_disjoint_and_negatives_are_non_edges():
    g = torch.Generator().manual_seed(0)
    pairs = torch.randint(0, 60, (2, 300), generator=g)
    pairs = pairs[:, pairs[0] != pairs[1]]
    edge_index = torch.cat([pairs, pairs.flip(0)], 1).unique(dim=1)
    split = split_edges(edge_index, 60, seed=1)
    seen = set()
    for part in ("train", "valid", "test"):
        keys = {tuple(sorted(p)) for p in split[part].t().tolist()}
        assert not keys & seen
        seen |= keys
    assert len(seen) == edge_index.shape[1] // 2
    existing = set(map(tuple, edge_index.t().tolist()))
    assert not {tuple(p) for p in split["test_neg"].t().tolist()} & existing


def test_ogb_cases_run_where_the_files_are_and_skip_where_not(monkeypatch, tmp_path):
    from ..ogb_files import write_tiny_arxiv, write_tiny_link_set

    monkeypatch.setenv("GEOMLEARN_DATA", str(tmp_path))
    ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only="ogb")
    skipped = SUITES["graph"].run(ctx)
    assert skipped and all(r.value is None and r.note.startswith("skipped: no ogb") for r in skipped)
    write_tiny_arxiv(tmp_path)
    write_tiny_link_set(tmp_path, "ogbl-collab", features=True)
    records = SUITES["graph"].run(ctx)
    accuracy = [r for r in records if r.metric == "test accuracy"]
    hits = [r for r in records if r.metric == "test hits"]
    assert len(accuracy) == 3 and len(hits) == 3
    assert all(r.value is not None and 0 <= r.value <= 100 for r in accuracy + hits)


@pytest.mark.parametrize("layer", SPEED_LAYERS)
def test_speed_models_compute_the_same_function_in_both_libraries(layer):
    """The epoch-time cases compare like with like: the geomlearn and torch_geometric builds of each model give the
    same outputs with the same weights."""
    import torch_geometric.nn as pyg

    import geomlearn.gnn as ours
    from geomlearn.datasets import power_law_graph

    data = power_law_graph(300, 3000, seed=0)
    g = torch.Generator().manual_seed(0)
    x, edge_attr = torch.randn(300, 64, generator=g), torch.randn(3000, EDGE_FEATURES, generator=g)
    degree_histogram = torch.bincount(torch.bincount(data.edge_index[1], minlength=300))
    extra = (edge_attr,) if layer in EDGE_FEATURE_LAYERS else ()
    torch.manual_seed(0)
    theirs = build(layer, pyg, 64, 16, degree_histogram)
    mine = build(layer, ours, 64, 16, degree_histogram)
    mine.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(mine(x, data.edge_index, *extra), theirs(x, data.edge_index, *extra),
                               atol=1e-4, rtol=1e-4)
