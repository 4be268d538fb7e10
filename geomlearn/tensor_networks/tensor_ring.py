r"""Tensor ring decomposition by alternating least squares (Zhao et al., 2016).

.. math::
    \hat X_{i_1 \dots i_N} = \mathrm{Tr}\big(G^{(1)}_{i_1} G^{(2)}_{i_2} \cdots G^{(N)}_{i_N}\big),
    \qquad G^{(n)} \in \mathbb{R}^{R_n \times I_n \times R_{n+1}},\ R_{N+1} = R_1.

A tensor train is the ring with :math:`R_1 = 1`. Core :math:`n` with the others fixed is a linear least-squares
problem: with the tensor unfolded in the cyclic order starting at mode :math:`n`,
:math:`X_{<n>} \in \mathbb R^{I_n \times \prod_{m \ne n} I_m}`, and the subchain
:math:`Q^{\ne n}_{j, (a b)} = (G^{(n+1)}_{i_{n+1}} \cdots G^{(n-1)}_{i_{n-1}})_{b a}`,

.. math::
    G^{(n)}_{(2)} = \operatorname*{arg\,min}_G \big\| X_{<n>} - G\, Q^{\ne n\top} \big\|_F,

solved by ``torch.linalg.lstsq`` on :math:`Q^{\ne n}` itself (a rank-revealing QR), not through the normal
equations :math:`Q^\top Q`, whose condition number is the square of :math:`Q`'s: near the rank bound the
subchain is close to rank-deficient and the normal equations lose the fit. The error of each sweep is the
residual of its last solve, :math:`\|X_{<N>} - G^{(N)}_{(2)} Q^{\ne N\top}\|_F`, measured. Missing entries
(``mask``): EM imputation; errors on the observed entries.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import torch
from torch import Tensor

from ..argument_checks import is_int
from ._checks import check_iterations, check_mask, check_tensor, generator_for
from .decomposition import CoreSequence, report
from .tensor_algebra import squared_norm


class TRTensor(CoreSequence):
    """``cores`` (``[R_n, I_n, R_{n+1}]`` each, the last bond closing on the first); unpacks as the cores."""

    closed = True

    def __init__(self, cores: list[Tensor], errors: Optional[list[float]] = None):
        for n, core in enumerate(cores):
            following = cores[(n + 1) % len(cores)]
            if core.dim() != 3 or following.dim() != 3 or core.shape[2] != following.shape[0]:
                raise ValueError(f"cores: expected [R_n, I_n, R_(n+1)] cores whose bonds close into a ring, got "
                                 f"{list(core.shape)} followed by {list(following.shape)}")
        self.cores = list(cores)
        self.errors = errors if errors is not None else []

    @property
    def rank(self) -> tuple[int, ...]:
        return tuple(core.shape[0] for core in self.cores)

    def to_tensor(self) -> Tensor:
        return torch.einsum("apa->p", _chain(self.cores)).reshape(self.shape)

    def __repr__(self) -> str:
        return f"TRTensor(shape={list(self.shape)}, rank={list(self.rank)}, iterations={len(self.errors)})"


def _chain(cores: list[Tensor]) -> Tensor:
    """``[R_first, prod I, R_last]``: the product of consecutive cores, the sizes in their order."""
    out = cores[0]
    for core in cores[1:]:
        out = torch.einsum("apb,bic->apic", out, core).reshape(out.shape[0], -1, core.shape[2])
    return out


def _least_squares(design: Tensor, unfolded: Tensor) -> Tensor:
    """``G`` minimising ``|unfolded - G design^T|_F`` (``[I, K]`` for ``design [J, K]``, ``unfolded [I, J]``), by a
    QR of ``design`` (LAPACK's gelsy on the CPU, a QR least-squares solve on CUDA)."""
    driver = "gelsy" if design.device.type == "cpu" else None
    return torch.linalg.lstsq(design, unfolded.t(), driver=driver).solution.t()


def _ring_rank(rank, shape) -> tuple[int, ...]:
    ranks = (rank,) * len(shape) if is_int(rank) else tuple(rank) if isinstance(rank, (tuple, list)) else None
    if ranks is None or len(ranks) != len(shape) or not all(is_int(r) and r >= 1 for r in ranks):
        raise ValueError(f"rank: expected an int or {len(shape)} ints >= 1 (one bond before each core), got {rank!r}")
    for n, size in enumerate(shape):
        pair, others = ranks[n] * ranks[(n + 1) % len(shape)], math.prod(shape) // size
        if pair > others:
            raise ValueError(f"rank: core {n}'s bonds {ranks[n]} x {ranks[(n + 1) % len(shape)]} exceed the "
                             f"{others} entries of the other modes that determine it (shape {list(shape)})")
    return ranks


def tensor_ring(tensor: Tensor, rank, n_iter_max: int = 100, tol: float = 1e-8, init="random",
                mask: Optional[Tensor] = None, random_state=None, callback: Optional[Callable] = None) -> TRTensor:
    r"""Tensor ring decomposition of a dense ``tensor`` by ALS.

    Args:
        rank: an int (every bond) or ``N`` bond dimensions ``(R_1, ..., R_N)``, bond ``n`` before core ``n``.
        init: ``"random"`` (normal cores from ``random_state``, scaled to the tensor's norm) or a
            :class:`TRTensor`.
        mask, n_iter_max, tol, callback: as :func:`~geomlearn.tensor_networks.cp`.

    Returns:
        :class:`TRTensor` with ``errors``, the relative error after each sweep.
    """
    tensor = check_tensor(tensor)
    mask = check_mask(mask, tensor)
    check_iterations(n_iter_max, tol)
    shape, order = tuple(tensor.shape), tensor.dim()
    ranks = _ring_rank(rank, shape)
    if isinstance(init, TRTensor):
        if init.shape != shape or init.rank != ranks:
            raise ValueError(f"init: expected a TRTensor of shape {list(shape)} and rank {list(ranks)}, got {init}")
        cores = [c.to(dtype=tensor.dtype, device=tensor.device).clone() for c in init.cores]
    elif init == "random":
        generator = generator_for(random_state, tensor.device)
        cores = [torch.randn(ranks[n], s, ranks[(n + 1) % order], generator=generator, device=tensor.device,
                             dtype=tensor.real.dtype).to(tensor.dtype) for n, s in enumerate(shape)]
        scale = (squared_norm(tensor) / max(squared_norm(TRTensor(cores).to_tensor()), 1e-300)) ** (0.5 / order)
        cores = [c * scale for c in cores]
    else:
        raise ValueError(f"init: expected 'random' or a TRTensor, got {init!r}")
    filled = tensor if mask is None else torch.where(mask, tensor, tensor[mask].mean())
    errors: list[float] = []
    for _ in range(n_iter_max):
        for n in range(order):
            cyclic = [(n + k) % order for k in range(order)]
            unfolded = filled.permute(cyclic).reshape(shape[n], -1)                         # X_<n>
            sub = _chain([cores[m] for m in cyclic[1:]])                                    # [R_{n+1}, J, R_n]
            design = sub.permute(1, 2, 0).reshape(sub.shape[1], -1)                         # [J, (a, b)]
            solution = _least_squares(design, unfolded)                                     # [I_n, (a, b)]
            cores[n] = solution.reshape(shape[n], ranks[n], ranks[(n + 1) % order]).permute(1, 0, 2)
        result = TRTensor(cores, errors)
        if mask is None:
            residual = torch.linalg.vector_norm(unfolded - solution @ design.t())
            errors.append(float(residual) / squared_norm(filled) ** 0.5)
        else:
            fit = result.to_tensor()
            errors.append(float(torch.linalg.vector_norm((tensor - fit)[mask]) / torch.linalg.vector_norm(
                tensor[mask])))
            filled = torch.where(mask, tensor, fit)
        if report(errors, result, callback, tol):
            break
    return result
