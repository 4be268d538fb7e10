r"""Tensor ring decomposition (Zhao et al., 2016): TR-SVD and alternating least squares, with TensorLy's contract.

.. math::
    \hat X_{i_1 \dots i_N} = \mathrm{Tr}\big(G^{(1)}_{i_1} G^{(2)}_{i_2} \cdots G^{(N)}_{i_N}\big),
    \qquad G^{(n)} \in \mathbb{R}^{R_n \times I_n \times R_{n+1}},\ R_{N+1} = R_1.

Ranks are TensorLy's ``N + 1`` bonds ``(R_1, ..., R_N, R_1)`` (the last closing on the first); an int is every
bond, and ``N`` bonds (without the repeat) are accepted too. A tensor train is the ring with :math:`R_1 = 1`.

:func:`tensor_ring` is TR-SVD: the first core's two bonds come from the leading :math:`R_1 R_2` singular vectors
of the first unfolding, split in two; the rest is a TT-SVD of what remains, the last core closing on the first
bond. ``mode`` starts at another mode (the tensor's modes rotated, the cores rotated back). A bond larger than its
unfolding holds is refused by name (TensorLy lowers it silently after the first).

:func:`tensor_ring_als` solves each core with the others fixed, a linear least-squares problem: with the tensor
unfolded in the cyclic order starting at mode :math:`n`, :math:`X_{<n>} \in \mathbb R^{I_n \times \prod_{m \ne
n} I_m}`, and the subchain :math:`Q^{\ne n}_{j, (a b)} = (G^{(n+1)}_{i_{n+1}} \cdots G^{(n-1)}_{i_{n-1}})_{b a}`,

.. math::
    G^{(n)}_{(2)} = \operatorname*{arg\,min}_G \big\| X_{<n>} - G\, Q^{\ne n\top} \big\|_F,

solved on :math:`Q^{\ne n}` itself (its pseudo-inverse, by an SVD; ``ls_solve="normal_eq"``
takes TensorLy's other choice, the normal equations :math:`Q^\top Q`, whose condition number is the square of
:math:`Q`'s: near the rank bound the subchain is close to rank-deficient and they lose the fit). The error of
each sweep is the residual of its last solve, :math:`\|X_{<N>} - G^{(N)}_{(2)} Q^{\ne N\top}\|_F`, measured.
Missing entries (``mask``): EM imputation; errors on the observed entries.
"""

from __future__ import annotations

import math
import warnings
from typing import Callable, Optional

import torch
from torch import Tensor

from ..argument_checks import is_int
from ._checks import check_iterations, check_mask, check_svd, check_tensor, random_state_of, uniform_draw
from .decomposition import CoreSequence, Estimator
from .tensor_algebra import column_phases, squared_norm


class TRTensor(CoreSequence):
    """``cores`` (``[R_n, I_n, R_{n+1}]`` each, the last bond closing on the first); unpacks as the cores, which
    ``factors`` names too (TensorLy's ``TRTensor``)."""

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
        """TensorLy's ``N + 1`` bonds ``(R_1, ..., R_N, R_1)``."""
        return tuple(core.shape[0] for core in self.cores) + (self.cores[0].shape[0],)

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


LS_SOLVES = ("lstsq", "normal_eq")


def _least_squares(design: Tensor, unfolded: Tensor, ls_solve: str = "lstsq") -> Tensor:
    r"""``G`` minimising ``|unfolded - G design^T|_F`` (``[I, K]`` for ``design [J, K]``, ``unfolded [I, J]``).

    ``"lstsq"``: the minimum-norm solution :math:`G = X (D^+)^\top`, with ``torch.linalg.pinv``'s pseudo-inverse of
    the tall design (an SVD; singular values at or below :math:`\max(J, K)\,\epsilon\, s_1` dropped, LAPACK gelsd's
    rule). Its accuracy is gelsd's (the condition number of :math:`D`, not of :math:`D^H D`), it is the same solution
    every run (no pivoting that varies with the thread schedule, as gelsy's), and the ``I`` right-hand sides cost one
    ``[I, J] x [J, K]`` product instead of LAPACK's reflector-by-reflector update of ``[J, I]``.
    ``"normal_eq"``: TensorLy's other choice, the normal equations :math:`D^H D`."""
    if ls_solve == "normal_eq":
        return torch.linalg.solve(design.t() @ design.conj(), unfolded @ design.conj(), left=False)
    return unfolded @ torch.linalg.pinv(design).transpose(0, 1)


