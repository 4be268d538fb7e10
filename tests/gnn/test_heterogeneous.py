"""Heterogeneous graphs: HeteroLinear / HeteroDictLinear, HGTConv, to_hetero and torch_geometric's HeteroConv with
geomlearn layers, each against torch_geometric on a small HeteroData."""

import pytest
import torch
import torch_geometric.nn as pyg
from torch_geometric.data import HeteroData

import geomlearn.gnn as gl
from geomlearn.gnn import HGTConv, HeteroDictLinear, HeteroLinear, to_hetero
from geomlearn.sparse import SparseIndex

SIZES = {"author": 7, "paper": 11, "field": 5}
RELATIONS = [("author", "writes", "paper"), ("paper", "cites", "paper"), ("paper", "about", "field"),
             ("paper", "rev_writes", "author")]


def hetero_data(widths=None, edges=20, seed=0) -> HeteroData:
    g = torch.Generator().manual_seed(seed)
    data = HeteroData()
    for t, n in SIZES.items():
        data[t].x = torch.randn(n, (widths or {}).get(t, 8), generator=g)
    for src, rel, dst in RELATIONS:
        data[src, rel, dst].edge_index = torch.stack([torch.randint(0, SIZES[src], (edges,), generator=g),
                                                      torch.randint(0, SIZES[dst], (edges,), generator=g)])
    return data


def randomise(module, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=g))


def outputs_and_gradients(model, x_dict, edge_index_dict):
    inputs = {t: x.clone().requires_grad_() for t, x in x_dict.items()}
    out = model(inputs, edge_index_dict)
    sum(o.square().sum() for o in out.values()).backward()
    return out, {t: x.grad for t, x in inputs.items()}, {n: p.grad for n, p in model.named_parameters()}


def assert_dicts_close(ours, theirs, atol=1e-5):
    assert ours.keys() == theirs.keys()
    for key in theirs:
        if theirs[key] is None:
            assert ours[key] is None or not ours[key].any(), key
        else:
            torch.testing.assert_close(ours[key], theirs[key], atol=atol, rtol=1e-4, msg=lambda m: f"{key}: {m}")


@pytest.mark.parametrize("is_sorted", [False, True])
def test_hetero_linear_matches_pyg(is_sorted):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(40, 6, generator=g)
    types = torch.randint(0, 4, (40,), generator=g)
    if is_sorted:
        types = types.sort().values
    theirs = pyg.HeteroLinear(6, 5, num_types=4, is_sorted=is_sorted)
    ours = HeteroLinear(6, 5, num_types=4, is_sorted=is_sorted)
    ours.load_state_dict(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    x_ours, x_theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, expected = ours(x_ours, types), theirs(x_theirs, types)
    torch.testing.assert_close(out, expected)
    out.square().sum().backward()
    expected.square().sum().backward()
    torch.testing.assert_close(x_ours.grad, x_theirs.grad)
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad)
    with pytest.raises(ValueError, match=r"type_vec: types must lie in \[0, 4\)"):
        ours(x, types + 1)


