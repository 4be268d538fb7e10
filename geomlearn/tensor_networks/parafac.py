r"""TensorLy's ``parafac``: CP by alternating least squares with TensorLy's arguments, defaults and returns,
on geomlearn's ALS (:func:`~geomlearn.tensor_networks.cp`: a dimension-tree MTTKRP, two passes over the tensor
per sweep).

.. math::
    X \approx [\![\lambda; A^{(1)}, \dots, A^{(N)}]\!] = \sum_{r=1}^{R} \lambda_r\, a^{(1)}_r \circ \dots \circ
    a^{(N)}_r

What follows TensorLy exactly: the random start (uniform factors drawn from a numpy ``RandomState`` in mode
order, so a seed gives TensorLy's start), the SVD start (leading left singular vectors of each unfolding, the
first scaled by the singular values, uniform columns where the rank exceeds a mode's size), the weights of a
given start (their geometric mean moved into the factors), ``fixed_modes``, ``orthogonalise``, the
``sparsity`` component (the largest entries of the residual, left out of the error), ``cvg_criterion``,
``callback`` (on the start, then after every sweep), ``return_errors`` and the weights of ones unless
``normalize_factors``.

Deliberate differences: the values under a ``mask`` are never read (TensorLy's SVD start and first sweep read
them; here the SVD start imputes from zeros and the first sweep from the start's fit); the last mode may be
fixed (TensorLy unfixes it with a warning); the line search's sweeps report their error too.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence, Union

import torch
from torch import Tensor

from ..argument_checks import is_int
from ._checks import check_iterations, check_mask, check_svd, check_tensor, random_state_of, uniform_draw
from .cp import ALSOptions, CPTensor, dense_als, per_mode_ridge, sparsify
from .decomposition import Estimator
from .ranks import cp_rank
from .tensor_algebra import leading_left_singular, signed_columns, unfold

CRITERIA = ("abs_rec_error", "rec_error")


def initial_cp(tensor: Tensor, rank: int, init, rng, mask: Optional[Tensor] = None,
               svd_mask_repeats: int = 5) -> list[Tensor]:
    """The starting factors (weights of one) as TensorLy's ``initialize_cp`` makes them."""
    shape = tuple(tensor.shape)
    if not isinstance(init, str):
        try:
            weights, factors = init
        except (TypeError, ValueError):
            raise ValueError(f"init: expected 'svd', 'random', a CPTensor or (weights, factors), got {init!r}") \
                from None
        if len(factors) != len(shape) or any(f.shape != (s, rank) for f, s in zip(factors, shape)):
            raise ValueError(f"init: expected factors of shapes {[(s, rank) for s in shape]}, got "
                             f"{[tuple(f.shape) for f in factors]}")
        factors = [torch.as_tensor(f).to(dtype=tensor.dtype, device=tensor.device).clone() for f in factors]
        weights = torch.ones(rank, dtype=tensor.dtype) if weights is None else torch.as_tensor(weights)
        if not bool((weights == 1).all()):
            mean = weights.to(tensor.dtype).prod() ** (1.0 / rank)
            factors = [f * mean.to(tensor.device) for f in factors]
        return factors
    if init == "random":
        return [uniform_draw(rng, (size, rank), tensor) for size in shape]
    if init != "svd":
        raise ValueError(f"init: expected 'svd', 'random', a CPTensor or (weights, factors), got {init!r}")
    factors = []
    for mode, size in enumerate(shape):
        matrix = unfold(tensor if mask is None else torch.where(mask, tensor, torch.zeros_like(tensor)), mode)
        keep = min(rank, *matrix.shape)
        if mask is None:
            u, s = leading_left_singular(matrix, keep)
        else:
            observed = unfold(mask, mode)
            u, s, vh = torch.linalg.svd(matrix, full_matrices=False)
            for _ in range(svd_mask_repeats):                              # impute the missing entries, refit
                matrix = torch.where(observed, matrix, (u[:, :keep] * s[:keep].to(u.dtype)) @ vh[:keep])
                u, s, vh = torch.linalg.svd(matrix, full_matrices=False)
            u, s = signed_columns(u[:, :keep]), s[:keep]
        if mode == 0:
            u = u * s.to(u.dtype)
        if size < rank:
            u = torch.cat([u, uniform_draw(rng, (size, rank - u.shape[1]), tensor)], dim=1)
        factors.append(u[:, :rank])
    return factors


