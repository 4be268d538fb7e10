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
errors are those on the observed entries. Sparse COO input (the observed entries only, never densified):
alternating least squares on the observations (``geomlearn.tensor_networks.observations``): factor :math:`n`'s rows from the design
:math:`h = G_{(n)} \bigotimes_{m \ne n} a^{(m)}_{i_m}` of each observation (the core contracted with the other
factors' gathered rows), each factor then re-orthonormalised by QR into the core, and the core from the design
:math:`\bigotimes_m a^{(m)}_{i_m}`; the factors start from the spectral initialisation of
:func:`~geomlearn.tensor_networks.tensor_algebra.leading_singular_vectors`.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Optional, Sequence, Union

import torch
from torch import Tensor

from ..argument_checks import is_int
from ._checks import check_iterations, check_mask, check_svd, check_tensor, generator_for
from .decomposition import Decomposition, Estimator, report
from .observations import Observations
from .ranks import tucker_rank
from .tensor_algebra import leading_left_singular, leading_singular_vectors, mode_dot, squared_norm, unfold
from .tensor_network import TensorNetwork

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

    def to_network(self):
        """The :class:`TensorNetwork` view: the core's index ``r{n}`` is bonded to factor ``n``."""
        order = len(self.factors)
        legs = {"core": tuple(f"r{n}" for n in range(order)),
                **{f"factor{n}": (f"i{n}", f"r{n}") for n in range(order)}}
        cores = {"core": self.core, **{f"factor{n}": f for n, f in enumerate(self.factors)}}
        return TensorNetwork(cores, legs, tuple(f"i{n}" for n in range(order)))

    def __repr__(self) -> str:
        return f"TuckerTensor(shape={list(self.shape)}, rank={list(self.rank)}, iterations={len(self.errors)})"


def tucker(tensor: Tensor, rank, fixed_factors: Optional[Sequence[int]] = None, n_iter_max: int = 100,
           init: Union[str, TuckerTensor, tuple] = "svd", return_errors: bool = False, svd: str = "truncated_svd",
           tol: float = 1e-4, random_state=None, mask: Optional[Tensor] = None, verbose: bool = False, *,
           method: str = "hooi", callback: Optional[Callable] = None):
    r"""Tucker decomposition of ``tensor``: dense (real or complex), or a sparse COO tensor of observed entries.

    TensorLy's ``tucker``: the same arguments, order and defaults, and the same return values.

    Args:
        rank: ``(R_1, ..., R_N)``, one int for every mode, a float fraction of the dense parameter count, or
            ``None`` for the largest multilinear rank the shape allows, :math:`R_n = \min(I_n, \prod_{m \ne n}
            I_m)` (TensorLy takes the shape itself, which need not be a multilinear rank; it warns, and so does
            geomlearn).
        fixed_factors: modes whose factors stay those of ``init`` (a Tucker tensor); HOOI updates the others.
            The fixed factors are taken to have orthonormal columns, as HOOI's have. One deliberate difference:
            each free factor is updated against the tensor projected on all the other factors, the fixed ones
            included, so HOOI improves the model it returns; TensorLy leaves the fixed modes out of those
            projections (its fits come out slightly worse).
        n_iter_max, tol: HOOI sweeps at most (0: the initialisation, its core projected); stop when the relative
            error changes by less than ``tol``.
        init: ``"svd"`` (HOSVD), ``"random"`` (orthonormalised normal factors), a :class:`TuckerTensor` or a pair
            ``(core, factors)``.
        return_errors: also return the errors, as ``(tucker_tensor, errors)``.
        svd: TensorLy's SVD choice (``"truncated_svd"``, ``"randomized_svd"``, ``"symeig_svd"``); geomlearn
            computes the exact leading singular vectors for each.
        mask: booleans of the tensor's shape, True where an entry is observed.
        verbose: print the error after each sweep.
        method: ``"hooi"`` or ``"hosvd"`` (the initialisation only; with a mask, EM sweeps of HOSVD).
        callback: ``callback(tucker_tensor, error)`` after each sweep; returning True stops.

    Returns:
        :class:`TuckerTensor` (unpacking as ``core, factors``) with ``errors``, the relative error after each sweep;
        with ``return_errors``, ``(tucker_tensor, errors)``.
    """
    tensor = check_tensor(tensor, allow_sparse=True)
    check_iterations(n_iter_max, tol, minimum=0)
    if method not in METHODS:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    check_svd(svd)
    if isinstance(init, (tuple, list)):
        if len(init) != 2:
            raise ValueError(f"init: expected 'svd', 'random', a TuckerTensor or a pair (core, factors), got a "
                             f"sequence of {len(init)}")
        init = TuckerTensor(init[0], list(init[1]))
    if rank is None:
        rank = full_tucker_rank(tuple(tensor.shape))
        warnings.warn(f"rank: None keeps the largest multilinear rank of shape {list(tensor.shape)}, {list(rank)}",
                      UserWarning, stacklevel=2)
    ranks = tucker_rank(rank, tuple(tensor.shape))
    fixed = _fixed_modes(fixed_factors, init, tensor.dim())
    if tensor.is_sparse:
        if mask is not None or method != "hooi" or init != "svd" or fixed:
            raise ValueError("tensor: a sparse tensor holds its observed entries itself and is fitted by ALS from "
                             "the spectral start; got a mask, method 'hosvd', fixed factors or another init as well")
        result = _tucker_observed(Observations.of(tensor, None), ranks, n_iter_max, tol, callback, random_state,
                                  verbose)
        return (result, result.errors) if return_errors else result
    mask = check_mask(mask, tensor)
    filled = tensor if mask is None else torch.where(mask, tensor, tensor[mask].mean())
    factors = _initial_factors(filled, ranks, init, random_state)
    norm_sq = squared_norm(tensor if mask is None else tensor[mask])
    errors: list[float] = []
    if n_iter_max == 0:                            # the start itself, its core projected
        result = TuckerTensor(_project(filled, factors), factors, errors)
    for iteration in range(n_iter_max):
        if method == "hooi":
            factors = _hooi_sweep(filled, factors, fixed)
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
        if verbose:
            print(f"tucker: sweep {iteration + 1}, relative error {errors[-1]:.6g}")
        if report(errors, result, callback, tol) or (method == "hosvd" and mask is None):
            break
    return (result, errors) if return_errors else result


def full_tucker_rank(shape: tuple[int, ...]) -> tuple[int, ...]:
    r"""The largest multilinear rank of a tensor of ``shape``: :math:`R_n = \min(I_n, \prod_{m \ne n} I_m)`."""
    return tuple(min(size, math.prod(shape[:n] + shape[n + 1:])) for n, size in enumerate(shape))


def _fixed_modes(fixed_factors, init, order: int) -> frozenset:
    if not fixed_factors:
        return frozenset()
    if not isinstance(init, TuckerTensor):
        raise ValueError(f"fixed_factors: got {list(fixed_factors)} but no Tucker tensor to take them from as init "
                         f"(got init={init!r})")
    modes = list(fixed_factors)
    if not all(is_int(m) and 0 <= m < order for m in modes):
        raise ValueError(f"fixed_factors: expected modes in 0..{order - 1}, got {modes}")
    return frozenset(modes)


def _tucker_observed(observed: Observations, ranks, n_iter_max, tol, callback, random_state,
                     verbose: bool) -> TuckerTensor:
    generator = generator_for(random_state, observed.values.device)
    start = observed.as_sparse()
    factors = [leading_singular_vectors(start, n, r, generator) for n, r in enumerate(ranks)]
    core = _observed_core(observed, factors, ranks)
    errors: list[float] = []
    for _ in range(n_iter_max):
        for n in range(len(factors)):
            design = _observed_design(observed, core, factors, n)
            factor = observed.solve_rows(design, n, 0.0)
            factors[n], triangle = torch.linalg.qr(factor)
            core = mode_dot(core, triangle, n)
        core = _observed_core(observed, factors, ranks)
        result = TuckerTensor(core, factors, errors)
        rows = [f[observed.indices[:, m]] for m, f in enumerate(factors)]
        errors.append(observed.relative_error(_kron_rows(rows) @ core.reshape(-1)))
        if verbose:
            print(f"tucker: sweep {len(errors)}, relative error on the observed entries {errors[-1]:.6g}")
        if report(errors, result, callback, tol):
            break
    return result


def _kron_rows(rows: list[Tensor]) -> Tensor:
    """``[nnz, prod R]``: per observation the Kronecker product of its factor rows (row-major)."""
    out = rows[0]
    for r in rows[1:]:
        out = (out.unsqueeze(2) * r.unsqueeze(1)).reshape(out.shape[0], -1)
    return out


def _observed_design(observed: Observations, core: Tensor, factors: list[Tensor], mode: int) -> Tensor:
    """``[nnz, R_mode]``: the core contracted with every other factor's row at each observation."""
    rows = [f[observed.indices[:, m]] for m, f in enumerate(factors) if m != mode]
    moved = torch.movedim(core, mode, -1).reshape(-1, core.shape[mode])        # [prod R_others, R_mode]
    return _kron_rows(rows) @ moved


def _observed_core(observed: Observations, factors: list[Tensor], ranks) -> Tensor:
    """The core minimising the squared error over the observations (normal equations of the Kronecker design)."""
    design = _kron_rows([f[observed.indices[:, m]] for m, f in enumerate(factors)])
    gram = design.t() @ design
    return torch.linalg.solve(gram, design.t() @ observed.values).reshape(ranks)


def _project(tensor: Tensor, factors: list[Tensor], skip: int = -1) -> Tensor:
    """:math:`X \\times_{m \\ne skip} A^{(m)H}`."""
    for m, factor in enumerate(factors):
        if m != skip:
            tensor = mode_dot(tensor, factor.t().conj(), m)
    return tensor


def _hooi_sweep(tensor: Tensor, factors: list[Tensor], fixed: frozenset = frozenset()) -> list[Tensor]:
    factors = list(factors)
    for n in range(len(factors)):
        if n in fixed:
            continue
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
        return [leading_left_singular(unfold(tensor, n), r)[0] for n, r in enumerate(ranks)]
    if init == "random":
        generator = generator_for(random_state, tensor.device)
        return [torch.linalg.qr(torch.randn(s, r, generator=generator, device=tensor.device,
                                            dtype=tensor.real.dtype).to(tensor.dtype))[0]
                for s, r in zip(tensor.shape, ranks)]
    raise ValueError(f"init: expected 'svd', 'random' or a TuckerTensor, got {init!r}")


class Tucker(Estimator):
    """TensorLy's ``Tucker`` estimator: :func:`tucker`'s options at construction; ``fit_transform(tensor)``
    returns the :class:`TuckerTensor` (with its errors, when ``return_errors``) and keeps it as
    ``decomposition_``."""

    def __init__(self, rank=None, n_iter_max: int = 100, init="svd", return_errors: bool = False,
                 svd: str = "truncated_svd", tol: float = 1e-4, fixed_factors=None, random_state=None,
                 mask: Optional[Tensor] = None, verbose: bool = False, method: str = "hooi",
                 callback: Optional[Callable] = None):
        self.rank, self.n_iter_max, self.init, self.return_errors = rank, n_iter_max, init, return_errors
        self.svd, self.tol, self.fixed_factors, self.random_state = svd, tol, fixed_factors, random_state
        self.mask, self.verbose, self.method, self.callback = mask, verbose, method, callback

    def fit_transform(self, tensor: Tensor):
        self.decomposition_ = tucker(tensor, rank=self.rank, fixed_factors=self.fixed_factors,
                                     n_iter_max=self.n_iter_max, init=self.init, return_errors=self.return_errors,
                                     svd=self.svd, tol=self.tol, random_state=self.random_state, mask=self.mask,
                                     verbose=self.verbose, method=self.method, callback=self.callback)
        return self.decomposition_

    def __repr__(self) -> str:
        return f"Rank-{self.rank} Tucker decomposition via HOOI."
