r"""CP (CANDECOMP / PARAFAC) decomposition by alternating least squares.

.. math::
    X \approx \hat X = \sum_{r=1}^{R} \lambda_r\, a^{(1)}_r \circ a^{(2)}_r \circ \dots \circ a^{(N)}_r,
    \qquad A^{(n)} = [a^{(n)}_1, \dots, a^{(n)}_R] \in \mathbb{R}^{I_n \times R}.

Each ALS step solves mode :math:`n` exactly with the others fixed:
:math:`A^{(n)} \leftarrow M^{(n)} \big(\circledast_{m \ne n} A^{(m)\top} \bar A^{(m)}\big)^{-1}` with the MTTKRP
:math:`M^{(n)} = X_{(n)} \overline{(\odot_{m \ne n} A^{(m)})}`.

Dense tensors: the MTTKRPs of a sweep share their expensive part (a dimension tree): the tensor is
contracted once with the Khatri-Rao product of the second half of the modes' factors, which serves every
mode of the first half, and once with the first half's (updated) factors, which serves the second half; so a
sweep costs two passes over the tensor whatever its order, with no unfolding copies, and the error comes
from the last MTTKRP and the Gram matrices for free. ``linesearch`` extrapolates the factors every other
iteration (Bro, 1998; TensorLy's rule) and keeps the jump when it lowers the error.

Missing entries (``mask``) and sparse COO input fit the observed entries only: each factor row is a small
least-squares problem over its observations (``geomlearn.tensor_networks.observations``), the dense tensor is never formed.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import torch
from torch import Tensor

from ._checks import check_iterations, check_mask, check_tensor, generator_for
from .decomposition import Decomposition, report
from .observations import Observations
from .ranks import cp_rank
from .tensor_algebra import khatri_rao, leading_singular_vectors, squared_norm
from .tensor_network import TensorNetwork


class CPTensor(Decomposition):
    """``weights [R]`` and ``factors`` (``[I_n, R]`` each, unit columns after a fit); unpacks as
    ``weights, factors``."""

    def __init__(self, weights: Tensor, factors: list[Tensor], errors: Optional[list[float]] = None):
        self.weights, self.factors = weights, list(factors)
        self.errors = errors if errors is not None else []

    def parts(self) -> tuple:
        return self.weights, self.factors

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(f.shape[0] for f in self.factors)

    @property
    def rank(self) -> int:
        return self.weights.shape[0]

    def to_tensor(self) -> Tensor:
        left = khatri_rao(self.factors[:-1]) * self.weights
        return (left @ self.factors[-1].t()).reshape(self.shape)

    def normalized(self) -> "CPTensor":
        """Unit-norm columns, their norms multiplied into the weights."""
        norms = [torch.linalg.vector_norm(f, dim=0) for f in self.factors]
        weights = self.weights * torch.stack(norms).prod(0)
        safe = [torch.where(n > 0, n, torch.ones_like(n)) for n in norms]
        return CPTensor(weights, [f / n for f, n in zip(self.factors, safe)], self.errors)

    def to_network(self):
        """The :class:`TensorNetwork` view: the weights and every factor share the rank index ``r``."""
        legs = {"weights": ("r",), **{f"factor{n}": (f"i{n}", "r") for n in range(len(self.factors))}}
        cores = {"weights": self.weights, **{f"factor{n}": f for n, f in enumerate(self.factors)}}
        return TensorNetwork(cores, legs, tuple(f"i{n}" for n in range(len(self.factors))))

    def sensitivity(self) -> float:
        r""":math:`\sum_r |\lambda_r|^2 \prod_n \|a^{(n)}_r\|^2`, the squared norms of the rank-one terms summed."""
        norms = torch.stack([torch.linalg.vector_norm(f, dim=0) ** 2 for f in self.factors]).prod(0)
        return float((self.weights.abs() ** 2 * norms).sum())

    def degeneracy(self) -> dict:
        r"""Diagnostics of a degenerate fit (rank-one terms that grow without bound and cancel each other):
        ``sensitivity``; ``norm_ratio``, the sensitivity over :math:`\|\hat X\|^2` (1 for orthogonal terms,
        large when terms cancel); ``min_congruence``, the smallest :math:`\prod_n \cos(a^{(n)}_r, a^{(n)}_s)`
        over pairs :math:`r \ne s` (near -1: two terms nearly opposite)."""
        units = [f / torch.linalg.vector_norm(f, dim=0).clamp_min(1e-300) for f in self.factors]
        congruence = torch.stack([(u.t().conj() @ u).real for u in units]).prod(0)
        rank = congruence.shape[0]
        off = congruence[~torch.eye(rank, dtype=torch.bool, device=congruence.device)]
        model = float(torch.linalg.vector_norm(self.to_tensor()) ** 2)
        return dict(sensitivity=self.sensitivity(), norm_ratio=self.sensitivity() / max(model, 1e-300),
                    min_congruence=float(off.min()) if off.numel() else 1.0)

    def __repr__(self) -> str:
        return f"CPTensor(shape={list(self.shape)}, rank={self.rank}, iterations={len(self.errors)})"


def cp(tensor: Tensor, rank: Union[int, float], n_iter_max: int = 100, tol: float = 1e-8,
       init: Union[str, CPTensor] = "svd", mask: Optional[Tensor] = None, random_state=None,
       callback: Optional[Callable] = None, linesearch: bool = False, l2_reg: Union[float, Sequence[float]] = 0.0,
       max_sensitivity: Optional[float] = None, weighted_l2: bool = False) -> CPTensor:
    r"""CP decomposition of ``tensor`` by ALS.

    Args:
        tensor: dense ``[I_1, ..., I_N]`` (real or complex), or a sparse COO tensor of the observed entries.
        rank: ``R``, or a float: the fraction of the dense tensor's entries to hold as parameters.
        n_iter_max: sweeps at most; ``tol``: stop when the relative error changes by less.
        init: ``"svd"`` (leading singular vectors of the unfoldings, missing entries as zeros), ``"random"``
            (normal entries from ``random_state``) or a :class:`CPTensor`.
        mask: booleans of the tensor's shape, True where an entry is observed.
        callback: ``callback(cp_tensor, error)`` after each sweep; returning True stops.
        linesearch: extrapolate every other sweep (dense tensors).
        l2_reg: :math:`\lambda` added to every normal equation's diagonal, or one :math:`\lambda_n` per mode.
        weighted_l2: with a mask or sparse input, scale the ridge of each row by its number of observed entries
            (weighted-:math:`\lambda` ALS, Zhou et al. 2008; see ``geomlearn.tensor_networks.observations``).
        max_sensitivity: the stabilised CP (after Phan et al., ECCV 2020): keep the sensitivity
            :math:`\sum_r \prod_n \|\lambda_r^{1/N} a^{(n)}_r\|^2` (the squared norms of the rank-one terms)
            at most :math:`c^2` for ``max_sensitivity`` :math:`= c`. Each mode's update is
            then the least-squares solution within the bound (a ridge whose multiplier meets it), so the
            rank-one terms cannot grow into the huge, cancelling pairs of a degenerate fit; this is the same
            error-sensitivity trade-off as Phan et al.'s error-preserving correction, approached from the
            error side. See :meth:`CPTensor.degeneracy`. Dense tensors, no line search.

    Returns:
        :class:`CPTensor` (normalised factors) with ``errors``, the relative error after each sweep.
    """
    tensor = check_tensor(tensor, allow_sparse=True)
    mask = check_mask(mask, tensor) if not tensor.is_sparse else mask
    if tensor.is_sparse and mask is not None:
        raise ValueError("mask: a sparse tensor holds its observed entries itself; got a mask as well")
    check_iterations(n_iter_max, tol)
    l2_reg = per_mode_ridge(l2_reg, tensor.dim())
    if max_sensitivity is not None:
        if not isinstance(max_sensitivity, (int, float)) or not max_sensitivity > 0:
            raise ValueError(f"max_sensitivity: expected a bound > 0, got {max_sensitivity!r}")
        if linesearch or tensor.is_sparse or mask is not None:
            raise ValueError("max_sensitivity: the bounded fit takes a dense tensor without mask or line search "
                             "(an extrapolated step can leave the bound)")
    if weighted_l2 and not (tensor.is_sparse or mask is not None):
        raise ValueError("weighted_l2: the ridge is weighted by observed entries per row; it takes a mask or sparse "
                         "input, got a dense tensor without a mask")
    rank = cp_rank(rank, tuple(tensor.shape))
    observed = Observations.of(tensor, mask) if (tensor.is_sparse or mask is not None) else None
    start = tensor if observed is None else observed.as_sparse()
    factors = _initial_factors(start, rank, init, observed is None, random_state)
    if observed is not None:
        return observed_als(observed, factors, n_iter_max, tol, callback, l2_reg, weighted_l2).normalized()
    options = ALSOptions(n_iter_max, tol, callback, linesearch, tuple(l2_reg), max_sensitivity)
    factors, errors, _ = dense_als(tensor, factors, options)
    return CPTensor(torch.ones_like(factors[0][0]), factors, errors).normalized()


def per_mode_ridge(l2_reg, order: int) -> list[float]:
    """``l2_reg`` as one float >= 0 per mode."""
    values = list(l2_reg) if isinstance(l2_reg, (list, tuple)) else [l2_reg] * order
    if len(values) != order or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0
                                   for v in values):
        raise ValueError(f"l2_reg: expected a number >= 0 or {order} of them (one per mode), got {l2_reg!r}")
    return [float(v) for v in values]


def _initial_factors(tensor: Tensor, rank: int, init, dense: bool, random_state) -> list[Tensor]:
    shape, dtype, device = tuple(tensor.shape), tensor.dtype, tensor.device
    if isinstance(init, CPTensor):
        if init.shape != shape or init.rank != rank:
            raise ValueError(f"init: expected a CPTensor of shape {list(shape)} and rank {rank}, got {init}")
        factors = [f.to(dtype=dtype, device=device).clone() for f in init.factors]
        factors[0] = factors[0] * init.weights.to(dtype=dtype, device=device)
        return factors
    init = "svd" if init is None else init
    if init not in ("svd", "random"):
        raise ValueError(f"init: expected 'svd', 'random' or a CPTensor, got {init!r}")
    generator = generator_for(random_state, device)
    real = torch.empty(0, dtype=dtype).real.dtype
    if init == "random":
        factors = [torch.randn(s, rank, generator=generator, device=device, dtype=real).to(dtype) for s in shape]
        if tensor.is_complex():
            factors = [f + 1j * torch.randn(f.shape, generator=generator, device=device, dtype=real) for f in factors]
        if dense:   # start at the tensor's norm
            size = squared_norm(CPTensor(torch.ones(rank, dtype=dtype, device=device), factors).to_tensor())
            factors = [f * (squared_norm(tensor) / size) ** (0.5 / len(shape)) for f in factors]
        return factors
    factors = []
    for n, size in enumerate(shape):
        u = leading_singular_vectors(tensor, n, rank, generator)
        if u.shape[1] < rank:   # more components than the mode's size: the rest random
            extra = torch.randn(size, rank - u.shape[1], generator=generator, device=device, dtype=real).to(dtype)
            u = torch.cat([u, extra], dim=1)
        factors.append(u)
    return factors


def _grams(factors: list[Tensor]) -> list[Tensor]:
    return [f.t() @ f.conj() for f in factors]


def _solve(mttkrp: Tensor, grams: list[Tensor], mode: int, l2_reg: float,
           max_sensitivity: Optional[float] = None) -> Tensor:
    """``A`` with ``A V = M``, ``V`` the Hadamard product of the other modes' Grams (plus ``l2_reg I``); with
    ``max_sensitivity`` the least-squares ``A`` among those keeping the model's sensitivity within it."""
    v = None
    for m, g in enumerate(grams):
        if m != mode:
            v = g if v is None else v * g
    w = torch.diagonal(v).real
    if l2_reg:
        v = v + l2_reg * torch.eye(v.shape[0], dtype=v.dtype, device=v.device)
    if max_sensitivity is None:
        return torch.linalg.solve(v, mttkrp, left=False)
    return _bounded_solve(mttkrp, v, w, max_sensitivity)


