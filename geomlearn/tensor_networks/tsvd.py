r"""The tubal t-product and t-SVD of third-order tensors (Kilmer & Martin, 2011).

For :math:`A \in \mathbb{R}^{n_1 \times n_2 \times n_3}`, :math:`B \in \mathbb{R}^{n_2 \times n_4 \times n_3}` the
t-product :math:`C = A * B` multiplies the tubes (mode-3 fibres) by circular convolution; along the Fourier
transform of mode 3 it is one matrix product per frontal slice:

.. math::
    \hat C_{::k} = \hat A_{::k}\, \hat B_{::k}, \qquad \hat A = \mathrm{fft}(A, \text{dim}=3).

The t-SVD :math:`X = U * S * V^\top` is a matrix SVD per Fourier slice; truncating every slice to the
leading :math:`r` triplets gives the best tubal-rank-:math:`r` approximation in the Frobenius norm
(Eckart-Young per slice, Parseval across them). For real tensors the slices :math:`k` and :math:`n_3 - k` are
complex conjugates: only the first half is decomposed and the factors are real. :math:`V^\top` is the
t-transpose: every frontal slice transposed, slices 2..n_3 in reverse order.

Missing entries (``mask``): the missing entries are imputed by the previous fit (EM); errors on the observed
entries.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

from ..argument_checks import is_int
from ._checks import check_iterations, check_mask, check_tensor
from .decomposition import Decomposition, fit_by_imputation


def _check_third_order(name: str, tensor) -> Tensor:
    if not isinstance(tensor, Tensor) or tensor.dim() != 3:
        shape = list(tensor.shape) if isinstance(tensor, Tensor) else type(tensor).__name__
        raise ValueError(f"{name}: expected a third-order tensor [n1, n2, n3], got {shape}")
    return tensor


def t_product(a: Tensor, b: Tensor) -> Tensor:
    """``a [n1, n2, n3] * b [n2, n4, n3] -> [n1, n4, n3]``."""
    _check_third_order("a", a), _check_third_order("b", b)
    if a.shape[1] != b.shape[0] or a.shape[2] != b.shape[2]:
        raise ValueError(f"b: expected [{a.shape[1]}, n4, {a.shape[2]}] for a of shape {list(a.shape)}, got "
                         f"{list(b.shape)}")
    product = torch.einsum("ijk,jlk->ilk", torch.fft.fft(a, dim=2), torch.fft.fft(b, dim=2))
    out = torch.fft.ifft(product, dim=2)
    return out if (a.is_complex() or b.is_complex()) else out.real


def t_transpose(a: Tensor) -> Tensor:
    """Each frontal slice transposed (conjugated for complex), slices ``2..n3`` in reverse order."""
    _check_third_order("a", a)
    swapped = a.transpose(0, 1).conj()
    return torch.cat([swapped[:, :, :1], swapped[:, :, 1:].flip(2)], dim=2)


class TSVDTensor(Decomposition):
    """``u [n1, r, n3]``, ``s [r, r, n3]`` (f-diagonal), ``v [n2, r, n3]``; :math:`X = U * S * V^\\top`."""

    def __init__(self, u: Tensor, s: Tensor, v: Tensor, errors: Optional[list[float]] = None):
        self.u, self.s, self.v = u, s, v
        self.errors = errors if errors is not None else []

    def parts(self) -> tuple:
        return self.u, self.s, self.v

    @property
    def shape(self) -> tuple[int, ...]:
        return self.u.shape[0], self.v.shape[0], self.u.shape[2]

    @property
    def rank(self) -> int:
        """The tubal rank."""
        return self.s.shape[0]

    @property
    def num_parameters(self) -> int:
        return self.u.numel() + self.v.numel() + self.rank * self.shape[2]   # S is f-diagonal

    def to_tensor(self) -> Tensor:
        return t_product(t_product(self.u, self.s), t_transpose(self.v))

    def __repr__(self) -> str:
        return f"TSVDTensor(shape={list(self.shape)}, tubal_rank={self.rank})"


def _truncated_tsvd(tensor: Tensor, rank: int) -> TSVDTensor:
    n1, n2, n3 = tensor.shape
    spectrum = torch.fft.fft(tensor, dim=2).permute(2, 0, 1)            # [n3, n1, n2]
    real = not tensor.is_complex()
    half = n3 // 2 + 1 if real else n3
    u, s, vh = torch.linalg.svd(spectrum[:half], full_matrices=False)
    u, s, v = u[:, :, :rank], s[:, :rank], vh[:, :rank].conj().transpose(1, 2)
    if real:                                                            # slices n3 - k: the conjugates
        mirror = lambda t: torch.cat([t, t[1:n3 - half + 1].flip(0).conj()], dim=0)   # noqa: E731
        u, s, v = mirror(u), mirror(s.to(u.dtype)), mirror(v)
    s = torch.diag_embed(s.to(u.dtype))
    back = lambda t: torch.fft.ifft(t.permute(1, 2, 0), dim=2)         # noqa: E731
    u, s, v = back(u), back(s), back(v)
    if real:
        u, s, v = u.real, s.real, v.real
    return TSVDTensor(u, s, v)


def tsvd(tensor: Tensor, rank: Optional[int] = None, mask: Optional[Tensor] = None, n_iter_max: int = 100,
         tol: float = 1e-8, callback: Optional[Callable] = None) -> TSVDTensor:
    r"""The t-SVD of a third-order ``tensor`` (real or complex), truncated to tubal rank ``rank``.

    Args:
        rank: tubal rank ``r <= min(n1, n2)``, a float fraction of the dense parameter count, or None (full).
        mask: booleans, True where observed (EM at tubal rank ``rank``; ``n_iter_max``, ``tol``, ``callback`` as
            in the other decompositions).

    Returns:
        :class:`TSVDTensor` whose ``errors`` hold the relative error (per EM sweep with a mask).
    """
    tensor = _check_third_order("tensor", check_tensor(tensor))
    mask = check_mask(mask, tensor)
    n1, n2, n3 = tensor.shape
    if isinstance(rank, float):
        if not 0 < rank <= 1:
            raise ValueError(f"rank: a float rank is a fraction of the dense parameter count in (0, 1], got {rank}")
        rank = max(1, int(rank * n1 * n2 * n3 // ((n1 + n2 + 1) * n3)))
    rank = min(n1, n2) if rank is None else rank
    if not is_int(rank) or not 1 <= rank <= min(n1, n2):
        raise ValueError(f"rank: expected a tubal rank in [1, {min(n1, n2)}] (min(n1, n2)), got {rank!r}")
    if mask is None:
        result = _truncated_tsvd(tensor, rank)
        result.errors.append(result.relative_error(tensor))
        return result
    check_iterations(n_iter_max, tol)
    return fit_by_imputation(tensor, mask, lambda filled: _truncated_tsvd(filled, rank), n_iter_max, tol, callback)
