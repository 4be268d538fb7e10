import pytest
import torch
from torch_geometric.utils import coalesce, to_undirected

from geomlearn.sheaf import (BundleNSD, ConnectionNSD, DiagNSD, DirectSumLaplacian, GeneralNSD, IdentitySheafDiffusion,
                             NeuralSheafDiffusion, SheafConv, SheafLaplacian, SheafLearner, direct_sum,
                             fixed_channel_maps, restriction_maps, sheaf_laplacian)
from geomlearn.sparse import SparseIndex, reverse_edges


def undirected(num_nodes=9, num_edges=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    pairs = torch.randint(0, num_nodes, (2, num_edges), generator=g)
    pairs = pairs[:, pairs[0] != pairs[1]]
    return SparseIndex(coalesce(to_undirected(pairs, num_nodes=num_nodes)), num_nodes=num_nodes)


def dense_normalised_adjacency(index, eps=1.0):
    """(D + eps I)^{-1/2} A (D + eps I)^{-1/2} of the graph."""
    n = index.num_dst
    adjacency = torch.zeros(n, n, dtype=torch.float64)
    adjacency[index.dst.long(), index.src.long()] = 1.0
    scale = (adjacency.sum(1) + eps).rsqrt()
    return scale[:, None] * adjacency * scale[None, :], scale.square() * adjacency.sum(1)


@pytest.mark.parametrize("kind", ["diagonal", "householder", "general"])
def test_learner_equals_a_linear_map_of_the_concatenated_ends(kind):
    # NSD's learner: F_{u<e} = tanh(W [x_u || x_v]); ours splits W = [A | B] into per-node projections.
    torch.manual_seed(0)
    index = undirected()
    learner = SheafLearner(4, 3, kind).double()
    x = torch.randn(9, 3, 4, dtype=torch.float64)
    flat = x.reshape(9, -1)
    weight = torch.cat([learner.own.weight, learner.other.weight], dim=1).detach()
    concat = torch.cat([flat[index.src.long()], flat[index.dst.long()]], dim=1)
    expected = restriction_maps(torch.tanh(concat @ weight.T), kind, 3)
    torch.testing.assert_close(learner.maps(x, index), expected)


def test_learner_starts_as_one_linear_layer_on_the_concatenation():
    # [A | B] is drawn as torch draws Linear(2 w, k): uniform on +-1/sqrt(2 w), variance 1/(6 w). Halves drawn
    # as layers of their own would reach 1/sqrt(w), twice the variance.
    torch.manual_seed(3)
    learner = SheafLearner(32, 3, "general", in_stalk_dim=4)               # w = 128 inputs per end, k = 9
    weight = torch.cat([learner.own.weight, learner.other.weight], dim=1).detach()
    bound = 1 / (2 * 128) ** 0.5
    assert float(weight.abs().max()) <= bound
    torch.testing.assert_close(float(weight.var()), bound ** 2 / 3, rtol=0.1, atol=0.0)


def test_learned_edge_weights_are_symmetric_and_scale_orthogonal_maps():
    torch.manual_seed(1)
    index = undirected()
    learner = SheafLearner(4, 3, "householder", edge_weights=True).double()
    maps = learner.maps(torch.randn(9, 3, 4, dtype=torch.float64), index)
    gram = maps.transpose(1, 2) @ maps                                     # w_e^2 I
    weight2 = gram[:, 0, 0]
    torch.testing.assert_close(gram, weight2.view(-1, 1, 1) * torch.eye(3, dtype=torch.float64).expand_as(gram))
    torch.testing.assert_close(weight2, weight2[reverse_edges(index)])
    assert bool(((weight2 > 0) & (weight2 < 1)).all())


def test_learned_edge_weights_enter_the_laplacian_as_the_scaled_maps_would():
    # The learner hands the weights to sheaf_laplacian beside the orthogonal maps; the Laplacian must be that of
    # the scaled maps, here built through the general path (eigh of every degree block).
    torch.manual_seed(4)
    index = undirected()
    learner = SheafLearner(4, 3, "householder", edge_weights=True).double()
    x = torch.randn(9, 3, 4, dtype=torch.float64)
    expected = sheaf_laplacian(index, learner.maps(x, index), eps=1.0)
    torch.testing.assert_close(learner(x, index).dense(), expected.dense())


def test_identity_sheaf_step_equals_dense_graph_diffusion():
    # Identity sheaf of dimension 1, no weights, no activation: X <- 2 X - ... with tanh(0) = 0 gives
    # X_{t+1} = X_t - Delta X_t = (I - Delta) X_t, Delta = I - D~^{-1/2} A D~^{-1/2} - (diagonal shift).
    torch.manual_seed(2)
    index = undirected()
    model = IdentitySheafDiffusion(5, 4, 3, d=1, num_layers=2, left_weights=False, right_weights=False,
                                   use_act=False).double()
    x = torch.randn(9, 5, dtype=torch.float64)
    adjacency, degree_part = dense_normalised_adjacency(index)
    laplacian = torch.diag(degree_part) - adjacency                        # (D+I)^{-1/2} L (D+I)^{-1/2}
    h = model.encode(x).reshape(9, 4)
    for _ in range(2):
        h = h - laplacian @ h
    torch.testing.assert_close(model(x, index.edge_index), model.lin2(h))


def test_fixed_channels_are_a_direct_sum_with_the_graph_laplacians():
    index = undirected(seed=3)
    maps = fixed_channel_maps(index.src, index.dst, True, True, torch.float64)
    laplacian = sheaf_laplacian(index, maps, eps=1.0)
    adjacency, degree_part = dense_normalised_adjacency(index)
    dense = laplacian.dense().view(9, 2, 9, 2)
    torch.testing.assert_close(dense[:, 0, :, 0], torch.diag(degree_part) - adjacency)   # low pass: D - A
    torch.testing.assert_close(dense[:, 1, :, 1], torch.diag(degree_part) + adjacency)   # high pass: D + A
    assert dense[:, 0, :, 1].abs().max() == 0
    learned = sheaf_laplacian(index, torch.randn(index.num_edges, 2, 2, dtype=torch.float64), eps=1.0)
    total = DirectSumLaplacian((learned, laplacian))
    x = torch.randn(9, 4, 3, dtype=torch.float64)
    torch.testing.assert_close(total(x).reshape(36, 3), total.dense() @ x.reshape(36, 3))
    torch.testing.assert_close(total(x)[:, :2], learned(x[:, :2]))
    assert isinstance(direct_sum(learned, laplacian), DirectSumLaplacian)      # full blocks: part by part


def test_direct_sum_of_diagonal_sheaves_is_one_stacked_laplacian():
    index = undirected(seed=5)
    learned = sheaf_laplacian(index, torch.randn(index.num_edges, 3, dtype=torch.float64), eps=1.0)
    fixed = sheaf_laplacian(index, fixed_channel_maps(index.src, index.dst, True, False, torch.float64), eps=1.0)
    stacked = direct_sum(learned, fixed)
    assert isinstance(stacked, SheafLaplacian) and stacked.stalk_dim == 4
    x = torch.randn(9, 4, 3, dtype=torch.float64)
    torch.testing.assert_close(stacked(x), DirectSumLaplacian((learned, fixed))(x))
    torch.testing.assert_close(stacked.dense(), DirectSumLaplacian((learned, fixed)).dense())
    with pytest.raises(ValueError, match="parts"):
        direct_sum()


def test_sheaf_conv_with_the_identity_sheaf_is_a_gcn_layer_without_self_loops():
    torch.manual_seed(4)
    index = undirected(seed=4)
    conv = SheafConv(3, 5, d=1).double()
    identity = sheaf_laplacian(index, torch.ones(index.num_edges, 1, dtype=torch.float64), eps=1e-12)
    x = torch.randn(9, 1, 3, dtype=torch.float64)
    adjacency, _ = dense_normalised_adjacency(index, eps=0.0)
    torch.testing.assert_close(conv(x, identity)[:, 0], adjacency @ x[:, 0] @ conv.weight + conv.bias)


def test_sheaf_conv_equals_the_dense_formula_for_a_general_sheaf():
    torch.manual_seed(5)
    index = undirected(seed=5)
    conv = SheafConv(3, 4, d=2).double()
    with torch.no_grad():
        conv.stalk_weight.copy_(torch.randn(2, 2))
    laplacian = sheaf_laplacian(index, torch.randn(index.num_edges, 2, 2, dtype=torch.float64))
    x = torch.randn(9, 2, 3, dtype=torch.float64)
    mixed = torch.kron(torch.eye(9, dtype=torch.float64), conv.stalk_weight) @ x.reshape(18, 3) @ conv.weight
    expected = (torch.eye(18, dtype=torch.float64) - laplacian.dense()) @ mixed + conv.bias
    torch.testing.assert_close(conv(x, laplacian).reshape(18, 4), expected)


MODELS = [
    (DiagNSD, dict(d=3, low_pass=True)),
    (BundleNSD, dict(d=3, high_pass=True)),
    (BundleNSD, dict(d=2, maps="cayley", edge_weights=False, stalk_sum=True)),
    (GeneralNSD, dict(d=2, low_pass=True, high_pass=True)),
    (NeuralSheafDiffusion, dict(d=2, maps="diagonal", shared_sheaf=True, second_linear=True)),
    (ConnectionNSD, dict(d=2, low_pass=True)),
    (IdentitySheafDiffusion, dict(d=2)),
]


@pytest.mark.parametrize("cls, options", MODELS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_models_are_permutation_equivariant_and_trainable(cls, options):
    torch.manual_seed(6)
    index = undirected(seed=6)
    model = cls(6, 4, 3, num_layers=3, **options).double().eval()
    x = torch.randn(9, 6, dtype=torch.float64)
    out = model(x, index)
    assert out.shape == (9, 3)
    perm = torch.randperm(9)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(9)
    permuted = SparseIndex(inverse[index.edge_index], num_nodes=9)
    if hasattr(model, "reset_sheaf"):
        model.reset_sheaf()
    torch.testing.assert_close(model(x[perm], permuted), out[perm])
    out.sum().backward()
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in trainable)


def test_gradcheck_through_a_learned_sheaf_model():
    torch.manual_seed(7)
    index = undirected(num_nodes=6, num_edges=9, seed=7)
    model = GeneralNSD(3, 2, 2, d=2, num_layers=2).double()
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: model(v, index), (x,))


