r"""Wigner-D matrices of arbitrary rotations (and reflections), in the basis of the real spherical harmonics.

:math:`D^l(R)` is the matrix with :math:`Y^l(R r) = D^l(R)\, Y^l(r)` for every :math:`r`. Evaluating both
sides at a fixed set of :math:`K > 2l + 1` well-spread points :math:`p_k` gives a linear system,

.. math::
    Y^l(P R^\top) = Y^l(P)\, D^l(R)^\top \quad\Longrightarrow\quad
    D^l(R) = \big(Y^l(P)^{+}\, Y^l(P R^\top)\big)^\top,

whose pseudo-inverse :math:`Y^l(P)^{+}` (``[2l + 1, K]``) is computed once per degree. A batch of
rotations then costs one harmonic evaluation at :math:`K` points and one small matmul each, with no
Euler angles (and so no gimbal-lock singularity) and autograd through ``R``. For an orthogonal matrix of
determinant -1 the same formula gives the action on the harmonics, :math:`(-1)^l D^l(-R)`;
:func:`irreps_D` assigns each irrep its parity.
"""

from __future__ import annotations

import functools
import warnings
from functools import lru_cache

import torch
from e3nn.o3 import angles_to_matrix
from torch import Tensor

from ..argument_checks import check_int
from .irreps import as_irreps
from .spherical_harmonics import spherical_harmonics


def _check_matrices(matrix: Tensor) -> None:
    if not isinstance(matrix, Tensor) or matrix.dim() < 2 or matrix.shape[-2:] != (3, 3) or \
            not matrix.is_floating_point():
        shape = list(matrix.shape) if isinstance(matrix, Tensor) else type(matrix).__name__
        raise ValueError(f"matrix: expected floating-point orthogonal matrices [..., 3, 3], got {shape}")


@lru_cache(maxsize=None)
def _sample_points(l: int) -> tuple[Tensor, Tensor]:
    """``(P [K, 3], pinv(Y^l(P)) [2l + 1, K])`` in float64 on the CPU: ``K = 2 (2l + 1) + 8`` fixed
    pseudo-random unit vectors (a well-conditioned system for every degree)."""
    generator = torch.Generator().manual_seed(1234 + l)
    points = torch.randn(2 * (2 * l + 1) + 8, 3, generator=generator, dtype=torch.float64)
    points = points / points.norm(dim=1, keepdim=True)
    return points, torch.linalg.pinv(spherical_harmonics(l, points, normalization="component"))


@lru_cache(maxsize=None)
def _sample_points_on(l: int, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    points, inverse = _sample_points(l)
    return points.to(dtype=dtype, device=device), inverse.to(dtype=dtype, device=device)


def wigner_D(l: int, alpha, beta=None, gamma=None) -> Tensor:
    r"""e3nn's ``wigner_D(l, alpha, beta, gamma)``: :math:`D^l(R)` ``[..., 2l + 1, 2l + 1]`` for the rotations
    :math:`R = R_y(\alpha) R_x(\beta) R_y(\gamma)` (e3nn's Euler angles, ``e3nn.o3.angles_to_matrix``; the angles
    broadcast against each other).

    Raises:
        ValueError: ``l`` not an int >= 0.
        TypeError: not three angles.

    .. deprecated:: 0.1.0
        ``wigner_D(l, matrix)`` with a ``[..., 3, 3]`` matrix still works, with a ``DeprecationWarning``; use
        :func:`wigner_D_from_matrix`.
    """
    if beta is None and gamma is None:
        if isinstance(alpha, Tensor) and alpha.dim() >= 2 and alpha.shape[-2:] == (3, 3):
            warnings.warn("wigner_D(l, matrix) is deprecated: wigner_D takes e3nn's Euler angles (l, alpha, beta, "
                          "gamma); use wigner_D_from_matrix(l, matrix)", DeprecationWarning, stacklevel=2)
            return wigner_D_from_matrix(l, alpha)
        raise TypeError("wigner_D: expected Euler angles (l, alpha, beta, gamma), as e3nn's wigner_D; for a rotation "
                        "matrix use wigner_D_from_matrix(l, matrix)")
    if beta is None or gamma is None:
        raise TypeError("wigner_D: expected the three Euler angles alpha, beta and gamma")
    floating = [a.dtype for a in (alpha, beta, gamma) if isinstance(a, Tensor) and a.is_floating_point()]
    dtype = functools.reduce(torch.promote_types, floating) if floating else torch.get_default_dtype()
    angles = [torch.as_tensor(a, dtype=dtype) for a in (alpha, beta, gamma)]
    return wigner_D_from_matrix(l, angles_to_matrix(*torch.broadcast_tensors(*angles)))


def wigner_D_from_matrix(l: int, matrix: Tensor) -> Tensor:
    r""":math:`D^l(R)` ``[..., 2l + 1, 2l + 1]`` for rotation matrices ``matrix [..., 3, 3]``: the
    representation on e3nn's degree-``l`` spherical harmonics (e3nn's ``Irrep(l, (-1)^l).D_from_matrix``).

    Raises:
        ValueError: ``l`` not an int >= 0, ``matrix`` not ``[..., 3, 3]`` floating point.
    """
    check_int("l", l, 0, what="a degree")
    _check_matrices(matrix)
    points, inverse = _sample_points_on(l, matrix.dtype, matrix.device)
    rotated = spherical_harmonics(l, points @ matrix.transpose(-1, -2), normalization="component")          # [..., K, 2l + 1]
    return (inverse @ rotated).transpose(-1, -2)


def irreps_D(irreps, matrix: Tensor) -> Tensor:
    r"""The block-diagonal representation ``[..., dim, dim]`` of ``irreps`` (e3nn ``Irreps`` or its string)
    at orthogonal matrices ``matrix [..., 3, 3]``: :math:`p^{k} D^l(\det(M) M)` per irrep :math:`(l, p)`,
    :math:`k = 1` for a reflection (:math:`\det M = -1`), else 0 (e3nn's ``Irreps.D_from_matrix``).

    Raises:
        ValueError: ``irreps`` that does not parse, ``matrix`` not ``[..., 3, 3]``.
    """
    irreps = as_irreps(irreps)
    _check_matrices(matrix)
    det = torch.linalg.det(matrix)
    proper = matrix * det[..., None, None]
    reflected = det < 0
    out = matrix.new_zeros(*matrix.shape[:-2], irreps.dim, irreps.dim)
    start = 0
    for mul, ir in irreps:
        block = wigner_D_from_matrix(ir.l, proper)
        if ir.p == -1:
            block = torch.where(reflected[..., None, None], -block, block)
        size = 2 * ir.l + 1
        for _ in range(mul):
            out[..., start:start + size, start:start + size] = block
            start += size
    return out
