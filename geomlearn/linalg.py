r"""Spectral functions of batches of small symmetric matrices, with a backward pass that survives
repeated eigenvalues.

For symmetric :math:`M = U \Lambda U^\top` and scalar functions :math:`\varphi_k`,
:math:`\varphi_k(M) = U \varphi_k(\Lambda) U^\top`. The backward pass is the Daleckii-Krein formula

.. math::
    \bar M = U \big(G_k \circ U^\top \bar P_k U\big) U^\top, \qquad
    (G_k)_{ij} = \frac{\varphi_k(\lambda_i) - \varphi_k(\lambda_j)}{\lambda_i - \lambda_j}
    \quad (\varphi_k'(\tfrac{\lambda_i + \lambda_j}{2}) \text{ where } \lambda_i \approx \lambda_j),

exact and finite where ``torch.linalg.eigh``'s own backward divides by zero: the spectra of symmetric
graphs and of the identity-like degree blocks of a sheaf Laplacian repeat eigenvalues as a rule.
PDF's spectral filters and the sheaf Laplacian's block inverse square roots both use it.
"""

from __future__ import annotations

from typing import Protocol

import torch
from torch import Tensor


class SpectralFunction(Protocol):
    """``value`` and ``derivative`` map eigenvalues ``[..., n]`` to ``[..., n, K]`` (``K`` functions at once)."""

    def value(self, lam: Tensor) -> Tensor: ...

    def derivative(self, lam: Tensor) -> Tensor: ...


class InverseSquareRoot:
    r""":math:`\varphi(\lambda) = \max(\lambda, \epsilon)^{-1/2}` (``K = 1``): the inverse square root of a
    positive semi-definite matrix with its eigenvalues floored at ``eps``."""

    def __init__(self, eps: float):
        if not eps > 0:
            raise ValueError(f"eps: expected a floor > 0 for the eigenvalues, got {eps!r}")
        self.eps = eps

    def value(self, lam: Tensor) -> Tensor:
        return lam.clamp(min=self.eps).rsqrt().unsqueeze(-1)

    def derivative(self, lam: Tensor) -> Tensor:
        slope = -0.5 * lam.clamp(min=self.eps).pow(-1.5)
        return torch.where(lam > self.eps, slope, torch.zeros_like(slope)).unsqueeze(-1)


class _SymmetricMatrixFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, matrix: Tensor, function: SpectralFunction) -> Tensor:
        lam, vectors = torch.linalg.eigh(matrix)
        ctx.save_for_backward(lam, vectors)
        ctx.function = function
        return torch.einsum("...in,...nk,...jn->...kij", vectors, function.value(lam), vectors)

    @staticmethod
    def backward(ctx, grad: Tensor):
        lam, vectors = ctx.saved_tensors
        function = ctx.function
        phi = function.value(lam)                                                     # [..., n, K]
        gap = lam.unsqueeze(-1) - lam.unsqueeze(-2)                                   # [..., n, n]
        close = gap.abs() <= 1e-6 * (1 + lam.abs().amax(-1, keepdim=True).unsqueeze(-1))
        safe = torch.where(close, torch.ones_like(gap), gap)
        divided = (phi.unsqueeze(-2) - phi.unsqueeze(-3)).movedim(-1, -3) / safe.unsqueeze(-3)  # [..., K, n, n]
        midpoint = function.derivative(0.5 * (lam.unsqueeze(-1) + lam.unsqueeze(-2))).movedim(-1, -3)
        divided = torch.where(close.unsqueeze(-3), midpoint, divided)
        inner = torch.einsum("...in,...kij,...jm->...knm", vectors, grad, vectors)
        inner = 0.5 * (inner + inner.transpose(-1, -2))
        return torch.einsum("...in,...knm,...jm->...ij", vectors, divided * inner, vectors), None


def symmetric_matrix_function(matrix: Tensor, function: SpectralFunction) -> Tensor:
    r"""``[..., K, n, n]``: :math:`\varphi_k(M)` for each symmetric matrix of ``matrix [..., n, n]``.

    One ``eigh`` per matrix; differentiable in ``matrix`` with the Daleckii-Krein backward above.
    """
    if not isinstance(matrix, Tensor) or matrix.dim() < 2 or matrix.shape[-1] != matrix.shape[-2]:
        shape = list(matrix.shape) if isinstance(matrix, Tensor) else type(matrix).__name__
        raise ValueError(f"matrix: expected a batch of square matrices [..., n, n], got {shape}")
    return _SymmetricMatrixFunction.apply(matrix, function)
