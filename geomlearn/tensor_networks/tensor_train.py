r"""Tensor train (matrix product state): TT-SVD with a relative error bound, and TT-rounding.

.. math::
    \hat X_{i_1 \dots i_N} = G^{(1)}_{i_1} G^{(2)}_{i_2} \cdots G^{(N)}_{i_N},
    \qquad G^{(n)} \in \mathbb{R}^{R_{n-1} \times I_n \times R_n},\ R_0 = R_N = 1.

TT-SVD (Oseledets, 2011) sweeps left to right: reshape the remainder to
:math:`[R_{n-1} I_n, \prod_{m > n} I_m]`, keep the smallest number of singular triplets whose discarded tail
has norm :math:`\le \delta = \varepsilon \|X\| / \sqrt{N - 1}` (and at most the requested rank), and carry
:math:`S V^H` on. The cores to the left stay orthonormal, so the squared error is exactly the sum of the
discarded tails: :math:`\|X - \hat X\| \le \varepsilon \|X\|`.

TT-rounding recompresses a tensor train (e.g. after a sum, or to lower its ranks) without forming it:
orthogonalise right to left by QR, then truncate left to right by SVD with the same :math:`\delta`.

Missing entries (``mask``): TT-SVD at fixed ranks on the tensor with its missing entries imputed by the
previous fit (EM); errors on the observed entries.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch
from torch import Tensor

from ._checks import check_iterations, check_mask, check_svd, check_tensor
from .decomposition import CoreSequence, Estimator, fit_by_imputation
from .ranks import tt_rank
from .tensor_algebra import leading_left_singular, squared_norm


class TTTensor(CoreSequence):
    """``cores`` (``[R_{n-1}, I_n, R_n]`` each, ``R_0 = R_N = 1``); unpacks as the list of cores."""

    closed = False

    def __init__(self, cores: list[Tensor], errors: Optional[list[float]] = None):
        for n, (a, b) in enumerate(zip(cores, cores[1:])):
            if a.dim() != 3 or b.dim() != 3 or a.shape[2] != b.shape[0]:
                raise ValueError(f"cores: expected [R_(n-1), I_n, R_n] cores with matching bonds, got "
                                 f"{list(a.shape)} and {list(b.shape)} at bond {n + 1}")
        if cores[0].shape[0] != 1 or cores[-1].shape[2] != 1:
            raise ValueError(f"cores: a tensor train's boundary bonds are 1, got {cores[0].shape[0]} and "
                             f"{cores[-1].shape[2]}")
        self.cores = list(cores)
        self.errors = errors if errors is not None else []

    @property
    def rank(self) -> tuple[int, ...]:
        return (1, *(core.shape[2] for core in self.cores))

    def to_tensor(self) -> Tensor:
        out = self.cores[0].reshape(-1, self.cores[0].shape[2])
        for core in self.cores[1:]:
            out = (out @ core.reshape(core.shape[0], -1)).reshape(-1, core.shape[2])
        return out.reshape(self.shape)

    def norm(self) -> float:
        """:math:`\\|\\hat X\\|_F` by contracting the train with itself (never forming it)."""
        gram = torch.ones(1, 1, dtype=self.cores[0].dtype, device=self.cores[0].device)
        for core in self.cores:
            gram = torch.einsum("ab,aic,bid->cd", gram, core, core.conj())
        return float(gram.real.squeeze()) ** 0.5

    def __repr__(self) -> str:
        return f"TTTensor(shape={list(self.shape)}, rank={list(self.rank)}, iterations={len(self.errors)})"


def _check_eps(eps) -> Optional[float]:
    if eps is not None and (not isinstance(eps, (int, float)) or isinstance(eps, bool) or not 0 <= eps < 1):
        raise ValueError(f"eps: expected a relative error bound in [0, 1), got {eps!r}")
    return eps


def _truncate(matrix: Tensor, delta: float, max_rank: int) -> tuple[Tensor, Tensor, float]:
    """``U, S V^H`` of rank ``r``: the fewest triplets whose discarded tail has norm ``<= delta``, at most
    ``max_rank``; and the tail's squared norm."""
    squared = squared_norm(matrix)
    if 2 * matrix.shape[0] <= matrix.shape[1] and (delta == 0 or delta ** 2 >= 1e-12 * squared):
        # A wide unfolding, and a bound the Gram's eigenvalues resolve (their error is ~1e-16 of the largest):
        # the leading vectors from the [m, m] Gram matrix, S V^H as U^H M.
        u, s = leading_left_singular(matrix, matrix.shape[0])
        vh = None
    else:
        u, s, vh = torch.linalg.svd(matrix, full_matrices=False)
    tails = (s.flip(0) ** 2).cumsum(0).flip(0)                     # tails[r] = sum_{k >= r} s_k^2
    keep = int((tails > delta ** 2).sum())
    keep = max(1, min(keep, max_rank))
    discarded = float(tails[keep]) if keep < s.shape[0] else 0.0
    rest = u[:, :keep].t().conj() @ matrix if vh is None else s[:keep, None].to(vh.dtype) * vh[:keep]
    return u[:, :keep], rest, discarded


def _tt_svd(tensor: Tensor, ranks: tuple[int, ...], eps: float) -> tuple[list[Tensor], float]:
    """Cores and the squared error (the sum of the discarded tails)."""
    shape, order = tuple(tensor.shape), tensor.dim()
    delta = eps * squared_norm(tensor) ** 0.5 / math.sqrt(order - 1)
    cores, rest, bond, error_sq = [], tensor.reshape(1, -1), 1, 0.0
    for n in range(order - 1):
        u, rest, discarded = _truncate(rest.reshape(bond * shape[n], -1), delta, ranks[n + 1])
        cores.append(u.reshape(bond, shape[n], -1))
        bond, error_sq = u.shape[1], error_sq + discarded
    cores.append(rest.reshape(bond, shape[-1], 1))
    return cores, error_sq