def _bounded_solve(mttkrp: Tensor, v: Tensor, w: Tensor, bound: float) -> Tensor:
    r""":math:`\min_A \|X_{(n)} - A K^\top\|` subject to :math:`\sum_r \|a_r\|^2 w_r \le c^2` with
    :math:`w_r = \prod_{m \ne n} \|a^{(m)}_r\|^2 = V_{rr}` (so the constraint is the whole model's sensitivity):
    :math:`A(\mu) = M (V + \mu\, \mathrm{diag}(w))^{-1}` with the multiplier :math:`\mu \ge 0` where the bound is
    met. With :math:`D^{-1/2} V D^{-1/2} = Q \Lambda Q^H` and :math:`B = M D^{-1/2} Q` the constraint reads
    :math:`g(\mu) = \sum_k \|B_{:k}\|^2 / (\lambda_k + \mu)^2 \le c^2`, decreasing in :math:`\mu`: bisection."""
    scale = w.clamp_min(torch.finfo(w.dtype).tiny).rsqrt().to(v.dtype)
    eigenvalues, q = torch.linalg.eigh(scale.unsqueeze(1) * v * scale.unsqueeze(0))
    b = (mttkrp * scale) @ q
    columns = (b.abs() ** 2).sum(0)
    g = lambda mu: float((columns / (eigenvalues + mu).clamp_min(1e-300) ** 2).sum())     # noqa: E731
    lo, hi = 0.0, float(columns.sum()) ** 0.5 / bound
    if eigenvalues.min() > 0 and g(0.0) <= bound ** 2:
        mu = 0.0
    else:
        lo = max(0.0, -float(eigenvalues.min()))
        for _ in range(100):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if g(mid) <= bound ** 2 else (mid, hi)
        mu = hi
    return (b / (eigenvalues + mu).to(b.dtype)) @ q.t().conj() * scale


