import pytest
import torch
from torch_geometric.utils import coalesce, to_undirected

from geomlearn.gnn import LightGCN
from geomlearn.sheaf import SheafRecommender


def bipartite(users=10, items=15, seed=0):
    # Every user and every item has at least one rating (no isolated node).
    g = torch.Generator().manual_seed(seed)
    users_of_items = torch.randint(0, users, (items,), generator=g)
    extra = torch.stack([torch.randint(0, users, (40,), generator=g), torch.randint(0, items, (40,), generator=g)])
    pairs = torch.cat([torch.stack([torch.arange(users), torch.arange(users) % items]),
                       torch.stack([users_of_items, torch.arange(items)]), extra], dim=1)
    pairs[1] += users
    return coalesce(to_undirected(pairs, num_nodes=users + items))


@pytest.mark.parametrize("maps", ["householder", "cayley"])
def test_orthogonal_sheaf_starts_as_lightgcn(maps):
    # The learner starts at zero: Householder maps with v_i = e_i (Cayley maps: I), the same map at both ends
    # of every edge, so -F_v^T F_u = -I and the sheaf is d copies of the graph.
    torch.manual_seed(0)
    edge_index = bipartite()
    sheaf, light = SheafRecommender(25, 8, 3, d=2, maps=maps), LightGCN(25, 8, 3)
    light.embedding.weight.data.copy_(sheaf.embedding.weight.data)
    torch.testing.assert_close(sheaf.get_embedding(edge_index), light.get_embedding(edge_index), atol=1e-6, rtol=1e-5)
    with torch.no_grad():
        sheaf.learner.own.weight.normal_()                   # a learned sheaf turns away from LightGCN
    assert (sheaf.get_embedding(edge_index) - light.get_embedding(edge_index)).abs().max() > 1e-2


@pytest.mark.parametrize("maps", ["householder", "diagonal", "general"])
def test_bpr_step_trains_embeddings_and_maps(maps):
    torch.manual_seed(1)
    edge_index = bipartite(seed=1)
    model = SheafRecommender(25, 8, 2, d=2, maps=maps)
    pairs = edge_index[:, edge_index[0] < 10][:, :12]
    negatives = torch.stack([pairs[0], 10 + (pairs[1] - 10 + 7) % 15])
    loss = model.recommendation_loss(model(edge_index, pairs), model(edge_index, negatives), pairs.reshape(-1))
    loss.backward()
    assert torch.isfinite(loss)
    for parameter in (model.embedding.weight, model.learner.own.weight, model.learner.other.weight):
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0


def test_permuting_the_nodes_permutes_the_scores():
    torch.manual_seed(2)
    edge_index = bipartite(seed=2)
    model = SheafRecommender(25, 8, 2, d=4, maps="general")
    perm = torch.randperm(25)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(25)
    permuted = SheafRecommender(25, 8, 2, d=4, maps="general")
    permuted.load_state_dict(model.state_dict())
    permuted.embedding.weight.data.copy_(model.embedding.weight.data[perm])
    torch.testing.assert_close(permuted.get_embedding(inverse[edge_index]), model.get_embedding(edge_index)[perm],
                               atol=1e-5, rtol=1e-4)


def test_bad_input():
    with pytest.raises(ValueError, match="d: expected a stalk dimension >= 1 dividing embedding_dim=8, got 3"):
        SheafRecommender(25, 8, 2, d=3)
    with pytest.raises(ValueError, match="kind: expected one of"):
        SheafRecommender(25, 8, 2, d=2, maps="rotation")
