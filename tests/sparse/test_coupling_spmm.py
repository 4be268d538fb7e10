import pytest
import torch

from geomlearn.sparse import Couplings, SparseIndex, coupling_spmm
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradients, interpreted, running_on
from .graphs import awkward_graphs

GRAPHS = awkward_graphs()
SIZES = (5, 4, 3, 7)  # n_in, n_edge, n_weight, n_out


def random_couplings(count=24, seed=0, sizes=SIZES):
    g = torch.Generator().manual_seed(seed)
    columns = [torch.randint(0, size, (count,), generator=g) for size in sizes]
    return Couplings(*columns, torch.randn(count, dtype=torch.float64, generator=g), sizes)


def random_inputs(index, channels=3, seed=0, requires_grad=False):
    g = torch.Generator().manual_seed(seed)
    shapes = [(index.num_src, channels, SIZES[0]), (index.num_edges, SIZES[1]),
              (index.num_edges, SIZES[2], channels)]
    return [torch.randn(s, dtype=torch.float64, generator=g).requires_grad_(requires_grad) for s in shapes]


def test_one_edge_one_coupling_by_hand():
    index = SparseIndex(torch.tensor([[1], [0]]), num_nodes=2)              # the edge 1 -> 0
    couplings = Couplings(torch.tensor([1]), torch.tensor([0]), torch.tensor([1]), torch.tensor([2]),
                          torch.tensor([0.5], dtype=torch.float64), (2, 1, 2, 3))
    x = torch.arange(8, dtype=torch.float64).view(2, 2, 2)                     # x[1, u, 1] = 5, 7
    y = torch.tensor([[3.0]], dtype=torch.float64)
    w = torch.tensor([[[0.0, 0.0], [2.0, -1.0]]], dtype=torch.float64)        # w[0, 1, u] = 2, -1
    out = coupling_spmm(index, couplings, x, y, w)
    expected = torch.zeros(2, 2, 3, dtype=torch.float64)
    expected[0, :, 2] = 0.5 * torch.tensor([5.0, 7.0]) * 3.0 * torch.tensor([2.0, -1.0])
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_coupling_spmm_matches_reference(graph, backend):
    index, couplings = GRAPHS[graph], random_couplings()
    x, y, w = random_inputs(index)
    with running_on(backend) as device:
        out = coupling_spmm(index.to(device), couplings.to(device), x.to(device), y.to(device), w.to(device)).cpu()
    assert out.shape == (index.num_dst, 3, SIZES[3])
    torch.testing.assert_close(out, ref.coupling_spmm(index, couplings, x, y, w))


@pytest.mark.parametrize("backend", BACKENDS)
def test_coupling_spmm_float32_with_many_channels_and_entries(backend):
    # More channels and entries than one tile of the GPU kernels holds.
    index = GRAPHS["random"]
    couplings = random_couplings(count=150, seed=3, sizes=(9, 5, 70, 81))
    g = torch.Generator().manual_seed(4)
    x = torch.randn(index.num_src, 40, 9, generator=g)
    y = torch.randn(index.num_edges, 5, generator=g)
    w = torch.randn(index.num_edges, 70, 40, generator=g)
    with running_on(backend) as device:
        out = coupling_spmm(index.to(device), couplings.to(device), x.to(device), y.to(device), w.to(device)).cpu()
    torch.testing.assert_close(out, ref.coupling_spmm(index, couplings, x, y, w), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("graph", ["duplicates", "bipartite"])
def test_coupling_spmm_gradients_of_first_and_second_order(graph, backend):
    index, couplings = GRAPHS[graph], random_couplings(seed=1)
    with running_on(backend) as device:
        moved, table = index.to(device), couplings.to(device)
        inputs = [t.to(device).requires_grad_() for t in random_inputs(index, channels=2, seed=1)]
        assert_gradients(backend, device, lambda *a: coupling_spmm(moved, table, *a), inputs)
        if not interpreted(backend, device):   # every derivative is again a coupling product
            assert torch.autograd.gradgradcheck(lambda *a: coupling_spmm(moved, table, *a), inputs)


def test_second_order_gradients_match_the_reference():
    index, couplings = GRAPHS["random"], random_couplings(seed=2)
    results = []
    for fn in (coupling_spmm, ref.coupling_spmm):
        inputs = random_inputs(index, seed=2, requires_grad=True)
        first = torch.autograd.grad(fn(index, couplings, *inputs).square().sum(), inputs, create_graph=True)
        results.append(torch.autograd.grad(sum(g.sin().sum() for g in first), inputs))
    for ours, expected in zip(*results):
        torch.testing.assert_close(ours, expected)


def test_bad_input():
    index, couplings = GRAPHS["random"], random_couplings()
    x, y, w = random_inputs(index)
    with pytest.raises(ValueError, match=r"x: expected \[num_src, C, 5\]"):
        coupling_spmm(index, couplings, x[:, :, :4], y, w)
    with pytest.raises(ValueError, match=r"y: expected \[80, 4\]"):
        coupling_spmm(index, couplings, x, y[:-1], w)
    with pytest.raises(ValueError, match=r"w: expected \[80, 3, 3\]"):
        coupling_spmm(index, couplings, x, y, w[:, :, :2])
    with pytest.raises(TypeError, match="y: expected dtype torch.float64"):
        coupling_spmm(index, couplings, x, y.float(), w)
    with pytest.raises(TypeError, match="couplings: expected a geomlearn.sparse.Couplings"):
        coupling_spmm(index, None, x, y, w)
    values = torch.ones(2, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"out_pos: expected positions in \[0, 3\), got \[0, 3\]"):
        Couplings(torch.tensor([0, 1]), torch.tensor([0, 0]), torch.tensor([0, 0]), torch.tensor([0, 3]), values,
                  (2, 1, 1, 3))
    with pytest.raises(ValueError, match=r"edge_pos: expected an integer tensor \[2\]"):
        Couplings(torch.tensor([0, 1]), torch.tensor([0]), torch.tensor([0, 0]), torch.tensor([0, 2]), values,
                  (2, 1, 1, 3))
    with pytest.raises(ValueError, match="sizes: expected four ints >= 1"):
        Couplings(*[torch.tensor([0, 0])] * 4, values, (2, 1, 1))
