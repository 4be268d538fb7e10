import pytest
import torch

from benchmarks.relational.link_prediction import Settings, corrupt, filtered_ranks, metrics, train_link_predictor
from geomlearn.datasets import knowledge_graph

from ..real_data import needs_data


def brute_force_ranks(z, rel_emb, triples, known):
    """Filtered ranks by looping over the triples and the entities, with the known triples as a Python set."""
    known_set = {tuple(t) for t in known.T.tolist()}
    ranks = []
    for side in ("tail", "head"):
        for h, r, t in triples.T.tolist():
            true_score = float((z[h] * rel_emb[r] * z[t]).sum())
            better = 0
            for e in range(z.shape[0]):
                candidate = (h, r, e) if side == "tail" else (e, r, t)
                if candidate in known_set:
                    continue
                a, b = (h, e) if side == "tail" else (e, t)
                better += float((z[a] * rel_emb[r] * z[b]).sum()) >= true_score
            ranks.append(1 + better)
    return torch.tensor(ranks, dtype=torch.float)


def test_filtered_ranks_equal_the_brute_force_ones():
    g = torch.Generator().manual_seed(0)
    num_nodes, relations = 25, 3
    known = torch.stack([torch.randint(0, num_nodes, (120,), generator=g),
                         torch.randint(0, relations, (120,), generator=g),
                         torch.randint(0, num_nodes, (120,), generator=g)])
    z, rel_emb = torch.randn(num_nodes, 4, generator=g).double(), torch.randn(relations, 4, generator=g).double()
    z[3] = z[4]                                                  # a tie: counts against the true entity
    triples = known[:, :30]
    ranks = filtered_ranks(z, rel_emb, triples, known, num_nodes, chunk=7)
    torch.testing.assert_close(ranks, brute_force_ranks(z, rel_emb, triples, known))
    assert metrics(torch.tensor([1.0, 2.0, 4.0, 20.0])) == pytest.approx(
        {"MRR": (1 + 0.5 + 0.25 + 0.05) / 4, "Hits@1": 0.25, "Hits@3": 0.5, "Hits@10": 0.75})


def test_corruption_replaces_exactly_one_side():
    head, tail = torch.arange(1000), torch.arange(1000) + 5000
    new_head, new_tail = corrupt(head, tail, 100, torch.Generator().manual_seed(0))
    kept_head, kept_tail = new_head == head, new_tail == tail
    assert (kept_head | kept_tail).all() and 400 < int(kept_tail.sum()) < 600


def test_a_short_run_learns_on_wn18rr():
    needs_data("kg/WN18RR/raw/train.txt")
    data = knowledge_graph("WN18RR")
    # ten epochs whatever the machine's load (the budget is only a safety net)
    settings = Settings(hidden=16, num_blocks=2, budget_s=600.0, max_epochs=10, eval_every=5, eval_triples=200)
    result = train_link_predictor(data, settings)
    assert result["epochs"] == 10 and 0 < result["MRR"] <= 1 and result["Hits@1"] <= result["Hits@10"]
    # Chance: a random ranking of 40,943 entities has an MRR near (ln N) / N, about 3e-4.
    assert result["MRR"] > 10 * torch.log(torch.tensor(40_943.0)).item() / 40_943
