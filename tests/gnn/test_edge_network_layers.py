"""ChebConv, ResGatedGraphConv, NNConv, EdgeConv and PNAConv against torch_geometric's layers of the same name
(state_dict, outputs and input gradients for every graph input) and their own formulas."""

import pytest
import torch
import torch_geometric.nn as pyg
from torch.nn import Linear, ReLU, Sequential, Tanh

from geomlearn.datasets import planetoid
from geomlearn.gnn import ChebConv, EdgeConv, NNConv, PNAConv, ResGatedGraphConv
from geomlearn.gnn.nn_conv import affine_tail
from geomlearn.sparse import SparseIndex

from ..real_data import needs_data
from .layer_checks import (assert_matches_pyg, assert_permutation_equivariant, assert_rejects_bad_graphs, bipartite,
                           edge_features, small_graph)


def weights(edge_index):
    return torch.rand(edge_index.shape[1], generator=torch.Generator().manual_seed(1)) + 0.1


# ---------------------------------------------------------------- ChebConv
@pytest.mark.parametrize("normalization", ["sym", "rw", None])
@pytest.mark.parametrize("K", [1, 2, 4])
def test_cheb_matches_pyg(normalization, K):
    x, edge_index = small_graph()
    theirs = pyg.ChebConv(12, 7, K=K, normalization=normalization)
    assert_matches_pyg(ChebConv(12, 7, K=K, normalization=normalization), theirs, x, edge_index, sparse=False)
    assert_matches_pyg(ChebConv(12, 7, K=K, normalization=normalization), theirs, x, edge_index, weights(edge_index))
    assert repr(ChebConv(12, 7, K=K, normalization=normalization)) == repr(theirs)


def test_cheb_lambda_max_per_graph_matches_pyg():
    x, edge_index = small_graph()
    batch = (torch.arange(30) >= 17).long()
    edge_index = edge_index[:, (batch[edge_index[0]] == batch[edge_index[1]])]     # two separate graphs
    ours, theirs = ChebConv(12, 5, K=3, bias=False), pyg.ChebConv(12, 5, K=3, bias=False)
    ours.load_state_dict(theirs.state_dict())
    for lambda_max in (1.7, torch.tensor([1.5, 2.5])):
        torch.testing.assert_close(ours(x, edge_index, None, batch, lambda_max),
                                   theirs(x, edge_index, None, batch, lambda_max))


def test_cheb_is_the_chebyshev_polynomial_of_the_dense_laplacian():
    x, edge_index = small_graph(num_nodes=10, num_edges=40, in_channels=3)
    x = x.double()
    sym = torch.unique(torch.cat([edge_index, edge_index.flip(0)], 1), dim=1)
    sym = sym[:, sym[0] != sym[1]]
    adjacency = torch.zeros(10, 10, dtype=torch.float64)
    adjacency[sym[1], sym[0]] = 1
    d = adjacency.sum(1).pow(-0.5).nan_to_num(posinf=0)
    lap = torch.eye(10, dtype=torch.float64) - d[:, None] * adjacency * d[None]
    lam = float(torch.linalg.eigvalsh(lap).max())
    scaled = 2 * lap / lam - torch.eye(10, dtype=torch.float64)
    conv = ChebConv(3, 2, K=3, bias=False).double()
    t = [x, scaled @ x, 2 * scaled @ (scaled @ x) - x]
    expected = sum(t_k @ lin.weight.T for t_k, lin in zip(t, conv.lins))
    torch.testing.assert_close(conv(x, sym, lambda_max=lam), expected)


def test_cheb_errors():
    x, edge_index = small_graph()
    with pytest.raises(ValueError, match="normalization: expected one of"):
        ChebConv(12, 4, K=2, normalization="symmetric")
    with pytest.raises(ValueError, match="K: expected"):
        ChebConv(12, 4, K=0)
    conv = ChebConv(12, 4, K=2)
    assert_rejects_bad_graphs(conv, x, edge_index)
    with pytest.raises(ValueError, match="lambda_max: 2 values .* need batch"):
        conv(x, edge_index, lambda_max=torch.tensor([2.0, 2.0]))


# ---------------------------------------------------------------- ResGatedGraphConv
@pytest.mark.parametrize("options", [{}, {"root_weight": False}, {"bias": False}, {"act": Tanh()},
                                     {"aggr": "mean"}, {"aggr": "max"}])
def test_res_gated_matches_pyg(options):
    x, edge_index = small_graph()
    assert_matches_pyg(ResGatedGraphConv(12, 6, **options), pyg.ResGatedGraphConv(12, 6, **options), x, edge_index)


