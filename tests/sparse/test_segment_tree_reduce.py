import pytest
import torch

from geomlearn.sparse import SparseIndex, segment_reduce, segment_tree_reduce

from .graphs import awkward_graphs


def matrix_product(a, b):
    """2x2 matrix products, flattened: associative but not commutative, so it sees the order."""
    return (a.view(-1, 2, 2) @ b.view(-1, 2, 2)).reshape(-1, 4)


@pytest.mark.parametrize("name", list(awkward_graphs()))
def test_equals_the_sequential_fold_for_an_associative_operator(name):
    index = awkward_graphs()[name]
    values = torch.randn(index.num_edges, 4, dtype=torch.float64)
    out = segment_tree_reduce(values, index, matrix_product)
    csr = index.csr()
    for target in range(index.num_dst):
        edges = csr.eid[csr.ptr[target]:csr.ptr[target + 1]].long().tolist()
        expected = torch.zeros(4, dtype=torch.float64)
        if edges:
            expected = values[edges[0]]
            for e in edges[1:]:                                 # ((v1 v2) v3) ... in edge order
                expected = matrix_product(expected[None], values[e][None])[0]
        torch.testing.assert_close(out[target], expected)
    torch.testing.assert_close(segment_tree_reduce(values, index, torch.add), segment_reduce(values, index))


def test_depth_is_logarithmic_and_work_linear():
    # One target with 37 incoming edges: 6 levels, 36 applications.
    index = SparseIndex(torch.stack([torch.arange(37), torch.zeros(37, dtype=torch.long)]), num_nodes=37)
    calls = []

    def counting_add(a, b):
        calls.append(a.shape[0])
        return a + b

    segment_tree_reduce(torch.ones(37, 1), index, counting_add)
    assert len(calls) == 6 and sum(calls) == 36


def test_gradients_flow_through_the_tree():
    index = awkward_graphs()["hub"]
    values = torch.randn(index.num_edges, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: segment_tree_reduce(v, index, lambda a, b: a * b.tanh() + b), (values,))


def test_bad_input():
    index = awkward_graphs()["random"]
    with pytest.raises(ValueError, match="values: expected 80 rows"):
        segment_tree_reduce(torch.ones(5, 2), index, torch.add)
    with pytest.raises(TypeError, match="combine: expected a callable"):
        segment_tree_reduce(torch.ones(80, 2), index, "sum")
    with pytest.raises(ValueError, match="combine: expected an output of shape"):
        segment_tree_reduce(torch.ones(80, 2), index, lambda a, b: a[:, :1])