def _contract_rest(partial: Tensor, factors: list[Tensor], modes: list[int], mode: int) -> Tensor:
    """MTTKRP of ``mode`` from ``partial [R, I_m for m in modes]``: contract every other mode of ``modes`` with
    its conjugated factor."""
    letters = string.ascii_letters
    operands, terms = [partial], ["Z" + "".join(letters[k] for k in range(len(modes)))]
    for k, m in enumerate(modes):
        if m != mode:
            operands.append(factors[m].conj())
            terms.append(letters[k] + "Z")
    return torch.einsum(",".join(terms) + "->" + letters[modes.index(mode)] + "Z", *operands)


def _sweep(matrix: Tensor, shape: tuple, factors: list[Tensor], split: int, l2_reg: list[float],
           max_sensitivity: Optional[float], fixed: frozenset = frozenset()) -> Tensor:
    """One ALS sweep over a dense tensor seen as ``matrix [prod I_left, prod I_right]`` (the modes in ``fixed``
    left as they are); returns the last mode's MTTKRP (for the error)."""
    left, right = list(range(split)), list(range(split, len(shape)))
    rank = factors[0].shape[1]
    grams = _grams(factors)
    # [R, prod I_left] as R x K times K x L (the orientation BLAS runs fastest for a skinny R)
    partial = (khatri_rao([factors[m].conj() for m in right]).t() @ matrix.t()).reshape(rank, *shape[:split])
    for n in left:
        if n not in fixed:
            factors[n] = _solve(_contract_rest(partial, factors, left, n), grams, n, l2_reg[n], max_sensitivity)
            grams[n] = factors[n].t() @ factors[n].conj()
    partial = (khatri_rao([factors[m].conj() for m in left]).t() @ matrix).reshape(rank, *shape[split:])
    for n in right:
        mttkrp = _contract_rest(partial, factors, right, n)
        if n not in fixed:
            factors[n] = _solve(mttkrp, grams, n, l2_reg[n], max_sensitivity)
            grams[n] = factors[n].t() @ factors[n].conj()
    return mttkrp