@pytest.mark.parametrize("aggr", ["add", "max"])
def test_res_gated_edge_features_and_bipartite_match_pyg(aggr):
    x, edge_index = small_graph()
    assert_matches_pyg(ResGatedGraphConv(12, 6, edge_dim=3, aggr=aggr),
                       pyg.ResGatedGraphConv(12, 6, edge_dim=3, aggr=aggr), x, edge_index, edge_features(edge_index))
    x, edge_index = bipartite(widths=(5, 3))
    assert_matches_pyg(ResGatedGraphConv((5, 3), 4, aggr=aggr), pyg.ResGatedGraphConv((5, 3), 4, aggr=aggr), x,
                       edge_index)
    assert_matches_pyg(ResGatedGraphConv((5, 3), 4, edge_dim=2), pyg.ResGatedGraphConv((5, 3), 4, edge_dim=2), x,
                       edge_index, edge_features(edge_index, 2))


def test_res_gated_errors():
    x, edge_index = small_graph()
    conv = ResGatedGraphConv(12, 4)
    assert_rejects_bad_graphs(conv, x, edge_index)
    assert_permutation_equivariant(conv, x, edge_index)
    with pytest.raises(ValueError, match="edge_attr: this ResGatedGraphConv was built with edge_dim=None"):
        conv(x, edge_index, edge_features(edge_index))
    with pytest.raises(ValueError, match="edge_attr: .*edge_dim=3, so it needs edge features"):
        ResGatedGraphConv(12, 4, edge_dim=3)(x, edge_index)


# ---------------------------------------------------------------- NNConv
@pytest.mark.parametrize("options", [{}, {"aggr": "mean"}, {"aggr": "max"}, {"root_weight": False, "bias": False}])
def test_nnconv_matches_pyg(options):
    x, edge_index = small_graph()
    torch.manual_seed(0)
    network = Sequential(Linear(3, 16), ReLU(), Linear(16, 12 * 5))
    theirs = pyg.NNConv(12, 5, network, **options)
    ours = NNConv(12, 5, Sequential(Linear(3, 16), ReLU(), Linear(16, 12 * 5)), **options)
    assert_matches_pyg(ours, theirs, x, edge_index, edge_features(edge_index))
    assert repr(ours) == repr(theirs)


def test_nnconv_bipartite_matches_pyg_and_is_the_formula():
    x, edge_index = bipartite(widths=(5, 3))
    theirs = pyg.NNConv((5, 3), 4, Linear(2, 20))
    assert_matches_pyg(NNConv((5, 3), 4, Linear(2, 20)), theirs, x, edge_index, edge_features(edge_index, 2))
    conv = NNConv((5, 3), 4, Linear(2, 20), root_weight=False, bias=False).double()
    e = edge_features(edge_index, 2).double()
    per_edge = conv.nn(e).view(-1, 5, 4)
    expected = torch.zeros(4, 4, dtype=torch.float64)
    for k, (j, i) in enumerate(edge_index.T):
        expected[i] += x[0][j].double() @ per_edge[k]
    torch.testing.assert_close(conv((x[0].double(), x[1].double()), edge_index, e), expected)


class ScaledLinear(Linear):
    """A Linear subclass with its own forward, which NNConv must call rather than factorise."""

    def forward(self, features):
        return 2 * super().forward(features)


def _edge_networks():
    torch.manual_seed(0)
    hooked = Linear(3, 60)
    hooked.register_forward_hook(lambda module, args, out: out.mul_(0.5))
    return {"linear": Linear(3, 60), "linear without bias": Linear(3, 60, bias=False),
            "mlp ending in a linear": Sequential(Linear(3, 16), ReLU(), Linear(16, 60)),
            "mlp ending in an activation": Sequential(Linear(3, 60), Tanh()),
            "linear subclass": ScaledLinear(3, 60), "hooked linear": hooked, "pyg linear": pyg.Linear(3, 60),
            "mlp ending in a pyg linear": Sequential(Linear(3, 16), ReLU(), pyg.Linear(16, 60))}


@pytest.mark.parametrize("network, factorised", [("linear", True), ("linear without bias", True),
                                                 ("mlp ending in a linear", True), ("pyg linear", True),
                                                 ("mlp ending in a pyg linear", True),
                                                 ("mlp ending in an activation", False), ("linear subclass", False),
                                                 ("hooked linear", False)])
def test_nnconv_factorises_exactly_the_plain_linear_tails(network, factorised):
    """The factorised path is taken for a torch or torch_geometric Linear (alone or last in a Sequential), and only
    for those: the gradient tests below then cover both paths."""
    assert (affine_tail(_edge_networks()[network])[1] is not None) == factorised


