"""Two-epoch smoke runs of the ``sheaf`` suite on the real Texas data, the ``recsys`` suite on MovieLens,
and the helpers they rely on: the scalar-COO peer is the same model, the ranking metrics are right."""

import json
import math
import random
from dataclasses import replace

import pytest
import torch
from torch_geometric.utils import coalesce, to_undirected

import benchmarks.suites  # noqa: F401  (registers the suites)
from benchmarks.checkpoints import Checkpoints
from benchmarks.registry import SUITES, Context
from benchmarks.sheaf.recommendation import (RecsysSettings, hold_out, interaction_matrix, ranking_metrics,
                                             train_recommender)
from benchmarks.sheaf.node_classification import build, features, load, settings_for, train_split
from benchmarks.sheaf.scalar_coo import ScalarCOOBundleNSD, laplacian_nonzeros
from benchmarks.sheaf.sweep import draw
from benchmarks.sheaf.sweep import main as sweep_main
from geomlearn.sheaf import BundleNSD
from geomlearn.sparse import SparseIndex

from ..real_data import needs_data


def test_every_texas_case_runs_two_epochs():
    needs_data("heterophilous/texas.npz")
    records = SUITES["sheaf"].run(Context(quick=True, device=torch.device("cpu"), progress=False, only="node Texas"))
    scores = [r for r in records if r.metric == "test accuracy" and r.case.startswith("node")]
    assert {r.params["model"] for r in scores} == {"Diag-NSD", "O(d)-NSD", "Gen-NSD", "Conn-NSD", "Identity-sheaf",
                                                  "GCN", "MLP", "GCN (raw)", "MLP (raw)"}
    assert all(0.0 <= r.value <= 100.0 and r.n == 1 for r in scores)
    assert all(r.params["test_per_split"] == [pytest.approx(r.value, abs=0.01)] for r in scores)
    notes = {r.params["model"]: r.note for r in scores}                       # the paper's Texas figures
    assert notes["GCN"].startswith("paper 55.14 ± 5.16") and notes["GCN (raw)"].startswith("paper 55.14 ± 5.16")
    assert notes["MLP (raw)"].startswith("paper 80.81 ± 4.75") and notes["Identity-sheaf"].startswith("paper —")
    best = next(r for r in records if r.case == "best NSD Texas")
    assert best.value == max(r.value for r in scores if r.params["model"] in ("Diag-NSD", "O(d)-NSD", "Gen-NSD"))


def test_an_interrupted_case_resumes_from_its_finished_splits(tmp_path):
    needs_data("heterophilous/texas.npz")
    case = "node Texas Conn-NSD"

    def run(resume: bool):
        ctx = Context(quick=True, device=torch.device("cpu"), progress=False, only=case, repeats=2,
                      checkpoints=Checkpoints(tmp_path, resume=resume))
        return next(r for r in SUITES["sheaf"].run(ctx) if r.metric == "test accuracy"), ctx
    fresh, _ = run(resume=False)
    stored = tmp_path / "node_Texas_Conn-NSD" / "split_0.json"
    unit = json.loads(stored.read_text())
    assert unit["result"]["test"] == pytest.approx(fresh.params["test_per_split"][0] / 100, abs=1e-4)
    unit["result"]["test"] = 0.125                            # a figure only the stored split can give
    stored.write_text(json.dumps(unit))
    (tmp_path / "node_Texas_Conn-NSD" / "split_1.json").unlink()        # the run was killed during split 1
    resumed, ctx = run(resume=True)
    assert resumed.params["test_per_split"] == [12.5, fresh.params["test_per_split"][1]]
    assert list(resumed.params["resumed_splits"]) == ["split 0"]
    ctx.checkpoints.clear()
    assert not tmp_path.exists()


@pytest.mark.parametrize("model", ["GCN", "Diag-NSD", "Conn-NSD"])
def test_a_split_trains_the_same_whatever_ran_before_it(model):
    needs_data("heterophilous/texas.npz")
    data, settings = load("Texas"), replace(settings_for(model, "Texas"), epochs=3, patience=3)
    first = train_split(model, data, 1, settings)
    torch.rand(1000)                                       # what ran before moves the global random state
    second = train_split(model, data, 1, settings, sheaf=first["model"].sheaf if model == "Conn-NSD" else None)
    assert (first["val"], first["test"], first["epoch"]) == (second["val"], second["test"], second["epoch"])
    for a, b in zip(first["model"].parameters(), second["model"].parameters()):
        assert torch.equal(a, b)
    if model == "Conn-NSD":
        with pytest.raises(ValueError, match="sheaf: only a fixed-sheaf model takes a precomputed sheaf, got model 'G"):
            train_split("GCN", data, 1, settings, sheaf=first["model"].sheaf)