def _error(norm_sq: float, mttkrp: Tensor, factors: list[Tensor]) -> float:
    """:math:`\\|X - \\hat X\\| / \\|X\\|` from :math:`\\|X\\|^2 - 2 \\mathrm{Re}\\langle X, \\hat X\\rangle +
    \\|\\hat X\\|^2` (the last MTTKRP gives the inner product, the Grams the norm)."""
    inner = float((mttkrp * factors[-1].conj()).sum().real)
    grams = _grams(factors)
    model = grams[0]
    for g in grams[1:]:
        model = model * g
    return max(norm_sq - 2 * inner + float(model.sum().real), 0.0) ** 0.5 / norm_sq ** 0.5


@dataclass(frozen=True)
class ALSOptions:
    """How the dense ALS runs: :func:`cp`'s options and the ones :func:`~geomlearn.tensor_networks.parafac` adds
    (TensorLy's ``fixed_modes``, ``orthogonalise``, ``sparsity``, ``cvg_criterion``, ``verbose``, a callback on
    the start, and its masked ALS by imputation)."""
    n_iter_max: int
    tol: float
    callback: Optional[Callable] = None
    linesearch: bool = False
    l2_reg: tuple = ()
    max_sensitivity: Optional[float] = None
    fixed: frozenset = frozenset()
    orthogonalise: int = 0
    sparsity: Optional[int] = None
    criterion: str = "abs_rec_error"
    verbose: int = 0
    call_on_start: bool = False
    mask: Optional[Tensor] = None


def sparsify(residual: Tensor, count: int) -> Tensor:
    """The ``count`` largest entries of ``residual`` by modulus, zeros elsewhere (TensorLy's sparse component)."""
    if count >= residual.numel():
        return residual
    bound = residual.abs().reshape(-1).kthvalue(residual.numel() - count + 1).values
    return torch.where(residual.abs() < bound, torch.zeros_like(residual), residual)


