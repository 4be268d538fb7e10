import pytest
import torch
import torch.nn.functional as F

from geomlearn.sparse import IndexModifiedError, SparseIndex, additive_scores
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradient_of_each_input_alone, assert_gradients, running_on
from .graphs import awkward_graphs, random_graph

GRAPHS = awkward_graphs()


def _inputs(index, shape, seed, edge=True):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(index.num_dst, *shape, dtype=torch.float64, generator=g)
    b = torch.randn(index.num_src, *shape, dtype=torch.float64, generator=g)
    att = torch.randn(*shape, dtype=torch.float64, generator=g)
    f = torch.randn(index.num_edges, *shape, dtype=torch.float64, generator=g) if edge else None
    return a, b, att, f


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("heads", [None, 3])
@pytest.mark.parametrize("edge", [False, True])
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_matches_reference_and_a_loop_over_edges(graph, edge, heads, backend):
    index = GRAPHS[graph]
    a, b, att, f = _inputs(index, (5,) if heads is None else (heads, 5), seed=0, edge=edge)
    with running_on(backend) as device:
        out = additive_scores(index.to(device), a.to(device), b.to(device), att.to(device), 0.1,
                              None if f is None else f.to(device)).cpu()
    assert out.shape == (index.num_edges,) + (() if heads is None else (heads,))
    torch.testing.assert_close(out, ref.additive_scores(index, a, b, att, 0.1, f))
    for e, (j, i) in enumerate(index.edge_index.t().tolist()):              # the definition, one edge at a time
        pre = a[i] + b[j] + (0 if f is None else f[e])
        torch.testing.assert_close(out[e], (F.leaky_relu(pre, 0.1) * att).sum(-1))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("edge", [False, True])
@pytest.mark.parametrize("graph", ["random", "hub", "bipartite", "duplicates"])
def test_gradients_of_every_input(graph, edge, backend):
    index = GRAPHS[graph]
    with running_on(backend) as device:
        moved = index.to(device)
        inputs = [t.to(device).requires_grad_() for t in _inputs(index, (2, 3), seed=1, edge=edge) if t is not None]
        if edge:
            call = lambda a, b, att, f: additive_scores(moved, a, b, att, 0.2, f)  # noqa: E731
        else:
            call = lambda a, b, att: additive_scores(moved, a, b, att, 0.2)  # noqa: E731
        assert_gradients(backend, device, call, tuple(inputs))


def test_gradients_match_the_reference_for_each_input_alone():
    index = GRAPHS["random"]
    assert_gradient_of_each_input_alone(lambda a, b, att, f: additive_scores(index, a, b, att, 0.3, f),
                                        lambda a, b, att, f: ref.additive_scores(index, a, b, att, 0.3, f),
                                        _inputs(index, (2, 4), seed=2),
                                        torch.randn(index.num_edges, 2, dtype=torch.float64))


def test_slope_one_is_a_linear_score():
    # LeakyReLU with slope 1 is the identity: the score splits into att . a_i + att . b_j (GAT's logits).
    index = random_graph(8, 6, 30, seed=4)
    a, b, att, _ = _inputs(index, (4,), seed=3, edge=False)
    expected = (a @ att)[index.dst.long()] + (b @ att)[index.src.long()]
    torch.testing.assert_close(additive_scores(index, a, b, att, 1.0), expected)


def test_float32_matches_float64():
    index = GRAPHS["hub"]
    a, b, att, f = _inputs(index, (2, 16), seed=5)
    out = additive_scores(index, a.float(), b.float(), att.float(), 0.2, f.float())
    torch.testing.assert_close(out.double(), additive_scores(index, a, b, att, 0.2, f), rtol=1e-5, atol=1e-5)


def test_bad_input():
    index = SparseIndex(torch.tensor([[0, 1], [1, 2]]), num_nodes=(2, 3))
    a, b, att = torch.randn(3, 4), torch.randn(2, 4), torch.randn(4)
    with pytest.raises(ValueError, match=r"a: expected 3 rows \(one per target node\)"):
        additive_scores(index, torch.randn(2, 4), b, att)
    with pytest.raises(ValueError, match=r"b: expected 2 rows \(one per source node\)"):
        additive_scores(index, a, torch.randn(3, 4), att)
    with pytest.raises(ValueError, match=r"b: expected trailing shape \[4\] \(that of a\), got \[5\]"):
        additive_scores(index, a, torch.randn(2, 5), att)
    with pytest.raises(ValueError, match=r"att: expected shape \[4\] \(the trailing shape of a\), got \[2, 4\]"):
        additive_scores(index, a, b, torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"edge: expected 2 rows \(one per edge\)"):
        additive_scores(index, a, b, att, edge=torch.randn(3, 4))
    with pytest.raises(TypeError, match=r"att: expected dtype torch.float32 \(the dtype of a\)"):
        additive_scores(index, a, b, att.double())
    with pytest.raises(TypeError, match="b: expected the source features"):
        additive_scores(index, a, None, att)
    with pytest.raises(TypeError, match="negative_slope: expected a float, got str"):
        additive_scores(index, a, b, att, "0.2")


def test_the_op_refuses_indices_out_of_range():
    # Called directly (torch.ops), a layout whose sources point past b is refused before the kernel reads.
    index = random_graph(5, 4, 12, seed=6)
    csr = index.csr()
    a, b, att = torch.randn(4, 1, 3), torch.randn(5, 1, 3), torch.randn(1, 3)
    bad_idx = csr.idx.clone()
    bad_idx[0] = 5
    with pytest.raises(IndexModifiedError, match="idx"):
        torch.ops.geomlearn.additive_scores(csr.ptr, bad_idx, csr.eid, csr.ptr, csr.idx, csr.eid, a, b, None, att, 0.2)
    with pytest.raises(ValueError, match=r"att has shape \[3\], expected \[1, 3\]"):
        torch.ops.geomlearn.additive_scores(csr.ptr, csr.idx, csr.eid, csr.ptr, csr.idx, csr.eid, a, b, None,
                                            torch.randn(3), 0.2)