def parafac(tensor: Tensor, rank, n_iter_max: int = 100, init: Union[str, CPTensor, tuple] = "svd",
            svd: str = "truncated_svd", normalize_factors: bool = False, orthogonalise: Union[bool, int] = False,
            tol: float = 1e-8, random_state=None, verbose: int = 0, return_errors: bool = False,
            sparsity: Optional[Union[float, int]] = None, l2_reg: Union[float, Sequence[float]] = 0,
            mask: Optional[Tensor] = None, cvg_criterion: str = "abs_rec_error",
            fixed_modes: Optional[Sequence[int]] = None, svd_mask_repeats: int = 5, linesearch: bool = False,
            callback: Optional[Callable] = None):
    r"""TensorLy's ``parafac``: a rank-``rank`` CP decomposition of ``tensor`` by ALS.

    Args:
        tensor: dense ``[I_1, ..., I_N]`` (real or complex). For sparse COO input, and for the exact least-squares
            fit of the observed entries, see :func:`~geomlearn.tensor_networks.cp`.
        rank: ``R``, or a float: the fraction of the dense tensor's entries to hold as parameters.
        n_iter_max: sweeps at most (0: the start).
        init: ``"svd"``, ``"random"``, a :class:`CPTensor` (geomlearn's or TensorLy's) or ``(weights, factors)``.
        svd: TensorLy's SVD choice; geomlearn computes the exact leading singular vectors for each.
        normalize_factors: unit-norm factor columns, their norms in ``weights`` (else weights of one).
        orthogonalise: replace the factors by their QR's Q before the first ``orthogonalise`` sweeps (``True``:
            every sweep).
        tol, cvg_criterion: stop when the relative error changes by less than ``tol`` (``"abs_rec_error"``) or
            falls by less (``"rec_error"``).
        random_state: ``None``, an int seed or a numpy ``RandomState`` (TensorLy's draws from it).
        verbose: print the error of every sweep.
        return_errors: also return the errors.
        sparsity: also fit a sparse component, the largest entries of the residual (a fraction of the entries,
            or a count), left out of the error.
        l2_reg: :math:`\lambda` on every normal equation's diagonal, or one per mode.
        mask: booleans of the tensor's shape, True where an entry is observed; the missing entries are imputed
            from the fit after every sweep (TensorLy's EM).
        fixed_modes: modes whose factors stay those of the start.
        svd_mask_repeats: with a mask, imputations of the SVD start.
        linesearch: extrapolate every other sweep (Bro's rule, as TensorLy).
        callback: ``callback(cp_tensor, error)`` on the start and after every sweep (``(cp_tensor, sparse)`` with
            ``sparsity``); returning True stops.

    Returns:
        :class:`CPTensor` (unpacking as ``weights, factors``); ``(cp_tensor, sparse_component)`` with ``sparsity``;
        either followed by the errors with ``return_errors``.
    """
    tensor = check_tensor(tensor)
    check_iterations(n_iter_max, tol, minimum=0)
    check_svd(svd)
    if cvg_criterion not in CRITERIA:
        raise ValueError(f"cvg_criterion: expected one of {CRITERIA}, got {cvg_criterion!r}")
    if not is_int(svd_mask_repeats) or svd_mask_repeats < 0:
        raise ValueError(f"svd_mask_repeats: expected an int >= 0, got {svd_mask_repeats!r}")
    order = tensor.dim()
    rank = cp_rank(rank, tuple(tensor.shape))
    fixed = frozenset(fixed_modes or ())
    if not all(is_int(m) and 0 <= m < order for m in fixed):
        raise ValueError(f"fixed_modes: expected modes in 0..{order - 1}, got {list(fixed_modes)}")
    orthogonalise = n_iter_max if orthogonalise is True else int(orthogonalise or 0)
    l2 = tuple(per_mode_ridge(l2_reg, order))
    mask = check_mask(mask, tensor)
    count = None
    if sparsity is not None:
        if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float)) or not sparsity > 0:
            raise ValueError(f"sparsity: expected a fraction in (0, 1] or a count of entries, got {sparsity!r}")
        count = int(sparsity * math.prod(tensor.shape)) if isinstance(sparsity, float) else int(sparsity)
    rng = random_state_of(random_state)
    factors = initial_cp(tensor, rank, init, rng, mask, svd_mask_repeats)
    ones = torch.ones(rank, dtype=tensor.dtype, device=tensor.device)
    sparse = None
    options = ALSOptions(0 if len(fixed) == order else n_iter_max, tol, callback, linesearch, l2, None, fixed,
                         orthogonalise, count, cvg_criterion, verbose, call_on_start=True, mask=mask)
    factors, errors, sparse = dense_als(tensor, factors, options)
    factors = [f.resolve_conj() for f in factors]
    result = CPTensor(ones, factors, errors)
    if count is not None and sparse is None:
        sparse = sparsify(tensor - result.to_tensor(), count)
    if normalize_factors:
        result = result.normalized()
    out = (result, sparse) if sparsity is not None else result
    return (out, errors) if return_errors else out


