r"""Restriction maps from free parameters: diagonal, orthogonal (Householder or Cayley) and general.

Per-edge parameters ``[E, k]`` become maps ``[E, d, d]`` (diagonal maps: their diagonals ``[E, d]``); the
number of parameters ``k`` each kind needs is given by :func:`num_map_parameters`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..argument_checks import check_int
from ..sparse import householder_orthogonal

MAP_KINDS = ("diagonal", "householder", "cayley", "general")


def num_map_parameters(kind: str, d: int) -> int:
    """``d`` (diagonal), ``d (d - 1) / 2`` (orthogonal) or ``d^2`` (general) parameters per map."""
    if kind not in MAP_KINDS:
        raise ValueError(f"kind: expected one of {MAP_KINDS}, got {kind!r}")
    check_int("d", d, what="a stalk dimension")
    return {"diagonal": d, "general": d * d}.get(kind, d * (d - 1) // 2)


def _check(params: Tensor, kind: str, d: int) -> None:
    k = num_map_parameters(kind, d)
    if not isinstance(params, Tensor) or params.dim() != 2 or params.shape[1] != k:
        shape = list(params.shape) if isinstance(params, Tensor) else type(params).__name__
        raise ValueError(f"params: {kind} maps of stalk dimension {d} need [E, {k}] parameters, got {shape}")


def _lower_triangle(params: Tensor, d: int) -> Tensor:
    """``[E, d, d]`` with the parameters below the diagonal (row-major), zeros elsewhere."""
    rows, cols = torch.tril_indices(d, d, offset=-1, device=params.device)
    out = params.new_zeros(params.shape[0], d, d)
    out[:, rows, cols] = params
    return out


def restriction_maps(params: Tensor, kind: str, d: int) -> Tensor:
    r"""``[E, d, d]`` restriction maps from ``params [E, k]`` (``[E, d]`` for diagonal maps).

    * ``"diagonal"``: :math:`\operatorname{diag}(p)`, stored as its diagonal ``[E, d]`` (the storage
      :func:`~geomlearn.sheaf.sheaf_laplacian` applies as a multi-head scalar SpMM).
    * ``"householder"``: the product :math:`H_1 \cdots H_{d-1}` of reflections
      :math:`H_i = I - 2 v_i v_i^\top / \lVert v_i \rVert^2`, :math:`v_i = e_i + \sum_{r > i} p_{ri} e_r`
      (``torch.linalg.householder_product``'s product, formed per edge by the fused kernels of
      :func:`~geomlearn.sparse.householder_orthogonal`): orthogonal for every ``p``, determinant :math:`(-1)^{d-1}`.
    * ``"cayley"``: :math:`(I - S)(I + S)^{-1}` with :math:`S` skew-symmetric from ``p``: the rotations
      without eigenvalue -1.
    * ``"general"``: ``p`` reshaped to ``d x d``.

    Raises:
        ValueError: unknown ``kind``, ``d < 1``, or ``params`` not ``[E, k]``.
    """
    _check(params, kind, d)
    if kind == "diagonal":
        return params
    if kind == "general":
        return params.reshape(-1, d, d)
    if d == 1:
        return params.new_ones(params.shape[0], 1, 1)
    if kind == "householder":
        return householder_orthogonal(params, d)
    lower = _lower_triangle(params, d)
    skew = lower - lower.transpose(-1, -2)
    eye = torch.eye(d, dtype=params.dtype, device=params.device).expand_as(skew)
    return torch.linalg.solve(eye + skew, eye - skew, left=False)


def fixed_channel_maps(src: Tensor, dst: Tensor, low_pass: bool, high_pass: bool, dtype: torch.dtype) -> Tensor:
    r"""Diagonal maps ``[E, k]`` of fixed stalk coordinates, low pass first.

    ``low_pass``: the map :math:`1` at both ends of every edge, so that coordinate diffuses with the
    ordinary graph Laplacian :math:`D - A`; ``high_pass``: :math:`+1` at the end ``src < dst`` and :math:`-1` at
    the other, the signless Laplacian :math:`D + A` that pushes neighbours apart. Summed directly with a learned
    sheaf (:class:`~geomlearn.sheaf.DirectSumLaplacian`). NSD's code names them the other way round: its
    ``add_lp`` builds :math:`D + A` (``high_pass`` here) and its ``add_hp`` builds :math:`D - A` (``low_pass``).
    """
    fixed = []
    if low_pass:
        fixed.append(torch.ones(src.shape[0], dtype=dtype, device=src.device))
    if high_pass:
        fixed.append(torch.where(src < dst, 1.0, -1.0).to(dtype))
    if not fixed:
        raise ValueError("low_pass, high_pass: expected at least one fixed channel, got neither")
    return torch.stack(fixed, dim=1)