def _ring_rank(rank, shape) -> tuple[int, ...]:
    """The ``N`` bonds ``(R_1, ..., R_N)`` from an int, ``N`` bonds or TensorLy's ``N + 1`` (the last closing on the
    first), each core's two bonds within the entries of the other modes that determine it."""
    order = len(shape)
    ranks = (rank,) * order if is_int(rank) else tuple(rank) if isinstance(rank, (tuple, list)) else None
    if ranks is not None and len(ranks) == order + 1:
        if ranks[0] != ranks[-1]:
            raise ValueError(f"rank: the last of the {order + 1} bonds closes on the first, so they are equal; got "
                             f"{list(ranks)}")
        ranks = ranks[:-1]
    if ranks is None or len(ranks) != order or not all(is_int(r) and r >= 1 for r in ranks):
        raise ValueError(f"rank: expected an int, {order} ints >= 1 (one bond before each core) or {order + 1} "
                         f"(TensorLy's, the last equal to the first), got {rank!r}")
    for n, size in enumerate(shape):
        pair, others = ranks[n] * ranks[(n + 1) % order], math.prod(shape) // size
        if pair > others:
            raise ValueError(f"rank: core {n}'s bonds {ranks[n]} x {ranks[(n + 1) % order]} exceed the "
                             f"{others} entries of the other modes that determine it (shape {list(shape)})")
    return ranks


def _truncated(matrix: Tensor, keep: int, what: str) -> tuple[Tensor, Tensor]:
    """``(U [m, keep], S V^H [keep, n])`` of the truncated SVD, each singular vector's sign (phase) fixed so that
    its largest entry is real and positive (TensorLy's convention: TR-SVD's later truncations depend on it);
    refuses a ``keep`` above the matrix's rank bound."""
    if keep > min(matrix.shape):
        raise ValueError(f"rank: {what} needs {keep} singular vectors of a {matrix.shape[0]} x {matrix.shape[1]} "
                         f"unfolding, which has at most {min(matrix.shape)}")
    u, s, vh = torch.linalg.svd(matrix, full_matrices=False)
    u, s, vh = u[:, :keep], s[:keep], vh[:keep]
    phase = column_phases(u)
    return u * phase.conj(), (s.to(vh.dtype) * phase).unsqueeze(1) * vh


ALS_KEYWORDS = frozenset({"n_iter_max", "tol", "init", "mask", "callback", "ls_solve"})