def dense_als(tensor: Tensor, factors: list[Tensor], options: ALSOptions) -> tuple[list[Tensor], list[float],
                                                                                  Optional[Tensor]]:
    """ALS from ``factors``: ``(factors, errors, sparse component or None)``, the weights kept at one. With
    ``options.mask`` the missing entries are imputed from the current fit after every sweep (EM, TensorLy's
    masked ALS; imputed from the start before the first, so the values under the mask are never read)."""
    shape = tuple(tensor.shape)
    split = max(1, len(shape) // 2)
    ones = torch.ones(factors[0].shape[1], dtype=tensor.dtype, device=tensor.device)
    original = tensor
    if options.mask is not None:
        tensor = torch.where(options.mask, original, CPTensor(ones, factors).to_tensor())
    full = options.mask is not None or options.sparsity is not None       # errors need the reconstruction

    def as_matrix(t: Tensor) -> Tensor:
        return t.reshape(-1 if split else 1, math.prod(shape[split:]))

    def evaluate(candidate: list[Tensor]) -> tuple[float, Tensor, Optional[Tensor]]:
        """The error of ``candidate``, the tensor re-imputed from it, and its sparse component."""
        low_rank = CPTensor(ones, candidate).to_tensor()
        current = tensor if options.mask is None else torch.where(options.mask, original, low_rank)
        residual = current - low_rank
        sparse = sparsify(residual, options.sparsity) if options.sparsity is not None else None
        residual = residual if sparse is None else residual - sparse
        return float(torch.linalg.vector_norm(residual) / torch.linalg.vector_norm(current)), current, sparse

    matrix, norm_sq = as_matrix(tensor), squared_norm(tensor)
    errors, power, failures = [], 2.0, 0
    sparse = None

    def announce(error: float) -> bool:
        result = CPTensor(ones, factors, errors)
        return options.callback is not None and options.callback(
            (result, sparse) if options.sparsity is not None else result, error) is True

    if options.call_on_start and options.callback is not None:
        error, _, sparse = evaluate(factors)
        announce(error)
    for iteration in range(options.n_iter_max):
        if iteration < options.orthogonalise:
            factors[:] = [torch.linalg.qr(f)[0] if n not in options.fixed and min(f.shape) >= f.shape[1] else f
                          for n, f in enumerate(factors)]
        previous = [f.clone() for f in factors] if options.linesearch else None
        mttkrp = _sweep(matrix, shape, factors, split, list(options.l2_reg), options.max_sensitivity, options.fixed)
        if full:
            error, imputed, sparse = evaluate(factors)
        else:
            error = _error(norm_sq, mttkrp, factors)
        if options.linesearch and iteration > 5 and iteration % 2 == 0:
            jump = iteration ** (1.0 / power)
            trial = [p if n in options.fixed else p + jump * (f - p)
                     for n, (p, f) in enumerate(zip(previous, factors))]
            if full:
                trial_error, trial_imputed, trial_sparse = evaluate(trial)
            else:
                left = khatri_rao([trial[m].conj() for m in range(split)]).t() @ matrix     # [R, prod I_right]
                inner_last = _contract_rest(left.reshape(-1, *shape[split:]), trial, list(range(split, len(shape))),
                                            len(shape) - 1)
                trial_error = _error(norm_sq, inner_last, trial)
            if trial_error < error:
                factors[:], error, failures = trial, trial_error, 0
                if full:
                    imputed, sparse = trial_imputed, trial_sparse
            else:
                failures += 1
                if failures == 4:
                    power, failures = power + 1.0, 0
        if options.mask is not None:
            tensor = imputed
            matrix, norm_sq = as_matrix(tensor), squared_norm(tensor)
        errors.append(error)
        if options.verbose:
            print(f"ALS sweep {iteration + 1}: relative error {error:.6g}")
        if announce(error):
            break
        if len(errors) > 1:
            decrease = errors[-2] - errors[-1]
            if (abs(decrease) if options.criterion == "abs_rec_error" else decrease) < options.tol:
                break
    return factors, errors, sparse


def observed_als(observed: Observations, factors, n_iter_max, tol, callback, l2_reg, weighted_l2,
                 fixed: frozenset = frozenset()) -> CPTensor:
    ones = torch.ones(factors[0].shape[1], dtype=factors[0].dtype, device=factors[0].device)
    errors = []
    for _ in range(n_iter_max):
        for n in range(len(factors)):
            if n not in fixed:
                factors[n] = observed.solve_rows(observed.gather(factors, skip=n), n, l2_reg[n], weighted_l2)
        errors.append(observed.relative_error(observed.gather(factors).sum(1)))
        if report(errors, CPTensor(ones, factors, errors), callback, tol):
            break
    return CPTensor(ones, factors, errors)