def tensor_train(tensor: Tensor, rank=None, svd: str = "truncated_svd", verbose: bool = False, random_state=None, *,
                 eps: Optional[float] = None, mask: Optional[Tensor] = None, n_iter_max: int = 100, tol: float = 1e-8,
                 callback: Optional[Callable] = None) -> TTTensor:
    r"""TT-SVD of a dense ``tensor`` (real or complex): TensorLy's ``tensor_train(input_tensor, rank, svd,
    verbose, random_state)``, with geomlearn's error bound and masked fit as keywords.

    Args:
        rank: the largest bond dimension (int), ``N - 1`` or ``N + 1`` bond dimensions (TensorLy's
            ``[1, R_1, ..., R_(N-1), 1]``), a float fraction of the dense parameter count, or None (bounded by
            ``eps`` only).
        svd: TensorLy's SVD choice; geomlearn computes the exact truncated SVD for each.
        verbose: print the ranks found.
        random_state: accepted for TensorLy's signature (the SVDs are deterministic).
        eps: relative error bound :math:`\|X - \hat X\| \le \varepsilon \|X\|` (where the ranks allow it);
            ``rank=None, eps=None`` is an exact train.
        mask: booleans of the tensor's shape, True where an entry is observed (needs ``rank``: EM sweeps of
            TT-SVD at those ranks, ``n_iter_max`` / ``tol`` / ``callback`` as in the other decompositions).

    Returns:
        :class:`TTTensor`; ``errors`` holds the relative error (one value without a mask, the exact error of
        the discarded singular values).
    """
    tensor = check_tensor(tensor)
    mask = check_mask(mask, tensor)
    eps = _check_eps(eps)
    check_svd(svd)
    shape = tuple(tensor.shape)
    if mask is not None and rank is None:
        raise ValueError("rank: a masked tensor train is fitted at fixed ranks; got rank=None")
    ranks = tt_rank(rank if rank is not None else max(shape) ** len(shape), shape)
    if mask is None:
        cores, error_sq = _tt_svd(tensor, ranks, eps or 0.0)
        result = TTTensor(cores, [error_sq ** 0.5 / squared_norm(tensor) ** 0.5])
        if verbose:
            print(f"tensor_train: ranks {list(result.rank)}, relative error {result.errors[0]:.6g}")
        return result
    check_iterations(n_iter_max, tol)
    return fit_by_imputation(tensor, mask, lambda filled: TTTensor(_tt_svd(filled, ranks, eps or 0.0)[0]),
                             n_iter_max, tol, callback)


def tt_round(tt: TTTensor, eps: Optional[float] = None, rank=None) -> TTTensor:
    r"""Recompress ``tt`` to relative error :math:`\le \varepsilon` (and bonds at most ``rank``) without forming
    the dense tensor. ``errors`` holds the bound's realised value relative to the input's norm."""
    if not isinstance(tt, TTTensor):
        raise TypeError(f"tt: expected a TTTensor, got {type(tt).__name__}")
    eps = _check_eps(eps)
    ranks = tt_rank(rank if rank is not None else max(tt.rank), tt.shape)
    cores = [core.clone() for core in tt.cores]
    for n in range(len(cores) - 1, 0, -1):                  # right to left: cores n.. orthonormal rows
        r0, size, r1 = cores[n].shape
        q, r = torch.linalg.qr(cores[n].reshape(r0, -1).t().conj())
        cores[n] = q.t().conj().reshape(-1, size, r1)
        cores[n - 1] = torch.einsum("aib,bc->aic", cores[n - 1], r.t().conj())
    norm = float(torch.linalg.vector_norm(cores[0]))
    delta = (eps or 0.0) * norm / math.sqrt(max(len(cores) - 1, 1))
    error_sq = 0.0
    for n in range(len(cores) - 1):                         # left to right: truncate
        r0, size, r1 = cores[n].shape
        u, rest, discarded = _truncate(cores[n].reshape(r0 * size, r1), delta, ranks[n + 1])
        cores[n] = u.reshape(r0, size, -1)
        cores[n + 1] = torch.einsum("ab,bic->aic", rest, cores[n + 1])
        error_sq += discarded
    return TTTensor(cores, [error_sq ** 0.5 / norm if norm else 0.0])


class TensorTrain(Estimator):
    """TensorLy's ``TensorTrain`` estimator: ``fit_transform(tensor)`` returns :func:`tensor_train`'s
    :class:`TTTensor` and keeps it as ``decomposition_``."""

    def __init__(self, rank, svd: str = "truncated_svd", verbose: bool = False, random_state=None,
                 eps: Optional[float] = None, mask: Optional[Tensor] = None, n_iter_max: int = 100, tol: float = 1e-8,
                 callback: Optional[Callable] = None):
        self.rank, self.svd, self.verbose, self.random_state = rank, svd, verbose, random_state
        self.eps, self.mask, self.n_iter_max, self.tol, self.callback = eps, mask, n_iter_max, tol, callback

    def fit_transform(self, tensor: Tensor) -> TTTensor:
        self.decomposition_ = tensor_train(tensor, rank=self.rank, svd=self.svd, verbose=self.verbose,
                                           random_state=self.random_state, eps=self.eps, mask=self.mask,
                                           n_iter_max=self.n_iter_max, tol=self.tol, callback=self.callback)
        return self.decomposition_
