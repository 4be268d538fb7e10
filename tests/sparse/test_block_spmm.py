import pytest
import torch

from geomlearn.sparse import SparseIndex, block_spmm, spmm
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradients, interpreted, running_on
from .graphs import awkward_graphs

GRAPHS = awkward_graphs()


def dense_block_matrix(index, blocks):
    """The scalar ``[num_dst * d, num_src * d]`` matrix with block ``(i, j)`` the sum of ``B_e`` over edges j -> i."""
    d = blocks.shape[1]
    dense = torch.zeros(index.num_dst, index.num_src, d, d, dtype=blocks.dtype)
    dense.index_put_((index.dst.long(), index.src.long()), blocks, accumulate=True)
    return dense.permute(0, 2, 1, 3).reshape(index.num_dst * d, index.num_src * d)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("d", [1, 3])
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_block_spmm_matches_reference_and_dense(graph, d, backend):
    index = GRAPHS[graph]
    g = torch.Generator().manual_seed(0)
    blocks = torch.randn(index.num_edges, d, d, dtype=torch.float64, generator=g)
    x = torch.randn(index.num_src, d, 5, dtype=torch.float64, generator=g)
    with running_on(backend) as device:
        out = block_spmm(index.to(device), blocks.to(device), x.to(device)).cpu()
    assert out.shape == (index.num_dst, d, 5)
    torch.testing.assert_close(out, ref.block_spmm(index, blocks, x))
    dense = dense_block_matrix(index, blocks) @ x.reshape(index.num_src * d, 5)
    torch.testing.assert_close(out, dense.reshape(index.num_dst, d, 5))


def test_block_spmm_with_scalar_blocks_is_spmm():
    index = GRAPHS["duplicates"]
    w = torch.rand(index.num_edges, dtype=torch.float64)
    x = torch.randn(index.num_src, 4, dtype=torch.float64)
    torch.testing.assert_close(block_spmm(index, w.view(-1, 1, 1), x.unsqueeze(1)).squeeze(1), spmm(index, x, w))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("graph", ["random", "hub", "bipartite"])
def test_block_spmm_gradcheck(graph, backend):
    index = GRAPHS[graph]
    g = torch.Generator().manual_seed(1)
    with running_on(backend) as device:
        blocks = torch.randn(index.num_edges, 2, 2, dtype=torch.float64, generator=g).to(device).requires_grad_()
        x = torch.randn(index.num_src, 2, 3, dtype=torch.float64, generator=g).to(device).requires_grad_()
        moved = index.to(device)
        assert_gradients(backend, device, lambda b, v: block_spmm(moved, b, v), (blocks, x))
        if not interpreted(backend, device):  # second order through the block SDDMM and the transposed walk
            assert torch.autograd.gradgradcheck(lambda b, v: block_spmm(moved, b, v), (blocks, x))


def test_block_spmm_bad_input():
    index = SparseIndex(torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    x = torch.randn(3, 2, 4)
    with pytest.raises(ValueError, match=r"blocks: expected shape \[E, d, d\], got \[2, 2, 3\]"):
        block_spmm(index, torch.randn(2, 2, 3), x)
    with pytest.raises(ValueError, match=r"blocks: expected 2 rows \(one block per edge\)"):
        block_spmm(index, torch.randn(5, 2, 2), x)
    with pytest.raises(ValueError, match=r"x: expected shape \[num_src, 3, C\] \(d from blocks\), got \[3, 2, 4\]"):
        block_spmm(index, torch.randn(2, 3, 3), x)
    with pytest.raises(ValueError, match=r"x: expected 3 rows \(one per source node\)"):
        block_spmm(index, torch.randn(2, 2, 2), torch.randn(4, 2, 4))
    with pytest.raises(ValueError, match="blocks: expected at least 3 dimension"):
        block_spmm(index, torch.randn(2, 2), x)
