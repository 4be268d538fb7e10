import pytest
import torch

from geomlearn.sparse import SparseIndex, sddmm
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradients, running_on
from .graphs import awkward_graphs, dense_adjacency, random_graph

GRAPHS = awkward_graphs()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("heads", [None, 3])
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_sddmm_matches_reference_and_dense(graph, heads, backend):
    index = GRAPHS[graph]
    g = torch.Generator().manual_seed(0)
    shape = (5,) if heads is None else (heads, 5)
    a = torch.randn(index.num_dst, *shape, dtype=torch.float64, generator=g)
    b = torch.randn(index.num_src, *shape, dtype=torch.float64, generator=g)
    with running_on(backend) as device:
        out = sddmm(index.to(device), a.to(device), b.to(device)).cpu()
    assert out.shape == (index.num_edges,) + (() if heads is None else (heads,))
    torch.testing.assert_close(out, ref.sddmm(index, a, b))
    # Dense: (a b^T)[i, j] sampled at each edge j -> i.
    dense = torch.einsum("i...c,j...c->ij...", a, b)
    torch.testing.assert_close(out, dense[index.dst.long(), index.src.long()])


def test_sddmm_adjoint_of_spmm():
    # <A_w b, a> = sum_e w_e <a_i, b_j> = <w, sddmm(a, b)>: the two ops are each other's adjoints.
    index = random_graph(9, 7, 30, seed=1)
    a, b = torch.randn(7, 4, dtype=torch.float64), torch.randn(9, 4, dtype=torch.float64)
    w = torch.rand(30, dtype=torch.float64)
    lhs = (dense_adjacency(index, w) @ b * a).sum()
    torch.testing.assert_close(lhs, (w * sddmm(index, a, b)).sum())


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("graph", ["random", "hub", "bipartite"])
def test_sddmm_gradcheck(graph, backend):
    index = GRAPHS[graph]
    g = torch.Generator().manual_seed(2)
    with running_on(backend) as device:
        a = torch.randn(index.num_dst, 2, 3, dtype=torch.float64, generator=g).to(device).requires_grad_()
        b = torch.randn(index.num_src, 2, 3, dtype=torch.float64, generator=g).to(device).requires_grad_()
        moved = index.to(device)
        assert_gradients(backend, device, lambda p, q: sddmm(moved, p, q), (a, b))


def test_sddmm_bad_input():
    index = SparseIndex(torch.tensor([[0, 1], [1, 2]]), num_nodes=(2, 3))
    with pytest.raises(ValueError, match=r"a: expected 3 rows \(one per target node\)"):
        sddmm(index, torch.randn(2, 4), torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"b: expected 2 rows \(one per source node\)"):
        sddmm(index, torch.randn(3, 4), torch.randn(3, 4))
    with pytest.raises(ValueError, match=r"b: expected trailing shape \[4\] \(that of a\), got \[5\]"):
        sddmm(index, torch.randn(3, 4), torch.randn(2, 5))
    with pytest.raises(ValueError, match="a: expected at least 2 dimension"):
        sddmm(index, torch.randn(3), torch.randn(2))
    with pytest.raises(TypeError, match="b: expected dtype torch.float32 .* got torch.float64"):
        sddmm(index, torch.randn(3, 4), torch.randn(2, 4, dtype=torch.float64))
