import pytest
import torch
from torch_geometric.utils import to_undirected

from geomlearn.sparse import SparseIndex, block_gram, reverse_block_product, reverse_edges
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradients, running_on


def symmetric_graph(num_nodes: int, num_edges: int, seed: int = 0, loops: bool = True) -> SparseIndex:
    """Each edge in both directions, once; some self loops (their own reverse) and an isolated node."""
    g = torch.Generator().manual_seed(seed)
    edge_index = to_undirected(torch.randint(0, num_nodes - 1, (2, num_edges), generator=g))
    if loops:
        edge_index = torch.cat([edge_index, torch.arange(3).repeat(2, 1)], dim=1)
    return SparseIndex(torch.unique(edge_index, dim=1), num_nodes=num_nodes)


def random_inputs(index: SparseIndex, d: int, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(index.num_edges, *shape, dtype=torch.float64, generator=g) for shape in ((d, d), (d,), (d,)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("d", [1, 3, 4])
def test_reverse_block_product_matches_reference_and_the_dense_laplacian_blocks(d, backend):
    index = symmetric_graph(12, 30)
    blocks, left, right = random_inputs(index, d)
    with running_on(backend) as device:
        moved = index.to(device)
        scaled = reverse_block_product(moved, blocks.to(device), left.to(device), right.to(device)).cpu()
        plain = reverse_block_product(moved, blocks.to(device)).cpu()
    torch.testing.assert_close(scaled, ref.reverse_block_product(index, blocks, left, right))
    torch.testing.assert_close(plain, ref.reverse_block_product(index, blocks))
    # by hand for one edge u -> v: F_{v<e}^T F_{u<e}, the reverse found in the edge list
    src, dst = index.src.tolist(), index.dst.tolist()
    e = next(k for k in range(index.num_edges) if src[k] != dst[k])
    back = next(k for k in range(index.num_edges) if (src[k], dst[k]) == (dst[e], src[e]))
    torch.testing.assert_close(plain[e], blocks[back].T @ blocks[e])
    torch.testing.assert_close(scaled[e], torch.diag(left[e]) @ blocks[back].T @ blocks[e] @ torch.diag(right[e]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_reverse_block_product_gradcheck(backend):
    index = symmetric_graph(6, 8, seed=2)
    blocks, left, right = random_inputs(index, 3, seed=3)
    with running_on(backend) as device:
        moved = index.to(device)
        inputs = tuple(t.to(device).requires_grad_() for t in (blocks, left, right))
        assert_gradients(backend, device, lambda b, lo, hi: reverse_block_product(moved, b, lo, hi), inputs)
        assert_gradients(backend, device, lambda b: reverse_block_product(moved, b), inputs[:1])


@pytest.mark.parametrize("backend", BACKENDS)
def test_reverse_block_product_gradients_equal_the_reference_in_float32(backend):
    index = symmetric_graph(40, 150, seed=4)
    blocks, left, right = (t.float().requires_grad_() for t in random_inputs(index, 3, seed=5))
    weights = torch.randn(index.num_edges, 3, 3)
    expected = torch.autograd.grad((ref.reverse_block_product(index, blocks, left, right) * weights).sum(),
                                   (blocks, left, right))
    with running_on(backend) as device:
        moved = [t.detach().to(device).requires_grad_() for t in (blocks, left, right)]
        out = reverse_block_product(index.to(device), *moved)
        got = torch.autograd.grad((out * weights.to(device)).sum(), moved)
    for g, want in zip(got, expected):
        torch.testing.assert_close(g.cpu(), want, rtol=1e-4, atol=1e-5)


def test_reverse_block_product_traces_under_compile():
    index = symmetric_graph(10, 20, seed=6)
    blocks, left, right = (t.requires_grad_() for t in random_inputs(index, 2, seed=7))
    reverse_edges(index)                     # the pairing is found by sorting, eagerly, and cached on the index
    compiled = torch.compile(lambda b, lo, hi: reverse_block_product(index, b, lo, hi).square().sum(), fullgraph=True)
    got = torch.autograd.grad(compiled(blocks, left, right), (blocks, left, right))
    expected = torch.autograd.grad(ref.reverse_block_product(index, blocks, left, right).square().sum(),
                                   (blocks, left, right))
    for g, want in zip(got, expected):
        torch.testing.assert_close(g, want)


def test_reverse_block_product_bad_input():
    index = symmetric_graph(5, 6, seed=8, loops=False)
    blocks, left, right = random_inputs(index, 2)
    with pytest.raises(ValueError, match=rf"blocks: expected \[E, d, d\] with E = {index.num_edges}, got \[3, 2, 2\]"):
        reverse_block_product(index, blocks[:3])
    with pytest.raises(ValueError, match="left, right: expected both row and column scales or neither, got left alone"):
        reverse_block_product(index, blocks, left)
    with pytest.raises(ValueError, match=rf"right: expected \[E, d\] = \[{index.num_edges}, 2\] scales, got"):
        reverse_block_product(index, blocks, left, right[:, :1])
    with pytest.raises(TypeError, match="left: expected dtype torch.float64"):
        reverse_block_product(index, blocks, left.float(), right)
    one_way = SparseIndex(torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    with pytest.raises(ValueError, match="index: edge 0 -> 1 has no reverse 1 -> 0"):
        reverse_block_product(one_way, torch.randn(2, 2, 2))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("d", [1, 3])
def test_block_gram_equals_the_batched_product_and_its_gradients(d, backend):
    g = torch.Generator().manual_seed(9)
    blocks = torch.randn(50, d, d, dtype=torch.float64, generator=g, requires_grad=True)
    weights = torch.randn(50, d, d, dtype=torch.float64, generator=g)
    expected = blocks.transpose(1, 2) @ blocks
    expected_grad, = torch.autograd.grad((expected * weights).sum(), blocks)
    with running_on(backend) as device:
        moved = blocks.detach().to(device).requires_grad_()
        out = block_gram(moved)
        grad, = torch.autograd.grad((out * weights.to(device)).sum(), moved)
        assert_gradients(backend, device, block_gram, (moved[:6].detach().requires_grad_(),))
    torch.testing.assert_close(out.detach().cpu(), expected.detach())
    torch.testing.assert_close(grad.cpu(), expected_grad)


def test_block_gram_bad_input():
    with pytest.raises(ValueError, match=r"blocks: expected \[E, d, d\] square blocks, got \[4, 2, 3\]"):
        block_gram(torch.randn(4, 2, 3))
    with pytest.raises(TypeError, match="blocks: expected a floating-point tensor"):
        block_gram(torch.ones(4, 2, 2, dtype=torch.long))
