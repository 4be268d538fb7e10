import pytest
import torch

from geomlearn.sparse import SparseIndex, segment_softmax
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradients, running_on
from .graphs import awkward_graphs, dense_edge_mask

GRAPHS = awkward_graphs()


def dense_softmax(scores, index):
    """Softmax over each row of the dense ``[num_dst, E]`` score matrix masked to the row's edges."""
    mask = dense_edge_mask(index).unsqueeze(-1)  # [num_dst, E, 1]
    scores2 = scores if scores.dim() == 2 else scores.unsqueeze(1)
    masked = torch.where(mask, scores2.unsqueeze(0), float("-inf"))
    weights = torch.nan_to_num(torch.softmax(masked, dim=1))  # rows without edges give nan -> 0
    return (weights * mask).sum(0).reshape(scores.shape)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("heads", [None, 4])
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_segment_softmax_matches_reference_and_dense(graph, heads, backend):
    index = GRAPHS[graph]
    shape = (index.num_edges,) if heads is None else (index.num_edges, heads)
    scores = 5 * torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with running_on(backend) as device:
        out = segment_softmax(scores.to(device), index.to(device)).cpu()
    torch.testing.assert_close(out, ref.segment_softmax(scores, index))
    torch.testing.assert_close(out, dense_softmax(scores, index))
    # Every target with incoming edges distributes a total weight of one per head.
    totals = ref.segment_reduce(out, index, "sum")[index.in_degree() > 0]
    torch.testing.assert_close(totals, torch.ones_like(totals))


def test_segment_softmax_is_shift_invariant_and_stable():
    index = GRAPHS["hub"]
    scores = torch.randn(index.num_edges, 2, dtype=torch.float64)
    shifted = scores + 1000.0 * (index.dst.unsqueeze(1) + 1)  # a per-target shift, large enough to overflow exp
    torch.testing.assert_close(segment_softmax(shifted, index), segment_softmax(scores, index))


@pytest.mark.parametrize("backend", BACKENDS)
def test_segment_softmax_gradcheck(backend):
    index = GRAPHS["hub"]
    with running_on(backend) as device:
        scores = torch.randn(index.num_edges, 2, dtype=torch.float64).to(device).requires_grad_()
        moved = index.to(device)
        assert_gradients(backend, device, lambda s: segment_softmax(s, moved), (scores,))


def test_segment_softmax_bad_input():
    index = SparseIndex(torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    with pytest.raises(ValueError, match=r"scores: expected 2 rows \(one per edge\), got shape \[3\]"):
        segment_softmax(torch.randn(3), index)
    with pytest.raises(ValueError, match=r"scores: expected shape \[E\] or \[E, H\], got \[2, 1, 1\]"):
        segment_softmax(torch.randn(2, 1, 1), index)