def test_bad_input():
    index = undirected()
    with pytest.raises(ValueError, match="d: expected an int >= 1, got 0"):
        DiagNSD(4, 8, 2, d=0)
    with pytest.raises(ValueError, match="maps: BundleNSD takes orthogonal maps"):
        BundleNSD(4, 8, 2, maps="general")
    with pytest.raises(ValueError, match="dropout: expected a dropout probability in \\[0, 1\\], got 1.5"):
        GeneralNSD(4, 8, 2, dropout=1.5)
    with pytest.raises(ValueError, match="edge_weights: learned edge weights apply to orthogonal maps"):
        SheafLearner(4, 2, "diagonal", edge_weights=True)
    with pytest.raises(ValueError, match=r"x: expected node features \[N, 4\], got \[9, 5\]"):
        DiagNSD(4, 8, 2)(torch.randn(9, 5), index)
    with pytest.raises(ValueError, match="x: the graph has 9 source and 9 target nodes"):
        DiagNSD(4, 8, 2)(torch.randn(8, 4), index)
    with pytest.raises(ValueError, match="laplacian: expected a SheafLaplacian of stalk dimension 3"):
        SheafConv(2, 2, d=3)(torch.randn(9, 3, 2), sheaf_laplacian(index, torch.randn(index.num_edges, 2)))
    model = ConnectionNSD(4, 8, 2, d=2)
    model(torch.randn(9, 4), index)
    with pytest.raises(ValueError, match="call reset_sheaf"):
        model(torch.randn(7, 4), undirected(num_nodes=7, seed=1))


@pytest.mark.parametrize("cls, options", MODELS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_sparse_features_give_the_dense_outputs_and_gradients(cls, options):
    torch.manual_seed(8)
    index = undirected(seed=8)
    model = cls(6, 4, 3, num_layers=2, **options).double().eval()
    x = torch.randn(9, 6, dtype=torch.float64) * (torch.rand(9, 6) < 0.4)
    dense_out = model(x, index)
    dense_out.square().sum().backward()
    expected = [p.grad.clone() for p in model.parameters()]
    for sparse in (x.to_sparse_coo(), x.to_sparse_csr()):
        model.zero_grad()
        if hasattr(model, "reset_sheaf"):
            model.reset_sheaf()
        out = model(sparse, index)
        torch.testing.assert_close(out, dense_out)
        out.square().sum().backward()
        for grad, want in zip((p.grad for p in model.parameters()), expected):
            torch.testing.assert_close(grad, want)