def tensor_ring(input_tensor: Tensor, rank, mode: int = 0, svd: str = "truncated_svd", verbose: bool = False,
                random_state=None, **als_keywords) -> TRTensor:
    r"""TR-SVD: TensorLy's ``tensor_ring(input_tensor, rank, mode, svd, verbose, random_state)``.

    Args:
        input_tensor: dense ``[I_1, ..., I_N]`` (real or complex).
        rank: an int, or TensorLy's ``N + 1`` bonds with the last equal to the first (``N`` bonds also accepted).
        mode: the mode whose unfolding gives the first two bonds (:math:`R_{mode} R_{mode + 1}` singular vectors).
        svd: TensorLy's SVD choice; geomlearn computes the exact truncated SVD for each.
        verbose: print each core's shape.
        random_state: accepted for TensorLy's signature (the SVDs are deterministic).

    Returns:
        :class:`TRTensor` with ``errors``, its measured relative error.

    Raises:
        ValueError: a bond that its unfolding cannot hold (named, with the unfolding's size).

    .. deprecated:: 0.1.0
        ``tensor_ring`` with ALS keywords (``n_iter_max``, ``tol``, ``init``, ``mask``, ``callback``) still runs
        the ALS, with a ``DeprecationWarning``; use :func:`tensor_ring_als`.
    """
    if als_keywords:
        unknown = set(als_keywords) - ALS_KEYWORDS
        if unknown:
            raise TypeError(f"tensor_ring: unexpected keyword arguments {sorted(unknown)}")
        warnings.warn("tensor_ring with ALS keywords is deprecated: tensor_ring is TensorLy's TR-SVD; use "
                      "tensor_ring_als", DeprecationWarning, stacklevel=2)
        return tensor_ring_als(input_tensor, rank, random_state=random_state, verbose=verbose, **als_keywords)
    tensor = check_tensor(input_tensor)
    check_svd(svd)
    shape, order = tuple(tensor.shape), tensor.dim()
    if not is_int(mode) or not 0 <= mode < order:
        raise ValueError(f"mode: expected a mode in 0..{order - 1}, got {mode!r}")
    bonds = _ring_rank(rank, shape)
    rotation = [(mode + k) % order for k in range(order)]
    rotated = tensor.permute(rotation)
    sizes, r = [shape[m] for m in rotation], [bonds[m] for m in rotation]
    u, rest = _truncated(rotated.reshape(sizes[0], -1), r[0] * r[(1) % order],
                         f"the first core's bonds {r[0]} x {r[1 % order]} (mode {mode})")
    cores = [u.reshape(sizes[0], r[0], r[1 % order]).permute(1, 0, 2)]
    rest = rest.reshape(r[0], r[1 % order], -1).permute(1, 2, 0)                # [R_2, I_2 ... I_N, R_1]
    for k in range(1, order - 1):
        u, rest = _truncated(rest.reshape(r[k] * sizes[k], -1), r[k + 1],
                             f"bond {(mode + k + 1) % order} ({r[k + 1]})")
        cores.append(u.reshape(r[k], sizes[k], r[k + 1]))
    cores.append(rest.reshape(r[order - 1], sizes[order - 1], r[0]))
    cores = [cores[(k - mode) % order] for k in range(order)]                  # back to the tensor's mode order
    result = TRTensor(cores)
    result.errors = [result.relative_error(tensor)]
    if verbose:
        print(f"tensor_ring: cores {[list(c.shape) for c in cores]}, relative error {result.errors[0]:.6g}")
    return result


