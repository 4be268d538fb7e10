"""RGCNConv against torch_geometric's RGCNConv (state_dict, outputs, input and parameter gradients) and against
the per-relation dense formula."""

import pytest
import torch
import torch_geometric.nn as pyg

from geomlearn.gnn import FastRGCNConv, RGCNConv
from geomlearn.sparse import SparseIndex

OPTIONS = [dict(), dict(num_bases=3), dict(num_blocks=4), dict(aggr="add"), dict(aggr="max"),
           dict(root_weight=False, bias=False)]


def relational_graph(num_nodes=40, num_edges=300, num_relations=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    edge_index = torch.randint(0, num_nodes, (2, num_edges), generator=g)
    edge_index[:, :4] = edge_index[:, 4:8]                   # duplicate edges, some with other relations
    edge_type = torch.randint(0, num_relations, (num_edges,), generator=g)
    edge_type[-20:] = 1                                      # one relation much more frequent
    return edge_index, edge_type, torch.randn(num_nodes, 12, generator=g)


def assert_same_outputs_and_gradients(ours, theirs, x, graph, edge_index, edge_type):
    ours.load_state_dict(theirs.state_dict())
    inputs = [t.clone().requires_grad_() if t is not None and t.is_floating_point() else t for t in x]
    reference = [t.clone().requires_grad_() if t is not None and t.is_floating_point() else t for t in x]
    pack = (lambda t: tuple(t)) if len(x) == 2 else (lambda t: t[0])
    out, expected = ours(pack(inputs), graph, edge_type), theirs(pack(reference), edge_index, edge_type)
    torch.testing.assert_close(out, expected)
    probe = torch.randn_like(out)
    (out * probe).sum().backward()
    (expected * probe).sum().backward()
    for mine, peer in zip(inputs, reference):
        if mine is not None and mine.is_floating_point():
            torch.testing.assert_close(mine.grad, peer.grad)
    for (name, mine), peer in zip(ours.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(mine.grad, peer.grad, msg=lambda m: f"{name}: {m}")


@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("cls", [RGCNConv, FastRGCNConv])
def test_matches_pyg(options, cls):
    edge_index, edge_type, x = relational_graph()
    torch.manual_seed(0)
    if cls is FastRGCNConv and options.get("aggr") == "max":
        with pytest.raises(ValueError, match="aggr: FastRGCNConv takes 'add', 'sum' or 'mean'"):
            cls(12, 8, 5, **options)
        return
    theirs = getattr(pyg, cls.__name__)(12, 8, 5, **options)
    assert repr(cls(12, 8, 5, **options)) == repr(theirs)
    for graph in (edge_index, SparseIndex(edge_index, num_nodes=40)):
        assert_same_outputs_and_gradients(cls(12, 8, 5, **options), theirs, (x,), graph, edge_index, edge_type)
        theirs.zero_grad()


@pytest.mark.parametrize("options", [dict(num_bases=2), dict(), dict(aggr="add"), dict(aggr="max")])
def test_featureless_matches_pyg(options):
    edge_index, edge_type, _ = relational_graph()
    theirs = pyg.RGCNConv(40, 8, 5, **options)
    assert_same_outputs_and_gradients(RGCNConv(40, 8, 5, **options), theirs, (None,), edge_index, edge_index,
                                      edge_type)
    nodes = torch.randperm(40, generator=torch.Generator().manual_seed(1))
    ours = RGCNConv(40, 8, 5, **options)
    ours.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(ours(nodes, edge_index, edge_type), theirs(nodes, edge_index, edge_type))


def test_bipartite_matches_pyg():
    g = torch.Generator().manual_seed(3)
    x_src, x_dst = torch.randn(9, 6, generator=g), torch.randn(5, 4, generator=g)
    edge_index = torch.stack([torch.randint(0, 9, (50,), generator=g), torch.randint(0, 5, (50,), generator=g)])
    edge_type = torch.randint(0, 3, (50,), generator=g)
    theirs = pyg.RGCNConv((6, 4), 7, 3, num_bases=2)
    assert_same_outputs_and_gradients(RGCNConv((6, 4), 7, 3, num_bases=2), theirs, (x_src, x_dst), edge_index,
                                      edge_index, edge_type)


def test_is_the_per_relation_formula():
    edge_index, edge_type, x = relational_graph(num_nodes=15, num_edges=60, num_relations=3)
    x = x.double()
    conv = RGCNConv(12, 4, 3, num_bases=2).double()
    expected = x @ conv.root + conv.bias
    weights = conv.relation_weights()
    for r in range(3):
        adjacency = torch.zeros(15, 15, dtype=torch.float64)
        mask = edge_type == r
        adjacency.index_put_((edge_index[1, mask], edge_index[0, mask]), torch.ones(int(mask.sum()),
                                                                                    dtype=torch.float64),
                             accumulate=True)
        counts = adjacency.sum(1, keepdim=True).clamp(min=1)
        expected = expected + (adjacency / counts) @ x @ weights[r]
    torch.testing.assert_close(conv(x, edge_index, edge_type), expected)


def test_bad_input():
    edge_index, edge_type, x = relational_graph()
    conv = RGCNConv(12, 8, 5)
    with pytest.raises(ValueError, match=r"edge_type: expected integer relation types \[300\], one per edge, got None"):
        conv(x, edge_index)
    with pytest.raises(ValueError, match=r"edge_type: expected relation types in \[0, 5\), got values in \[0, 7\]"):
        conv(x, edge_index, edge_type.clamp(max=4).index_fill(0, torch.tensor([3]), 7))
    with pytest.raises(ValueError, match=r"x: expected 12 features in the last dimension"):
        conv(x[:, :5], edge_index, edge_type)
    with pytest.raises(ValueError, match="edge_index: source index 99 at column 0 is out of range"):
        conv(x, edge_index.index_fill(1, torch.tensor([0]), 99), edge_type)
    with pytest.raises(ValueError, match=r"x: expected node indices \[N\] in \[0, 12\)"):
        conv(torch.arange(40), edge_index, edge_type)
    with pytest.raises(ValueError, match="num_bases, num_blocks: choose one decomposition"):
        RGCNConv(12, 8, 5, num_bases=2, num_blocks=2)
    with pytest.raises(ValueError, match=r"num_blocks: expected a divisor of in_channels \(12\) and out_channels"):
        RGCNConv(12, 8, 5, num_blocks=5)
    with pytest.raises(ValueError, match="x: the block-diagonal decomposition needs node features"):
        RGCNConv(40, 8, 5, num_blocks=2)(None, edge_index, edge_type)
    with pytest.raises(ValueError, match="aggr: expected one of"):
        RGCNConv(12, 8, 5, aggr="lstm")
