import pytest
import torch

from geomlearn.sparse import SparseIndex, segment_reduce
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradients, running_on
from .graphs import awkward_graphs, dense_edge_mask

GRAPHS = awkward_graphs()
REDUCTIONS = ["sum", "mean", "max", "min"]


def dense_segment_reduce(values, index, reduce):
    mask = dense_edge_mask(index).to(values.dtype)  # [num_dst, E]
    flat = values.flatten(1)
    if reduce in ("sum", "mean"):
        out = mask @ flat
        if reduce == "mean":
            out = out / mask.sum(1, keepdim=True).clamp(min=1)
    else:
        rows = []
        for i in range(index.num_dst):
            picked = flat[mask[i].bool()]
            rows.append(torch.zeros(flat.shape[1], dtype=flat.dtype) if len(picked) == 0
                        else picked.amax(0) if reduce == "max" else picked.amin(0))
        out = torch.stack(rows) if rows else flat.new_zeros(0, flat.shape[1])
    return out.reshape(index.num_dst, *values.shape[1:])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduce", REDUCTIONS)
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_segment_reduce_matches_reference_and_dense(graph, reduce, backend):
    index = GRAPHS[graph]
    values = torch.randn(index.num_edges, 2, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with running_on(backend) as device:
        out = segment_reduce(values.to(device), index.to(device), reduce).cpu()
    assert out.shape == (index.num_dst, 2, 3)
    torch.testing.assert_close(out, ref.segment_reduce(values, index, reduce))
    torch.testing.assert_close(out, dense_segment_reduce(values, index, reduce))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduce", REDUCTIONS)
def test_segment_reduce_gradcheck(reduce, backend):
    index = GRAPHS["hub"]
    with running_on(backend) as device:
        values = torch.randn(index.num_edges, 3, dtype=torch.float64).to(device).requires_grad_()
        moved = index.to(device)
        assert_gradients(backend, device, lambda v: segment_reduce(v, moved, reduce), (values,))


def test_segment_reduce_bad_input():
    index = SparseIndex(torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    with pytest.raises(ValueError, match=r"values: expected 2 rows \(one per edge\), got shape \[3, 1\]"):
        segment_reduce(torch.randn(3, 1), index)
    with pytest.raises(ValueError, match="reduce: expected one of"):
        segment_reduce(torch.randn(2), index, "median")
    with pytest.raises(TypeError, match="values: expected a floating-point tensor"):
        segment_reduce(torch.ones(2, dtype=torch.int64), index)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("reduce", ["max", "min"])
def test_segment_reduce_propagates_nan_as_torch(reduce, backend):
    index = GRAPHS["duplicates"]
    values = torch.randn(index.num_edges, 3, dtype=torch.float64)
    values[1, 0] = values[4, 2] = float("nan")       # the middle of node 1's edges, the last of node 2's
    with running_on(backend) as device:
        out = segment_reduce(values.to(device), index.to(device), reduce).cpu()
    torch.testing.assert_close(out, ref.segment_reduce(values, index, reduce), equal_nan=True)
    assert int(out.isnan().sum()) == 2
