import pytest
import torch

from geomlearn.equivariant import EquivariantConv, periodic_radius_graph, radius_graph, spherical_harmonics
from geomlearn.equivariant.testing import CARTESIAN_POINTS, assert_equivariant
from geomlearn.sparse import SparseIndex

SPHERE = "4x0e + 4x1o + 4x2e"


def molecule(n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    pos = torch.randn(n, 3, generator=g, dtype=torch.float64) * 1.5
    return pos, radius_graph(pos, 3.0, max_num_neighbors=None)


CHANNEL_WISE = "4x0e + 4x1o + 4x1e + 4x2e"


@pytest.mark.parametrize("product, irreps_out", [("cg", CHANNEL_WISE), ("so2", CHANNEL_WISE),
                                                 ("gaunt", SPHERE + " + 4x3o"), ("grid", SPHERE + " + 4x3o")])
def test_every_product_gives_an_equivariant_translation_invariant_convolution(product, irreps_out):
    torch.manual_seed(1)
    pos, edge_index = molecule()
    conv = EquivariantConv(SPHERE, irreps_out, lmax_sh=2, product=product, cutoff=3.0).double()
    x = torch.randn(pos.shape[0], conv.irreps_in.dim, dtype=torch.float64)
    error = assert_equivariant(lambda features, p: conv(features, p, edge_index), (x, pos),
                               [conv.irreps_in, CARTESIAN_POINTS], conv.irreps_out, do_translation=True)
    assert max(error.values()) < 1e-10


def test_sum_over_neighbours_by_hand():
    torch.manual_seed(2)
    pos, edge_index = molecule(6, seed=2)
    conv = EquivariantConv("2x0e + 2x1o", "2x0e + 2x1o", lmax_sh=1, cutoff=3.0, avg_num_neighbors=4.0).double()
    x = torch.randn(6, conv.irreps_in.dim, dtype=torch.float64)
    out = conv(x, pos, SparseIndex(edge_index, num_nodes=6))
    source, target = edge_index
    vectors = pos[target] - pos[source]
    weight = conv.radial(conv.basis(vectors.norm(dim=1)))
    messages = conv.product(x[source], spherical_harmonics([0, 1], vectors, normalization="component"), weight)
    expected = torch.zeros_like(out).index_add_(0, target, messages) / 2.0
    torch.testing.assert_close(out, expected)


class FromCG(torch.nn.Module):
    """The radial network of an SO(2) convolution that reproduces a CG convolution's weights."""

    def __init__(self, so2, cg):
        super().__init__()
        self.so2, self.cg = so2, cg

    def forward(self, basis):
        return self.so2.product.weights_from_cg(self.cg.product, self.cg.radial(basis))


def test_so2_convolution_equals_the_cg_convolution_it_replaces():
    torch.manual_seed(3)
    pos, edge_index = molecule(10, seed=3)
    irreps = "3x0e + 3x1o + 3x2e + 3x3o"
    cg = EquivariantConv(irreps, irreps, lmax_sh=3, product="cg", cutoff=3.0).double()
    so2 = EquivariantConv(irreps, irreps, lmax_sh=3, product="so2", cutoff=3.0).double()
    so2.radial = FromCG(so2, cg)
    x = torch.randn(10, cg.irreps_in.dim, dtype=torch.float64)
    torch.testing.assert_close(so2(x, pos, edge_index), cg(x, pos, edge_index), atol=1e-12, rtol=0)


def test_periodic_images_and_bad_input():
    cell = torch.eye(3, dtype=torch.float64) * 2.0
    pos = torch.rand(4, 3, dtype=torch.float64) * 2.0
    edge_index, shifts = periodic_radius_graph(pos, 2.5, cell)
    conv = EquivariantConv("2x0e + 2x1o", "2x0e + 2x1o", lmax_sh=1, cutoff=2.5).double()
    x = torch.randn(4, conv.irreps_in.dim, dtype=torch.float64)
    out = conv(x, pos, edge_index, shifts, cell)
    moved = conv(x, pos + cell[0], edge_index, shifts, cell)                 # a lattice translation
    torch.testing.assert_close(out, moved)
    with pytest.raises(ValueError, match="shifts, cell: give both"):
        conv(x, pos, edge_index, shifts)
    with pytest.raises(ValueError, match=r"pos: expected finite positions \[4, 3\]"):
        conv(x, torch.full((4, 3), float("nan"), dtype=torch.float64), edge_index)
    with pytest.raises(ValueError, match="product: expected one of"):
        EquivariantConv("0e", "0e", 1, product="fft")


def test_fused_cg_convolution_equals_the_unfused_one_to_second_order():
    # The fused kernel (coupling_spmm on the product's table) against gather -> CG product -> segment sum:
    # outputs, forces (d out / d pos) and the gradient of a force loss for the radial network.
    torch.manual_seed(4)
    pos, edge_index = molecule(10, seed=4)
    irreps_in, irreps_out = "3x0e + 3x1o + 3x2e", "3x0e + 3x1o + 3x1e + 3x2e + 3x3o"
    fused = EquivariantConv(irreps_in, irreps_out, lmax_sh=2, cutoff=3.0).double()
    unfused = EquivariantConv(irreps_in, irreps_out, lmax_sh=2, cutoff=3.0, fused=False).double()
    unfused.load_state_dict(fused.state_dict())
    assert fused.fused and not unfused.fused
    x = torch.randn(10, fused.irreps_in.dim, dtype=torch.float64)
    results = []
    for conv in (fused, unfused):
        p = pos.clone().requires_grad_()
        out = conv(x, p, edge_index)
        forces, = torch.autograd.grad(out.square().sum(), p, create_graph=True)
        results.append((out, forces, *torch.autograd.grad(forces.square().sum(), list(conv.radial.parameters()))))
    for ours, expected in zip(*results):
        torch.testing.assert_close(ours, expected, atol=1e-10, rtol=1e-10)


def test_couplings_table_equals_the_cg_product_per_edge():
    from geomlearn.equivariant import CGTensorProduct
    from geomlearn.equivariant.irreps import from_channel_major, to_channel_major
    from geomlearn.sparse import coupling_spmm

    tp = CGTensorProduct("2x0e + 2x1o + 2x2e", "0e + 1o + 2e", "2x0e + 2x1o + 2x1e + 2x2e", mode="uvu",
                         shared_weights=False)
    g = torch.Generator().manual_seed(5)
    edges = 7
    index = SparseIndex(torch.stack([torch.arange(edges), torch.arange(edges)]), num_nodes=edges)  # i -> i
    x1 = torch.randn(edges, tp.irreps_in1.dim, dtype=torch.float64, generator=g)
    x2 = torch.randn(edges, tp.irreps_in2.dim, dtype=torch.float64, generator=g)
    weight = torch.randn(edges, tp.weight_numel, dtype=torch.float64, generator=g)
    out = coupling_spmm(index, tp.couplings(), to_channel_major(x1, tp.irreps_in1), x2,
                        weight.view(edges, len(tp.instructions), 2))
    torch.testing.assert_close(from_channel_major(out, tp.irreps_out), tp(x1, x2, weight))
    with pytest.raises(ValueError, match=r"couplings: expected weighted 'uvu' instructions .* got modes \['uvw'\]"):
        CGTensorProduct("2x0e", "2x0e", "2x0e").couplings()
    with pytest.raises(ValueError, match="fused: the fused convolution needs product 'cg'"):
        EquivariantConv("2x0e + 3x1o", "2x0e + 3x1o", lmax_sh=1, fused=True)
    with pytest.raises(ValueError, match="fused: the fused convolution needs product 'cg'"):
        EquivariantConv(SPHERE, SPHERE, lmax_sh=1, product="so2", fused=True)


def test_radial_basis_and_harmonics_at_zero_length_are_their_limits_with_finite_gradients():
    from geomlearn.equivariant.equivariant_conv import RadialBasis

    basis = RadialBasis(6, 3.0).double()
    distance = torch.tensor([0.0, 1e-9], dtype=torch.float64, requires_grad=True)
    values = basis(distance)
    limit = (2 / 3.0) ** 0.5 * torch.arange(1, 7, dtype=torch.float64) * torch.pi / 3.0      # sin(kd)/d -> k
    torch.testing.assert_close(values[0], limit)
    torch.testing.assert_close(values[1], limit)
    (grad,) = torch.autograd.grad(values.sum(), distance)
    assert torch.isfinite(grad).all() and grad[0] == 0


@pytest.mark.parametrize("product", ["cg", "gaunt", "grid"])
def test_a_self_loop_or_coincident_atoms_give_finite_outputs_and_forces(product):
    torch.manual_seed(5)
    pos, edge_index = molecule(8, seed=5)
    pos = torch.cat([pos, pos[:1]])                                           # atom 8 sits on atom 0
    loops = torch.tensor([[0, 8, 3], [8, 0, 3]])                              # coincident pair, and a self loop
    edge_index = torch.cat([edge_index, loops], dim=1)
    irreps_out = CHANNEL_WISE if product == "cg" else SPHERE
    conv = EquivariantConv(SPHERE, irreps_out, lmax_sh=2, product=product, cutoff=3.0).double()
    x = torch.randn(9, conv.irreps_in.dim, dtype=torch.float64)
    positions = pos.clone().requires_grad_()
    out = conv(x, positions, edge_index)
    (forces,) = torch.autograd.grad(out.square().sum(), positions)
    assert torch.isfinite(out).all() and torch.isfinite(forces).all()
    # A zero-length edge adds the l = 0 part of the product with the degree-0 harmonic only: its message equals
    # that of the same edge computed by hand from Y(0) = (1, 0, ...) and the radial limit.
    without = conv(x, pos, edge_index[:, :-1])
    vector = torch.zeros(1, 3, dtype=torch.float64)
    weight = conv.radial(conv.basis(vector.norm(dim=1)))
    message = conv.product(x[3:4], spherical_harmonics([0, 1, 2], vector, normalization="component"), weight)
    torch.testing.assert_close(out[3] - without[3], message[0] / conv.avg_num_neighbors ** 0.5)


def test_the_so2_convolution_refuses_a_zero_length_edge_by_name():
    pos, edge_index = molecule(6, seed=6)
    conv = EquivariantConv(CHANNEL_WISE, CHANNEL_WISE, lmax_sh=2, product="so2", cutoff=3.0).double()
    x = torch.randn(6, conv.irreps_in.dim, dtype=torch.float64)
    looped = torch.cat([edge_index, torch.tensor([[2], [2]])], dim=1)
    with pytest.raises(ValueError, match=rf"vectors: edge {edge_index.shape[1]} is \[0.0, 0.0, 0.0\]; the SO\(2\)"):
        conv(x, pos, looped)