@pytest.mark.parametrize("aggr", ["add", "mean"])
@pytest.mark.parametrize("network", list(_edge_networks()))
def test_nnconv_parameter_and_edge_gradients_match_pyg(network, aggr):
    """Every parameter's gradient (the edge network's included) and the edge features' gradient equal
    torch_geometric's, whether the network's final Linear is applied per edge or factorised through the nodes; a
    Linear subclass and a hook on the Linear are honoured."""
    x, edge_index = small_graph()
    features = edge_features(edge_index)
    ours = NNConv(12, 5, _edge_networks()[network], aggr=aggr).double()
    theirs = pyg.NNConv(12, 5, _edge_networks()[network], aggr=aggr).double()
    ours.load_state_dict(theirs.state_dict())
    results = []
    for conv in (ours, theirs):
        inputs = (x.double().requires_grad_(), features.double().requires_grad_())
        conv(inputs[0], edge_index, inputs[1]).square().sum().backward()
        results.append(({name: p.grad for name, p in conv.named_parameters()}, [t.grad for t in inputs]))
    (our_params, our_inputs), (their_params, their_inputs) = results
    assert our_params.keys() == their_params.keys()
    for name in their_params:
        torch.testing.assert_close(our_params[name], their_params[name], msg=lambda m: f"{name}: {m}")
    for mine, reference in zip(our_inputs, their_inputs):
        torch.testing.assert_close(mine, reference)


def test_nnconv_factorised_linear_is_the_per_edge_formula():
    """The factorised path against an independent loop over the edges with the network applied per edge."""
    x, edge_index = bipartite(widths=(5, 3))
    conv = NNConv((5, 3), 4, Sequential(Linear(2, 6), ReLU(), Linear(6, 20)), aggr="mean", root_weight=False,
                  bias=False).double()
    e = edge_features(edge_index, 2).double()
    per_edge = conv.nn(e).view(-1, 5, 4)
    total, count = torch.zeros(4, 4, dtype=torch.float64), torch.zeros(4, 1, dtype=torch.float64)
    for k, (j, i) in enumerate(edge_index.T):
        total[i] += x[0][j].double() @ per_edge[k]
        count[i] += 1
    torch.testing.assert_close(conv((x[0].double(), x[1].double()), edge_index, e), total / count.clamp(min=1))


def test_nnconv_errors():
    x, edge_index = small_graph()
    for network in (Linear(3, 12 * 4), Sequential(Linear(3, 12 * 4), Tanh())):      # factorised and per edge
        conv = NNConv(12, 5, network)
        with pytest.raises(ValueError, match=r"nn: expected it to map edge_attr to \[160, 12 \* 5\].*got \[160, 48\]"):
            conv(x, edge_index, edge_features(edge_index))
    with pytest.raises(ValueError, match=r"edge_attr: expected edge features \[160, ...\]"):
        NNConv(12, 5, Linear(3, 60))(x, edge_index, edge_features(edge_index)[:-1])


# ---------------------------------------------------------------- EdgeConv
@pytest.mark.parametrize("network", ["sequential", "linear", "mlp"])
@pytest.mark.parametrize("aggr", ["max", "add", "mean"])
def test_edgeconv_matches_pyg(network, aggr):
    """A leading Linear runs on the nodes; PyG's MLP (not split) runs on the concatenation: both equal PyG."""
    x, edge_index = small_graph()
    torch.manual_seed(0)
    build = {"sequential": lambda: Sequential(Linear(24, 16), ReLU(), Linear(16, 8)),
             "linear": lambda: pyg.Linear(24, 8),
             "mlp": lambda: pyg.MLP([24, 16, 8])}[network]
    theirs = pyg.EdgeConv(build(), aggr=aggr)
    assert_matches_pyg(EdgeConv(build(), aggr=aggr), theirs, x, edge_index)
    assert repr(EdgeConv(build(), aggr=aggr)) == repr(theirs)


def test_edgeconv_bipartite_matches_pyg_and_errors():
    x, edge_index = bipartite(widths=(5, 5))
    theirs = pyg.EdgeConv(Sequential(Linear(10, 6), ReLU()))
    assert_matches_pyg(EdgeConv(Sequential(Linear(10, 6), ReLU())), theirs, x, edge_index)
    with pytest.raises(ValueError, match="x: x_j - x_i needs sources and targets of one width, got 5 and 3"):
        EdgeConv(Linear(10, 6))((x[0], x[1][:, :3]), edge_index)


# ---------------------------------------------------------------- PNAConv
def degree_histogram(edge_index, num_nodes=30):
    return torch.bincount(torch.bincount(edge_index[1], minlength=num_nodes))