def tensor_ring_als(tensor: Tensor, rank, ls_solve: str = "lstsq", n_iter_max: int = 100, tol: float = 1e-6,
                    random_state=None, verbose: bool = False, callback: Optional[Callable] = None, *, init="random",
                    mask: Optional[Tensor] = None) -> TRTensor:
    r"""Tensor ring decomposition of a dense ``tensor`` by ALS: TensorLy's ``tensor_ring_als``.

    Args:
        rank: an int, or TensorLy's ``N + 1`` bonds with the last equal to the first (``N`` bonds also accepted).
        ls_solve: ``"lstsq"`` (the minimum-norm least-squares solution for each core, from the pseudo-inverse of
            its design matrix) or ``"normal_eq"`` (its normal equations, as TensorLy's option; unstable near the rank
            bound).
        n_iter_max, tol: sweeps at most; stop when the error falls by less than ``tol`` (TensorLy's rule: a rise
            stops too).
        random_state: ``None``, an int seed or a numpy ``RandomState``: the start is TensorLy's, uniform cores
            drawn in core order.
        verbose: print the error of every sweep.
        callback: ``callback(tr_tensor, error)`` on the start and after every sweep; returning True stops.
        init: ``"random"`` or a :class:`TRTensor` to start from.
        mask: booleans of the tensor's shape, True where an entry is observed (EM imputation).

    Returns:
        :class:`TRTensor` with ``errors``, the relative error after each sweep.
    """
    tensor = check_tensor(tensor)
    mask = check_mask(mask, tensor)
    check_iterations(n_iter_max, tol, minimum=0)
    if ls_solve not in LS_SOLVES:
        raise ValueError(f"ls_solve: expected one of {LS_SOLVES}, got {ls_solve!r}")
    shape, order = tuple(tensor.shape), tensor.dim()
    ranks = _ring_rank(rank, shape)
    if isinstance(init, TRTensor):
        if init.shape != shape or init.rank[:-1] != ranks:
            raise ValueError(f"init: expected a TRTensor of shape {list(shape)} and rank {list(ranks) + [ranks[0]]}, "
                             f"got {init}")
        cores = [c.to(dtype=tensor.dtype, device=tensor.device).clone() for c in init.cores]
    elif init == "random":
        rng = random_state_of(random_state)
        cores = [uniform_draw(rng, (ranks[n], s, ranks[(n + 1) % order]), tensor) for n, s in enumerate(shape)]
    else:
        raise ValueError(f"init: expected 'random' or a TRTensor, got {init!r}")
    filled = tensor if mask is None else torch.where(mask, tensor, tensor[mask].mean())
    errors: list[float] = []
    result = TRTensor(cores, errors)
    if callback is not None:
        callback(result, _observed_error(tensor, result, mask))
    for sweep in range(n_iter_max):
        for n in range(order):
            cyclic = [(n + k) % order for k in range(order)]
            unfolded = filled.permute(cyclic).reshape(shape[n], -1)                         # X_<n>
            sub = _chain([cores[m] for m in cyclic[1:]])                                    # [R_{n+1}, J, R_n]
            design = sub.permute(1, 2, 0).reshape(sub.shape[1], -1)                         # [J, (a, b)]
            solution = _least_squares(design, unfolded, ls_solve)                           # [I_n, (a, b)]
            cores[n] = solution.reshape(shape[n], ranks[n], ranks[(n + 1) % order]).permute(1, 0, 2)
        result = TRTensor(cores, errors)
        if mask is None:
            residual = torch.linalg.vector_norm(unfolded - solution @ design.t())
            errors.append(float(residual) / squared_norm(filled) ** 0.5)
        else:
            errors.append(_observed_error(tensor, result, mask))
            filled = torch.where(mask, tensor, result.to_tensor())
        if verbose:
            print(f"tensor_ring_als: sweep {sweep + 1}, relative error {errors[-1]:.6g}")
        if callback is not None and callback(result, errors[-1]) is True:
            break
        if len(errors) > 1 and errors[-2] - errors[-1] < tol:
            break
    return result


def _observed_error(tensor: Tensor, result: TRTensor, mask: Optional[Tensor]) -> float:
    if mask is None:
        return result.relative_error(tensor)
    fit = result.to_tensor()
    return float(torch.linalg.vector_norm((tensor - fit)[mask]) / torch.linalg.vector_norm(tensor[mask]))


class TensorRing(Estimator):
    """TensorLy's ``TensorRing`` estimator: ``fit_transform(tensor)`` returns :func:`tensor_ring`'s (TR-SVD)
    :class:`TRTensor` and keeps it as ``decomposition_``."""

    def __init__(self, rank, mode: int = 0, svd: str = "truncated_svd", verbose: bool = False):
        self.rank, self.mode, self.svd, self.verbose = rank, mode, svd, verbose

    def fit_transform(self, tensor: Tensor) -> TRTensor:
        self.decomposition_ = tensor_ring(tensor, rank=self.rank, mode=self.mode, svd=self.svd, verbose=self.verbose)
        return self.decomposition_


class TensorRingALS(Estimator):
    """TensorLy's ``TensorRingALS`` estimator, for :func:`tensor_ring_als`."""

    def __init__(self, rank, ls_solve: str = "lstsq", n_iter_max: int = 100, tol: float = 1e-6, random_state=None,
                 verbose: bool = False, callback: Optional[Callable] = None, init="random",
                 mask: Optional[Tensor] = None):
        self.rank, self.ls_solve, self.n_iter_max, self.tol = rank, ls_solve, n_iter_max, tol
        self.random_state, self.verbose, self.callback, self.init, self.mask = random_state, verbose, callback, init, mask

    def fit_transform(self, tensor: Tensor) -> TRTensor:
        self.decomposition_ = tensor_ring_als(tensor, rank=self.rank, ls_solve=self.ls_solve,
                                              n_iter_max=self.n_iter_max, tol=self.tol, random_state=self.random_state,
                                              verbose=self.verbose, callback=self.callback, init=self.init,
                                              mask=self.mask)
        return self.decomposition_
