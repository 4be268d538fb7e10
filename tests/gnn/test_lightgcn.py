import pytest
import torch
from torch_geometric.nn import LightGCN as PyGLightGCN
from torch_geometric.utils import coalesce, to_undirected

from geomlearn.gnn import LightGCN
from geomlearn.sparse import SparseIndex


def bipartite(users=10, items=15, ratings=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    pairs = torch.stack([torch.randint(0, users, (ratings,), generator=g),
                         torch.randint(users, users + items, (ratings,), generator=g)])
    return coalesce(to_undirected(pairs, num_nodes=users + items))


def test_equals_torch_geometric_lightgcn():
    torch.manual_seed(0)
    edge_index = bipartite()
    ours, theirs = LightGCN(25, 8, 3), PyGLightGCN(25, 8, 3)
    theirs.load_state_dict(ours.state_dict())
    pairs = torch.tensor([[0, 3, 9], [12, 20, 24]])
    for graph in (edge_index, SparseIndex(edge_index, num_nodes=25)):
        torch.testing.assert_close(ours.get_embedding(graph), theirs.get_embedding(edge_index))
        torch.testing.assert_close(ours(graph, pairs), theirs(edge_index, pairs))
    positive, negative = ours(edge_index, pairs), ours(edge_index, pairs.flip(0))
    for node_id in (None, pairs.reshape(-1)):
        torch.testing.assert_close(ours.recommendation_loss(positive, negative, node_id, lambda_reg=1e-2),
                                   theirs.recommendation_loss(positive, negative, node_id, lambda_reg=1e-2))


def test_zero_layers_is_a_matrix_factorisation():
    model = LightGCN(25, 4, 0)
    pairs = torch.tensor([[1, 2], [11, 13]])
    weight = model.embedding.weight
    torch.testing.assert_close(model(bipartite(), pairs), (weight[pairs[0]] * weight[pairs[1]]).sum(1))


def test_bad_input():
    with pytest.raises(ValueError, match="num_layers: expected an int >= 0, got -1"):
        LightGCN(25, 8, -1)
    with pytest.raises(ValueError, match="embedding_dim: expected an int >= 1"):
        LightGCN(25, 0, 2)
    with pytest.raises(ValueError, match=r"alpha: expected a scalar or 3 layer weights, got shape \[2\]"):
        LightGCN(25, 8, 2, alpha=[0.5, 0.5])
    model = LightGCN(25, 8, 2)
    with pytest.raises(ValueError, match=r"edge_label_index: expected node pairs \[2, B\], got \[3, 2\]"):
        model(bipartite(), torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="neg_edge_rank: expected the shape of pos_edge_rank"):
        model.recommendation_loss(torch.zeros(3), torch.zeros(4))