def test_a_split_shows_its_epochs_on_stderr_when_asked(capsys):
    needs_data("heterophilous/texas.npz")
    data, settings = load("Texas"), replace(settings_for("Diag-NSD", "Texas"), epochs=3, patience=3)
    train_split("Diag-NSD", data, 0, settings)
    assert capsys.readouterr().err == ""
    train_split("Diag-NSD", data, 0, settings, progress=True)
    assert "Diag-NSD split 0" in capsys.readouterr().err


def test_only_the_raw_baselines_read_the_features_as_stored():
    needs_data("heterophilous/texas.npz")
    data = load("Texas")
    assert data.x.max() == 1.0 and data.x.sum(dim=1).max() > 1.0               # binary bag-of-words, as stored
    for model in ("GCN (raw)", "MLP (raw)"):
        assert torch.equal(features(data, settings_for(model, "Texas")), data.x)
    totals = data.x.sum(dim=1)
    for model in ("GCN", "MLP", "Diag-NSD"):
        x = features(data, settings_for(model, "Texas"))
        torch.testing.assert_close(x * totals[:, None], data.x)
        torch.testing.assert_close(x.sum(dim=1)[totals > 0], torch.ones(int((totals > 0).sum())))


# The fixed coordinates of NSD's published scripts (exp/scripts/run_<data set>.sh) and the off-diagonal entry its
# code writes for each flag (models/laplacian_builders.py, get_fixed_maps): add_lp +1 (D + A), add_hp -1 (D - A).
NSD_SCRIPT_FLAGS = {"Texas": (), "Wisconsin": ("add_lp", "add_hp"), "Cornell": ("add_lp",),
                    "Chameleon": ("add_lp",), "Squirrel": ("add_lp",)}
NSD_OFF_DIAGONAL = {"add_lp": 1.0, "add_hp": -1.0}


@pytest.mark.parametrize("dataset", sorted(NSD_SCRIPT_FLAGS))
def test_published_settings_build_the_fixed_operators_of_nsds_code(dataset):
    index = SparseIndex(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=3)   # the path 0 - 1 - 2
    model = build("Diag-NSD", 5, 2, settings_for("Diag-NSD", dataset))
    fixed = model.fixed_channels(index, torch.float64)
    expected = sorted(NSD_OFF_DIAGONAL[flag] for flag in NSD_SCRIPT_FLAGS[dataset])
    if fixed is None:
        assert expected == []
        return
    k = fixed.stalk_dim
    dense = fixed.dense().view(3, k, 3, k)
    signs = sorted(float(torch.sign(dense[0, j, 1, j])) for j in range(k))      # the edge 0 - 1, per coordinate
    assert signs == expected


@pytest.mark.parametrize("low_pass, high_pass", [(False, False), (True, False), (False, True), (True, True)])
def test_scalar_coo_peer_is_the_same_model(low_pass, high_pass):
    torch.manual_seed(0)
    pairs = torch.randint(0, 12, (2, 40))
    pairs = pairs[:, pairs[0] != pairs[1]]
    index = SparseIndex(coalesce(to_undirected(pairs, num_nodes=12)), num_nodes=12)
    options = dict(d=3, num_layers=3, low_pass=low_pass, high_pass=high_pass, second_linear=True)
    ours = BundleNSD(7, 4, 3, **options).double().eval()
    peer = ScalarCOOBundleNSD(7, 4, 3, **options).double().eval()
    peer.load_state_dict(ours.state_dict())
    x = torch.randn(12, 7, dtype=torch.float64)
    torch.testing.assert_close(peer(x, index), ours(x, index))
    laplacian = peer.laplacian(0, x, torch.randn(12, ours.stalk_dim, 4, dtype=torch.float64), index, None)
    assert laplacian.values.numel() == laplacian_nonzeros(index, 3, int(low_pass) + int(high_pass))


def test_speed_case_compares_the_formulations_in_one_run():
    needs_data("heterophilous/squirrel.npz")
    records = SUITES["sheaf"].run(Context(quick=True, device=torch.device("cpu"), progress=False, only="speed"))
    times = {r.impl: r.value for r in records if r.metric == "epoch time"}
    assert set(times) == {"geomlearn (block)", "reference formulation (scalar COO)"}
    speedup = next(r for r in records if r.metric == "speedup of geomlearn")
    assert speedup.value == pytest.approx(times["reference formulation (scalar COO)"] / times["geomlearn (block)"])
    assert float(speedup.note.split("same outputs to ")[1].split(";")[0]) < 1e-4


