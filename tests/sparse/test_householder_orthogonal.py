import pytest
import torch

from geomlearn.sparse import householder_orthogonal
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradients, running_on


def reflector_entries(edges: int, d: int, dtype=torch.float64, seed: int = 0) -> torch.Tensor:
    return 2 * torch.randn(edges, d * (d - 1) // 2, dtype=dtype, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("d", [1, 2, 3, 4, 6])
def test_householder_orthogonal_is_lapacks_product_and_orthogonal(d, backend):
    params = reflector_entries(300, d)
    with running_on(backend) as device:
        out = householder_orthogonal(params.to(device), d).cpu()
    torch.testing.assert_close(out, ref.householder_orthogonal(params, d))
    eye = torch.eye(d, dtype=torch.float64).expand(300, d, d)
    torch.testing.assert_close(out.transpose(1, 2) @ out, eye, atol=1e-12, rtol=0)
    torch.testing.assert_close(torch.linalg.det(out), torch.full((300,), (-1.0) ** (d - 1), dtype=torch.float64))


@pytest.mark.parametrize("backend", BACKENDS)
def test_householder_orthogonal_of_one_reflection_by_hand(backend):
    # d = 2: H = I - 2 v v^T / |v|^2 with v = (1, p).
    v = torch.tensor([1.0, -0.75], dtype=torch.float64)
    expected = torch.eye(2, dtype=torch.float64) - 2 * torch.outer(v, v) / v.dot(v)
    with running_on(backend) as device:
        out = householder_orthogonal(torch.tensor([[-0.75]], dtype=torch.float64, device=device), 2)
    torch.testing.assert_close(out[0].cpu(), expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_householder_orthogonal_in_float32_and_without_edges(backend):
    params = reflector_entries(257, 4)                    # more than one chunk of edges, with a remainder
    with running_on(backend) as device:
        single = householder_orthogonal(params.float().to(device), 4).cpu()
        empty = householder_orthogonal(torch.zeros(0, 6, device=device), 4)
    assert single.dtype == torch.float32
    torch.testing.assert_close(single, ref.householder_orthogonal(params, 4).float(), atol=1e-5, rtol=1e-5)
    assert empty.shape == (0, 4, 4)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("d", [2, 3, 5])
def test_householder_orthogonal_gradcheck(d, backend):
    with running_on(backend) as device:
        params = reflector_entries(4, d).to(device).requires_grad_()
        assert_gradients(backend, device, lambda p: householder_orthogonal(p, d), (params,))


@pytest.mark.parametrize("backend", BACKENDS)
def test_householder_orthogonal_gradient_equals_the_reference_gradient(backend):
    params = reflector_entries(3 if backend == "triton" else 600, 4, seed=3)
    weights = torch.randn(params.shape[0], 4, 4, dtype=torch.float64)
    expected, = torch.autograd.grad((ref.householder_orthogonal(params.requires_grad_(), 4) * weights).sum(), params)
    with running_on(backend) as device:
        moved = params.detach().to(device).requires_grad_()
        grad, = torch.autograd.grad((householder_orthogonal(moved, 4) * weights.to(device)).sum(), moved)
    torch.testing.assert_close(grad.cpu(), expected)


def test_householder_orthogonal_traces_under_compile():
    params = reflector_entries(20, 3).requires_grad_()
    weights = torch.randn(20, 3, 3, dtype=torch.float64)
    compiled = torch.compile(lambda p: (householder_orthogonal(p, 3) * weights).sum(), fullgraph=True)
    grad, = torch.autograd.grad(compiled(params), params)
    expected, = torch.autograd.grad((ref.householder_orthogonal(params, 3) * weights).sum(), params)
    torch.testing.assert_close(grad, expected)


def test_householder_orthogonal_bad_input():
    with pytest.raises(ValueError, match="d: expected a block size >= 1, got 0"):
        householder_orthogonal(torch.zeros(3, 0), 0)
    with pytest.raises(ValueError, match=r"params: expected \[E, 3\] reflector entries for d = 3, got \[5, 2\]"):
        householder_orthogonal(torch.zeros(5, 2), 3)
    with pytest.raises(TypeError, match="params: expected a floating-point tensor, got dtype torch.int64"):
        householder_orthogonal(torch.zeros(5, 3, dtype=torch.long), 3)


def test_the_old_name_warns_and_gives_the_same():
    from geomlearn.sparse import householder_product

    params = torch.randn(5, 3, dtype=torch.float64)
    with pytest.warns(DeprecationWarning, match="it is householder_orthogonal"):
        old = householder_product(params, 3)
    torch.testing.assert_close(old, householder_orthogonal(params, 3))
