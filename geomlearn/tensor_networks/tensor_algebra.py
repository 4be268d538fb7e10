r"""The multilinear algebra every decomposition is written in (row-major, mode 0 first).

* :func:`unfold`: the mode-:math:`n` unfolding :math:`X_{(n)} \in \mathbb{R}^{I_n \times \prod_{m \ne n} I_m}`,
  the other modes in their order (the last one fastest), as TensorLy's.
* :func:`fold`: its inverse.
* :func:`mode_dot`: the :math:`n`-mode product
  :math:`(X \times_n M)_{\dots j \dots} = \sum_{i} M_{j i}\, X_{\dots i \dots}`.
* :func:`khatri_rao`: the column-wise Kronecker product of ``[I_m, R]`` factors, ``[prod I_m, R]``, its rows in
  the row-major order of the modes (the first factor slowest).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def unfold(tensor: Tensor, mode: int) -> Tensor:
    """``[I_mode, prod of the other sizes]``."""
    return torch.movedim(tensor, mode, 0).reshape(tensor.shape[mode], -1)


def fold(matrix: Tensor, mode: int, shape) -> Tensor:
    """The tensor of ``shape`` whose mode-``mode`` unfolding is ``matrix``."""
    moved = [shape[mode]] + [s for m, s in enumerate(shape) if m != mode]
    return torch.movedim(matrix.reshape(moved), 0, mode)


def mode_dot(tensor: Tensor, matrix: Tensor, mode: int) -> Tensor:
    """``tensor x_mode matrix``: mode ``mode`` of size ``I`` becomes ``J`` for ``matrix [J, I]``."""
    return torch.movedim(torch.tensordot(matrix, tensor, dims=([1], [mode])), 0, mode)


def khatri_rao(factors: list[Tensor]) -> Tensor:
    """``[prod I_m, R]``: row ``(i_1, ..., i_k)`` (row-major) is ``factors[0][i_1] * ... * factors[-1][i_k]``."""
    out = factors[0]
    for factor in factors[1:]:
        out = (out.unsqueeze(1) * factor.unsqueeze(0)).reshape(-1, factor.shape[1])
    return out


def squared_norm(tensor: Tensor) -> float:
    """:math:`\\|X\\|_F^2` as a Python float (complex entries by modulus)."""
    return float(torch.linalg.vector_norm(tensor) ** 2)


def column_phases(u: Tensor) -> Tensor:
    """``[k]``: the phase (sign, for real ``u``) of each column's largest entry, 1 for a zero column; ``u *
    phases.conj()`` has every column's largest entry real and positive (TensorLy's ``svd_flip`` convention)."""
    largest = u.gather(0, u.abs().argmax(0, keepdim=True)).squeeze(0)
    return torch.where(largest == 0, torch.ones_like(largest), largest / largest.abs())


def signed_columns(u: Tensor) -> Tensor:
    """``u`` with each column's phase set by :func:`column_phases`, which makes a start independent of the SVD
    routine."""
    return u * column_phases(u).conj()


def leading_left_singular(matrix: Tensor, keep: int) -> tuple[Tensor, Tensor]:
    r"""The ``keep`` leading left singular vectors (signed as :func:`signed_columns`) and values of ``matrix [m, n]``
    from the eigendecomposition of its ``[m, m]`` Gram matrix: :math:`O(m^2 n)` instead of a thin SVD's
    :math:`O(m n \min(m, n))` with its larger constant (the wide unfoldings of a CP start)."""
    if matrix.shape[0] > matrix.shape[1]:
        u, s, _ = torch.linalg.svd(matrix, full_matrices=False)
        return signed_columns(u[:, :keep]), s[:keep]
    eigenvalues, vectors = torch.linalg.eigh(matrix @ matrix.t().conj())
    order = torch.argsort(eigenvalues, descending=True)[:keep]
    return signed_columns(vectors[:, order]), eigenvalues[order].clamp_min(0).sqrt()


def leading_singular_vectors(tensor: Tensor, mode: int, count: int, generator: torch.Generator,
                             iterations: int = 20) -> Tensor:
    r"""The (at most) ``count`` leading left singular vectors of the mode-``mode`` unfolding, ``[I_mode, <= count]``.

    For a sparse COO tensor of observed entries (the others taken as zero) the unfolding :math:`M` stays sparse,
    and the vectors are the leading eigenvectors of :math:`M M^\top - \mathrm{diag}(M M^\top)`: uniform
    sampling scales the Gram's off-diagonal by :math:`p^2` but its diagonal by :math:`p`, so the diagonal is
    dropped (Montanari & Sun's spectral initialisation). Subspace iteration from a start drawn from
    ``generator`` applies :math:`M (M^\top Q)` and never forms the ``[I_mode, I_mode]`` Gram.
    """
    if not tensor.is_sparse:
        matrix = unfold(tensor, mode)
        return leading_left_singular(matrix, min(count, *matrix.shape))[0]
    coalesced = tensor.coalesce()
    indices, values, shape = coalesced.indices(), coalesced.values(), tuple(tensor.shape)
    columns = torch.zeros_like(indices[0])
    for m, size in enumerate(shape):
        if m != mode:
            columns = columns * size + indices[m]
    matrix = torch.sparse_coo_tensor(torch.stack([indices[mode], columns]), values,
                                     (shape[mode], math.prod(shape) // shape[mode]),
                                     check_invariants=False).coalesce()
    diagonal = torch.zeros(shape[mode], dtype=values.dtype, device=values.device).index_add_(
        0, indices[mode], values.abs() ** 2)
    rank = min(count, shape[mode])
    width = min(rank + 8, shape[mode])
    gram = lambda q: matrix @ (matrix.t() @ q) - diagonal.unsqueeze(1) * q     # noqa: E731
    start = torch.randn(shape[mode], width, generator=generator, device=generator.device, dtype=values.real.dtype)
    basis = torch.linalg.qr(start.to(values.device, values.dtype))[0]
    for _ in range(iterations):
        basis = torch.linalg.qr(gram(basis))[0]
    eigenvalues, vectors = torch.linalg.eigh(basis.t().conj() @ gram(basis))
    return basis @ vectors[:, eigenvalues.argsort(descending=True)[:rank]]