def test_ranking_metrics_by_hand():
    # One user, items 0..29; item 0 was rated in training, items 1 and 25 are in the test set.
    scores = torch.arange(30, 0, -1, dtype=torch.float).unsqueeze(0)          # ranking 0, 1, 2, ...
    train = torch.zeros(1, 30, dtype=torch.bool)
    train[0, 0] = True
    test = torch.zeros(1, 30, dtype=torch.bool)
    test[0, [1, 25]] = True
    metrics = ranking_metrics(scores, train, test)
    # Item 1 is ranked first once item 0 is excluded; item 25 is 25th, outside the top 20.
    assert metrics["P@10"] == pytest.approx(0.1) and metrics["R@10"] == pytest.approx(0.5)
    assert metrics["F1@10"] == pytest.approx(2 * 0.1 * 0.5 / 0.6)
    assert metrics["NDCG@10"] == pytest.approx(1.0 / (1.0 + 1.0 / math.log2(3)))
    assert metrics["Recall@20"] == pytest.approx(0.5)


def test_hold_out_partitions_the_ratings():
    pairs = torch.stack([torch.arange(50) % 7, 7 + torch.arange(50)])
    kept, held = hold_out(pairs, 0.1, torch.Generator().manual_seed(3))
    assert held.shape == (2, 5) and kept.shape == (2, 45)
    together = torch.cat([kept, held], dim=1)
    assert torch.equal(together[:, together[1].argsort()], pairs)          # disjoint, nothing lost
    matrix = interaction_matrix(held, 7, 50)
    assert matrix.sum() == 5 and bool(matrix[held[0], held[1] - 7].all())


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1])
def test_hold_out_names_a_bad_fraction(fraction):
    with pytest.raises(ValueError, match="validation"):
        hold_out(torch.zeros(2, 4, dtype=torch.long), fraction, torch.Generator())


@pytest.mark.parametrize("epochs", [0, -3, 2.5])
def test_train_recommender_names_a_bad_epoch_count(epochs):
    with pytest.raises(ValueError, match="epochs"):
        train_recommender("LightGCN", None, 0, RecsysSettings(), epochs=epochs)


def test_recsys_runs_two_epochs_on_movielens_and_resumes_from_its_folds(tmp_path):
    needs_data("movielens/ml-100k/u1.base")

    def run(resume: bool) -> list:
        return SUITES["recsys"].run(Context(quick=True, device=torch.device("cpu"), progress=False,
                                            checkpoints=Checkpoints(tmp_path, resume=resume)))
    records = run(resume=False)
    values = {(r.impl, r.metric): r.value for r in records}
    for model in ("LightGCN", "SheafRecommender"):
        for metric in ("F1@10", "NDCG@10", "Recall@20"):
            assert 0.0 < values[(model, metric)] < 100.0
        assert values[(model, "chosen epoch")] in (1, 2)
    resumed = run(resume=True)                                       # every fold read back, none trained again
    assert {(r.impl, r.metric): r.value for r in resumed} == values
    assert all(list(r.params["resumed_folds"]) == ["fold u1"] for r in resumed)


def test_sweep_draws_are_reproducible_and_in_range():
    assert draw(random.Random(5), "O(d)-NSD") == draw(random.Random(5), "O(d)-NSD")
    rng = random.Random(0)
    settings = [draw(rng, model) for model in ("Diag-NSD", "O(d)-NSD", "Gen-NSD") for _ in range(100)]
    assert {s.d for s in settings[:100]} == {1, 2, 3, 4, 5}
    assert min(s.d for s in settings[100:]) == 2                      # orthogonal / general maps need d >= 2
    assert all(1e-4 <= s.weight_decay <= 5.1e-3 and 1.6e-5 <= s.sheaf_decay <= 5.1e-3 for s in settings)
    assert all(0 <= s.dropout <= 0.8 and 0 <= s.input_dropout <= 0.9 and s.stop == "acc" for s in settings)


@pytest.mark.parametrize("argv, message", [(["--splits", "0,10"], "--splits"), (["--splits", "0,a"], "--splits"),
                                           (["--trials", "0"], "--trials")])
def test_sweep_names_bad_arguments(argv, message, capsys):
    with pytest.raises(SystemExit):
        sweep_main(["Texas", "Diag-NSD", *argv])
    assert message in capsys.readouterr().err