@pytest.mark.parametrize("bias", [True, False])
def test_hetero_dict_linear_matches_pyg_with_unequal_widths(bias):
    widths = {"author": 3, "paper": 8, "field": 5}
    x_dict = hetero_data(widths).x_dict
    theirs = pyg.HeteroDictLinear(widths, 6, bias=bias)
    ours = HeteroDictLinear(widths, 6, bias=bias)
    ours.load_state_dict(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert_dicts_close(ours(x_dict), theirs(x_dict))
    subset = {"paper": x_dict["paper"], "author": x_dict["author"]}
    assert_dicts_close(ours(subset), theirs(subset))
    with pytest.raises(ValueError, match=r"x_dict\['paper'\]: expected \[N, 8\]"):
        ours({"paper": x_dict["author"]})


@pytest.mark.parametrize("heads, out_channels", [(1, 8), (2, 8), (2, 12), (4, 16)])
def test_hgt_matches_pyg(heads, out_channels):
    """In float64: with random relation priors and skips the attention is sharp, and float32 rounding of the scores
    moves outputs by a relative 1e-3 between any two summation orders."""
    data = hetero_data()
    theirs = pyg.HGTConv(8, out_channels, data.metadata(), heads=heads).double()
    randomise(theirs)                     # p_rel and skip start at ones: random values test their placement
    ours = HGTConv(8, out_channels, data.metadata(), heads=heads).double()
    ours.load_state_dict(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    x_dict = {t: x.double() for t, x in data.x_dict.items()}
    expected = outputs_and_gradients(theirs, x_dict, data.edge_index_dict)
    graphs = {"edge_index": data.edge_index_dict,
              "SparseIndex": {e: SparseIndex(ei, num_nodes=(SIZES[e[0]], SIZES[e[2]]))
                              for e, ei in data.edge_index_dict.items()}}
    for kind, edge_index_dict in graphs.items():
        ours.zero_grad()
        got = outputs_and_gradients(ours, x_dict, edge_index_dict)
        for mine, reference in zip(got, expected):
            assert_dicts_close(mine, reference, atol=1e-8)


def test_hgt_with_per_type_widths_and_a_missing_relation_matches_pyg():
    widths = {"author": 4, "paper": 8, "field": 6}
    data = hetero_data(widths)
    theirs = pyg.HGTConv(widths, 8, data.metadata(), heads=2)
    randomise(theirs)
    ours = HGTConv(widths, 8, data.metadata(), heads=2)
    ours.load_state_dict(theirs.state_dict())
    edge_index_dict = dict(data.edge_index_dict)
    del edge_index_dict[("paper", "about", "field")]          # e.g. a sampled batch without that relation
    assert_dicts_close(ours(data.x_dict, edge_index_dict), theirs(data.x_dict, edge_index_dict), atol=1e-4)


def test_hgt_reuses_its_merged_graphs_for_the_same_sparse_indices_only():
    data = hetero_data()
    conv = HGTConv(8, 8, data.metadata(), heads=2)
    indices = {e: SparseIndex(ei, num_nodes=(SIZES[e[0]], SIZES[e[2]])) for e, ei in data.edge_index_dict.items()}
    first = conv(data.x_dict, indices)
    cached = {t: entry[1] for t, entry in conv._merged.entries.items()}
    assert set(cached) == {"paper", "author", "field"}
    conv(data.x_dict, indices)
    assert all(conv._merged.entries[t][1] is cached[t] for t in cached)            # reused
    conv(data.x_dict, data.edge_index_dict)                                       # tensors: built, not cached
    assert all(conv._merged.entries[t][1] is cached[t] for t in cached)
    other = {e: SparseIndex(ei.flip(0) if e[0] == e[2] else ei, num_nodes=(SIZES[e[0]], SIZES[e[2]]))
             for e, ei in data.edge_index_dict.items()}
    changed = conv(data.x_dict, other)
    assert not torch.allclose(changed["paper"], first["paper"])                   # new objects: rebuilt
    import copy
    assert copy.deepcopy(conv)._merged.entries == {}


def test_hgt_errors():
    data = hetero_data()
    conv = HGTConv(8, 8, data.metadata(), heads=2)
    with pytest.raises(ValueError, match="out_channels: expected a multiple of heads=3, got 8"):
        HGTConv(8, 8, data.metadata(), heads=3)
    with pytest.raises(KeyError, match="edge types .*'reviews'.* are not in the metadata"):
        conv(data.x_dict, {("author", "reviews", "paper"): data["author", "writes", "paper"].edge_index})
    with pytest.raises(KeyError, match=r"x_dict: no features for node types \['field'\]"):
        conv({t: x for t, x in data.x_dict.items() if t != "field"}, data.edge_index_dict)
    with pytest.raises(ValueError, match="edge_index_dict.*a SparseIndex of 11 sources and 12 targets"):
        conv(data.x_dict, {("paper", "cites", "paper"): SparseIndex(data["paper", "cites", "paper"].edge_index,
                                                                    num_nodes=(11, 12))})


class TwoLayers(torch.nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.conv1 = layers.SAGEConv((-1, -1), 16)
        self.convs = torch.nn.ModuleList([layers.GATConv((-1, -1), 6, heads=2, add_self_loops=False),
                                          layers.GraphConv((-1, -1), 5)])
        self.lin = torch.nn.Linear(5, 3)

    def forward(self, x, edge_index):
        x = self.conv1(x, edge_index).relu()
        x = self.convs[0](x, edge_index).relu()
        return self.lin(self.convs[1](x, edge_index))


@pytest.mark.parametrize("aggr", ["sum", "mean", "max"])
def test_to_hetero_matches_torch_geometrics_conversion(aggr):
    data = hetero_data()
    original = TwoLayers(gl)
    ours = to_hetero(original, data.metadata(), aggr=aggr)
    theirs = pyg.to_hetero(TwoLayers(pyg), data.metadata(), aggr=aggr)
    theirs(data.x_dict, data.edge_index_dict)                  # materialise the lazy sizes
    ours(data.x_dict, data.edge_index_dict)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    assert_dicts_close(ours(data.x_dict, data.edge_index_dict), theirs(data.x_dict, data.edge_index_dict))
    assert type(ours.conv1["author__writes__paper"]) is gl.SAGEConv           # geomlearn layers inside
    assert type(original.conv1) is gl.SAGEConv and type(original.convs[0]) is gl.GATConv   # input left as it was
    # SparseIndex values work too
    sparse = {e: SparseIndex(ei, num_nodes=(SIZES[e[0]], SIZES[e[2]])) for e, ei in data.edge_index_dict.items()}
    assert_dicts_close(ours(data.x_dict, sparse), theirs(data.x_dict, data.edge_index_dict))


def test_torch_geometric_hetero_conv_runs_geomlearn_layers():
    data = hetero_data()

    def hetero_conv(layers):
        return pyg.HeteroConv({("author", "writes", "paper"): layers.SAGEConv((8, 8), 6),
                               ("paper", "cites", "paper"): layers.GCNConv(8, 6),
                               ("paper", "about", "field"): layers.GATv2Conv((8, 8), 6, add_self_loops=False),
                               ("paper", "rev_writes", "author"): layers.TransformerConv((8, 8), 6)}, aggr="sum")

    ours, theirs = hetero_conv(gl), hetero_conv(pyg)
    ours.load_state_dict(theirs.state_dict())
    assert_dicts_close(ours(data.x_dict, data.edge_index_dict), theirs(data.x_dict, data.edge_index_dict))


def test_hgt_takes_sparse_adjacencies_and_lazy_sizes_as_pyg():
    data = hetero_data(widths={"author": 4, "paper": 8, "field": 6})
    for e in data.edge_types:                                       # an adjacency holds each edge once
        data[e].edge_index = torch.unique(data[e].edge_index, dim=1)
    adjacency = {e: torch.sparse_coo_tensor(ei.flip(0), torch.ones(ei.shape[1]), (SIZES[e[2]], SIZES[e[0]])).coalesce()
                 for e, ei in data.edge_index_dict.items()}
    theirs = pyg.HGTConv(-1, 8, data.metadata(), heads=2)
    ours = HGTConv(-1, 8, data.metadata(), heads=2)
    theirs(data.x_dict, data.edge_index_dict)                       # materialise the lazy sizes
    ours(data.x_dict, adjacency)
    assert ours.kqv_lin.in_channels == {"author": 4, "paper": 8, "field": 6}
    ours.load_state_dict(theirs.state_dict())
    assert_dicts_close(ours(data.x_dict, adjacency), theirs(data.x_dict, data.edge_index_dict))
