import pytest
import torch
import torch_geometric.nn as pyg

from geomlearn.gnn import SAGEConv

from .layer_checks import assert_matches_pyg, assert_permutation_equivariant, assert_rejects_bad_graphs, small_graph


@pytest.mark.parametrize("aggr", ["mean", "sum", "max", "min"])
@pytest.mark.parametrize("out_channels", [4, 20])
def test_matches_pyg(aggr, out_channels):
    x, edge_index = small_graph()
    pyg_aggr = "add" if aggr == "sum" else aggr
    assert_matches_pyg(SAGEConv(12, out_channels, aggr=aggr), pyg.SAGEConv(12, out_channels, aggr=pyg_aggr),
                       x, edge_index)


@pytest.mark.parametrize("options", [{"normalize": True}, {"root_weight": False}, {"project": True}, {"bias": False}])
def test_matches_pyg_with_options(options):
    x, edge_index = small_graph()
    assert_matches_pyg(SAGEConv(12, 7, **options), pyg.SAGEConv(12, 7, **options), x, edge_index)


@pytest.mark.parametrize("aggr", ["median", "std", ["mean", "max"], "add"])
def test_torch_geometric_aggregations_match_pyg(aggr):
    """Every aggregation PyG resolves; the repr, with the aggregation, is PyG's too."""
    x, edge_index = small_graph()
    ours, theirs = SAGEConv(12, 5, aggr=aggr), pyg.SAGEConv(12, 5, aggr=aggr)
    assert repr(ours) == repr(theirs)
    assert_matches_pyg(ours, theirs, x, edge_index)


def test_bipartite_matches_pyg():
    g = torch.Generator().manual_seed(4)
    x_src, x_dst = torch.randn(9, 5, generator=g), torch.randn(4, 3, generator=g)
    edge_index = torch.stack([torch.randint(0, 9, (25,), generator=g), torch.randint(0, 4, (25,), generator=g)])
    assert_matches_pyg(SAGEConv((5, 3), 6), pyg.SAGEConv((5, 3), 6), (x_src, x_dst), edge_index)


def test_permutation_equivariant():
    x, edge_index = small_graph()
    assert_permutation_equivariant(SAGEConv(12, 6, aggr="max"), x, edge_index)


def test_bad_input():
    x, edge_index = small_graph()
    assert_rejects_bad_graphs(SAGEConv(12, 6), x, edge_index)
    with pytest.raises(ValueError, match="aggr: Could not resolve 'medoid'"):
        SAGEConv(12, 6, aggr="medoid")


@pytest.mark.parametrize("aggr", ["max", "min"])
def test_a_nan_feature_reaches_the_max_aggregation_as_in_torch_geometric(aggr):
    x, edge_index = small_graph()
    x[edge_index[0, 40], 3] = float("nan")                # one source of a non-loop edge
    ours, theirs = SAGEConv(12, 5, aggr=aggr), pyg.SAGEConv(12, 5, aggr=aggr)
    ours.load_state_dict(theirs.state_dict())
    out, expected = ours(x, edge_index), theirs(x, edge_index)
    assert out.isnan().any()
    torch.testing.assert_close(out, expected, equal_nan=True, atol=1e-5, rtol=1e-5)