class CP(Estimator):
    """TensorLy's ``CP`` estimator: :func:`parafac`'s options at construction; ``fit_transform(tensor)`` returns
    the :class:`CPTensor` (``(cp_tensor, sparse_component)`` with ``sparsity``) and keeps it as
    ``decomposition_``, the errors as ``errors_``."""

    def __init__(self, rank, n_iter_max: int = 100, init="svd", svd: str = "truncated_svd",
                 normalize_factors: bool = False, orthogonalise=False, tol: float = 1e-8, random_state=None,
                 verbose: int = 0, sparsity=None, l2_reg=0, mask: Optional[Tensor] = None,
                 cvg_criterion: str = "abs_rec_error", fixed_modes=None, svd_mask_repeats: int = 5,
                 linesearch: bool = False, callback: Optional[Callable] = None):
        self.rank, self.n_iter_max, self.init, self.svd = rank, n_iter_max, init, svd
        self.normalize_factors, self.orthogonalise, self.tol = normalize_factors, orthogonalise, tol
        self.random_state, self.verbose, self.sparsity, self.l2_reg = random_state, verbose, sparsity, l2_reg
        self.mask, self.cvg_criterion, self.fixed_modes = mask, cvg_criterion, fixed_modes
        self.svd_mask_repeats, self.linesearch, self.callback = svd_mask_repeats, linesearch, callback

    def fit_transform(self, tensor: Tensor):
        self.decomposition_, self.errors_ = parafac(
            tensor, rank=self.rank, n_iter_max=self.n_iter_max, init=self.init, svd=self.svd,
            normalize_factors=self.normalize_factors, orthogonalise=self.orthogonalise, tol=self.tol,
            random_state=self.random_state, verbose=self.verbose, return_errors=True, sparsity=self.sparsity,
            l2_reg=self.l2_reg, mask=self.mask, cvg_criterion=self.cvg_criterion, fixed_modes=self.fixed_modes,
            svd_mask_repeats=self.svd_mask_repeats, linesearch=self.linesearch, callback=self.callback)
        return self.decomposition_

    def __repr__(self) -> str:
        return f"Rank-{self.rank} CP decomposition."
