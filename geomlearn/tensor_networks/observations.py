r"""Observed entries of a tensor (a sparse COO tensor, or a dense tensor with a mask) and the row-wise least
squares that fits a factor to them without forming the dense tensor.

For mode :math:`n`, each observation :math:`(i_1, \dots, i_N; x)` gives a design row :math:`h \in \mathbb R^R`
(for CP the Hadamard product of the other factors' rows; for Tucker the core contracted with them), and row
:math:`i` of the factor solves

.. math::
    \Big(\sum_{\text{obs}:\, i_n = i} h h^\top + \lambda_i I\Big)\, a_i = \sum_{\text{obs}:\, i_n = i} x\, h,

the Gram matrices and right-hand sides being segment sums over the observations
(:func:`geomlearn.sparse.segment_reduce` on an index from observation to row). The ridge is
:math:`\lambda_i = \lambda`, or with ``weighted`` :math:`\lambda_i = \lambda \max(n_i, 1)` for :math:`n_i` the
row's observations (the weighted-:math:`\lambda` regularisation of Zhou et al., 2008, which keeps rows with many
observations and rows with few equally smooth).
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ..sparse import SparseIndex, segment_reduce


class Observations:
    """``indices [nnz, N]`` (int64), ``values [nnz]`` of a tensor of ``shape``, with one observation-to-row
    index per mode for the segment sums."""

    def __init__(self, indices: Tensor, values: Tensor, shape: tuple[int, ...]):
        if values.is_complex():
            raise ValueError("tensor: fitting observed entries only (a mask or sparse input) takes a real tensor, "
                             "got a complex one")
        self.indices, self.values, self.shape = indices, values, tuple(shape)
        count = values.shape[0]
        observation = torch.arange(count, device=values.device)
        self.rows = [SparseIndex(torch.stack([observation, indices[:, n]]), num_nodes=(count, size))
                     for n, size in enumerate(self.shape)]
        self.counts = [torch.bincount(indices[:, n], minlength=size) for n, size in enumerate(self.shape)]
        self.norm = float(torch.linalg.vector_norm(values))

    @classmethod
    def of(cls, tensor: Tensor, mask: Optional[Tensor]) -> "Observations":
        """From a sparse COO tensor, or from a dense tensor and its boolean mask."""
        if tensor.is_sparse:
            coalesced = tensor.coalesce()
            return cls(coalesced.indices().t().contiguous(), coalesced.values(), tuple(tensor.shape))
        indices = mask.nonzero()
        return cls(indices, tensor[mask], tuple(tensor.shape))

    def as_sparse(self) -> Tensor:
        """The observed entries as a coalesced sparse COO tensor."""
        return torch.sparse_coo_tensor(self.indices.t(), self.values, self.shape, is_coalesced=True,
                                       check_invariants=False)

    def gather(self, factors: list[Tensor], skip: int = -1) -> Tensor:
        """``[nnz, R]``: the Hadamard product of the factors' rows at each observation (mode ``skip`` left out)."""
        out = None
        for n, factor in enumerate(factors):
            if n != skip:
                rows = factor[self.indices[:, n]]
                out = rows if out is None else out * rows
        return out

    def solve_rows(self, design: Tensor, mode: int, l2_reg: float, weighted: bool = False) -> Tensor:
        """The factor ``[I_mode, R]`` whose rows solve the regularised normal equations above."""
        index = self.rows[mode]
        gram = segment_reduce(design.unsqueeze(2) * design.unsqueeze(1), index)
        rhs = segment_reduce(design * self.values.unsqueeze(1), index)
        ridge = torch.full((self.shape[mode],), float(l2_reg), dtype=design.dtype, device=design.device)
        if weighted:
            ridge = ridge * self.counts[mode].clamp(min=1).to(design.dtype)
        gram = gram + ridge[:, None, None] * torch.eye(design.shape[1], dtype=design.dtype, device=design.device)
        solution, info = torch.linalg.solve_ex(gram, rhs)
        if bool((info > 0).any()):
            rows = (info > 0).nonzero().flatten()[:5].tolist()
            raise ValueError(f"l2_reg: the observations do not determine rows {rows}... of mode {mode} (too few "
                             f"observed entries in them for the rank); give l2_reg > 0, got {l2_reg}")
        return solution

    def relative_error(self, predicted: Tensor) -> float:
        """:math:`\\|x - \\hat x\\| / \\|x\\|` over the observations."""
        return float(torch.linalg.vector_norm(self.values - predicted)) / self.norm
