import pytest
import torch

from geomlearn.sparse import gather_sum
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradients, running_on
from .graphs import awkward_graphs, random_graph

GRAPHS = awkward_graphs()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("heads", [None, 3])
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_matches_reference_with_gradients(graph, heads, backend):
    index = GRAPHS[graph]
    g = torch.Generator().manual_seed(0)
    shape = () if heads is None else (heads,)
    a = torch.randn(index.num_dst, *shape, dtype=torch.float64, generator=g, requires_grad=True)
    b = torch.randn(index.num_src, *shape, dtype=torch.float64, generator=g, requires_grad=True)
    with running_on(backend) as device:
        moved = index.to(device)
        torch.testing.assert_close(gather_sum(moved, a, b), ref.gather_sum(index, a, b))
        if index.num_edges:
            assert_gradients(backend, device, lambda u, v: gather_sum(moved, u, v), (a, b))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("side", ["target", "source"])
@pytest.mark.parametrize("graph", list(GRAPHS))
def test_one_sided_gather_of_any_trailing_shape(graph, side, backend):
    index = GRAPHS[graph]
    g = torch.Generator().manual_seed(1)
    values = torch.randn(index.num_dst if side == "target" else index.num_src, 2, 3, dtype=torch.float64,
                         generator=g, requires_grad=True)
    with running_on(backend) as device:
        moved = index.to(device)
        pair = (values, None) if side == "target" else (None, values)
        torch.testing.assert_close(gather_sum(moved, *pair), ref.gather_sum(index, *pair))
        if index.num_edges:
            call = (lambda v: gather_sum(moved, v, None)) if side == "target" else (lambda v: gather_sum(moved, None, v))
            assert_gradients(backend, device, call, (values,))


def test_gradient_is_the_degree_for_unit_upstream():
    index = random_graph(6, 5, 25, seed=3)
    a = torch.zeros(5, requires_grad=True)
    b = torch.zeros(6, requires_grad=True)
    gather_sum(index, a, b).sum().backward()
    torch.testing.assert_close(a.grad, index.in_degree().float())
    torch.testing.assert_close(b.grad, index.out_degree().float())


def test_bad_input():
    index = random_graph(6, 5, 25, seed=3)
    with pytest.raises(ValueError, match="a: expected 5 rows"):
        gather_sum(index, torch.ones(4), torch.ones(6))
    with pytest.raises(ValueError, match="b: expected a"):
        gather_sum(index, torch.ones(5, 2), torch.ones(6, 3))
    with pytest.raises(TypeError, match="b: expected dtype torch.float32"):
        gather_sum(index, torch.ones(5), torch.ones(6, dtype=torch.float64))
    with pytest.raises(ValueError, match="a, b: expected at least one"):
        gather_sum(index, None, None)
    with pytest.raises(ValueError, match="b: expected 6 rows"):
        gather_sum(index, None, torch.ones(5))
