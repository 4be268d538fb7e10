import pytest
import torch

from geomlearn.sparse import segment_matmul
from geomlearn.sparse import reference as ref

from .backends import BACKENDS, assert_gradients, running_on


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("sizes", [[3, 0, 5, 1], [0, 0], [70, 2, 33]], ids=["mixed", "all-empty", "multi-tile"])
def test_segment_matmul_matches_reference_and_loop(sizes, backend):
    g = torch.Generator().manual_seed(0)
    ptr = torch.tensor([0, *torch.tensor(sizes).cumsum(0).tolist()])
    x = torch.randn(sum(sizes), 20, dtype=torch.float64, generator=g)
    weight = torch.randn(len(sizes), 20, 7, dtype=torch.float64, generator=g)
    with running_on(backend) as device:
        out = segment_matmul(x.to(device), ptr.to(device), weight.to(device)).cpu()
    torch.testing.assert_close(out, ref.segment_matmul(x, ptr, weight))
    loop = torch.cat([x[ptr[k]:ptr[k + 1]] @ weight[k] for k in range(len(sizes))])
    torch.testing.assert_close(out, loop)


@pytest.mark.parametrize("backend", BACKENDS)
def test_segment_matmul_gradcheck(backend):
    g = torch.Generator().manual_seed(1)
    ptr = torch.tensor([0, 4, 4, 9])
    with running_on(backend) as device:
        x = torch.randn(9, 5, dtype=torch.float64, generator=g).to(device).requires_grad_()
        weight = torch.randn(3, 5, 4, dtype=torch.float64, generator=g).to(device).requires_grad_()
        assert_gradients(backend, device, lambda a, w: segment_matmul(a, ptr.to(device), w), (x, weight))


def test_segment_matmul_bad_input():
    x, weight = torch.randn(5, 3), torch.randn(2, 3, 4)
    with pytest.raises(ValueError, match=r"weight: expected shape \[G, 3, M\] \(K from x\), got \[2, 4, 4\]"):
        segment_matmul(x, torch.tensor([0, 2, 5]), torch.randn(2, 4, 4))
    with pytest.raises(ValueError, match="ptr: expected 3 boundaries .* got 2"):
        segment_matmul(x, torch.tensor([0, 5]), weight)
    with pytest.raises(ValueError, match=r"ptr: expected boundaries from 0 to 5 \(the rows of x\), got 0 to 3"):
        segment_matmul(x, torch.tensor([0, 4, 3]), weight)
    with pytest.raises(ValueError, match=r"ptr: expected non-decreasing boundaries, got ptr\[1\] = 4 > ptr\[2\] = 3"):
        segment_matmul(x, torch.tensor([0, 4, 3, 5]), torch.randn(3, 3, 4))
    with pytest.raises(TypeError, match="ptr: expected a 1-D integer tensor"):
        segment_matmul(x, torch.tensor([0.0, 2.0, 5.0]), weight)
    with pytest.raises(ValueError, match=r"x: expected shape \[R, K\]"):
        segment_matmul(torch.randn(5, 3, 1), torch.tensor([0, 2, 5]), weight)
    with pytest.raises(TypeError, match="weight: expected dtype torch.float32"):
        segment_matmul(x, torch.tensor([0, 2, 5]), weight.double())
