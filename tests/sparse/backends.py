"""Run a test on each kernel backend: the numba CPU kernels, and the Triton kernels (natively on CUDA,
through TRITON_INTERPRET=1 on the CPU)."""

from __future__ import annotations

import contextlib

import pytest
import torch

from geomlearn.sparse import use_backend

BACKENDS = [
    pytest.param("cpu", id="cpu"),
    pytest.param("triton", id="triton", marks=pytest.mark.triton),
]


def device_of(backend: str) -> torch.device:
    return torch.device("cuda" if backend == "triton" and torch.cuda.is_available() else "cpu")


@contextlib.contextmanager
def running_on(backend: str):
    """Force ``backend`` for the sparse ops in the block (the index and tensors must be on ``device_of``)."""
    with use_backend(backend):
        yield device_of(backend)


def interpreted(backend: str, device: torch.device) -> bool:
    """Whether Triton runs through its interpreter here (each program in Python: keep checks small)."""
    return backend == "triton" and device.type == "cpu"


def assert_gradients(backend: str, device: torch.device, fn, inputs) -> None:
    """``gradcheck`` in float64; under the interpreter it checks a random projection of the Jacobian."""
    assert torch.autograd.gradcheck(fn, inputs, fast_mode=interpreted(backend, device))


def assert_gradient_of_each_input_alone(op, reference, values, upstream) -> None:
    """Each input's gradient, asked for alone (so the backward pass takes its branch for that input only), equals
    the reference's, for the upstream gradient ``upstream``."""
    for wanted in range(len(values)):
        ours = [t.clone().requires_grad_(n == wanted) for n, t in enumerate(values)]
        theirs = [t.clone().requires_grad_(n == wanted) for n, t in enumerate(values)]
        (op(*ours) * upstream).sum().backward()
        (reference(*theirs) * upstream).sum().backward()
        torch.testing.assert_close(ours[wanted].grad, theirs[wanted].grad)
