import math

import pytest
import torch

from geomlearn.gnn import TANGNN, TANGNNConv
from geomlearn.gnn.tangnn import top_m_similar

from .layer_checks import assert_permutation_equivariant, assert_rejects_bad_graphs, small_graph


def test_top_m_matches_a_dense_topk_in_chunks():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(37, 5, generator=g), torch.randn(37, 5, generator=g)
    index = top_m_similar(q, k, 4, chunk_size=8)
    scores = q @ k.t()
    scores.fill_diagonal_(float("-inf"))
    expected = scores.topk(4, dim=1).indices
    for i in range(37):
        assert set(index.src[index.dst == i].tolist()) == set(expected[i].tolist())
    assert index.in_degree().tolist() == [4] * 37


def test_layer_against_a_dense_computation():
    x, edge_index = small_graph()
    x = x.double()
    layer = TANGNNConv(12, 8, top_m=5, heads=2).double().eval()
    out = layer(x, edge_index)
    adjacency = torch.zeros(30, 30, dtype=torch.float64).index_put_((edge_index[1], edge_index[0]),
                                                                    torch.ones(160, dtype=torch.float64), accumulate=True)
    mean = adjacency / adjacency.sum(1, keepdim=True).clamp(min=1)
    expected = layer.lin_root(x) + mean @ layer.lin_neighbors(x)
    q, k, v = (lin(x).view(30, 2, 4) for lin in (layer.query, layer.key, layer.value))
    similarity = q.reshape(30, 8) @ k.reshape(30, 8).t()
    similarity.fill_diagonal_(float("-inf"))
    chosen = similarity.topk(5, dim=1).indices                       # [30, 5]
    for h in range(2):
        logits = torch.einsum("ic,imc->im", q[:, h], k[chosen, h]) / math.sqrt(4)
        expected[:, 4 * h:4 * (h + 1)] += torch.einsum("im,imc->ic", logits.softmax(1), v[chosen, h])
    torch.testing.assert_close(out, expected)


def test_attention_reaches_beyond_the_neighbourhood_and_is_normalised():
    x, edge_index = small_graph()
    _, (similar, alpha) = TANGNNConv(12, 8, top_m=6, heads=2)(x, edge_index, return_attention=True)
    torch.testing.assert_close(torch.zeros(30, 2).index_add_(0, similar.dst.long(), alpha), torch.ones(30, 2))
    neighbours = set(map(tuple, edge_index.t().tolist()))
    assert any(pair not in neighbours for pair in map(tuple, similar.edge_index.t().tolist()))


def test_model_trains_and_is_permutation_equivariant():
    x, edge_index = small_graph()
    model = TANGNN(12, 16, 3, num_layers=2, top_m=4, heads=2)
    model(x, edge_index).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    assert_permutation_equivariant(model, x, edge_index)


def test_bad_input():
    x, edge_index = small_graph()
    assert_rejects_bad_graphs(TANGNNConv(12, 8, top_m=3), x, edge_index)
    with pytest.raises(ValueError, match="m: expected an int in 1..29"):
        TANGNNConv(12, 8, top_m=30)(x, edge_index)
    with pytest.raises(ValueError, match="heads: out_channels"):
        TANGNNConv(12, 9, heads=2)