@pytest.mark.parametrize("options", [
    dict(aggregators=["mean", "min", "max", "std"], scalers=["identity", "amplification", "attenuation"]),
    dict(aggregators=["sum", "var"], scalers=["linear", "inverse_linear"], towers=2, divide_input=True),
    dict(aggregators=["mean", "max"], scalers=["identity"], towers=3, pre_layers=2, post_layers=2),
    dict(aggregators=["mean", "softmax"], scalers=["identity", "linear"], edge_dim=3, towers=2),
    dict(aggregators=["mean", "std"], scalers=["amplification"], train_norm=True, edge_dim=3),
])
def test_pna_matches_pyg(options):
    x, edge_index = small_graph()
    deg = degree_histogram(edge_index)
    args = (edge_features(edge_index),) if "edge_dim" in options else ()
    torch.manual_seed(0)
    theirs = pyg.PNAConv(12, 6, deg=deg, **options)
    ours = PNAConv(12, 6, deg=deg, **options)
    assert_matches_pyg(ours, theirs, x, edge_index, *args, atol=1e-4)
    assert repr(ours) == repr(theirs)
    assert ours.state_dict().keys() == theirs.state_dict().keys()


def test_pna_degree_histogram_matches_pyg():
    from torch_geometric.data import Data
    graphs = [Data(edge_index=small_graph(seed=s)[1], num_nodes=30) for s in range(3)]
    assert torch.equal(PNAConv.get_degree_histogram(graphs), pyg.PNAConv.get_degree_histogram(graphs))


def test_pna_errors():
    _, edge_index = small_graph()
    deg = degree_histogram(edge_index)
    with pytest.raises(ValueError, match="scalers: expected names from"):
        PNAConv(12, 6, ["mean"], ["log"], deg)
    with pytest.raises(ValueError, match="out_channels: expected a multiple of towers=4, got 6"):
        PNAConv(12, 6, ["mean"], ["identity"], deg, towers=4)
    with pytest.raises(ValueError, match="deg: expected a non-empty degree histogram"):
        PNAConv(12, 6, ["mean"], ["identity"], torch.zeros(3))


@pytest.mark.parametrize("layer", ["ChebConv", "ResGatedGraphConv", "EdgeConv", "PNAConv"])
def test_cora_matches_pyg(layer):
    needs_data("planetoid/Cora/raw")
    data = planetoid("Cora")
    f = data.num_features
    deg = torch.bincount(SparseIndex.from_data(data).in_degree().long())
    torch.manual_seed(0)
    build = {"ChebConv": lambda m: m.ChebConv(f, 8, K=3),
             "ResGatedGraphConv": lambda m: m.ResGatedGraphConv(f, 8),
             "EdgeConv": lambda m: m.EdgeConv(Sequential(Linear(2 * f, 8), ReLU(), Linear(8, 8))),
             "PNAConv": lambda m: m.PNAConv(f, 8, ["mean", "max", "std"], ["identity", "amplification"], deg)}[layer]
    import geomlearn.gnn as ours
    # Cora has nodes with identical bag-of-words rows, so a max can tie between two neighbours; a max's gradient
    # goes to the first edge attaining it here and is split among the ties by torch_geometric (a documented
    # difference), so the features get a small perturbation that breaks the ties.
    x = data.x + 1e-3 * torch.randn(data.x.shape, generator=torch.Generator().manual_seed(0))
    assert_matches_pyg(build(ours), build(pyg), x, data.edge_index, atol=1e-4, sparse=layer != "ChebConv")


def test_nnconv_reads_edge_features_from_a_sparse_adjacency_as_pyg():
    """torch_geometric passes a torch.sparse adjacency's values as the edge features; (x_src, None) takes the
    adjacency's number of targets."""
    x, edge_index = bipartite(widths=(5, 3))
    edge_index = torch.unique(edge_index, dim=1)                           # an adjacency holds each edge once
    edge_attr = edge_features(edge_index, 2)
    adj_t = torch.sparse_coo_tensor(edge_index.flip(0), edge_attr, (4, 9, 2)).coalesce()
    ours, theirs = NNConv((5, 3), 4, Linear(2, 20)), pyg.NNConv((5, 3), 4, Linear(2, 20))
    ours.load_state_dict(theirs.state_dict())
    torch.testing.assert_close(ours(x, adj_t), theirs(x, adj_t))
    torch.testing.assert_close(ours((x[0], None), adj_t), theirs((x[0], None), adj_t))


def test_graph_conv_counts_targets_by_an_edge_index_sparse_size():
    from torch_geometric import EdgeIndex

    from geomlearn.gnn import GraphConv
    x, edge_index = bipartite(widths=(5, 5))
    ours, theirs = GraphConv((5, 5), 4), pyg.GraphConv((5, 5), 4)
    ours.load_state_dict(theirs.state_dict())
    graph = EdgeIndex(edge_index, sparse_size=(9, 4))
    out = ours((x[0], None), graph)
    assert out.shape == (4, 4)
    torch.testing.assert_close(out, theirs((x[0], None), graph))
