r"""Tucker decomposition: HOSVD and HOOI (higher-order orthogonal iteration).

.. math::
    X \approx \hat X = G \times_1 A^{(1)} \times_2 A^{(2)} \dots \times_N A^{(N)},
    \qquad G \in \mathbb{R}^{R_1 \times \dots \times R_N},\ A^{(n)} \in \mathbb{R}^{I_n \times R_n}
    \text{ with orthonormal columns}.

HOSVD takes :math:`A^{(n)}` as the leading :math:`R_n` left singular vectors of the unfolding :math:`X_{(n)}`
(quasi-optimal: within :math:`\sqrt N` of the best error). HOOI then repeats, for each mode, the leading
singular vectors of :math:`(X \times_{m \ne n} A^{(m)H})_{(n)}`, which never increases the error. The core is
:math:`G = X \times_n A^{(n)H}` and, the factors being orthonormal, :math:`\|X - \hat X\|^2 = \|X\|^2 - \|G\|^2`.

Missing entries (``mask``): the missing entries are imputed by the current fit before every sweep (EM), the
errors are those on the observed entries.
"""

from __future__ import annotations

from typing import Callable, Optional, Union

import torch
from torch import Tensor

from ._checks import check_iterations, check_mask, check_tensor, generator_for
from .decomposition import Decomposition, report
from .ranks import tucker_rank
from .tensor_algebra import mode_dot, squared_norm, unfold

METHODS = ("hooi", "hosvd")


class TuckerTensor(Decomposition):
    """``core [R_1, ..., R_N]`` and ``factors`` (``[I_n, R_n]`` each); unpacks as ``core, factors``."""

    def __init__(self, core: Tensor, factors: list[Tensor], errors: Optional[list[float]] = None):
        self.core, self.factors = core, list(factors)
        self.errors = errors if errors is not None else []

    def parts(self) -> tuple:
        return self.core, self.factors

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(f.shape[0] for f in self.factors)

    @property
    def rank(self) -> tuple[int, ...]:
        return tuple(self.core.shape)

    def to_tensor(self) -> Tensor:
        out = self.core
        for n, factor in enumerate(self.factors):
            out = mode_dot(out, factor, n)
        return out

    def __repr__(self) -> str:
        return f"TuckerTensor(shape={list(self.shape)}, rank={list(self.rank)}, iterations={len(self.errors)})"


def tucker(tensor: Tensor, rank, n_iter_max: int = 100, tol: float = 1e-8, init: Union[str, TuckerTensor] = "svd",
           method: str = "hooi", mask: Optional[Tensor] = None, random_state=None,
           callback: Optional[Callable] = None) -> TuckerTensor:
    r"""Tucker decomposition of a dense ``tensor`` (real or complex).

    Args:
        rank: ``(R_1, ..., R_N)``, one int for every mode, or a float fraction of the dense parameter count.
        n_iter_max, tol: HOOI sweeps at most; stop when the relative error changes by less than ``tol``.
        init: ``"svd"`` (HOSVD), ``"random"`` (orthonormalised normal factors) or a :class:`TuckerTensor`.
        method: ``"hooi"`` or ``"hosvd"`` (the initialisation only; with a mask, EM sweeps of HOSVD).
        mask: booleans of the tensor's shape, True where an entry is observed.
        callback: ``callback(tucker_tensor, error)`` after each sweep; returning True stops.

    Returns:
        :class:`TuckerTensor` with ``errors``, the relative error after each sweep.
    """
    tensor = check_tensor(tensor)
    mask = check_mask(mask, tensor)
    check_iterations(n_iter_max, tol)
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    ranks = tucker_rank(rank, tuple(tensor.shape))
    filled = tensor if mask is None else torch.where(mask, tensor, tensor[mask].mean())
    factors = _initial_factors(filled, ranks, init, random_state)
    norm_sq = squared_norm(tensor if mask is None else tensor[mask])
    errors: list[float] = []
    for iteration in range(n_iter_max):
        if method == "hooi":
            factors = _hooi_sweep(filled, factors)
        elif iteration > 0:                        # HOSVD of the re-imputed tensor (masked EM)
            factors = _initial_factors(filled, ranks, "svd", None)
        core = _project(filled, factors)
        result = TuckerTensor(core, factors, errors)
        if mask is None:
            errors.append(max(norm_sq - squared_norm(core), 0.0) ** 0.5 / norm_sq ** 0.5)
        else:
            fit = result.to_tensor()
            errors.append(float(torch.linalg.vector_norm((tensor - fit)[mask])) / norm_sq ** 0.5)
            filled = torch.where(mask, tensor, fit)
        if report(errors, result, callback, tol) or (method == "hosvd" and mask is None):
            break
    return result


def _project(tensor: Tensor, factors: list[Tensor], skip: int = -1) -> Tensor:
    """:math:`X \\times_{m \\ne skip} A^{(m)H}`."""
    for m, factor in enumerate(factors):
        if m != skip:
            tensor = mode_dot(tensor, factor.t().conj(), m)
    return tensor


def _hooi_sweep(tensor: Tensor, factors: list[Tensor]) -> list[Tensor]:
    factors = list(factors)
    for n in range(len(factors)):
        projected = _project(tensor, factors, skip=n)
        factors[n] = torch.linalg.svd(unfold(projected, n), full_matrices=False)[0][:, :factors[n].shape[1]]
    return factors


def _initial_factors(tensor: Tensor, ranks: tuple[int, ...], init, random_state) -> list[Tensor]:
    if isinstance(init, TuckerTensor):
        if init.shape != tuple(tensor.shape) or init.rank != ranks:
            raise ValueError(f"init: expected a TuckerTensor of shape {list(tensor.shape)} and rank {list(ranks)}, "
                             f"got {init}")
        return [f.to(dtype=tensor.dtype, device=tensor.device) for f in init.factors]
    if init == "svd":
        return [torch.linalg.svd(unfold(tensor, n), full_matrices=False)[0][:, :r] for n, r in enumerate(ranks)]
    if init == "random":
        generator = generator_for(random_state, tensor.device)
        return [torch.linalg.qr(torch.randn(s, r, generator=generator, device=tensor.device,
                                            dtype=tensor.real.dtype).to(tensor.dtype))[0]
                for s, r in zip(tensor.shape, ranks)]
    raise ValueError(f"init: expected 'svd', 'random' or a TuckerTensor, got {init!r}")
